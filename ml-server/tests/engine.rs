//! The engine's transforms, crop and masks, checked with analytic models (no weights needed).

use ml_server::config::{AnalyticConfig, AnalyticKind, MlConfig, ModelKind, OutputMode, Precision};
use ml_server::engine::{check_halo, BatchShape, Engine};
use ml_server::models::ModelInfo;
use ml_server::MlError;
use tch::Device;

fn analytic(kind: AnalyticKind, input_scale: f64, output_scale: f64) -> MlConfig {
    MlConfig {
        model: ModelKind::Analytic,
        device: "cpu".into(),
        precision: Precision::Fp32,
        input_scale,
        output_scale,
        output: OutputMode::Mean,
        seed: 0,
        mask: true,
        threads: 0,
        max_net_power: None,
        power_cap_by: Default::default(),
        placement: Default::default(),
        fullycnn: None,
        torchscript: None,
        analytic: Some(AnalyticConfig {
            kind,
            sx: 1.5,
            sy: -2.0,
            a: 3.0,
            b: 0.5,
            nu: 2.0,
            dx: 2.0,
            dy: 4.0,
        }),
    }
}

const SHAPE: BatchShape = BatchShape {
    levels: 2,
    ny: 5,
    nx: 7,
    halo: 2,
};

/// Input value of (level, channel, row, column), halo included.
fn field(l: usize, c: usize, j: usize, i: usize) -> f32 {
    (100 * l + 10 * c) as f32 + j as f32 * 0.5 + i as f32 * 0.25
}

fn fill(engine: &mut Engine) {
    let s = engine.shape();
    let input = engine.input_mut().unwrap();
    for l in 0..s.levels {
        for c in 0..2 {
            for j in 0..s.height() {
                for i in 0..s.width() {
                    input[((l * 2 + c) * s.height() + j) * s.width() + i] = field(l, c, j, i);
                }
            }
        }
    }
}

#[test]
fn linear_forcing_is_scaled_and_cropped_to_the_interior() {
    let cfg = analytic(AnalyticKind::Linear, 10.0, 1e-3);
    let mut engine = Engine::new(&cfg, Device::Cpu, SHAPE, 0).unwrap();
    fill(&mut engine);
    let out = engine.run().unwrap().to_vec();
    assert_eq!(out.len(), SHAPE.output_len());
    for l in 0..2 {
        for c in 0..2 {
            for j in 0..SHAPE.ny {
                for i in 0..SHAPE.nx {
                    let u = field(l, c, j + 2, i + 2) as f64;
                    let expected = (3.0 * 10.0 * u + 0.5) * 1e-3;
                    let got = out[((l * 2 + c) * SHAPE.ny + j) * SHAPE.nx + i] as f64;
                    assert!(
                        (got - expected).abs() < 1e-5 * expected.abs().max(1.0),
                        "{l} {c} {j} {i}: {got} vs {expected}"
                    );
                }
            }
        }
    }
}

#[test]
fn constant_forcing_and_masks() {
    let cfg = analytic(AnalyticKind::Constant, 1.0, 2.0);
    let mut engine = Engine::new(&cfg, Device::Cpu, SHAPE, 0).unwrap();
    let plane = SHAPE.levels * SHAPE.height() * SHAPE.width();
    let mut mask_u = vec![1.0f32; plane];
    let mask_v = vec![1.0f32; plane];
    // Land at interior cell (j=1, i=3) of level 1, for u only.
    mask_u[SHAPE.height() * SHAPE.width() + (1 + 2) * SHAPE.width() + (3 + 2)] = 0.0;
    engine.set_masks(&mask_u, &mask_v).unwrap();
    fill(&mut engine);
    let out = engine.run().unwrap();
    let at =
        |l: usize, c: usize, j: usize, i: usize| out[((l * 2 + c) * SHAPE.ny + j) * SHAPE.nx + i];
    assert_eq!(at(0, 0, 0, 0), 3.0);
    assert_eq!(at(0, 1, 4, 6), -4.0);
    assert_eq!(at(1, 0, 1, 3), 0.0, "masked cell");
    assert_eq!(at(1, 1, 1, 3), -4.0, "v is not masked there");
}

#[test]
fn backscatter_of_a_parabola_is_uniform() {
    let cfg = analytic(AnalyticKind::Backscatter, 1.0, 1.0);
    let shape = BatchShape {
        levels: 1,
        ny: 4,
        nx: 4,
        halo: 1,
    };
    let mut engine = Engine::new(&cfg, Device::Cpu, shape, 0).unwrap();
    let w = shape.width();
    let input = engine.input_mut().unwrap();
    for (k, v) in input.iter_mut().enumerate() {
        let i = (k % w) as f32 * 2.0; // x in metres, dx = 2
        *v = i * i; // ∇²(x²) = 2
    }
    let out = engine.run().unwrap();
    assert!(
        out.iter().all(|&s| (s + 4.0).abs() < 1e-4),
        "S = −nu·2 = −4: {out:?}"
    );
}

