//! Running mean and variance of every cell, by Welford's update (numerically stable in
//! one pass): with δ = x − mean before the update,
//!
//! ```text
//! n ← n + 1,   mean ← mean + δ / n,   M2 ← M2 + δ · (x − mean),   variance = M2 / n
//! ```
//!
//! (the population variance, numpy's `var` with `ddof = 0`). The maps live on the device
//! in float64.

use tch::{Device, Kind, TchError, Tensor};

/// Welford's running moments of a stack of maps `[channels, ny, nx]`.
pub struct Welford {
    pub count: u64,
    pub mean: Tensor,
    pub m2: Tensor,
}

impl Welford {
    /// No samples yet, for maps of `dims`.
    pub fn new(dims: &[i64], device: Device) -> Result<Self, TchError> {
        Ok(Self {
            count: 0,
            mean: Tensor::f_zeros(dims, (Kind::Double, device))?,
            m2: Tensor::f_zeros(dims, (Kind::Double, device))?,
        })
    }

    /// Adds one sample `x` (float64, the maps' shape).
    pub fn push(&mut self, x: &Tensor) -> Result<(), TchError> {
        self.count += 1;
        let delta = x.f_sub(&self.mean)?;
        self.mean = self.mean.f_add(&delta.f_div_scalar(self.count as f64)?)?;
        self.m2 = self.m2.f_add(&delta.f_mul(&x.f_sub(&self.mean)?)?)?;
        Ok(())
    }

    /// The population variance (zero before any sample).
    pub fn variance(&self) -> Result<Tensor, TchError> {
        self.m2.f_div_scalar(self.count.max(1) as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A field whose mean is large against its spread, which a one-pass Σx² − n·mean²
    /// would lose to cancellation.
    #[test]
    fn matches_the_two_pass_mean_and_variance() {
        let n = 200;
        let samples: Vec<Vec<f64>> = (0..n)
            .map(|k| {
                (0..12)
                    .map(|c| 1e4 + ((k * 7 + c * 13) % 17) as f64 * 0.01 + (k as f64).sin())
                    .collect()
            })
            .collect();
        let mut w = Welford::new(&[1, 3, 4], Device::Cpu).unwrap();
        for s in &samples {
            w.push(&Tensor::from_slice(s).view([1, 3, 4])).unwrap();
        }
        let mean: Vec<f64> = Vec::try_from(&w.mean.view([-1])).unwrap();
        let var: Vec<f64> = Vec::try_from(&w.variance().unwrap().view([-1])).unwrap();
        for c in 0..12 {
            let m = samples.iter().map(|s| s[c]).sum::<f64>() / n as f64;
            let v = samples.iter().map(|s| (s[c] - m).powi(2)).sum::<f64>() / n as f64;
            assert!(
                (mean[c] - m).abs() <= 1e-12 * m.abs(),
                "mean {c}: {} vs {m}",
                mean[c]
            );
            assert!(
                (var[c] - v).abs() <= 1e-9 * v,
                "variance {c}: {} vs {v}",
                var[c]
            );
        }
    }
}
