//! The models `[ml] model` can name, behind one trait.
//!
//! Every model takes `[N, 2, H, W]` (u, v after input scaling and masking, on its
//! device) and returns `[N, C, H − 2·trim, W − 2·trim]` with channels
//! `[sx, sy]` or `[sx, sy, sx_precision, sy_precision]` in model units.

mod analytic;
pub mod fullycnn;
mod torchscript;

pub use analytic::Analytic;
pub use fullycnn::FullyCnn;
pub use torchscript::TorchScript;

use tch::{Device, Kind, Tensor};

use crate::config::{MlConfig, ModelKind, Precision};
use crate::error::MlError;

/// What the rest of the server needs to know about a model.
#[derive(Clone, Debug)]
pub struct ModelInfo {
    /// Short description, e.g. "GZ21 FullyCNN (valid padding)".
    pub name: String,
    /// Cells the model removes from each side of its input.
    pub trim: usize,
    /// Half-width of the receptive field: the halo needed for exact results at the box edge.
    pub receptive_radius: usize,
    /// Number of learned scalars.
    pub parameters: usize,
    /// Whether channels 2 and 3 (precisions of sx and sy) are present.
    pub has_precision: bool,
}

/// A momentum-forcing model.
pub trait Model {
    /// Its fixed properties.
    fn info(&self) -> &ModelInfo;
    /// Runs on `[N, 2, H, W]` (already scaled and masked), see the module docs.
    fn forward(&self, x: &Tensor) -> Result<Tensor, MlError>;
}

/// Builds the model `[ml] model` selects, on `device`.
pub fn build(cfg: &MlConfig, device: Device) -> Result<Box<dyn Model>, MlError> {
    let kind = match cfg.precision {
        Precision::Bf16 => Kind::BFloat16,
        Precision::Fp32 | Precision::Tf32 => Kind::Float,
    };
    let allow_tf32 = cfg.precision == Precision::Tf32;
    let missing =
        |name: &str| MlError::Invalid(format!("[ml] model = \"{name}\" needs [ml.{name}]"));
    Ok(match cfg.model {
        ModelKind::Fullycnn => {
            let c = cfg.fullycnn.as_ref().ok_or_else(|| missing("fullycnn"))?;
            Box::new(FullyCnn::load(
                &c.weights,
                c.padding,
                c.batch_norm,
                device,
                kind,
                allow_tf32,
            )?)
        }
        ModelKind::Torchscript => {
            let c = cfg
                .torchscript
                .as_ref()
                .ok_or_else(|| missing("torchscript"))?;
            Box::new(TorchScript::load(c, device, kind)?)
        }
        ModelKind::Analytic => {
            let c = cfg.analytic.as_ref().ok_or_else(|| missing("analytic"))?;
            Box::new(Analytic::new(c.clone()))
        }
    })
}

/// Maps a tch result to an [`MlError`] saying what was being done.
pub(crate) fn tch_ok<T>(context: &str, r: Result<T, tch::TchError>) -> Result<T, MlError> {
    r.map_err(|e| MlError::torch(context, &e))
}
