//! Stochastic output: samples have the predicted mean and σ = 1/precision, and a
//! fixed seed reproduces them.

mod common;

use common::*;
use ml_server::config::{FullyCnnConfig, MlConfig, ModelKind, OutputMode, Padding, Precision};
use ml_server::engine::{BatchShape, Engine};
use ml_server::models::{FullyCnn, Model};
use tch::{Device, Kind, Tensor};

fn config(weights: &std::path::Path, output: OutputMode, seed: u64) -> MlConfig {
    MlConfig {
        model: ModelKind::Fullycnn,
        device: "cpu".into(),
        precision: Precision::Fp32,
        input_scale: 1.0,
        output_scale: 1.0,
        output,
        seed,
        mask: false,
        threads: 0,
        max_net_power: None,
        power_cap_by: Default::default(),
        placement: Default::default(),
        fullycnn: Some(FullyCnnConfig {
            weights: weights.to_path_buf(),
            padding: Padding::InitZeros,
            batch_norm: false,
        }),
        torchscript: None,
        analytic: None,
    }
}

const SHAPE: BatchShape = BatchShape {
    levels: 1,
    ny: 12,
    nx: 12,
    halo: 0,
};

fn sample(engine: &mut Engine, x: &[f32]) -> Vec<f32> {
    engine.input_mut().unwrap().copy_from_slice(x);
    engine.run().unwrap().to_vec()
}

#[test]
fn samples_have_the_predicted_mean_and_sigma() {
    let Some(weights) = gz21_weights() else {
        return;
    };
    let x = random(SHAPE.input_len(), 1.0, 11);
    let model = FullyCnn::load(
        &weights,
        Padding::InitZeros,
        false,
        Device::Cpu,
        Kind::Float,
        false,
    )
    .unwrap();
    let y = model
        .forward(&Tensor::from_slice(&x).view([1, 2, 12, 12]))
        .unwrap();
    let mean = Vec::<f32>::try_from(y.narrow(1, 0, 2).flatten(0, -1)).unwrap();
    let sigma = Vec::<f32>::try_from(y.narrow(1, 2, 2).reciprocal().flatten(0, -1)).unwrap();

    let mut engine = Engine::new(
        &config(&weights, OutputMode::Mean, 0),
        Device::Cpu,
        SHAPE,
        0,
    )
    .unwrap();
    assert_eq!(
        sample(&mut engine, &x),
        mean,
        "mean mode returns the predicted mean"
    );

    let mut engine = Engine::new(
        &config(&weights, OutputMode::Stochastic, 42),
        Device::Cpu,
        SHAPE,
        0,
    )
    .unwrap();
    let samples = 400;
    let n = mean.len();
    let (mut z_sum, mut z2_sum) = (0.0f64, 0.0f64);
    let mut cell_sum = vec![0.0f64; n];
    for _ in 0..samples {
        let s = sample(&mut engine, &x);
        for c in 0..n {
            let z = f64::from((s[c] - mean[c]) / sigma[c]);
            z_sum += z;
            z2_sum += z * z;
            cell_sum[c] += z;
        }
    }
    let count = (samples * n) as f64;
    let z_mean = z_sum / count;
    let z_std = (z2_sum / count - z_mean * z_mean).sqrt();
    let worst_cell = cell_sum
        .iter()
        .map(|s| (s / samples as f64).abs())
        .fold(0.0, f64::max);
    println!(
        "standardised residuals: mean {z_mean:.4}, std {z_std:.4}, worst cell mean {worst_cell:.3}"
    );
    assert!(z_mean.abs() < 0.02, "mean of (s − μ)/σ = {z_mean}");
    assert!((z_std - 1.0).abs() < 0.02, "std of (s − μ)/σ = {z_std}");
    assert!(
        worst_cell < 5.0 / (samples as f64).sqrt(),
        "a cell's sample mean is off: {worst_cell}"
    );
}

#[test]
fn a_fixed_seed_reproduces_the_samples() {
    let Some(weights) = gz21_weights() else {
        return;
    };
    let x = random(SHAPE.input_len(), 1.0, 12);
    let run = |seed: u64| {
        let mut e = Engine::new(
            &config(&weights, OutputMode::Stochastic, seed),
            Device::Cpu,
            SHAPE,
            0,
        )
        .unwrap();
        (0..3).map(|_| sample(&mut e, &x)).collect::<Vec<_>>()
    };
    let (a, b, c) = (run(7), run(7), run(8));
    assert_eq!(a, b, "same seed, same samples");
    assert_ne!(a, c, "another seed, other samples");
    assert_ne!(a[0], a[1], "successive calls draw new noise");
}
