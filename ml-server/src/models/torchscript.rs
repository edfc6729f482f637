//! Any TorchScript module (`torch.jit.save`) with a configurable channel mapping.
//!
//! The module's `forward` must take one `[N, C_in, H, W]` tensor and return one
//! `[N, C_out, H − 2·trim, W − 2·trim]` tensor; `[ml.torchscript] inputs` and
//! `outputs` say what the channels hold. A dummy batch runs at load time so a
//! module with the wrong signature fails at start-up, naming the file.

use tch::{CModule, Device, Kind, Tensor};

use super::{tch_ok, Model, ModelInfo};
use crate::config::TorchScriptConfig;
use crate::error::{torch_message, torch_traceback, MlError};

/// A loaded TorchScript module and its channel maps.
pub struct TorchScript {
    module: CModule,
    /// Index into `[u, v]` of each module input channel (None: pass `[u, v]` as is).
    inputs: Option<Tensor>,
    /// Module output channel of sx, sy and, when present, their precisions.
    outputs: Tensor,
    n_outputs: i64,
    kind: Kind,
    config: TorchScriptConfig,
    info: ModelInfo,
}

impl TorchScript {
    /// Loads the module on `device` and runs a dummy batch through it.
    pub fn load(config: &TorchScriptConfig, device: Device, kind: Kind) -> Result<Self, MlError> {
        let file = &config.file;
        if !file.exists() {
            return Err(MlError::Io {
                file: file.clone(),
                source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"),
            });
        }
        let mut module =
            CModule::load_on_device(file, device).map_err(|e| MlError::BadArchive {
                file: file.clone(),
                reason: format!("not a TorchScript module: {}", torch_message(&e)),
            })?;
        module.set_eval();
        if kind != Kind::Float {
            module.to(device, kind, false);
        }
        let index = |names: &[&str], of: &[String]| -> Vec<i64> {
            names
                .iter()
                .filter_map(|n| of.iter().position(|o| o == n).map(|p| p as i64))
                .collect()
        };
        let inputs: Vec<i64> = config
            .inputs
            .iter()
            .map(|c| if c == "u" { 0 } else { 1 })
            .collect();
        let identity = inputs == [0, 1];
        let mut outputs = index(&["sx", "sy"], &config.outputs);
        let precision = index(&["sx_precision", "sy_precision"], &config.outputs);
        let has_precision = precision.len() == 2;
        if has_precision {
            outputs.extend(precision);
        }
        let parameters = tch_ok("listing parameters", module.named_parameters())?
            .iter()
            .map(|(_, t)| t.numel())
            .sum();
        let model = Self {
            module,
            inputs: (!identity).then(|| Tensor::from_slice(&inputs).to_device(device)),
            outputs: Tensor::from_slice(&outputs).to_device(device),
            n_outputs: config.outputs.len() as i64,
            kind,
            config: config.clone(),
            info: ModelInfo {
                name: format!("TorchScript {}", file.display()),
                trim: config.trim,
                receptive_radius: config.receptive_radius.max(config.trim),
                parameters,
                has_precision,
            },
        };
        model.probe(device)?;
        Ok(model)
    }

    /// Runs one small batch so signature and channel mismatches surface now.
    fn probe(&self, device: Device) -> Result<(), MlError> {
        let side = 2 * self.config.trim as i64 + 8;
        let x = Tensor::zeros([1, 2, side, side], (self.kind, device));
        self.forward(&x).map(|_| ())
    }

    fn mismatch(&self, message: String) -> MlError {
        MlError::ModelMismatch {
            file: self.config.file.clone(),
            message,
        }
    }
}

impl Model for TorchScript {
    fn info(&self) -> &ModelInfo {
        &self.info
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor, MlError> {
        let _guard = tch::no_grad_guard();
        let input = match &self.inputs {
            Some(index) => tch_ok("selecting input channels", x.f_index_select(1, index))?,
            None => x.shallow_clone(),
        };
        let shape = input.size();
        let y = self.module.forward_ts(&[&input]).map_err(|e| {
            self.mismatch(format!(
                "forward(one tensor of shape {shape:?}) failed (the module must take a single \
                 [N, {}, H, W] tensor: check [ml.torchscript] inputs):\n    {}",
                self.config.inputs.len(),
                torch_traceback(&e),
            ))
        })?;
        let got = y.size();
        let trim = 2 * self.config.trim as i64;
        let expected = [shape[0], self.n_outputs, shape[2] - trim, shape[3] - trim];
        if got != expected {
            return Err(self.mismatch(format!(
                "forward returned shape {got:?}, expected {expected:?} from outputs = {:?} and trim = {}",
                self.config.outputs, self.config.trim
            )));
        }
        let y = tch_ok("to float32", y.f_to_kind(Kind::Float))?;
        tch_ok(
            "selecting output channels",
            y.f_index_select(1, &self.outputs),
        )
    }
}
