//! The `ml-server` command line: one-line usage errors with exit code 2, `check` and `infer`.

mod common;

use std::process::{Command, Output};

use common::*;

fn ml_server(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ml-server"))
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap()
}

fn assert_usage_error(out: &Output, needle: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    assert!(err.contains(needle), "{err}");
    assert!(!err.contains("backtrace"), "{err}");
}

#[test]
fn usage_errors_are_one_line_with_exit_code_2() {
    assert_usage_error(&ml_server(&[]), "--config");
    assert_usage_error(
        &ml_server(&["--config", "/nonexistent/exp.toml"]),
        "/nonexistent/exp.toml",
    );
    assert_usage_error(&ml_server(&["--frobnicate"]), "--frobnicate");
    assert_usage_error(&ml_server(&["check"]), "--config");
}

/// An experiment file for the GZ21 weights, written next to them in a scratch folder.
fn gz21_config(
    dir: &std::path::Path,
    weights: &std::path::Path,
    padding: &str,
) -> std::path::PathBuf {
    let file = dir.join("exp.toml");
    let text = format!(
        "[ml]\nmodel = \"fullycnn\"\ndevice = \"cpu\"\ninput_scale = 10.0\noutput_scale = 1e-7\n\
         [ml.fullycnn]\nweights = {weights:?}\npadding = \"{padding}\"\n"
    );
    std::fs::write(&file, text).unwrap();
    file
}

#[test]
fn check_describes_the_gz21_model() {
    let Some(weights) = gz21_weights() else {
        return;
    };
    let dir = scratch("cli-check");
    let cfg = gz21_config(&dir, &weights, "valid");
    let out = ml_server(&["check", "--config", cfg.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for needle in [
        "receptive field:  21×21",
        "halo needed:      10",
        "parameters:       268005",
        "device:           cpu",
        "[1, 2, 52, 52]",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in\n{text}");
    }
}

#[test]
fn check_reports_a_bad_table_with_the_key() {
    let dir = scratch("cli-bad-table");
    let file = dir.join("exp.toml");
    std::fs::write(&file, "[ml]\nmodel = \"fullycnn\"\npadding = \"valid\"\n").unwrap();
    let out = ml_server(&["check", "--config", file.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(err.contains("padding") && err.contains("exp.toml"), "{err}");
}

#[test]
fn infer_applies_model_and_transforms_to_an_npy_file() {
    let Some(weights) = gz21_weights() else {
        return;
    };
    let dir = scratch("cli-infer");
    let cfg = gz21_config(&dir, &weights, "init_zeros");
    let (levels, h, w) = (2usize, 24usize, 30usize);
    let x = random(levels * 2 * h * w, 0.1, 5);
    ml_server::npy::write(&dir.join("in.npy"), &[levels, 2, h, w], &x).unwrap();
    let out = ml_server(&[
        "infer",
        "--config",
        cfg.to_str().unwrap(),
        "--input",
        dir.join("in.npy").to_str().unwrap(),
        "--output",
        dir.join("out.npy").to_str().unwrap(),
        "--halo",
        "2",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let y: ndarray::ArrayD<f32> = ndarray_npy::read_npy(dir.join("out.npy")).unwrap();
    assert_eq!(y.shape(), &[levels, 2, h - 4, w - 4]);
    let peak = y.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    assert!(
        peak > 0.0 && peak < 1e-4,
        "forcing in m/s² after ×1e-7: peak {peak}"
    );
}

#[test]
fn weights_given_on_the_command_line_or_in_the_environment_replace_the_configs() {
    let dir = scratch("cli-weights");
    // The config names a file that does not exist; the override names another.
    let cfg = gz21_config(&dir, &dir.join("absent_in_config.pth"), "same");
    let cfg = cfg.to_str().unwrap();
    let overriding = dir.join("from_override.pth");
    std::fs::write(&overriding, b"not a torch file").unwrap();
    let flag = ml_server(&[
        "check",
        "--config",
        cfg,
        "--weights",
        overriding.to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&flag.stderr);
    assert!(!flag.status.success());
    assert!(
        err.contains("from_override.pth") && !err.contains("absent_in_config"),
        "{err}"
    );

    let env = Command::new(env!("CARGO_BIN_EXE_ml-server"))
        .args(["check", "--config", cfg])
        .env("EDDYLINK_ML_WEIGHTS", &overriding)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&env.stderr);
    assert!(!env.status.success());
    assert!(err.contains("from_override.pth"), "{err}");

    // An analytic model has no model file to replace: say so rather than ignore it.
    let analytic = dir.join("analytic.toml");
    std::fs::write(
        &analytic,
        "[ml]\nmodel = \"analytic\"\n[ml.analytic]\nkind = \"zero\"\n",
    )
    .unwrap();
    let out = ml_server(&[
        "check",
        "--config",
        analytic.to_str().unwrap(),
        "--weights",
        "w.pth",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("--weights") && err.contains("has none"),
        "{err}"
    );
}
