//! Coupled mode: with a partner that sends zero forcing, the coupled ocean equals the
//! standalone ocean bit for bit (MPMD run under mpiexec, with a wall-clock limit).

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::*;

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

/// The stand-in ML component (a test helper binary of this crate).
fn partner() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_zero_forcing_partner"))
}

#[test]
fn coupled_with_zero_forcing_equals_standalone() {
    let dir = test_dir("coupled");
    let standalone = write_config(&dir, "1d", OCEAN);
    let solo_out = dir.join("solo");
    let out = run_mpi(
        2,
        &[
            "--config",
            standalone.to_str().unwrap(),
            "--output-dir",
            solo_out.to_str().unwrap(),
        ],
        Duration::from_secs(60),
    );
    assert_success(&out, "standalone run");

    let coupled = dir.join("coupled.toml");
    std::fs::write(
        &coupled,
        std::fs::read_to_string(&standalone).unwrap() + COUPLING,
    )
    .unwrap();
    let cpl_out = dir.join("cpl");
    let mut cmd = eddylink_tests::mpiexec();
    cmd.args([
        "-n",
        "2",
        env!("CARGO_BIN_EXE_ocean-model"),
        "--config",
        coupled.to_str().unwrap(),
    ])
    .args(["--output-dir", cpl_out.to_str().unwrap()])
    .args([
        ":",
        "-n",
        "1",
        partner().to_str().unwrap(),
        coupled.to_str().unwrap(),
    ]);
    let out = run_command(cmd, Duration::from_secs(90));
    assert_success(&out, "coupled run");

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
}
