//! `[ocean.numerics] precision = "f32"` (issue 15): the serial model in f32 conserves
//! volume to round-off and stays close to f64 over a short run; the binary restarts an
//! f32 run bit for bit, writes its snapshots as f32 saying so (and plots them), and
//! refuses a checkpoint of the other precision naming the file and both precisions.

mod common;

use std::time::Duration;

use common::serial::ModelOf;
use common::*;
use ocean_model::diagnostics::integrals;
use ocean_model::params::Params;
use ocean_model::real::Real;
use ocean_model::state::State;

/// A 32² double gyre with a bump of η, in `T`.
fn bumped<T: Real>() -> ModelOf<T> {
    let mut m = ModelOf::<T>::new(Params::for_grid(32, 32));
    for j in 0..32 {
        for i in 0..32 {
            let r = ((i as f64 - 10.0).powi(2) + (j as f64 - 20.0).powi(2)).sqrt();
            *m.state.eta.at_mut(i, j) = T::from_f64(0.5 * r.cos());
        }
    }
    m
}

/// Σ η of the owned cells, summed in f64 (m).
fn sum_eta<T: Real>(s: &State<T>) -> f64 {
    let mut out = vec![0.0; s.ni() * s.nj()];
    s.eta.copy_interior_to(&mut out);
    out.iter().sum()
}

/// Each step changes Σ η only by the rounding of the 32² η updates (≈ 4 additions each
/// of ε|η|, ε = 2⁻²⁴): a random walk of about √(4 × 1024 × steps) ε |η| ≈ 1e-4 m after 400
/// steps (measured: 5e-6 m). A flux that did not telescope would move Σ η by
/// O(dt |∇·(hu)|) ≈ 1 m a step.
#[test]
fn volume_is_conserved_to_f32_round_off() {
    let mut m = bumped::<f32>();
    let (v0, steps) = (sum_eta(&m.state), 400);
    let mut worst: f64 = 0.0;
    m.run(steps, |_, s| worst = worst.max((sum_eta(s) - v0).abs()));
    let round_off = (4.0 * 1024.0 * steps as f64).sqrt() * f32::EPSILON as f64 * 0.5;
    eprintln!(
        "f32: Σ η moved by at most {worst:e} m over {steps} steps (bound {:e})",
        round_off
    );
    assert!(
        worst <= round_off,
        "Σ η drifted by {worst:e} m (f32 round-off bound {:e} m)",
        round_off
    );
    let volume = integrals(&m.p, &m.state).volume;
    assert!(volume.is_finite() && volume > 0.0);
}

/// Over 200 steps (7 days at 32²) from the same state the two precisions agree to
/// 1e-5 of the largest value (measured: 6e-7 for u, 1e-6 for η): well above f32's 6e-8,
/// far below any physical difference.
#[test]
fn f32_and_f64_short_runs_agree() {
    let (mut a, mut b) = (bumped::<f64>(), bumped::<f32>());
    a.run(200, |_, _| {});
    b.run(200, |_, _| {});
    for (name, fa, fb) in [
        ("u", &a.state.u, &b.state.u),
        ("v", &a.state.v, &b.state.v),
        ("eta", &a.state.eta, &b.state.eta),
    ] {
        let (mut big, mut diff) = (0.0f64, 0.0f64);
        for j in 0..32 {
            for i in 0..32 {
                let (x, y) = (fa.at(i, j), fb.at(i, j).to_f64());
                big = big.max(x.abs());
                diff = diff.max((x - y).abs());
            }
        }
        eprintln!("{name}: max |f32 − f64| = {diff:e}, max |{name}| = {big:e}");
        assert!(big > 0.0, "{name} is zero");
        assert!(
            diff <= 1e-5 * big,
            "{name}: f32 differs from f64 by {diff:e} (largest |{name}| {big:e})"
        );
        assert!(
            diff > 0.0,
            "{name}: f32 gave the f64 bits: is it really f32?"
        );
    }
}

