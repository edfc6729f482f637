//! The GPU path gives the CPU's numbers. Skips (visibly, in the skip log) without a usable
//! GPU.

mod common;

use common::*;
use ml_server::config::{
    AnalyticConfig, AnalyticKind, FullyCnnConfig, MlConfig, ModelKind, OutputMode, Padding,
    Precision,
};
use ml_server::device::cuda_usable;
use ml_server::engine::{BatchShape, Engine, StageTimes};
use tch::Device;

fn gpu() -> bool {
    if !cuda_usable() {
        eddylink_tests::skip::skip("no usable CUDA driver or GPU");
    }
    cuda_usable()
}

/// Per output channel (sx or sy of one level): the largest |gpu − cpu| over the largest
/// |cpu| of that channel. A channel of small values (sy beside a large sx, or a level of
/// weak flow) is held to its own scale, not to the global maximum.
fn channel_errors(gpu: &[f32], cpu: &[f32], shape: BatchShape) -> Vec<f32> {
    let plane = shape.ny * shape.nx;
    gpu.chunks_exact(plane)
        .zip(cpu.chunks_exact(plane))
        .map(|(g, c)| {
            let scale = c.iter().fold(0.0f32, |m, v| m.max(v.abs()));
            assert!(scale > 0.0, "a channel of the CPU forcing is zero");
            let err = g
                .iter()
                .zip(c)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0f32, f32::max);
            err / scale
        })
        .collect()
}

fn config(model: ModelKind, precision: Precision, weights: Option<&std::path::Path>) -> MlConfig {
    MlConfig {
        model,
        device: "cuda".into(),
        precision,
        input_scale: 10.0,
        output_scale: 1e-7,
        output: OutputMode::Mean,
        seed: 0,
        mask: true,
        threads: 0,
        max_net_power: None,
        power_cap_by: Default::default(),
        placement: Default::default(),
        fullycnn: weights.map(|w| FullyCnnConfig {
            weights: w.to_path_buf(),
            padding: Padding::Valid,
            batch_norm: false,
        }),
        torchscript: None,
        analytic: Some(AnalyticConfig {
            kind: AnalyticKind::Linear,
            sx: 0.0,
            sy: 0.0,
            a: 2.0,
            b: 1.0,
            nu: 0.0,
            dx: 1.0,
            dy: 1.0,
        }),
    }
}

fn run(cfg: &MlConfig, device: Device, shape: BatchShape, x: &[f32]) -> Vec<f32> {
    let mut e = Engine::new(cfg, device, shape, 0).unwrap();
    let plane = shape.levels * shape.height() * shape.width();
    let mask: Vec<f32> = (0..plane)
        .map(|k| if k % 17 == 0 { 0.0 } else { 1.0 })
        .collect();
    e.set_masks(&mask, &mask).unwrap();
    let mut out = Vec::new();
    for _ in 0..3 {
        e.input_mut().unwrap().copy_from_slice(x);
        out = e.run().unwrap().to_vec();
    }
    let mut t = StageTimes::default();
    e.input_mut().unwrap().copy_from_slice(x);
    assert_eq!(
        e.run_timed(&mut t).unwrap(),
        out.as_slice(),
        "timed run gives the same forcing"
    );
    out
}

#[test]
fn analytic_on_gpu_matches_cpu() {
    if !gpu() {
        return;
    }
    let shape = BatchShape {
        levels: 3,
        ny: 40,
        nx: 50,
        halo: 10,
    };
    let x = random(shape.input_len(), 0.1, 1);
    let cfg = config(ModelKind::Analytic, Precision::Fp32, None);
    assert_eq!(
        run(&cfg, Device::Cpu, shape, &x),
        run(&cfg, Device::Cuda(0), shape, &x)
    );
}

/// The power cap runs on the device: both ways of applying it give the CPU's forcing, to
/// float32 reductions in another order (relative 1e-5 of each channel's largest value).
#[test]
fn the_power_cap_on_gpu_matches_cpu() {
    if !gpu() {
        return;
    }
    let shape = BatchShape {
        levels: 2,
        ny: 40,
        nx: 50,
        halo: 10,
    };
    let x = random(shape.input_len(), 0.1, 3);
    for by in [
        ml_server::budget::CapBy::Scaling,
        ml_server::budget::CapBy::Drag,
    ] {
        let mut cfg = config(ModelKind::Analytic, Precision::Fp32, None);
        // The linear model S = 2u + 1 (× 1e-7) is a net source; cap it well below its power.
        cfg.max_net_power = Some(1e-12);
        cfg.power_cap_by = Some(by);
        let cpu = run(&cfg, Device::Cpu, shape, &x);
        let gpu = run(&cfg, Device::Cuda(0), shape, &x);
        let worst = channel_errors(&gpu, &cpu, shape)
            .into_iter()
            .fold(0.0f32, f32::max);
        assert!(worst < 1e-5, "{by:?}: GPU against CPU, relative {worst:e}");
    }
}

#[test]
fn fullycnn_on_gpu_matches_cpu_in_fp32_tf32_and_bf16() {
    let Some(weights) = gz21_weights() else {
        return;
    };
    if !gpu() {
        return;
    }
    let shape = BatchShape {
        levels: 4,
        ny: 62,
        nx: 99,
        halo: 10,
    };
    let x = random(shape.input_len(), 0.1, 2);
    let cpu = run(
        &config(ModelKind::Fullycnn, Precision::Fp32, Some(&weights)),
        Device::Cpu,
        shape,
        &x,
    );
    for (precision, tolerance) in [
        (Precision::Fp32, 1e-4),
        (Precision::Tf32, 2e-2),
        (Precision::Bf16, 1e-1),
    ] {
        let g = run(
            &config(ModelKind::Fullycnn, precision, Some(&weights)),
            Device::Cuda(0),
            shape,
            &x,
        );
        let errors = channel_errors(&g, &cpu, shape);
        assert_eq!(errors.len(), 2 * shape.levels);
        let err = errors.iter().copied().fold(0.0f32, f32::max);
        println!("{precision:?}: per channel max error / channel max |S| = {errors:?}");
        assert!(err < tolerance, "{precision:?}: per channel {errors:?}");
    }
}
