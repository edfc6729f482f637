//! Launch mistakes with the real programs (issue 12, item 1): ocean-model ×2 and ml-server ×1
//! under mpiexec, each case a mistake a user makes on the command line or in the experiment
//! file. None may hang: every job runs under a wall-clock limit far below the `[coupling]
//! timeout` (120 s in the shipped config), and must end within seconds with one line that
//! names the file, flag or component. Also: a failure at the last coupling time ends at
//! once (it used to hold the job for the whole timeout), and a relaunch keeps the earlier
//! logs and experiment file (item 5).
//!
//! The measured end times go to docs/reliability.md:
//! `cargo test -p tests --test launch -- --nocapture --test-threads 1`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use eddylink_tests::{
    mpiexec, run_mpmd, run_with_limit, scratch_dir, workspace_bin, Outcome, Part,
};

/// Wall-clock limit of one job: a hang (or a wait for the 120 s timeout) fails the test.
const LIMIT: Duration = Duration::from_secs(60);
/// What "ends at once" means here (start-up of three processes on a loaded 2-core VM).
const PROMPT: Duration = Duration::from_secs(20);

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is in the repository")
        .to_path_buf()
}

/// The default experiment shortened to one day, its `[coupling] timeout` left at 120 s,
/// written into `dir` as `name`; `edit` changes the text first.
fn experiment(dir: &Path, name: &str, edit: impl Fn(String) -> String) -> String {
    let text = std::fs::read_to_string(repo().join("configs/double_gyre_64.toml"))
        .expect("the default config exists");
    assert!(
        text.contains("timeout = \"120s\""),
        "the shipped timeout is 120 s"
    );
    let text = text.replacen("duration = \"180d\"", "duration = \"1d\"", 1);
    std::fs::write(dir.join(name), edit(text)).expect("scratch is writable");
    name.to_string()
}

/// The experiment text without its `[coupling]` table and exchanges.
fn without_coupling(text: String) -> String {
    let start = text.find("[coupling]").expect("a [coupling] table");
    let rest = &text[start..];
    let end = ["\n[ocean", "\n[ml"]
        .iter()
        .filter_map(|t| rest.find(t))
        .min()
        .expect("a table after [coupling]");
    format!("{}{}", &text[..start], &rest[end + 1..])
}

fn coupled(dir: &Path, ocean: &[&str], ml: &[&str]) -> Outcome {
    let out = run_mpmd(
        &[
            Part::new(2, workspace_bin("ocean-model"), ocean),
            Part::new(1, workspace_bin("ml-server"), ml),
        ],
        dir,
        LIMIT,
    );
    // The figures of docs/reliability.md.
    eprintln!(
        "{}: exit {:?} after {:.1} s",
        dir.display(),
        out.code,
        out.elapsed.as_secs_f64()
    );
    out
}

/// The job ended promptly, not at the wall-clock limit, with exit code 2 (a usage or
/// configuration error) and `line` exactly once on stderr.
fn assert_refused(out: &Outcome, line: &str) {
    assert!(!out.timed_out(), "the job hung:\n{}", out.output());
    assert_eq!(out.code, Some(2), "{}", out.output());
    out.assert_stopped_with(line, 1, PROMPT);
}

#[test]
fn a_missing_ml_experiment_file_ends_the_job_at_once() {
    let dir = scratch_dir("launch-missing-file");
    let good = experiment(&dir, "good.toml", |t| t);
    let out = coupled(&dir, &["--config", &good], &["--config", "nope.toml"]);
    assert_refused(
        &out,
        "error: component 'ml' (world rank 2) could not start: nope.toml: no such experiment file",
    );
}

#[test]
fn a_folder_as_config_ends_the_job_at_once() {
    let dir = scratch_dir("launch-folder");
    let good = experiment(&dir, "good.toml", |t| t);
    std::fs::create_dir_all(dir.join("runs")).expect("scratch");
    let out = coupled(&dir, &["--config", &good], &["--config", "runs"]);
    assert_refused(
        &out,
        "component 'ml' (world rank 2) could not start: runs: is a folder, not an experiment file",
    );
}

