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

/// The copies of each GPU row against the pinned-memory bandwidth `(h2d, d2h)` in bytes
/// per second (from [`crate::gpu::pinned_bandwidth`]): a table to print after the rows.
pub fn copy_rates(rows: &[BenchRow], (h2d_ref, d2h_ref): (f64, f64)) -> String {
    let gb = |bytes_per_s: f64| bytes_per_s / 1e9;
    let mut out = format!(
        "pinned-memory reference (256 MiB, best of 5): host→device {:.1} GB/s, device→host {:.1} GB/s\n\
         {:>14} {:>14} {:>14}\n",
        gb(h2d_ref),
        gb(d2h_ref),
        "levels×ny×nx",
        "h2d GB/s (%)",
        "d2h GB/s (%)"
    );
    for r in rows {
        let s = r.shape;
        let bytes = |floats: usize| (floats * std::mem::size_of::<f32>()) as f64;
        let h2d = bytes(s.input_len()) / r.times.host_to_device;
        let d2h = bytes(s.output_len()) / r.times.device_to_host;
        out += &format!(
            "{:>14} {:>8.1} {:>5} {:>8.1} {:>5}\n",
            format!("{}x{}x{}", s.levels, s.ny, s.nx),
            gb(h2d),
            format!("({:.0})", 100.0 * h2d / h2d_ref),
            gb(d2h),
            format!("({:.0})", 100.0 * d2h / d2h_ref)
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_rates_divide_the_bytes_of_each_direction_by_its_time() {
        let shape = BatchShape {
            levels: 1,
            ny: 128,
            nx: 128,
            halo: 10,
        };
        // 1×2×148×148 floats in = 175,232 B in 10 µs; 1×2×128×128 out = 131,072 B in 8 µs.
        let row = BenchRow {
            shape,
            device: Device::Cuda(0),
            repeats: 1,
            stage: 0.0,
            times: StageTimes {
                host_to_device: 10e-6,
                inference: 1e-3,
                device_to_host: 8e-6,
            },
        };
        let table = copy_rates(&[row], (25e9, 16.384e9));
        let last = table.lines().last().unwrap();
        let cols: Vec<&str> = last.split_whitespace().collect();
        assert_eq!(cols[0], "1x128x128");
        assert_eq!(cols[1], "17.5", "175,232 B / 10 µs = 17.5 GB/s: {table}");
        assert_eq!(cols[2], "(70)", "17.5 of 25 GB/s: {table}");
        assert_eq!(cols[3], "16.4", "131,072 B / 8 µs: {table}");
        assert_eq!(cols[4], "(100)", "{table}");
    }
}
