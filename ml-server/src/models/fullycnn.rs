//! The FullyCNN of Guillaumin & Zanna (2021), written out layer by layer.
//!
//! Eight convolutions 2→128 (5×5), 128→64 (5×5), 64→32 (3×3), four 32→32 (3×3),
//! 32→4 (3×3), ReLU (and optionally BatchNorm) between them, then the final
//! transformation: channels 2, 3 become precisions `softplus(raw) + min_value`.
//! The state-dict keys are those of GZ21's `nn.Sequential`: the convolution of
//! block k is module `2k` (`3k` with BatchNorm, whose norm is module `3k + 2`).

use std::path::Path;

use tch::{Device, Kind, Tensor};

use super::{tch_ok, Model, ModelInfo};
use crate::config::Padding;
use crate::error::MlError;
use crate::weights::WeightFile;

/// (in channels, out channels, kernel size) of the eight convolutions.
pub const LAYERS: [(i64, i64, i64); 8] = [
    (2, 128, 5),
    (128, 64, 5),
    (64, 32, 3),
    (32, 32, 3),
    (32, 32, 3),
    (32, 32, 3),
    (32, 32, 3),
    (32, 4, 3),
];

/// Half-width of the receptive field: Σ (k − 1)/2 = 10 cells.
pub const RECEPTIVE_RADIUS: usize = 10;

const MIN_VALUE_KEY: &str = "final_transformation.min_value";

struct Conv {
    weight: Tensor,
    bias: Tensor,
    padding: i64,
}

struct BatchNorm {
    weight: Tensor,
    bias: Tensor,
    mean: Tensor,
    var: Tensor,
}

/// The network with its weights on one device.
pub struct FullyCnn {
    convs: Vec<Conv>,
    norms: Vec<BatchNorm>,
    min_value: f64,
    allow_tf32: bool,
    info: ModelInfo,
}

impl FullyCnn {
    /// Reads the weights from a `.pth` state dict or `.safetensors` file.
    pub fn load(
        file: &Path,
        padding: Padding,
        batch_norm: bool,
        device: Device,
        kind: Kind,
        allow_tf32: bool,
    ) -> Result<Self, MlError> {
        let mut w = WeightFile::read(file)?;
        let stride = if batch_norm { 3 } else { 2 };
        let mut convs = Vec::with_capacity(LAYERS.len());
        let mut norms = Vec::new();
        let mut parameters = 1;
        for (k, &(cin, cout, size)) in LAYERS.iter().enumerate() {
            let m = stride * k;
            let weight = w.take(
                &format!("{m}.weight"),
                &[cout, cin, size, size],
                device,
                kind,
            )?;
            let bias = w.take(&format!("{m}.bias"), &[cout], device, kind)?;
            parameters += (cout * cin * size * size + cout) as usize;
            let padding = match padding {
                Padding::Valid => 0,
                Padding::Same => (size - 1) / 2,
                Padding::InitZeros if k == 0 => RECEPTIVE_RADIUS as i64,
                Padding::InitZeros => 0,
            };
            convs.push(Conv {
                weight,
                bias,
                padding,
            });
            if batch_norm && k + 1 < LAYERS.len() {
                let n = m + 2;
                let mut take = |name: &str| w.take(&format!("{n}.{name}"), &[cout], device, kind);
                norms.push(BatchNorm {
                    weight: take("weight")?,
                    bias: take("bias")?,
                    mean: take("running_mean")?,
                    var: take("running_var")?,
                });
                parameters += 2 * cout as usize;
            }
        }
        let min_value = w.take(MIN_VALUE_KEY, &[], Device::Cpu, Kind::Double)?;
        let min_value = tch_ok("reading min_value", min_value.f_double_value(&[]))?;
        w.finish(&["num_batches_tracked"])?;
        let name = format!(
            "GZ21 FullyCNN ({} padding{})",
            match padding {
                Padding::Valid => "valid",
                Padding::Same => "same",
                Padding::InitZeros => "init_zeros",
            },
            if batch_norm { ", BatchNorm" } else { "" }
        );
        Ok(Self {
            convs,
            norms,
            min_value,
            allow_tf32,
            info: ModelInfo {
                name,
                trim: if padding == Padding::Valid {
                    RECEPTIVE_RADIUS
                } else {
                    0
                },
                receptive_radius: RECEPTIVE_RADIUS,
                parameters,
                has_precision: true,
            },
        })
    }

    /// The `min_value` added to the softplus of the precision channels.
    pub fn min_value(&self) -> f64 {
        self.min_value
    }
}

impl Model for FullyCnn {
    fn info(&self) -> &ModelInfo {
        &self.info
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor, MlError> {
        let _guard = tch::no_grad_guard();
        let mut x = x.shallow_clone();
        for (k, conv) in self.convs.iter().enumerate() {
            let p = conv.padding;
            x = tch_ok(
                "FullyCNN convolution",
                x.f_internal_convolution(
                    &conv.weight,
                    Some(&conv.bias),
                    [1, 1],
                    [p, p],
                    [1, 1],
                    false,
                    [0, 0],
                    1,
                    false,
                    false,
                    true,
                    self.allow_tf32,
                ),
            )?;
            if k + 1 < self.convs.len() {
                x = tch_ok("ReLU", x.f_relu_())?;
                if let Some(bn) = self.norms.get(k) {
                    x = tch_ok(
                        "BatchNorm",
                        x.f_batch_norm(
                            Some(&bn.weight),
                            Some(&bn.bias),
                            Some(&bn.mean),
                            Some(&bn.var),
                            false,
                            0.1,
                            1e-5,
                            true,
                        ),
                    )?;
                }
            }
        }
        let x = tch_ok("to float32", x.f_to_kind(Kind::Float))?;
        let mean = tch_ok("split", x.f_narrow(1, 0, 2))?;
        let precision = tch_ok("split", x.f_narrow(1, 2, 2))?;
        let precision = tch_ok(
            "softplus",
            precision
                .f_softplus()
                .and_then(|p| p.f_add_scalar(self.min_value)),
        )?;
        tch_ok("concatenate", Tensor::f_cat(&[mean, precision], 1))
    }
}