#[test]
fn a_mistyped_flag_ends_the_job_at_once() {
    let dir = scratch_dir("launch-flag");
    let good = experiment(&dir, "good.toml", |t| t);
    let out = coupled(
        &dir,
        &["--config", &good],
        &["--config", &good, "--weigths", "x.pth"],
    );
    assert_refused(
        &out,
        "component 'ml' (world rank 2) could not start: unexpected argument '--weigths' found",
    );
    // And on the ocean's side, which runs first in the world.
    let out = coupled(
        &dir,
        &["--config", &good, "--stpes", "3"],
        &["--config", &good],
    );
    assert_refused(&out, "error: component 'ocean' (world ranks 0, 1) could not start: unexpected argument '--stpes' found");
}

#[test]
fn an_experiment_without_coupling_launched_coupled_ends_the_job_at_once() {
    let dir = scratch_dir("launch-no-coupling");
    let alone = experiment(&dir, "alone.toml", without_coupling);
    let out = coupled(&dir, &["--config", &alone], &["--config", &alone]);
    assert_refused(
        &out,
        "component 'ml' (world rank 2) could not start: alone.toml: no [coupling] table: nothing to serve",
    );
}

#[test]
fn coupling_in_only_one_file_ends_the_job_at_once() {
    let dir = scratch_dir("launch-one-sided");
    let good = experiment(&dir, "good.toml", |t| t);
    let alone = experiment(&dir, "alone.toml", without_coupling);
    // [coupling] only in the ocean's file: the ML side has nothing to serve.
    let out = coupled(&dir, &["--config", &good], &["--config", &alone]);
    assert_refused(
        &out,
        "component 'ml' (world rank 2) could not start: alone.toml: no [coupling] table",
    );
    // [coupling] only in the ML side's file: the ocean would run alone beside it.
    let out = coupled(&dir, &["--config", &alone], &["--config", &good]);
    assert_refused(
        &out,
        "component 'ocean' (world ranks 0, 1) reads alone.toml, which has no [coupling] table, \
         so it would run alone; but this launch started 'ocean' ×2, 'ml' ×1",
    );
}

#[test]
fn a_bad_ocean_table_ends_the_ml_side_at_once() {
    let dir = scratch_dir("launch-bad-ocean");
    let good = experiment(&dir, "good.toml", |t| t);
    let bad = experiment(&dir, "bad.toml", |t| {
        t.replacen("depth = 500.0", "depth = -500.0", 1)
    });
    let out = coupled(&dir, &["--config", &bad], &["--config", &good]);
    assert_refused(
        &out,
        "error: component 'ocean' (world ranks 0, 1) could not start: bad.toml: invalid ocean \
         parameters:\n  ocean.physics.depth = -500 m: must be finite and > 0",
    );
}

/// `mpiexec -n 2 ocean-model --config FILE : -n 1 ml-server --config FILE` with `fault` in
/// the environment.
fn with_fault(dir: &Path, file: &str, fault: &str) -> Outcome {
    let mut cmd = mpiexec();
    cmd.args(["-n", "2"])
        .arg(workspace_bin("ocean-model"))
        .args(["--config", file, ":", "-n", "1"])
        .arg(workspace_bin("ml-server"))
        .args(["--config", file])
        .env("EDDYLINK_FAULT", fault);
    let out = run_with_limit(cmd, dir, LIMIT);
    eprintln!(
        "{fault}: exit {:?} after {:.1} s",
        out.code,
        out.elapsed.as_secs_f64()
    );
    out
}

