//! What the stopped-run tests share: the default experiment with frequent outputs, a job
//! that can be signalled while it runs, and the checks a user's tools make of its files
//! (xarray, `ocean-model plot`).

#![allow(dead_code)]

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use eddylink_tests::{mpiexec, run_with_limit, scratch_dir, workspace_bin, Outcome};

/// Wall-clock limit of one job: a hang fails the test.
pub const LIMIT: Duration = Duration::from_secs(150);
/// dt of the default 64² experiment (s); a coupling every 25 steps.
pub const DT: f64 = 288.0;
pub const COUPLING_STEPS: u64 = 25;
/// Steps between diagnostics records (2 h) and between snapshots (6 h).
pub const DIAG_STEPS: u64 = 25;
pub const SNAP_STEPS: u64 = 75;

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is in the repository")
        .to_path_buf()
}

/// The default experiment over `duration`, standalone (its `[coupling]` and `[ml]` tables
/// removed) or coupled, with diagnostics every 2 h, snapshots every 6 h, checkpoints every
/// day, a 20 s coupling timeout; written into a fresh scratch folder.
pub fn experiment(test: &str, duration: &str, coupled: bool) -> (PathBuf, String) {
    let text = std::fs::read_to_string(repo().join("configs/double_gyre_64.toml"))
        .expect("the default config exists");
    let mut out = String::new();
    let mut skipping = false;
    for line in text.lines() {
        if line.starts_with('[') {
            let table = line.trim_start_matches('[').split(['.', ']']).next();
            skipping = !coupled && matches!(table, Some("coupling") | Some("ml"));
        }
        if skipping {
            continue;
        }
        let key = line.split('=').next().unwrap_or("").trim();
        let line = match key {
            "duration" => format!("duration = \"{duration}\""),
            "timeout" => "timeout = \"20s\"".to_string(),
            "snapshot_interval" => "snapshot_interval = \"6h\"".to_string(),
            "diagnostics_interval" => "diagnostics_interval = \"2h\"".to_string(),
            "checkpoint_interval" => "checkpoint_interval = \"1d\"".to_string(),
            "progress_interval_s" => "progress_interval_s = 1000.0".to_string(),
            _ => line.to_string(),
        };
        out.push_str(&line);
        out.push('\n');
    }
    let dir = scratch_dir(test);
    let path = dir.join("exp.toml");
    std::fs::write(&path, out).expect("scratch is writable");
    (dir, path.display().to_string())
}

pub fn run_dir(dir: &Path) -> PathBuf {
    dir.join("out/double_gyre_64")
}

pub fn checkpoint(dir: &Path, step: u64) -> PathBuf {
    run_dir(dir).join(format!("checkpoint_{step:010}.nc"))
}

/// The job's command: 2 ocean ranks, and 1 ml-server rank when `coupled`.
pub fn command(cfg: &str, coupled: bool, ocean_args: &[&str]) -> Command {
    let mut cmd = mpiexec();
    cmd.args(["-n", "2"])
        .arg(workspace_bin("ocean-model"))
        .args(["--config", cfg])
        .args(ocean_args);
    if coupled {
        cmd.args([":", "-n", "1"])
            .arg(workspace_bin("ml-server"))
            .args(["--config", cfg]);
    }
    cmd.env_remove("EDDYLINK_FAULT");
    cmd
}

/// Runs the job to its end in `dir`.
pub fn run(dir: &Path, cmd: Command) -> Outcome {
    let out = run_with_limit(cmd, dir, LIMIT);
    assert!(!out.timed_out(), "the job hung:\n{}", out.output());
    // The figures of docs/reliability.md (--nocapture).
    eprintln!(
        "{}: exit {:?} after {:.1} s",
        dir.display(),
        out.code,
        out.elapsed.as_secs_f64()
    );
    out
}

/// A job running in its own process group, to be signalled.
pub struct Job {
    child: Child,
    started: Instant,
    readers: [JoinHandle<String>; 2],
}

impl Job {
    pub fn spawn(dir: &Path, mut cmd: Command) -> Job {
        cmd.current_dir(dir)
            .env("RUST_BACKTRACE", "0")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        let mut child = cmd.spawn().expect("mpiexec starts");
        let out = child.stdout.take().expect("piped stdout");
        let err = child.stderr.take().expect("piped stderr");
        let read = |mut pipe: Box<dyn Read + Send>| {
            std::thread::spawn(move || {
                let mut s = String::new();
                let _ = pipe.read_to_string(&mut s);
                s
            })
        };
        Job {
            child,
            started: Instant::now(),
            readers: [read(Box::new(out)), read(Box::new(err))],
        }
    }

