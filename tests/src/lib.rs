//! Helpers for eddylink's end-to-end tests: launch real MPMD jobs under `mpiexec` with a
//! wall-clock limit, run any child process or computation with a deadline, skip visibly
//! ([`skip`]), and the known fields that the toy components exchange and check.

use std::io::Read;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use coupler::{Boundary, Region};

pub mod skip;
pub mod toy;

/// `mpiexec` with the flags its MPI needs: the launcher chosen by `scripts/setup.sh`
/// (cargo passes `EDDYLINK_MPIEXEC` in), else the one on PATH; see [`mpiexec_flags`].
pub fn mpiexec() -> Command {
    let mut cmd = Command::new(mpiexec_program());
    cmd.args(mpiexec_flags());
    cmd
}

fn mpiexec_program() -> PathBuf {
    std::env::var_os("EDDYLINK_MPIEXEC")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("mpiexec"))
}

/// The `mpiexec` flag that starts every output line with the rank that wrote it: `-l`
/// for MPICH's Hydra, `--tag-output` for Open MPI; `None` for another launcher.
pub fn rank_tag_flag() -> Option<&'static str> {
    static FLAG: std::sync::OnceLock<Option<&'static str>> = std::sync::OnceLock::new();
    *FLAG.get_or_init(|| {
        let mut cmd = Command::new(mpiexec_program());
        cmd.arg("--version");
        let out = output_within(cmd, Duration::from_secs(30));
        let text = out.stdout + &out.stderr;
        if text.contains("HYDRA") {
            Some("-l")
        } else if text.contains("Open MPI") || text.contains("OpenRTE") {
            Some("--tag-output")
        } else {
            None
        }
    })
}

/// The flags every launch passes to `mpiexec` (Open MPI: `--oversubscribe`, and
/// `--allow-run-as-root` as root; Hydra: none): `EDDYLINK_MPIEXEC_FLAGS` as the set-up
/// wrote it, else what `scripts/mpiexec-flags.sh` finds from `mpiexec --version`.
pub fn mpiexec_flags() -> Vec<String> {
    static FLAGS: OnceLock<String> = OnceLock::new();
    let text = FLAGS.get_or_init(|| {
        std::env::var("EDDYLINK_MPIEXEC_FLAGS").unwrap_or_else(|_| {
            let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/mpiexec-flags.sh");
            Command::new("bash")
                .arg(script)
                .arg(mpiexec_program())
                .output()
                .ok()
                .filter(|o| o.status.success())
                .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
                .unwrap_or_default()
        })
    });
    text.split_whitespace().map(String::from).collect()
}

/// The folder holding the workspace's binaries for the profile these tests were built with.
pub fn target_bin_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary knows its path");
    // target/<profile>/deps/<test> → target/<profile>
    exe.parent()
        .and_then(Path::parent)
        .expect("test binary under target/<profile>/deps")
        .to_path_buf()
}

/// A path to one of the workspace's binaries (built by `cargo test --workspace`).
pub fn workspace_bin(name: &str) -> PathBuf {
    let path = target_bin_dir().join(name);
    assert!(
        path.exists(),
        "{} is not built: run `cargo build --workspace` first",
        path.display()
    );
    path
}

/// `[coupling]` of the ocean's coupled tests: hourly u, v from "ocean" to "ml" and sx, sy
/// back (the stand-in `zero-forcing-partner` answers it).
pub const OCEAN_ML_HOURLY: &str = r#"
[coupling]
timeout = "30s"
[[coupling.exchange]]
from = "ocean.u"
to = "ml.u"
grid = "U"
period = "1h"
[[coupling.exchange]]
from = "ocean.v"
to = "ml.v"
grid = "V"
period = "1h"
[[coupling.exchange]]
from = "ml.sx"
to = "ocean.sx"
grid = "U"
period = "1h"
[[coupling.exchange]]
from = "ml.sy"
to = "ocean.sy"
grid = "V"
period = "1h"
"#;

