//! Helpers of the integration tests: write an experiment file, run the binary under
//! `mpiexec` with a wall-clock limit, compare files.

#![allow(dead_code)]

pub mod serial;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use eddylink_tests::Outcome;

/// A fresh, empty folder for one test.
pub fn test_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("ocean-model")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create test dir");
    dir
}

/// Write an experiment file with `[run]` and the given `[ocean]` body into `dir`.
pub fn write_config(dir: &Path, duration: &str, ocean: &str) -> PathBuf {
    let path = dir.join("experiment.toml");
    let text = format!(
        "[run]\nname = \"test\"\nduration = \"{duration}\"\noutput_dir = \"{}\"\n\n{ocean}\n",
        dir.join("out").display()
    );
    std::fs::write(&path, text).expect("write config");
    path
}

/// Run `ocean-model args…` on `ranks` MPI ranks; panics if it runs longer than `limit`.
pub fn run_mpi(ranks: usize, args: &[&str], limit: Duration) -> Outcome {
    let mut cmd = eddylink_tests::mpiexec();
    cmd.args(["-n", &ranks.to_string(), env!("CARGO_BIN_EXE_ocean-model")])
        .args(args);
    run_with_limit(cmd, limit)
}

/// Run the binary directly (no mpiexec: a singleton MPI rank).
pub fn run_plain(args: &[&str], limit: Duration) -> Outcome {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ocean-model"));
    cmd.args(args);
    run_with_limit(cmd, limit)
}

/// Run any prepared command with a wall-clock limit.
pub fn run_command(cmd: Command, limit: Duration) -> Outcome {
    run_with_limit(cmd, limit)
}

/// Runs `cmd` through the workspace's runner (its own process group, killed whole at the
/// limit); a run that hits the limit is a failed test.
fn run_with_limit(cmd: Command, limit: Duration) -> Outcome {
    let out = eddylink_tests::run_with_limit(cmd, Path::new("."), limit);
    assert!(
        !out.timed_out(),
        "ran longer than {limit:?} (hang?):\n{}",
        out.output()
    );
    out
}

/// Panic with the stderr of `out` unless it succeeded.
pub fn assert_success(out: &Outcome, what: &str) {
    assert!(
        out.succeeded(),
        "{what} failed (exit {:?}):\n{}",
        out.code,
        out.stderr
    );
}

/// The bytes of a file, with its name in the panic message.
pub fn bytes(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A variable of a NetCDF file.
pub fn read_var(path: &Path, name: &str) -> Vec<f64> {
    let mut r =
        netcdf3::FileReader::open(path).unwrap_or_else(|e| panic!("{}: {e:?}", path.display()));
    r.read_var_f64(name)
        .unwrap_or_else(|e| panic!("{}: {name}: {e:?}", path.display()))
}
