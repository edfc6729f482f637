//! Offline skill of a trained network on held-out samples: R² = 1 − MSE / variance and the
//! Pearson correlation per channel over all moving points and times, and the R² map
//! (per point, over time) that GZ21 shows.

use serde::Serialize;
use tch::{Kind, Tensor};

use crate::network::Network;
use crate::samples::Samples;

#[derive(Debug, Clone, Serialize)]
pub struct Skill {
    /// R² of the mean forcing, sx and sy.
    pub r2: [f64; 2],
    /// Correlation of the mean forcing with the truth, sx and sy.
    pub correlation: [f64; 2],
    pub samples: usize,
}

/// μ of the network for every sample (scaled units), [N, 2, ny, nx].
pub fn predict_mean(net: &Network, data: &Samples, batch: usize) -> Tensor {
    let _guard = tch::no_grad_guard();
    let device = net.vs.device();
    let n = data.len();
    let parts: Vec<Tensor> = (0..n)
        .step_by(batch)
        .map(|start| {
            let b = batch.min(n - start) as i64;
            let x = data.x.narrow(0, start as i64, b).to_device(device);
            net.forward(&x).narrow(1, 0, 2).to_device(tch::Device::Cpu)
        })
        .collect();
    Tensor::cat(&parts, 0)
}

/// Skill of `mean` against `truth` ([N, 2, ny, nx]) where `mask` ([1, 2, ny, nx]) is 1.
pub fn skill(mean: &Tensor, truth: &Tensor, mask: &Tensor) -> Skill {
    let mut r2 = [0.0; 2];
    let mut correlation = [0.0; 2];
    for c in 0..2 {
        let m = mask
            .narrow(1, c, 1)
            .expand_as(&truth.narrow(1, c, 1))
            .to_kind(Kind::Bool);
        let y = truth
            .narrow(1, c, 1)
            .masked_select(&m)
            .to_kind(Kind::Double);
        let p = mean.narrow(1, c, 1).masked_select(&m).to_kind(Kind::Double);
        let mse = (&y - &p).square().mean(Kind::Double);
        let var = (&y - y.mean(Kind::Double)).square().mean(Kind::Double);
        r2[c as usize] = 1.0 - (mse / var).double_value(&[]);
        let (dy, dp) = (&y - y.mean(Kind::Double), &p - p.mean(Kind::Double));
        let cov = (&dy * &dp).mean(Kind::Double);
        let norm = (dy.square().mean(Kind::Double) * dp.square().mean(Kind::Double)).sqrt();
        correlation[c as usize] = (cov / norm).double_value(&[]);
    }
    Skill {
        r2,
        correlation,
        samples: truth.size()[0] as usize,
    }
}

/// The R² of each point over time, [2, ny, nx] (NaN where the truth does not vary).
pub fn r2_map(mean: &Tensor, truth: &Tensor) -> Tensor {
    let t = truth.to_kind(Kind::Double);
    let mse = (&t - mean.to_kind(Kind::Double))
        .square()
        .mean_dim(0, false, Kind::Double);
    let var = t.var_dim(0, false, false);
    1.0 - mse / var
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Device;

    #[test]
    fn a_perfect_prediction_scores_one_and_the_mean_scores_zero() {
        let truth = Tensor::randn([5, 2, 4, 4], (Kind::Float, Device::Cpu));
        let mask = Tensor::ones([1, 2, 4, 4], (Kind::Float, Device::Cpu));
        let s = skill(&truth, &truth, &mask);
        assert!((s.r2[0] - 1.0).abs() < 1e-12 && (s.correlation[1] - 1.0).abs() < 1e-9);
        let mean = truth
            .mean_dim(&[0i64, 2, 3][..], true, Kind::Float)
            .expand_as(&truth);
        let s = skill(&(mean * 0.0 + truth.mean(Kind::Float)), &truth, &mask);
        assert!(s.r2[0] < 0.05 && s.r2[0] > -0.05, "{:?}", s.r2);
    }
}