/// `[coupling]` of an `n × n` ocean and an ML server with the halo 1 a backscatter model
/// needs: u, v to "ml" and sx, sy back every `period`, and the static land masks.
pub fn coupling_with_masks(n: usize, period: &str) -> String {
    let mut text = format!("[coupling]\ntimeout = \"60s\"\ngrid = [{n}, {n}]\n\n");
    let every = format!("\"{period}\"");
    for (from, to, grid, period, halo) in [
        ("ocean.u", "ml.u", "U", every.as_str(), 1),
        ("ocean.v", "ml.v", "V", &every, 1),
        ("ml.sx", "ocean.sx", "U", &every, 0),
        ("ml.sy", "ocean.sy", "V", &every, 0),
        ("ocean.mask_u", "ml.mask_u", "U", "\"static\"", 1),
        ("ocean.mask_v", "ml.mask_v", "V", "\"static\"", 1),
    ] {
        text += &format!(
            "[[coupling.exchange]]\nfrom = \"{from}\"\nto = \"{to}\"\ngrid = \"{grid}\"\n\
             period = {period}\nhalo = {halo}\n\n"
        );
    }
    text
}

/// One program of an MPMD launch: `-n ranks program args…`.
#[derive(Debug, Clone)]
pub struct Part {
    pub ranks: usize,
    pub program: PathBuf,
    pub args: Vec<String>,
}

impl Part {
    pub fn new(ranks: usize, program: impl Into<PathBuf>, args: &[&str]) -> Self {
        Part {
            ranks,
            program: program.into(),
            args: args.iter().map(|s| s.to_string()).collect(),
        }
    }
}

/// What an MPMD job (or any child process) did.
#[derive(Debug)]
pub struct Outcome {
    /// Exit code, or `None` when the process did not exit by itself: killed at the
    /// wall-clock limit, or ended by a signal.
    pub code: Option<i32>,
    /// The signal that ended the process, if one did (the kill at the limit included).
    pub signal: Option<i32>,
    /// Whether the process was killed at the wall-clock limit.
    pub hit_limit: bool,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl Outcome {
    pub fn timed_out(&self) -> bool {
        self.hit_limit
    }

    pub fn succeeded(&self) -> bool {
        self.code == Some(0)
    }

    /// How the process ended, for messages: "exit 1", "signal 11", "killed at the limit".
    pub fn ending(&self) -> String {
        match (self.code, self.signal, self.hit_limit) {
            (_, _, true) => "killed at the wall-clock limit".into(),
            (Some(c), _, _) => format!("exit {c}"),
            (None, Some(s), _) => format!("signal {s}"),
            (None, None, _) => "unknown".into(),
        }
    }

    /// Asserts the job failed cleanly — a non-zero exit, not a kill at the wall-clock limit
    /// nor a death by signal — within `within`, with `reason` on stderr exactly `times`
    /// times (once per rank that reports it). Ranks write at once and their lines may
    /// interleave, so this counts occurrences rather than parsing lines.
    pub fn assert_stopped_with(&self, reason: &str, times: usize, within: Duration) {
        assert!(
            matches!(self.code, Some(c) if c != 0) && !self.timed_out(),
            "expected a clean failure (a non-zero exit), got {}:\n{}",
            self.ending(),
            self.output()
        );
        let said = self.stderr.matches(reason).count();
        assert_eq!(
            said,
            times,
            "expected `{reason}` {times} times:\n{}",
            self.output()
        );
        assert!(
            self.elapsed < within,
            "took {:?} (limit {within:?}):\n{}",
            self.elapsed,
            self.output()
        );
    }

    /// The world ranks whose stderr lines contain `text`, for a job launched with
    /// [`rank_tag_flag`] (`[r] line` from Hydra, `[job,r]<stderr>:line` from Open MPI).
    pub fn ranks_saying(&self, text: &str) -> std::collections::BTreeSet<usize> {
        self.stderr
            .lines()
            .filter(|line| line.contains(text))
            .filter_map(|line| {
                let tag = line.strip_prefix('[')?.split(']').next()?;
                tag.rsplit(',').next()?.trim().parse().ok()
            })
            .collect()
    }

    /// Standard output and error together, for assertions and failure messages.
    pub fn output(&self) -> String {
        format!(
            "--- stdout ---\n{}\n--- stderr ---\n{}",
            self.stdout, self.stderr
        )
    }
}

/// Runs `mpiexec -n a prog_a … : -n b prog_b …` in `dir`, killing the whole job after `limit`.
pub fn run_mpmd(parts: &[Part], dir: &Path, limit: Duration) -> Outcome {
    let mut cmd = mpiexec();
    for (k, part) in parts.iter().enumerate() {
        if k > 0 {
            cmd.arg(":");
        }
        cmd.arg("-n")
            .arg(part.ranks.to_string())
            .arg(&part.program)
            .args(&part.args);
    }
    run_with_limit(cmd, dir, limit)
}

/// Runs a command in `dir` in its own process group, killing the group after `limit`.
pub fn run_with_limit(mut cmd: Command, dir: &Path, limit: Duration) -> Outcome {
    let start = Instant::now();
    cmd.current_dir(dir)
        .env("RUST_BACKTRACE", "0")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
    let stdout = read_in_background(child.stdout.take().expect("piped stdout"));
    let stderr = read_in_background(child.stderr.take().expect("piped stderr"));
    let (status, hit_limit) = loop {
        match child.try_wait() {
            Ok(Some(status)) => break (Some(status), false),
            Ok(None) if start.elapsed() > limit => {
                // SAFETY: kill(2) on the child's process group, which we created.
                unsafe { libc::kill(-(child.id() as i32), libc::SIGKILL) };
                break (child.wait().ok(), true);
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => panic!("waiting for {cmd:?}: {e}"),
        }
    };
    // Stray ranks may hold the pipes open after mpiexec ends: make sure the group is gone.
    // SAFETY: as above.
    unsafe { libc::kill(-(child.id() as i32), libc::SIGKILL) };
    Outcome {
        code: status.and_then(|s| s.code()),
        signal: status.and_then(|s| s.signal()),
        hit_limit,
        stdout: collect(stdout),
        stderr: collect(stderr),
        elapsed: start.elapsed(),
    }
}

/// Reads `pipe` to its end on a thread of its own.
fn read_in_background(mut pipe: impl Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        let _ = tx.send(String::from_utf8_lossy(&bytes).into_owned());
    });
    rx
}

