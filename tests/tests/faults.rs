//! Fault injection with the real programs: ocean-model ×2 and ml-server ×1 run the default
//! experiment shortened to one day (300 ocean steps, a coupling every 2 h = 25 steps), and
//! `EDDYLINK_FAULT` makes one component panic, die, go silent or send bad forcing at a
//! chosen point. Each test asserts the exit, the message that names what happened, how
//! long the job took, and — where the ocean can save its work — the checkpoint and a
//! bit-for-bit restart from it.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use eddylink_tests::{
    mpiexec, rank_tag_flag, run_with_limit, scratch_dir, skip, workspace_bin, Outcome,
};

/// The `[coupling] timeout` of these runs.
const TIMEOUT_S: u64 = 20;
/// Wall-clock limit of one job: a hang fails the test.
const LIMIT: Duration = Duration::from_secs(150);
/// Steps of the one-day run (dt = 288 s).
const STEPS: u64 = 300;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is in the repository")
        .to_path_buf()
}

/// The default experiment for one day, checkpoints every 6 h, the test's timeout, and
/// `ocean.forcing.check = check`; written into a fresh scratch folder.
fn experiment(test: &str, timeout_s: u64, check: &str) -> (PathBuf, String) {
    let text = std::fs::read_to_string(repo().join("configs/double_gyre_64.toml"))
        .expect("the default config exists");
    let mut out = String::new();
    for line in text.lines() {
        let key = line.split('=').next().unwrap_or("").trim();
        let line = match key {
            "duration" => "duration = \"1d\"".to_string(),
            "timeout" => format!("timeout = \"{timeout_s}s\""),
            "checkpoint_interval" => "checkpoint_interval = \"6h\"".to_string(),
            "progress_interval_s" => "progress_interval_s = 1000.0".to_string(),
            "check" => format!("check = \"{check}\""),
            _ => line.to_string(),
        };
        out.push_str(&line);
        out.push('\n');
    }
    assert!(
        out.contains(&format!("check = \"{check}\"")),
        "the default config sets ocean.forcing.check"
    );
    let dir = scratch_dir(test);
    let path = dir.join("exp.toml");
    std::fs::write(&path, out).expect("scratch is writable");
    (dir, path.display().to_string())
}

/// World ranks of the job: ocean 0 and 1, then the ML rank.
const OCEAN_0: usize = 0;
const OCEAN_1: usize = 1;
const ML_0: usize = 2;

/// Runs the coupled job in `dir` with `fault` in the environment; `ocean_args` are added
/// to the ocean's command line. Output lines carry the rank that wrote them.
fn launch(dir: &Path, cfg: &str, fault: Option<&str>, ocean_args: &[&str]) -> Outcome {
    let mut cmd = mpiexec();
    cmd.args(rank_tag_flag());
    cmd.args(["-n", "2"])
        .arg(workspace_bin("ocean-model"))
        .args(["--config", cfg])
        .args(ocean_args)
        .args([":", "-n", "1"])
        .arg(workspace_bin("ml-server"))
        .args(["--config", cfg]);
    match fault {
        Some(f) => cmd.env("EDDYLINK_FAULT", f),
        None => cmd.env_remove("EDDYLINK_FAULT"),
    };
    let out = run_with_limit(cmd, dir, LIMIT);
    assert!(!out.timed_out(), "the job hung:\n{}", out.output());
    // The figures of docs/reliability.md (cargo test --test faults -- --nocapture).
    eprintln!(
        "{} {}: exit {:?} after {:.1} s",
        dir.display(),
        fault.unwrap_or("(no fault)"),
        out.code,
        out.elapsed.as_secs_f64()
    );
    out
}

fn run_dir(dir: &Path) -> PathBuf {
    dir.join("out/double_gyre_64")
}

fn checkpoint(dir: &Path, step: u64) -> PathBuf {
    run_dir(dir).join(format!("checkpoint_{step:010}.nc"))
}

/// The final checkpoint of an uninterrupted run, once for all tests.
fn reference_final_state() -> &'static [u8] {
    static REFERENCE: OnceLock<Vec<u8>> = OnceLock::new();
    REFERENCE.get_or_init(|| {
        let (dir, cfg) = experiment("faults_reference", TIMEOUT_S, "abort");
        let out = launch(&dir, &cfg, None, &[]);
        assert!(out.succeeded(), "reference run:\n{}", out.output());
        std::fs::read(checkpoint(&dir, STEPS)).expect("the final checkpoint")
    })
}

/// Restarts the coupled run from `ck` and checks that it ends bit for bit where the
/// uninterrupted run ended.
fn assert_restart_matches(dir: &Path, cfg: &str, ck: &Path) {
    assert!(ck.exists(), "no checkpoint {}", ck.display());
    let out = launch(dir, cfg, None, &["--restart", &ck.display().to_string()]);
    assert!(
        out.succeeded(),
        "restart from {}:\n{}",
        ck.display(),
        out.output()
    );
    let end = std::fs::read(checkpoint(dir, STEPS)).expect("the restarted run's final checkpoint");
    assert!(
        end == reference_final_state(),
        "the restart from {} does not end bit for bit where the uninterrupted run ended",
        ck.display()
    );
}

