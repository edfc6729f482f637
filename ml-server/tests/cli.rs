//! The `ml-server` command line: one-line usage errors with exit code 2, `check` and `infer`.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::*;
use eddylink_tests::{output_within, Outcome};

/// A bound on every `ml-server` call of these tests (the GZ21 inference takes seconds).
const LIMIT: Duration = Duration::from_secs(120);

fn ml_server(args: &[&str]) -> Outcome {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ml-server"));
    cmd.args(args).env("RUST_LOG", "warn");
    output_within(cmd, LIMIT)
}

fn assert_usage_error(out: &Outcome, needle: &str) {
    let err = &out.stderr;
    assert_eq!(out.code, Some(2), "{err}");
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
fn gz21_config(dir: &Path, weights: &Path, padding: &str) -> std::path::PathBuf {
    let file = dir.join("exp.toml");
    let text = format!(
        "[run]\nname = \"gz21\"\nduration = \"1d\"\n[ml]\nmodel = \"fullycnn\"\ndevice = \"cpu\"\ninput_scale = 10.0\noutput_scale = 1e-7\n\
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
    let text = &out.stdout;
    assert!(out.succeeded(), "{}", out.stderr);
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
    let err = &out.stderr;
    assert_eq!(out.code, Some(1), "{}", out.output());
    assert!(err.contains("padding") && err.contains("exp.toml"), "{err}");
}

/// `ml-server infer --config cfg --input dir/in.npy --output dir/out.npy --halo halo`,
/// which must succeed; returns the output array.
fn infer(dir: &Path, cfg: &Path, halo: usize) -> ndarray::ArrayD<f32> {
    let out = ml_server(&[
        "infer",
        "--config",
        cfg.to_str().unwrap(),
        "--input",
        dir.join("in.npy").to_str().unwrap(),
        "--output",
        dir.join("out.npy").to_str().unwrap(),
        "--halo",
        &halo.to_string(),
    ]);
    assert!(out.succeeded(), "{}", out.output());
    ndarray_npy::read_npy(dir.join("out.npy")).unwrap()
}

#[test]
fn infer_applies_input_scale_model_and_output_scale_to_an_npy_file() {
    // S = output_scale · (a · input_scale · x + b) on the interior, computed here by hand:
    // an ignored input_scale (×10), a wrong output_scale or a crop off by a cell all miss.
    let dir = scratch("cli-infer-linear");
    let cfg = dir.join("exp.toml");
    std::fs::write(
        &cfg,
        "[ml]\nmodel = \"analytic\"\ndevice = \"cpu\"\ninput_scale = 10.0\noutput_scale = 1e-3\n\
         [ml.analytic]\nkind = \"linear\"\na = 2.0\nb = 0.5\n",
    )
    .unwrap();
    let (levels, h, w, halo) = (2usize, 9usize, 11usize, 2usize);
    let x: Vec<f32> = (0..levels * 2 * h * w)
        .map(|k| (k as f32 * 0.37).sin())
        .collect();
    ml_server::npy::write(&dir.join("in.npy"), &[levels, 2, h, w], &x).unwrap();
    let y = infer(&dir, &cfg, halo);
    let (ny, nx) = (h - 2 * halo, w - 2 * halo);
    assert_eq!(y.shape(), &[levels, 2, ny, nx]);
    for ((l, c, j, i), &got) in y
        .view()
        .into_dimensionality::<ndarray::Ix4>()
        .unwrap()
        .indexed_iter()
    {
        let u = x[((l * 2 + c) * h + j + halo) * w + i + halo] as f64;
        let expected = 1e-3 * (2.0 * 10.0 * u + 0.5);
        assert!(
            (got as f64 - expected).abs() <= 1e-6 * expected.abs().max(1e-3),
            "level {l} channel {c} (j, i) = ({j}, {i}): {got} vs {expected}"
        );
    }
}

/// PyTorch's GZ21 with ml-server's transforms: 1e-7 · net(10 · x), mean channels, the
/// halo cropped.
const GZ21_INFER: &str = r#"
weights, inp, out, halo = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
net = load(weights, "init_zeros")
with torch.no_grad():
    y = 1e-7 * net(10.0 * torch.from_numpy(np.load(inp)))
np.save(out, y[:, :2, halo:y.shape[2] - halo, halo:y.shape[3] - halo].numpy())  # the mean
"#;

#[test]
fn infer_with_gz21_gives_pytorchs_forcing_after_the_transforms() {
    let (Some(weights), Some(py)) = (gz21_weights(), python()) else {
        return;
    };
    let dir = scratch("cli-infer");
    let cfg = gz21_config(&dir, &weights, "init_zeros");
    let (levels, h, w, halo) = (2usize, 24usize, 30usize, 2usize);
    let x = random(levels * 2 * h * w, 0.1, 5);
    ml_server::npy::write(&dir.join("in.npy"), &[levels, 2, h, w], &x).unwrap();
    let y = infer(&dir, &cfg, halo);
    assert_eq!(y.shape(), &[levels, 2, h - 2 * halo, w - 2 * halo]);

    let reference = dir.join("reference.npy");
    run_python(
        &py,
        &dir,
        &format!("{GZ21_PY}\n{GZ21_INFER}"),
        &[
            weights.to_str().unwrap(),
            dir.join("in.npy").to_str().unwrap(),
            reference.to_str().unwrap(),
            &halo.to_string(),
        ],
    );
    let expected: ndarray::ArrayD<f32> = ndarray_npy::read_npy(&reference).unwrap();
    assert_eq!(y.shape(), expected.shape());
    let peak = expected.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    let rel = max_rel_diff(
        y.as_slice().unwrap(),
        expected.as_slice().unwrap(),
        1e-2 * peak,
    );
    println!("infer vs PyTorch: max relative difference {rel:e} (peak {peak:e} m/s²)");
    assert!(rel < 1e-4, "infer differs from PyTorch by {rel:e}");
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
    let err = &flag.stderr;
    assert!(!flag.succeeded());
    assert!(
        err.contains("from_override.pth") && !err.contains("absent_in_config"),
        "{err}"
    );

    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ml-server"));
    cmd.args(["check", "--config", cfg])
        .env("EDDYLINK_ML_WEIGHTS", &overriding)
        .env("RUST_LOG", "warn");
    let env = output_within(cmd, LIMIT);
    let err = &env.stderr;
    assert!(!env.succeeded());
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
    let err = &out.stderr;
    assert!(!out.succeeded());
    assert!(
        err.contains("--weights") && err.contains("has none"),
        "{err}"
    );
}
