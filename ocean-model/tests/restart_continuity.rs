//! A restarted run continues the run it restarts: its snapshots, diagnostics and
//! checkpoints fall on the schedule counted from t = 0 of the experiment, it appends to
//! the first part's `snapshots.nc` and `diagnostics.nc`, and the joined files equal an
//! uninterrupted run's byte for byte (regression: restarts wrote `*_from_step2475.nc` with
//! records at shifted times).

mod common;

use std::path::Path;
use std::time::Duration;

use common::*;

/// 24 × 24, dt = 720 s (120 steps a day); 4 days = 480 steps. Snapshots every 30 steps,
/// diagnostics every 10, checkpoints every 120.
const OCEAN: &str = r#"
[ocean.grid]
nx = 24
[ocean.time]
dt = 720
[ocean.output]
snapshot_interval = "6h"
diagnostics_interval = "2h"
checkpoint_interval = "1d"
"#;
const STEPS: u64 = 480;
const LIMIT: Duration = Duration::from_secs(60);

fn run(cfg: &Path, out: &Path, extra: &[&str]) -> eddylink_tests::Outcome {
    let mut args = vec![
        "--config",
        cfg.to_str().unwrap(),
        "--output-dir",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    run_mpi(2, &args, LIMIT)
}

fn checkpoint(dir: &Path, step: u64) -> String {
    dir.join(format!("checkpoint_{step:010}.nc"))
        .display()
        .to_string()
}

/// The uninterrupted run, and `first` steps + a restart from step `from` to the end, in
/// `dir`; asserts the record files and the last checkpoint are the same bytes.
fn assert_restart_continues(name: &str, first: u64, from: u64) {
    let dir = test_dir(name);
    let cfg = write_config(&dir, "4d", OCEAN);
    let (whole, parts) = (dir.join("whole"), dir.join("parts"));
    assert_success(&run(&cfg, &whole, &[]), "uninterrupted run");
    let steps = first.to_string();
    assert_success(&run(&cfg, &parts, &["--steps", &steps]), "first part");
    let ck = checkpoint(&parts, from);
    let out = run(&cfg, &parts, &["--restart", &ck]);
    assert_success(&out, "restart");
    assert!(
        out.stderr.contains("continuing") && out.stderr.contains("snapshots.nc"),
        "the restart says it continues the files:\n{}",
        out.stderr
    );
    for file in ["snapshots.nc", "diagnostics.nc"] {
        assert!(
            bytes(&whole.join(file)) == bytes(&parts.join(file)),
            "{file}: {first} steps + a restart from step {from} differ from one run"
        );
    }
    let last = checkpoint(&whole, STEPS);
    assert!(bytes(last.as_ref()) == bytes(checkpoint(&parts, STEPS).as_ref()));
    // On the schedule from t = 0: 17 snapshots (0, 6 h, …, 4 d), 49 diagnostics records.
    let time = read_var(&parts.join("snapshots.nc"), "time");
    let expected: Vec<f64> = (0..=16).map(|k| (30 * k) as f64 * 720.0).collect();
    assert_eq!(time, expected);
    assert_eq!(read_var(&parts.join("diagnostics.nc"), "time").len(), 49);
    let no_suffix = std::fs::read_dir(&parts)
        .unwrap()
        .filter_map(|e| e.ok())
        .all(|e| !e.file_name().to_string_lossy().contains("from_step"));
    assert!(no_suffix, "no *_from_step* files");
}

#[test]
fn a_restart_appends_to_the_first_part_and_equals_one_run_byte_for_byte() {
    assert_restart_continues("continuity_half", STEPS / 2, STEPS / 2);
}

/// A run killed after its last checkpoint wrote records past it: the restart drops them
/// and writes them again.
#[test]
fn a_restart_from_an_earlier_checkpoint_rewrites_the_records_after_it() {
    assert_restart_continues("continuity_earlier", 360, 240);
}

/// A checkpoint between output times (the end of a `--steps` run, or a stop signal's):
/// the restart writes at the times counted from t = 0, not from the restart.
#[test]
fn a_restart_between_output_times_keeps_their_schedule() {
    assert_restart_continues("continuity_off_schedule", 255, 255);
}

#[test]
fn a_restart_that_cannot_continue_the_files_says_why_and_changes_nothing() {
    let dir = test_dir("continuity_refused");
    let cfg = write_config(&dir, "4d", OCEAN);
    let parts = dir.join("parts");
    assert_success(&run(&cfg, &parts, &["--steps", "120"]), "first part");
    let before = bytes(&parts.join("diagnostics.nc"));
    // Another diagnostics schedule: the records of the first part are not on it.
    let other = write_config(&dir, "4d", &OCEAN.replace("\"2h\"", "\"3h\""));
    let out = run(&other, &parts, &["--restart", &checkpoint(&parts, 120)]);
    assert!(!out.succeeded() && !out.timed_out(), "{}", out.stderr);
    assert!(
        out.stderr.contains("diagnostics.nc") && out.stderr.contains("output schedule"),
        "names the file and the reason:\n{}",
        out.stderr
    );
    assert!(
        bytes(&parts.join("diagnostics.nc")) == before,
        "the refused restart changed the file"
    );

    // Into a folder without the first part's files: new files from the restart time.
    let fresh = dir.join("fresh");
    let out = run(&cfg, &fresh, &["--restart", &checkpoint(&parts, 120)]);
    assert_success(&out, "restart into a new folder");
    let time = read_var(&fresh.join("snapshots.nc"), "time");
    assert_eq!(time.first().copied(), Some(120.0 * 720.0));
    assert_eq!(time.len(), 13, "day 1 to day 4 every 6 h");
}

#[test]
fn a_missing_restart_file_is_named_with_the_reason() {
    let dir = test_dir("continuity_missing");
    let cfg = write_config(&dir, "4d", OCEAN);
    let missing = dir.join("nope.nc");
    let out = run(
        &cfg,
        &dir.join("out"),
        &["--restart", missing.to_str().unwrap()],
    );
    assert!(!out.succeeded() && !out.timed_out(), "{}", out.stderr);
    assert!(
        out.stderr.contains(missing.to_str().unwrap())
            && out.stderr.contains("No such file or directory"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("IOErrorKind"), "{}", out.stderr);
}
