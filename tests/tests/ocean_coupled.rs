//! Coupled mode: with a partner that sends zero forcing (`zero-forcing-partner`, a test
//! program of this crate), the coupled ocean equals the standalone ocean bit for bit
//! (MPMD run under mpiexec, with a wall-clock limit). Needs `cargo build --workspace
//! --bins` first, for `ocean-model`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use eddylink_tests::{
    mpiexec, run_with_limit, scratch_dir, workspace_bin, Outcome, OCEAN_ML_HOURLY,
};

const OCEAN: &str = r#"
[ocean.grid]
nx = 32
ny = 24
[ocean.time]
dt = 600
[ocean.output]
snapshot_interval = 0
diagnostics_interval = 0
"#;

/// The stand-in ML component.
fn partner() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_zero-forcing-partner"))
}

#[test]
fn coupled_with_zero_forcing_equals_standalone() {
    let dir = scratch_dir("ocean-coupled");
    let ocean = workspace_bin("ocean-model");
    let standalone = dir.join("experiment.toml");
    let run = format!(
        "[run]\nname = \"test\"\nduration = \"1d\"\noutput_dir = \"{}\"\n\n{OCEAN}\n",
        dir.join("out").display()
    );
    std::fs::write(&standalone, &run).expect("write config");
    let solo_out = dir.join("solo");
    let cmd = ocean_job(&ocean, &standalone, &solo_out);
    assert_success(&run_within(cmd, 60), "standalone run");

    let coupled = dir.join("coupled.toml");
    std::fs::write(&coupled, run + OCEAN_ML_HOURLY).expect("write config");
    let cpl_out = dir.join("cpl");
    let mut cmd = ocean_job(&ocean, &coupled, &cpl_out);
    cmd.args([":", "-n", "1"]).arg(partner()).arg(&coupled);
    assert_success(&run_within(cmd, 90), "coupled run");

    let steps = std::fs::read_dir(&solo_out)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .find(|n| n.starts_with("checkpoint_"))
        .expect("a final checkpoint");
    assert!(
        bytes(&solo_out.join(&steps)) == bytes(&cpl_out.join(&steps)),
        "coupled run differs from standalone"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// `mpiexec -n 2 ocean-model --config config --output-dir out`.
fn ocean_job(ocean: &Path, config: &Path, out: &Path) -> std::process::Command {
    let mut cmd = mpiexec();
    cmd.args(["-n", "2"])
        .arg(ocean)
        .arg("--config")
        .arg(config)
        .arg("--output-dir")
        .arg(out);
    cmd
}

/// Runs `cmd`; a run past `seconds` is a failed test (hang?).
fn run_within(cmd: std::process::Command, seconds: u64) -> Outcome {
    let limit = Duration::from_secs(seconds);
    let out = run_with_limit(cmd, Path::new("."), limit);
    assert!(
        !out.timed_out(),
        "ran longer than {limit:?} (hang?):\n{}",
        out.output()
    );
    out
}

fn assert_success(out: &Outcome, what: &str) {
    assert!(
        out.succeeded(),
        "{what} failed (exit {:?}):\n{}",
        out.code,
        out.stderr
    );
}

fn bytes(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}