const F32: &str = r#"
[ocean.grid]
nx = 24
[ocean.output]
snapshot_interval = "1d"
[ocean.numerics]
precision = "f32"
"#;

fn run(
    ranks: usize,
    cfg: &str,
    steps: &str,
    out: &std::path::Path,
    restart: Option<&str>,
) -> Outcome {
    let mut args = vec![
        "--config",
        cfg,
        "--steps",
        steps,
        "--output-dir",
        out.to_str().unwrap(),
    ];
    if let Some(ck) = restart {
        args.extend(["--restart", ck]);
    }
    run_mpi(ranks, &args, Duration::from_secs(60))
}

use eddylink_tests::Outcome;

#[test]
fn an_f32_run_restarts_bit_for_bit_and_writes_f32_snapshots() {
    let dir = test_dir("precision_restart");
    let cfg = write_config(&dir, "2d", F32);
    let cfg = cfg.to_str().unwrap();
    let (full, half) = (dir.join("full"), dir.join("half"));
    assert_success(&run(2, cfg, "60", &full, None), "uninterrupted f32 run");
    assert_success(&run(1, cfg, "30", &half, None), "first half");
    let ck = half.join("checkpoint_0000000030.nc");
    let out = run(2, cfg, "30", &half, Some(ck.to_str().unwrap()));
    assert_success(&out, "restarted half");
    let a = bytes(&full.join("checkpoint_0000000060.nc"));
    let b = bytes(&half.join("checkpoint_0000000060.nc"));
    assert!(
        a == b,
        "the restarted f32 run differs from the uninterrupted one"
    );

    let r = netcdf3::FileReader::open(full.join("snapshots.nc")).unwrap();
    let ds = r.data_set();
    for name in ["u", "v", "eta", "vorticity"] {
        assert_eq!(
            ds.var_data_type(name),
            Some(netcdf3::DataType::F32),
            "{name}"
        );
        assert_eq!(
            ds.get_var_attr_as_string(name, "precision").as_deref(),
            Some("f32"),
            "{name}'s precision attribute"
        );
    }
    assert_eq!(
        ds.get_global_attr_as_string("precision").as_deref(),
        Some("f32")
    );
    let r = netcdf3::FileReader::open(full.join("diagnostics.nc")).unwrap();
    assert_eq!(
        r.data_set().var_data_type("volume"),
        Some(netcdf3::DataType::F64),
        "diagnostics are summed and stored in f64"
    );
    let plots = dir.join("plots");
    let out = run_plain(
        &[
            "plot",
            full.to_str().unwrap(),
            "--out",
            plots.to_str().unwrap(),
        ],
        Duration::from_secs(60),
    );
    assert_success(&out, "plot of an f32 run");
    assert!(
        plots.join("ssh.png").is_file(),
        "no ssh.png from the f32 snapshots"
    );
}

#[test]
fn a_checkpoint_of_the_other_precision_is_refused_naming_the_file() {
    let dir = test_dir("precision_mismatch");
    let f64_cfg = write_config(&dir, "2d", "[ocean.grid]\nnx = 24\n");
    let first = dir.join("first");
    assert_success(
        &run(1, f64_cfg.to_str().unwrap(), "5", &first, None),
        "f64 run",
    );
    let ck = first.join("checkpoint_0000000005.nc");
    let f32_cfg = write_config(&dir, "2d", F32);
    let out = run(
        1,
        f32_cfg.to_str().unwrap(),
        "5",
        &dir.join("second"),
        Some(ck.to_str().unwrap()),
    );
    assert!(!out.succeeded(), "an f64 checkpoint restarted an f32 run");
    let err = &out.stderr;
    assert!(
        err.contains(ck.to_str().unwrap()) && err.contains("f64") && err.contains("\"f32\""),
        "{err}"
    );
}
