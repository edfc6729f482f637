//! Helpers of the integration tests: write an experiment file, run the binary under
//! `mpiexec` with a wall-clock limit, compare files.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

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
pub fn run_mpi(ranks: usize, args: &[&str], limit: Duration) -> Output {
    let mpiexec = option_env!("EDDYLINK_MPIEXEC").unwrap_or("mpiexec");
    let mut cmd = Command::new(mpiexec);
    cmd.args(["-n", &ranks.to_string(), env!("CARGO_BIN_EXE_ocean-model")])
        .args(args);
    run_with_limit(cmd, limit)
}

/// Run the binary directly (no mpiexec: a singleton MPI rank).
pub fn run_plain(args: &[&str], limit: Duration) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ocean-model"));
    cmd.args(args);
    run_with_limit(cmd, limit)
}

/// Run any prepared command with a wall-clock limit.
pub fn run_command(cmd: Command, limit: Duration) -> Output {
    run_with_limit(cmd, limit)
}

fn run_with_limit(mut cmd: Command, limit: Duration) -> Output {
    let out_file = tempfile_path("stdout");
    let err_file = tempfile_path("stderr");
    cmd.stdout(Stdio::from(
        std::fs::File::create(&out_file).expect("stdout file"),
    ))
    .stderr(Stdio::from(
        std::fs::File::create(&err_file).expect("stderr file"),
    ));
    let mut child = cmd.spawn().expect("spawn");
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            let err = std::fs::read_to_string(&err_file).unwrap_or_default();
            panic!("{cmd:?} ran longer than {limit:?} (hang?); stderr:\n{err}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let output = Output {
        status,
        stdout: std::fs::read(&out_file).unwrap_or_default(),
        stderr: std::fs::read(&err_file).unwrap_or_default(),
    };
    let _ = std::fs::remove_file(out_file);
    let _ = std::fs::remove_file(err_file);
    output
}

fn tempfile_path(kind: &str) -> PathBuf {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("ocean-model-{}-{n}.{kind}", std::process::id()))
}

/// Panic with the stderr of `out` unless it succeeded.
pub fn assert_success(out: &Output, what: &str) {
    assert!(
        out.status.success(),
        "{what} failed ({:?}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
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
