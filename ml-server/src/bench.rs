//! `ml-server bench`: per-stage timings of one coupling call.
//!
//! Stages: receive/stage (copy u, v into the staging buffer, as the coupler's
//! receive does), host→device, inference (model and transforms), device→host.
//! `bench/eophis_bench.py` times the same inference done the Eophis way.

use std::time::Instant;

use tch::Device;

use crate::config::MlConfig;
use crate::engine::{BatchShape, Engine, StageTimes};
use crate::error::MlError;

/// The standard cases: 1×128², 1×512² and 36×(62×199), all with a 10-cell halo.
pub fn standard_cases(halo: usize) -> Vec<BatchShape> {
    [(1, 128, 128), (1, 512, 512), (36, 62, 199)]
        .into_iter()
        .map(|(levels, ny, nx)| BatchShape {
            levels,
            ny,
            nx,
            halo,
        })
        .collect()
}

/// Mean seconds per call of each stage for one case.
#[derive(Clone, Copy, Debug)]
pub struct BenchRow {
    pub shape: BatchShape,
    pub device: Device,
    pub repeats: usize,
    pub stage: f64,
    pub times: StageTimes,
}

impl BenchRow {
    /// Sum of the stages.
    pub fn total(&self) -> f64 {
        self.stage + self.times.host_to_device + self.times.inference + self.times.device_to_host
    }
}

impl std::fmt::Display for BenchRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = self.shape;
        let ms = |x: f64| x * 1e3;
        write!(
            f,
            "{:>14} {:>8} {:>10.3} {:>10.3} {:>11.2} {:>10.3} {:>11.2}",
            format!("{}x{}x{}", s.levels, s.ny, s.nx),
            format!("{:?}", self.device).to_lowercase(),
            ms(self.stage),
            ms(self.times.host_to_device),
            ms(self.times.inference),
            ms(self.times.device_to_host),
            ms(self.total())
        )
    }
}

/// The header matching [`BenchRow`]'s `Display`.
pub const HEADER: &str =
    "    levels×ny×nx   device  stage(ms)    h2d(ms) infer(ms)    d2h(ms)   total(ms)";

/// Times `repeats` calls (after `warmup` untimed ones) on `device`.
pub fn run_case(
    cfg: &MlConfig,
    device: Device,
    shape: BatchShape,
    warmup: usize,
    repeats: usize,
) -> Result<BenchRow, MlError> {
    let mut engine = Engine::new(cfg, device, shape, 0)?;
    let received: Vec<f32> = (0..shape.input_len())
        .map(|i| 0.1 * ((i % 977) as f32 / 977.0 - 0.5))
        .collect();
    let mut stage = 0.0;
    let mut times = StageTimes::default();
    for call in 0..warmup + repeats {
        let start = Instant::now();
        engine.input_mut()?.copy_from_slice(&received);
        let staged = start.elapsed().as_secs_f64();
        let mut t = StageTimes::default();
        let out = engine.run_timed(&mut t)?;
        if out.iter().any(|v| !v.is_finite()) {
            return Err(MlError::Invalid(
                "the benchmark produced non-finite forcing".into(),
            ));
        }
        if call >= warmup {
            stage += staged;
            times.host_to_device += t.host_to_device;
            times.inference += t.inference;
            times.device_to_host += t.device_to_host;
        }
    }
    let n = repeats.max(1) as f64;
    Ok(BenchRow {
        shape,
        device,
        repeats,
        stage: stage / n,
        times: StageTimes {
            host_to_device: times.host_to_device / n,
            inference: times.inference / n,
            device_to_host: times.device_to_host / n,
        },
    })
}