/// The ocean fails at its last step (300), after the last exchange, or at the step before:
/// the ML side has finalized and reads no notice any more, so the job must end at once
/// instead of holding on for the 120 s timeout.
#[test]
fn a_failure_after_the_last_coupling_time_ends_the_job_at_once() {
    let dir = scratch_dir("launch-last-step");
    let good = experiment(&dir, "good.toml", |t| t);
    for fault in ["ocean:panic@300", "ocean:panic@299"] {
        let out = with_fault(&dir, &good, fault);
        assert!(
            !out.timed_out() && !out.succeeded() && out.elapsed < PROMPT,
            "{fault}: expected a prompt failure, took {:?}:\n{}",
            out.elapsed,
            out.output()
        );
        let injected = format!(
            "injected fault (EDDYLINK_FAULT): {}",
            fault.replace(':', " ")
        );
        assert!(
            out.stderr.contains("ends the MPI job") && out.stderr.contains(&injected),
            "{fault}:\n{}",
            out.output()
        );
    }
}

/// A relaunch into the same run directory appends to the logs, one header per launch, and
/// keeps the earlier experiment file when it differs.
#[test]
fn a_relaunch_keeps_the_earlier_logs_and_config() {
    let dir = scratch_dir("launch-relaunch");
    let first = experiment(&dir, "first.toml", |t| t);
    let out = coupled(&dir, &["--config", &first], &["--config", &first]);
    assert!(out.succeeded(), "{}", out.output());
    let run = dir.join("out/double_gyre_64");
    let logs = |name: &str| std::fs::read_to_string(run.join(name)).expect("a log");
    let (ocean1, ml1) = (logs("ocean.log"), logs("ml.log"));
    assert!(ocean1.contains("summary: 300 steps"), "{ocean1}");
    // A second launch, with another timeout.
    let second = experiment(&dir, "second.toml", |t| {
        t.replacen("timeout = \"120s\"", "timeout = \"60s\"", 1)
    });
    let out = coupled(&dir, &["--config", &second], &["--config", &second]);
    assert!(out.succeeded(), "{}", out.output());
    for (name, before) in [("ocean.log", &ocean1), ("ml.log", &ml1)] {
        let now = logs(name);
        assert!(
            now.starts_with(before.as_str()),
            "{name} lost the first launch:\n{now}"
        );
        assert_eq!(
            now.matches(" launch at ").count(),
            2,
            "{name}: one header per launch:\n{now}"
        );
    }
    let kept = std::fs::read_to_string(run.join("config.1.toml")).expect("the first config kept");
    assert!(kept.contains("timeout = \"120s\""), "{kept}");
    let now = std::fs::read_to_string(run.join("config.toml")).expect("the config copy");
    assert!(now.contains("timeout = \"60s\""), "{now}");
}

/// A program of the launch that dies before MPI_Init (here `false`, as a binary that
/// cannot load its shared libraries does) left the others spinning in MPI_Init for ever
/// under MPICH's Hydra: the watchdog ends them after EDDYLINK_INIT_TIMEOUT, saying why.
#[test]
fn a_program_that_dies_before_mpi_init_does_not_leave_the_others_waiting() {
    let dir = scratch_dir("launch-no-mpi-init");
    let cfg = experiment(&dir, "exp.toml", |t| t);
    let Some(false_bin) = ["/bin/false", "/usr/bin/false"]
        .into_iter()
        .find(|p| Path::new(p).exists())
    else {
        eddylink_tests::skip::skip("no /bin/false to stand for a program that never starts MPI");
        return;
    };
    let mut cmd = mpiexec();
    cmd.args(["-n", "1"])
        .arg(workspace_bin("ml-server"))
        .args(["--config", &cfg])
        .args([":", "-n", "1", false_bin])
        .env("EDDYLINK_INIT_TIMEOUT", "5");
    let out = run_with_limit(cmd, &dir, LIMIT);
    assert!(!out.timed_out(), "the launch hung:\n{}", out.output());
    assert!(!out.succeeded());
    // Open MPI's mpirun ends the job itself when a process exits before MPI_Init.
    let flavour_ends_it = out.elapsed < Duration::from_secs(4);
    assert!(
        flavour_ends_it || out.output().contains("MPI_Init did not return within 5 s"),
        "{}",
        out.output()
    );
    std::fs::remove_dir_all(&dir).ok();
}