fn assert_failed_within(out: &Outcome, within: Duration) {
    assert!(!out.succeeded(), "expected a failure:\n{}", out.output());
    assert!(
        out.elapsed < within,
        "took {:?} (expected under {within:?}):\n{}",
        out.elapsed,
        out.output()
    );
}

/// Asserts `text` is in the job's stderr or in a component's log in the run directory
/// (a launcher tearing a job down may drop the last lines of a rank's stderr; the log
/// files keep rank 0's).
fn assert_said(out: &Outcome, dir: &Path, text: &str) {
    let in_logs = ["ocean.log", "ml.log"]
        .iter()
        .filter_map(|f| std::fs::read_to_string(run_dir(dir).join(f)).ok())
        .any(|log| log.contains(text));
    assert!(
        in_logs || out.stderr.contains(text),
        "expected `{text}`:\n{}",
        out.output()
    );
}

/// Asserts that each world rank of `ranks` said `text`: in its own tagged stderr lines or,
/// for rank 0 of a component, in that component's log (which only rank 0 writes). Each
/// rank counts once, wherever it said it.
fn assert_said_by(out: &Outcome, dir: &Path, text: &str, ranks: &[usize]) {
    let Some(_) = rank_tag_flag() else {
        skip::skip("mpiexec cannot tag lines by rank: which ranks spoke is unchecked");
        return assert_said(out, dir, text);
    };
    let mut said = out.ranks_saying(text);
    for (log, leader) in [("ocean.log", OCEAN_0), ("ml.log", ML_0)] {
        let in_log =
            std::fs::read_to_string(run_dir(dir).join(log)).is_ok_and(|l| l.contains(text));
        if in_log {
            said.insert(leader);
        }
    }
    let silent: Vec<usize> = ranks
        .iter()
        .copied()
        .filter(|r| !said.contains(r))
        .collect();
    assert!(
        silent.is_empty(),
        "expected `{text}` from world ranks {ranks:?}; ranks {silent:?} did not say it:\n{}",
        out.output()
    );
}

#[test]
fn an_ml_panic_stops_the_ocean_at_once_which_saves_its_last_step_and_restarts_bit_for_bit() {
    let (dir, cfg) = experiment("fault_ml_panic", TIMEOUT_S, "abort");
    // Coupling call 3 is t = 4 h = step 50.
    let out = launch(&dir, &cfg, Some("ml:panic@3"), &[]);
    assert_failed_within(&out, Duration::from_secs(TIMEOUT_S));
    assert_said(
        &out,
        &dir,
        "component 'ml' (world rank 2) failed: panicked: injected fault",
    );
    assert_said(&out, &dir, "checkpoint of the last completed step 50");
    assert_restart_matches(&dir, &cfg, &checkpoint(&dir, 50));
}

#[test]
fn a_killed_ml_rank_ends_the_job_at_once_and_the_last_periodic_checkpoint_restarts_bit_for_bit() {
    let (dir, cfg) = experiment("fault_ml_kill", TIMEOUT_S, "abort");
    // Call 5 is t = 8 h = step 100; the last periodic checkpoint is at 6 h = step 75.
    let out = launch(&dir, &cfg, Some("ml:kill@5"), &[]);
    assert_failed_within(&out, Duration::from_secs(TIMEOUT_S));
    assert_said(
        &out,
        &dir,
        "injected fault (EDDYLINK_FAULT): ml kill@5: SIGKILL",
    );
    assert!(
        !checkpoint(&dir, 100).exists(),
        "a SIGKILLed job cannot checkpoint"
    );
    assert_restart_matches(&dir, &cfg, &checkpoint(&dir, 75));
}

#[test]
fn an_ocean_rank_that_panics_stops_the_ml_server_with_its_reason() {
    let (dir, cfg) = experiment("fault_ocean_panic", TIMEOUT_S, "abort");
    let out = launch(&dir, &cfg, Some("ocean/1:panic@100"), &[]);
    assert_failed_within(&out, Duration::from_secs(TIMEOUT_S));
    assert_said(&out, &dir, "component 'ocean' (world rank 1) failed: panicked: injected fault (EDDYLINK_FAULT): ocean panic@100");
}

#[test]
fn a_silent_ml_server_is_named_at_the_timeout_and_the_ocean_saves_its_last_step() {
    let timeout = 8;
    let (dir, cfg) = experiment("fault_ml_hang", timeout, "abort");
    let out = launch(&dir, &cfg, Some("ml:hang@3"), &[]);
    assert_failed_within(&out, Duration::from_secs(2 * timeout + 10));
    assert!(
        out.elapsed >= Duration::from_secs(timeout),
        "{:?}",
        out.elapsed
    );
    assert_said(&out, &dir, "for 'sx' from ml at model time 14400 s");
    assert_said(&out, &dir, "checkpoint of the last completed step 50");
    assert!(checkpoint(&dir, 50).exists());
}

