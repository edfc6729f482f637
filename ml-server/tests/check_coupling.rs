//! `ml-server check` validates what the coupled start-up would refuse (issue 12, item 6):
//! the `[coupling]` table and the exchanges against the model, not only `[ml]`. Each case
//! edits the default experiment (the analytic backscatter model, which needs a halo of 1)
//! and runs the real binary, without mpiexec, under a deadline.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use eddylink_tests::{run_with_limit, scratch_dir, Outcome};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("ml-server/ is in the repository")
        .to_path_buf()
}

/// `ml-server check --config FILE` on the default experiment with `edits` applied, each
/// (old, new) replacing every occurrence.
fn check(test: &str, edits: &[(&str, &str)]) -> Outcome {
    let mut text = std::fs::read_to_string(repo().join("configs/double_gyre_64.toml"))
        .expect("the default experiment");
    for (old, new) in edits {
        assert!(
            text.contains(old),
            "{old:?} is no longer in the default experiment"
        );
        text = text.replace(old, new);
    }
    let dir = scratch_dir(test);
    std::fs::write(dir.join("exp.toml"), text).expect("scratch");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ml-server"));
    cmd.args(["check", "--config", "exp.toml"])
        .env("RUST_LOG", "warn");
    let out = run_with_limit(cmd, &dir, Duration::from_secs(60));
    assert!(!out.timed_out(), "check hung:\n{}", out.output());
    out
}

fn assert_refused(out: &Outcome, says: &[&str]) {
    assert_eq!(out.code, Some(1), "{}", out.output());
    assert!(
        out.stderr.contains("exp.toml") && out.stderr.contains("the coupled run would refuse"),
        "{}",
        out.output()
    );
    for s in says {
        assert!(out.stderr.contains(s), "{s:?} missing:\n{}", out.output());
    }
}

#[test]
fn the_default_experiment_passes_with_its_coupling() {
    let out = check("check-coupling-ok", &[]);
    assert!(out.succeeded(), "{}", out.output());
    assert!(
        out.stdout.contains("coupled run:      ok (6 exchanges"),
        "{}",
        out.output()
    );
}

#[test]
fn a_halo_below_the_models_need_is_refused() {
    let out = check("check-coupling-halo", &[("halo = 1 ", "halo = 0 ")]);
    assert_refused(
        &out,
        &[
            "coupling.exchange[0]: field `u`: the coupler delivers a halo of 0 cells but the model",
            "needs 1",
        ],
    );
}

#[test]
fn a_bad_timeout_is_refused() {
    let out = check(
        "check-coupling-timeout",
        &[("timeout = \"120s\"", "timeout = \"20x\"")],
    );
    assert_refused(&out, &["coupling.timeout", "\"20x\": unknown unit \"x\""]);
}

#[test]
fn a_period_that_does_not_divide_the_run_is_refused() {
    let out = check(
        "check-coupling-period",
        &[("period = \"2h\"", "period = \"7h\"")],
    );
    assert_refused(
        &out,
        &["coupling.exchange[0].period: 25200 s does not divide the run length"],
    );
}

#[test]
fn a_missing_coupling_grid_is_refused() {
    let out = check("check-coupling-grid", &[("grid = [64, 64]", "")]);
    assert_refused(&out, &["[coupling] grid = [nx, ny] is needed"]);
}

#[test]
fn exchanges_without_both_velocities_are_refused() {
    let out = check(
        "check-coupling-channels",
        &[("to = \"ml.v\"", "to = \"ml.w\"")],
    );
    assert_refused(&out, &["the exchanges do not send both ml.u and ml.v"]);
}
