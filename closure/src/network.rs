//! The GZ21 FullyCNN as a trainable tch module, with the parameter names of GZ21's
//! `nn.Sequential` state dict, so that the weights it saves load unchanged in ml-server's
//! inference model ([`ml_server::models::fullycnn`]) — the same layers, padding `valid`
//! (a 10-cell halo), and outputs (μx, μy, px, py) with p = softplus(raw) + min_value.
//! min_value is trained, as in GZ21, and kept at or above [`MIN_PRECISION`].

use ml_server::models::fullycnn::{LAYERS, RECEPTIVE_RADIUS};
use tch::nn::{self, Module};
use tch::{Device, Tensor};

/// The smallest precision floor allowed during training (in units of the scaled forcing).
pub const MIN_PRECISION: f64 = 1e-3;

/// Cells of input around each output cell (valid convolutions).
pub const HALO: i64 = RECEPTIVE_RADIUS as i64;

pub struct Network {
    pub vs: nn::VarStore,
    convs: Vec<nn::Conv2D>,
    min_value: Tensor,
}

impl Network {
    /// A freshly initialised network (tch's default Kaiming-uniform init; seed it with
    /// `tch::manual_seed` first for a reproducible start).
    pub fn new(device: Device) -> Self {
        let vs = nn::VarStore::new(device);
        let root = vs.root();
        let convs = LAYERS
            .iter()
            .enumerate()
            .map(|(k, &(cin, cout, size))| {
                nn::conv2d(
                    &root / (2 * k).to_string(),
                    cin,
                    cout,
                    size,
                    Default::default(),
                )
            })
            .collect();
        let min_value =
            (&root / "final_transformation").var("min_value", &[], nn::Init::Const(0.1));
        Network {
            vs,
            convs,
            min_value,
        }
    }

    /// [B, 2, H + 20, W + 20] scaled (u, v) → [B, 4, H, W]: μx, μy, px, py.
    pub fn forward(&self, x: &Tensor) -> Tensor {
        let last = self.convs.len() - 1;
        let mut h = x.shallow_clone();
        for (k, conv) in self.convs.iter().enumerate() {
            h = conv.forward(&h);
            if k < last {
                h = h.relu();
            }
        }
        let mean = h.narrow(1, 0, 2);
        let precision = h.narrow(1, 2, 2).softplus() + &self.min_value;
        Tensor::cat(&[mean, precision], 1)
    }

    /// Keep the precision floor positive (after each optimiser step).
    pub fn clamp_floor(&mut self) {
        tch::no_grad(|| {
            let _ = self.min_value.clamp_min_(MIN_PRECISION);
        });
    }

    pub fn min_value(&self) -> f64 {
        self.min_value.double_value(&[])
    }
}

/// The training objective.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Loss {
    /// GZ21's heteroscedastic Gaussian: −log p + ½ p² (y − μ)², p the precision (1/σ).
    Gaussian,
    /// Mean squared error of μ only (the precision channels are not trained).
    Mse,
}

impl Loss {
    /// The mean loss over the points where `mask` ([1, 2, H, W]) is 1.
    pub fn of(self, out: &Tensor, target: &Tensor, mask: &Tensor) -> Tensor {
        let mean = out.narrow(1, 0, 2);
        let err2 = (target - &mean).square();
        let per_point = match self {
            Loss::Gaussian => {
                let p = out.narrow(1, 2, 2);
                -p.log() + 0.5 * p.square() * err2
            }
            Loss::Mse => err2,
        };
        let batch = out.size()[0] as f64;
        (per_point * mask).sum(tch::Kind::Float) / (mask.sum(tch::Kind::Float) * batch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Kind;

    #[test]
    fn the_network_has_the_gz21_shapes_and_names() {
        tch::manual_seed(0);
        let net = Network::new(Device::Cpu);
        let y = net.forward(&Tensor::zeros([3, 2, 36, 40], (Kind::Float, Device::Cpu)));
        assert_eq!(y.size(), [3, 4, 16, 20]);
        let names: std::collections::BTreeSet<String> = net.vs.variables().into_keys().collect();
        for k in [0, 2, 4, 6, 8, 10, 12, 14] {
            assert!(names.contains(&format!("{k}.weight")) && names.contains(&format!("{k}.bias")));
        }
        assert!(names.contains("final_transformation.min_value"));
        assert_eq!(names.len(), 17);
        // The precision channels are positive.
        assert!(y.narrow(1, 2, 2).min().double_value(&[]) > 0.0);
    }

    #[test]
    fn the_gaussian_loss_is_smallest_at_the_right_precision() {
        // For residual r the loss −log p + ½ p² r² is minimal at p = 1/|r|.
        let mask = Tensor::ones([1, 2, 1, 1], (Kind::Float, Device::Cpu));
        let target = Tensor::from_slice(&[0.5f32, -0.5]).view([1, 2, 1, 1]);
        let loss_at = |p: f32| {
            let out = Tensor::from_slice(&[0.0f32, 0.0, p, p]).view([1, 4, 1, 1]);
            Loss::Gaussian.of(&out, &target, &mask).double_value(&[])
        };
        assert!(loss_at(2.0) < loss_at(1.5) && loss_at(2.0) < loss_at(2.5));
        let expected = -(2.0f64.ln()) + 0.5 * 4.0 * 0.25;
        assert!((loss_at(2.0) - expected).abs() < 1e-6);
    }
}