    /// Waits until the header of `file` counts at least `records` records.
    pub fn wait_for_records(&mut self, file: &Path, records: u32) {
        while self.started.elapsed() < LIMIT {
            if ocean_model::output::header_records(file).is_ok_and(|n| n >= records) {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "the job ended ({status}) before {} had {records} records",
                    file.display()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.kill();
        panic!("{} never had {records} records", file.display());
    }

    /// Sends `signal` to mpiexec only (Hydra forwards it to the ranks).
    pub fn signal_mpiexec(&self, signal: i32) {
        // SAFETY: kill(2) on our child.
        unsafe { libc::kill(self.child.id() as i32, signal) };
    }

    /// Sends `signal` to every process of the job (mpiexec, its proxy and every rank), as
    /// Ctrl-C in a terminal or a batch system signalling every task does.
    pub fn signal_all(&self, signal: i32) {
        // SAFETY: kill(2) on the process group we created.
        unsafe { libc::kill(-(self.child.id() as i32), signal) };
    }

    fn kill(&mut self) {
        self.signal_all(libc::SIGKILL);
        let _ = self.child.wait();
    }

    /// Waits for the end of the job (killing it at the limit, a failed test); returns it and
    /// the time from `since` to its end.
    pub fn wait(mut self, since: Instant) -> (Outcome, Duration) {
        use std::os::unix::process::ExitStatusExt;
        let (code, signal, hit_limit) = loop {
            match self.child.try_wait() {
                Ok(Some(status)) => break (status.code(), status.signal(), false),
                Ok(None) if self.started.elapsed() > LIMIT => {
                    self.kill();
                    break (None, Some(libc::SIGKILL), true);
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(10)),
                Err(e) => panic!("waiting for mpiexec: {e}"),
            }
        };
        let took = since.elapsed();
        self.signal_all(libc::SIGKILL);
        let [out, err] = self.readers;
        let outcome = Outcome {
            code,
            signal,
            hit_limit,
            stdout: out.join().unwrap_or_default(),
            stderr: err.join().unwrap_or_default(),
            elapsed: self.started.elapsed(),
        };
        assert!(!outcome.timed_out(), "the job hung:\n{}", outcome.output());
        (outcome, took)
    }
}

/// The status the job ends with when its programs stop on `signal` (each exits with
/// 128 + `signal`): Hydra's mpiexec passes that on; Open MPI's mpirun, once it has itself
/// received and forwarded SIGTERM or SIGINT, ends with 1 whatever its processes returned
/// (measured with Open MPI 4.1.4, docs/reliability.md).
pub fn launcher_status(signal: i32) -> i32 {
    if launcher_drops_last_lines(signal) {
        1
    } else {
        128 + signal
    }
}

/// The signal the programs report having stopped on: `signal`, except under Open MPI's
/// mpirun, which passes a Ctrl-C (SIGINT) on as SIGTERM; the ranks then agree on the higher
/// number of the two.
pub fn reported_signal(signal: i32) -> i32 {
    if launcher_drops_last_lines(signal) {
        libc::SIGTERM
    } else {
        signal
    }
}

/// Open MPI's mpirun, after forwarding SIGTERM or SIGINT, ends the job with status 1 and
/// SIGKILLs the processes 1 s later (`odls_base_sigkill_timeout`), which may cut what they
/// write after the checkpoint.
pub fn launcher_drops_last_lines(signal: i32) -> bool {
    eddylink_tests::rank_tag_flag() == Some("--tag-output") && signal != libc::SIGUSR1
}

/// Opens the run's files with xarray as a user would; returns the number of records of
/// snapshots.nc and diagnostics.nc after checking that every record holds finite values
/// at the times of the schedule from t = 0. Skipped (with a message) without a Python.
pub fn open_in_xarray(run_dir: &Path) -> Option<(usize, usize)> {
    let Some(python) = std::env::var_os("EDDYLINK_PYTHON") else {
        eprintln!("SKIPPED the xarray check: EDDYLINK_PYTHON is not set (run `make setup`)");
        return None;
    };
    let script = format!(
        r#"
import sys, numpy as np, xarray as xr
run = sys.argv[1]
counts = []
for name, every in (("snapshots", {SNAP_STEPS}), ("diagnostics", {DIAG_STEPS})):
    ds = xr.open_dataset(f"{{run}}/{{name}}.nc", decode_times=False)
    t = ds["time"].values
    want = np.arange(len(t)) * every * {DT}
    assert np.array_equal(t, want), (name, t, want)
    for v in ds.data_vars.values():
        assert np.isfinite(v.values).all(), (name, v.name)
    ds.close()
    ds = xr.open_dataset(f"{{run}}/{{name}}.nc")  # and with the noleap calendar decoded
    assert ds.sizes["time"] == len(t)
    counts.append(len(t))
print(*counts)
"#
    );
    let out = Command::new(python)
        .args(["-c", &script])
        .arg(run_dir)
        .output()
        .expect("python runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "xarray cannot read the files in {}:\n{}{}",
        run_dir.display(),
        stdout,
        String::from_utf8_lossy(&out.stderr)
    );
    let mut counts = stdout
        .split_whitespace()
        .map(|n| n.parse().expect("a count"));
    Some((counts.next()?, counts.next()?))
}

/// `ocean-model plot` draws the run's figures.
pub fn assert_plots(run_dir: &Path) {
    let mut cmd = Command::new(workspace_bin("ocean-model"));
    cmd.arg("plot").arg(run_dir);
    let out = run_with_limit(cmd, run_dir, Duration::from_secs(60));
    assert!(
        out.succeeded(),
        "ocean-model plot {}:\n{}",
        run_dir.display(),
        out.output()
    );
    assert!(run_dir.join("plots/vorticity.png").exists());
}