#[test]
fn a_halo_smaller_than_the_model_trims_is_refused_naming_the_field() {
    let info = ModelInfo {
        name: "GZ21 FullyCNN (valid padding)".into(),
        trim: 10,
        receptive_radius: 10,
        parameters: 0,
        has_precision: true,
    };
    let e = check_halo("u", 4, &info).unwrap_err();
    assert!(matches!(e, MlError::Halo { .. }));
    let text = e.to_string();
    assert!(
        text.contains("`u`") && text.contains("4") && text.contains("10"),
        "{text}"
    );
    assert!(check_halo("v", 10, &info).is_ok());

    let cfg = analytic(AnalyticKind::Backscatter, 1.0, 1.0);
    let shape = BatchShape {
        levels: 1,
        ny: 4,
        nx: 4,
        halo: 0,
    };
    assert!(Engine::new(&cfg, Device::Cpu, shape, 0).is_err());
}

#[test]
fn the_input_buffer_is_reused_between_calls() {
    let cfg = analytic(AnalyticKind::Zero, 1.0, 1.0);
    let mut engine = Engine::new(&cfg, Device::Cpu, SHAPE, 0).unwrap();
    let first = engine.input_mut().unwrap().as_ptr();
    engine.run().unwrap();
    assert_eq!(engine.input_mut().unwrap().as_ptr(), first);
    assert!(engine.run().unwrap().iter().all(|&v| v == 0.0));
}

/// `max_net_power = 0` against a plain f64 loop: S − (P/Q)·w·(u, v) where the linear
/// model's forcing is a net source (P > 0), the forcing untouched where it drains.
#[test]
fn a_zero_power_cap_removes_a_net_source_and_keeps_a_sink() {
    for (a, source) in [(3.0, true), (-3.0, false)] {
        let mut cfg = analytic(AnalyticKind::Linear, 10.0, 1e-3);
        cfg.analytic.as_mut().unwrap().a = a;
        let free = {
            let mut engine = Engine::new(&cfg, Device::Cpu, SHAPE, 0).unwrap();
            fill(&mut engine);
            engine.run().unwrap().to_vec()
        };
        cfg.max_net_power = Some(0.0);
        cfg.power_cap_by = Some(ml_server::budget::CapBy::Drag);
        let mut engine = Engine::new(&cfg, Device::Cpu, SHAPE, 0).unwrap();
        let plane = SHAPE.levels * SHAPE.height() * SHAPE.width();
        let mut mask_u = vec![1.0f32; plane];
        // Land at interior cell (j=2, i=4) of both levels, for u only.
        for l in 0..SHAPE.levels {
            mask_u[(l * SHAPE.height() + 2 + 2) * SHAPE.width() + 4 + 2] = 0.0;
        }
        engine.set_masks(&mask_u, &vec![1.0f32; plane]).unwrap();
        fill(&mut engine);
        let got = engine.run().unwrap().to_vec();
        let ocean = |c: usize, j: usize, i: usize| !(c == 0 && j == 2 && i == 4);
        let index =
            |l: usize, c: usize, j: usize, i: usize| ((l * 2 + c) * SHAPE.ny + j) * SHAPE.nx + i;
        for l in 0..SHAPE.levels {
            let (mut p, mut q) = (0.0f64, 0.0f64);
            let mut cells = Vec::new();
            for c in 0..2 {
                for j in 0..SHAPE.ny {
                    for i in 0..SHAPE.nx {
                        let u = field(l, c, j + 2, i + 2) as f64;
                        // The masked forcing without the budget: zero on land.
                        let s = if ocean(c, j, i) {
                            free[index(l, c, j, i)] as f64
                        } else {
                            0.0
                        };
                        if ocean(c, j, i) {
                            p += u * s;
                            q += u * u;
                        }
                        cells.push((c, j, i, u, s));
                    }
                }
            }
            assert_eq!(p > 0.0, source, "level {l}: P = {p}");
            let k = if p > 0.0 { p / q } else { 0.0 };
            let mut after = 0.0;
            for (c, j, i, u, s) in cells {
                let w = if ocean(c, j, i) { 1.0 } else { 0.0 };
                let expected = s - k * w * u;
                let g = got[index(l, c, j, i)] as f64;
                // float32 products and sums of ~70 terms: 1e-5 of the largest forcing.
                assert!(
                    (g - expected).abs() < 1e-5 * 0.3,
                    "a = {a}, level {l}, ({c}, {j}, {i}): {g} vs {expected}"
                );
                after += w * u * g;
            }
            if source {
                assert!(
                    after.abs() < 1e-5 * p,
                    "level {l}: net power after {after}, before {p}"
                );
            }
        }
        let (stats, _) = engine.budget_stats().unwrap();
        assert_eq!(
            (stats.levels, stats.corrected),
            (2, if source { 2 } else { 0 })
        );
    }
}