#[test]
fn nan_forcing_with_policy_abort_stops_the_run_naming_step_level_and_cell() {
    let (dir, cfg) = experiment("fault_nan_abort", TIMEOUT_S, "abort");
    let out = launch(&dir, &cfg, Some("ml:nan@3"), &[]);
    assert_failed_within(&out, Duration::from_secs(TIMEOUT_S));
    assert_said(
        &out,
        &dir,
        "bad ML forcing: step 50 (t = 14400 s): received sx has",
    );
    assert_said(&out, &dir, "first: NaN at level 0, global cell (i = ");
    assert!(checkpoint(&dir, 50).exists(), "{}", out.output());
}

#[test]
fn bad_forcing_with_policy_zero_or_clip_is_logged_and_the_run_goes_on() {
    for (policy, fault, said) in [
        (
            "zero",
            "ml:nan@3",
            "set to 0 (ocean.forcing.check = \"zero\")",
        ),
        ("clip", "ml:huge@3", "clipped to ±0.0001"),
    ] {
        let (dir, cfg) = experiment(&format!("fault_forcing_{policy}"), TIMEOUT_S, policy);
        let out = launch(&dir, &cfg, Some(fault), &[]);
        assert!(out.succeeded(), "{policy}:\n{}", out.output());
        assert_said(&out, &dir, "step 50 (t = 14400 s): received sx has");
        assert_said(&out, &dir, said);
    }
}

#[test]
fn a_component_that_dies_before_enddef_ends_the_job_at_once() {
    for (fault, said) in [
        (
            "ml:exit@init",
            "injected fault (EDDYLINK_FAULT): ml exit@init",
        ),
        (
            "ocean/0:panic@init",
            "component 'ocean' (world rank 0) ends the MPI job",
        ),
    ] {
        let (dir, cfg) = experiment("fault_init", TIMEOUT_S, "abort");
        let out = launch(&dir, &cfg, Some(fault), &[]);
        assert_failed_within(&out, Duration::from_secs(TIMEOUT_S));
        assert_said(&out, &dir, said);
    }
}

#[test]
fn a_bad_fault_variable_is_a_clear_start_up_error() {
    let (dir, cfg) = experiment("fault_bad_variable", TIMEOUT_S, "abort");
    let out = launch(&dir, &cfg, Some("ml:explode@3"), &[]);
    assert_failed_within(&out, Duration::from_secs(TIMEOUT_S));
    assert_said(&out, &dir, "EDDYLINK_FAULT='ml:explode@3'");
}

#[test]
fn a_bad_ocean_value_in_a_coupled_run_stops_both_components_at_once() {
    let (dir, cfg) = experiment("fault_bad_ocean_value", TIMEOUT_S, "abort");
    let text = std::fs::read_to_string(&cfg).unwrap();
    let line = text
        .lines()
        .find(|l| l.starts_with("depth = "))
        .expect("ocean.physics.depth");
    std::fs::write(&cfg, text.replacen(line, "depth = -500.0", 1)).unwrap();
    let out = launch(&dir, &cfg, None, &[]);
    // Only the ocean checks [ocean]; the launch's discovery stops every component at once
    // (not at the ML side's 20 s timeout) and world rank 0 prints the one line of the job.
    assert_failed_within(&out, Duration::from_secs(TIMEOUT_S));
    assert_said_by(&out, &dir, "ocean.physics.depth = -500", &[OCEAN_0]);
}

#[test]
fn a_restart_off_a_coupling_time_is_refused_on_every_rank_with_the_reason() {
    // Checkpoints every 10 steps (2,880 s) fall between the 2 h coupling times.
    let (dir, cfg) = experiment("fault_restart_off_time", TIMEOUT_S, "abort");
    let text = std::fs::read_to_string(&cfg).unwrap();
    let text = text.replace(
        "checkpoint_interval = \"6h\"",
        "checkpoint_interval = \"2880s\"",
    );
    std::fs::write(&cfg, text).unwrap();
    let out = launch(&dir, &cfg, None, &[]);
    assert!(out.succeeded(), "{}", out.output());
    let ck = checkpoint(&dir, 10).display().to_string();
    let out = launch(&dir, &cfg, None, &["--restart", &ck]);
    assert_failed_within(&out, Duration::from_secs(TIMEOUT_S));
    // Both components stop at enddef: the ocean's two ranks and the ML rank.
    assert_said_by(
        &out,
        &dir,
        "the restart time t = 2880 s is not a coupling time (period 7200 s)",
        &[OCEAN_0, OCEAN_1, ML_0],
    );
}
