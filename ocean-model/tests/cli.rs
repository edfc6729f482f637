//! Command-line behaviour: usage errors exit with code 2 and one line; a run that
//! blows up stops with the step, time and location, after a last good checkpoint.

mod common;

use std::time::Duration;

use common::*;

const LIMIT: Duration = Duration::from_secs(30);

fn stderr_of(out: &eddylink_tests::Outcome) -> String {
    out.stderr.clone()
}

#[test]
fn missing_config_is_a_one_line_error_with_code_2() {
    let out = run_plain(&["--config", "/nonexistent/experiment.toml"], LIMIT);
    let err = stderr_of(&out);
    assert_eq!(out.code, Some(2), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("/nonexistent/experiment.toml"), "{err}");
    assert!(
        !err.contains("panicked") && !err.contains("backtrace"),
        "{err}"
    );
}

#[test]
fn unknown_flag_is_a_one_line_error_with_code_2() {
    let out = run_plain(&["--config", "x.toml", "--stpes", "3"], LIMIT);
    let err = stderr_of(&out);
    assert_eq!(out.code, Some(2), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("--stpes"), "{err}");
}

#[test]
fn misspelt_ocean_key_names_the_key_and_suggests() {
    let dir = test_dir("misspelt");
    let cfg = write_config(&dir, "1d", "[ocean.grid]\nnxx = 32\n");
    let out = run_plain(&["--config", cfg.to_str().unwrap()], LIMIT);
    let err = stderr_of(&out);
    assert_eq!(out.code, Some(2), "{err}");
    assert!(err.contains("ocean.grid") && err.contains("nx"), "{err}");
}

#[test]
fn blow_up_reports_step_time_location_and_keeps_last_good_state() {
    let dir = test_dir("blowup");
    // An absurd wind stress makes the flow exceed CFL 1 within a few steps.
    let cfg = write_config(
        &dir,
        "1d",
        "[ocean.grid]\nnx = 16\n[ocean.physics]\ntau0 = 1e5\n",
    );
    let out_dir = dir.join("out");
    let out = run_mpi(
        2,
        &[
            "--config",
            cfg.to_str().unwrap(),
            "--output-dir",
            out_dir.to_str().unwrap(),
        ],
        LIMIT,
    );
    let err = stderr_of(&out);
    assert_eq!(out.code, Some(1), "{err}");
    assert!(
        err.contains("blew up at step") && err.contains("global cell (i = "),
        "{err}"
    );
    let good = std::fs::read_dir(&out_dir)
        .expect("output dir")
        .filter_map(|e| e.ok())
        .any(|e| e.file_name().to_string_lossy().starts_with("checkpoint_"));
    assert!(good, "no last good checkpoint in {}", out_dir.display());
}