/// What a pipe held, once its writers are gone; a process outside the killed group that
/// still holds it open gets 10 s, so that it cannot hang the test.
fn collect(pipe: mpsc::Receiver<String>) -> String {
    pipe.recv_timeout(Duration::from_secs(10))
        .unwrap_or_else(|_| "(the pipe was still held open 10 s after the job ended)".into())
}

/// Runs `cmd` in the working directory with a deadline; panics, naming the command and
/// what it printed, when it runs past `limit`.
pub fn output_within(cmd: Command, limit: Duration) -> Outcome {
    let what = format!("{cmd:?}");
    let out = run_with_limit(cmd, Path::new("."), limit);
    assert!(
        !out.timed_out(),
        "{what} ran past its {limit:?} deadline (hang?):\n{}",
        out.output()
    );
    out
}

/// Runs `f` on a thread of its own and returns its result; panics when it takes longer
/// than `limit` (the thread is left behind; the test binary's exit ends it).
pub fn within<T: Send + 'static>(limit: Duration, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(limit) {
        Ok(value) => value,
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("did not return within {limit:?} (hang?)"),
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            panic!("the computation panicked (see its message above)")
        }
    }
}

/// A fresh, empty scratch folder for one test.
pub fn scratch_dir(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("eddylink-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir is writable");
    dir
}

/// Splits an `nx × ny` grid into `px × py` boxes of uneven sizes, rank-major along x.
pub fn blocks(nx: usize, ny: usize, px: usize, py: usize) -> Vec<Region> {
    let cuts = |n: usize, p: usize| -> Vec<(usize, usize)> {
        // Uneven where n is not a multiple of p.
        (0..p)
            .map(|k| (k * n / p, (k + 1) * n / p - k * n / p))
            .collect()
    };
    let (xs, ys) = (cuts(nx, px), cuts(ny, py));
    let mut boxes = Vec::new();
    for &(j0, nj) in &ys {
        for &(i0, ni) in &xs {
            boxes.push(Region { i0, j0, ni, nj });
        }
    }
    boxes
}

/// Parses a decomposition written `PXxPY`, e.g. `2x1`.
pub fn parse_layout(text: &str) -> Option<(usize, usize)> {
    let (a, b) = text.split_once('x')?;
    Some((a.parse().ok()?, b.parse().ok()?))
}

/// The known field the toy ocean puts at step `step`: exact in f32 for the small grids and
/// step counts the tests use.
pub fn toy_value(i: usize, j: usize, level: usize, step: usize) -> f64 {
    (i + 32 * j + 1024 * level + 8192 * step) as f64
}

