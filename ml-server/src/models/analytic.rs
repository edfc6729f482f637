//! Closed-form forcing without weights, for tests and baselines.
//!
//! - `zero`:        S = 0
//! - `constant`:    Sx = sx, Sy = sy
//! - `linear`:      S = a·u + b (per component)
//! - `backscatter`: S = −nu ∇²u with the 5-point Laplacian on spacings dx, dy (m);
//!   nu > 0 (m²/s) is a negative viscosity that returns energy to the resolved flow.
//!   It trims one cell per side.
//!
//! All values are in model units: `[ml] output_scale` still multiplies them.

use tch::{Kind, Tensor};

use super::{tch_ok, Model, ModelInfo};
use crate::config::{AnalyticConfig, AnalyticKind};
use crate::error::MlError;

/// An analytic forcing.
pub struct Analytic {
    config: AnalyticConfig,
    info: ModelInfo,
}

impl Analytic {
    /// Builds the forcing `[ml.analytic]` describes.
    pub fn new(config: AnalyticConfig) -> Self {
        let radius = usize::from(config.kind == AnalyticKind::Backscatter);
        let info = ModelInfo {
            name: format!("analytic {:?}", config.kind).to_lowercase(),
            trim: radius,
            receptive_radius: radius,
            parameters: 0,
            has_precision: false,
        };
        Self { config, info }
    }

    fn laplacian(&self, x: &Tensor) -> Result<Tensor, tch::TchError> {
        let (h, w) = (x.size()[2], x.size()[3]);
        let s = |dy: i64, dx: i64| {
            x.f_narrow(2, 1 + dy, h - 2)
                .and_then(|t| t.f_narrow(3, 1 + dx, w - 2))
        };
        let c = s(0, 0)?;
        let d2x = (s(0, 1)? + s(0, -1)? - &c * 2.0) / (self.config.dx * self.config.dx);
        let d2y = (s(1, 0)? + s(-1, 0)? - &c * 2.0) / (self.config.dy * self.config.dy);
        Ok(d2x + d2y)
    }
}

impl Model for Analytic {
    fn info(&self) -> &ModelInfo {
        &self.info
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor, MlError> {
        let x = tch_ok("to float32", x.f_to_kind(Kind::Float))?;
        let c = &self.config;
        let r = match c.kind {
            AnalyticKind::Zero => x.f_zeros_like(),
            AnalyticKind::Constant => {
                let (n, h, w) = (x.size()[0], x.size()[2], x.size()[3]);
                let values = Tensor::from_slice(&[c.sx as f32, c.sy as f32]).to_device(x.device());
                values
                    .f_view([1, 2, 1, 1])
                    .and_then(|v| v.f_expand([n, 2, h, w], false))
            }
            AnalyticKind::Linear => x.f_mul_scalar(c.a).and_then(|t| t.f_add_scalar(c.b)),
            AnalyticKind::Backscatter => self.laplacian(&x).and_then(|l| l.f_mul_scalar(-c.nu)),
        };
        tch_ok("analytic forcing", r)
    }
}