/// The value a destination expects at global position (gi, gj) — which may lie in the halo,
/// beyond an edge — after the time operation `op` over the source steps `steps`.
pub fn expected_cell(
    gi: i64,
    gj: i64,
    level: usize,
    size: (usize, usize),
    edges: [Boundary; 2],
    steps: &[usize],
    op: coupler::TimeOp,
) -> f64 {
    let map = |g: i64, n: usize, edge: Boundary| match edge {
        Boundary::Cyclic => Some(g.rem_euclid(n as i64) as usize),
        Boundary::Closed => (g >= 0 && g < n as i64).then_some(g as usize),
    };
    let (Some(i), Some(j)) = (map(gi, size.0, edges[0]), map(gj, size.1, edges[1])) else {
        return 0.0;
    };
    if steps.is_empty() {
        return 0.0; // nothing delivered yet (a lag): the receiver's array still holds zeros
    }
    let mut values = steps.iter().map(|&s| toy_value(i, j, level, s));
    use coupler::TimeOp::*;
    match op {
        Instant => values.next_back().unwrap_or(0.0),
        Average => values.sum::<f64>() / steps.len() as f64,
        Accumulate => values.sum(),
        Min => values.fold(f64::INFINITY, f64::min),
        Max => values.fold(f64::NEG_INFINITY, f64::max),
    }
}

/// The source steps (of length `dt`) whose puts make up the data delivered for coupling
/// time `t` of an exchange with `period` and `lag` (seconds): steps s with
/// t − period − lag < s·dt ≤ t − lag, s ≥ 0.
pub fn steps_of_coupling_time(t: f64, period: f64, lag: f64, dt: f64) -> Vec<usize> {
    let last = ((t - lag) / dt + 1e-9).floor() as i64;
    let first = ((t - period - lag) / dt + 1e-9).floor() as i64 + 1;
    (first.max(0)..=last).map(|s| s as usize).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_tile_the_grid() {
        for (px, py) in [(1, 1), (2, 1), (1, 3), (3, 2)] {
            let b = blocks(24, 20, px, py);
            assert_eq!(coupler::routes::check_tiling(&b), Ok((24, 20)));
        }
    }

    fn sh(script: &str) -> Outcome {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", script]);
        run_with_limit(cmd, Path::new("."), Duration::from_secs(5))
    }

    #[test]
    fn a_death_by_signal_is_not_a_clean_failure() {
        let died = sh("echo reason >&2; kill -SEGV $$");
        assert_eq!((died.code, died.signal), (None, Some(libc::SIGSEGV)));
        assert!(!died.timed_out() && !died.succeeded());
        let accepted = std::panic::catch_unwind(|| {
            died.assert_stopped_with("reason", 1, Duration::from_secs(5))
        });
        assert!(accepted.is_err(), "a SIGSEGV passed as a clean failure");

        let failed = sh("echo reason >&2; exit 3");
        assert_eq!((failed.code, failed.signal), (Some(3), None));
        failed.assert_stopped_with("reason", 1, Duration::from_secs(5));
    }

    #[test]
    fn a_child_past_its_deadline_is_killed_and_said_to_be() {
        let mut cmd = Command::new("sleep");
        cmd.arg("30");
        let out = run_with_limit(cmd, Path::new("."), Duration::from_millis(300));
        assert!(
            out.timed_out() && out.elapsed < Duration::from_secs(5),
            "{out:?}"
        );
        assert_eq!(out.signal, Some(libc::SIGKILL));
        let hung = std::panic::catch_unwind(|| {
            within(Duration::from_millis(100), || {
                std::thread::sleep(Duration::from_secs(30))
            })
        });
        assert!(hung.is_err(), "a hung computation passed");
        assert_eq!(within(Duration::from_secs(5), || 6 * 7), 42);
    }

    #[test]
    fn steps_of_a_period() {
        assert_eq!(steps_of_coupling_time(0.0, 3.0, 0.0, 1.0), vec![0]);
        assert_eq!(steps_of_coupling_time(3.0, 3.0, 0.0, 1.0), vec![1, 2, 3]);
        assert_eq!(steps_of_coupling_time(3.0, 3.0, 1.0, 1.0), vec![0, 1, 2]);
        assert_eq!(steps_of_coupling_time(6.0, 3.0, 1.0, 1.0), vec![3, 4, 5]);
    }
}
