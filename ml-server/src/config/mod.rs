//! The experiment file's `[ml]` table: plain serde structs, then one validation pass.
//!
//! ```toml
//! [ml]
//! model = "fullycnn"          # "fullycnn" | "torchscript" | "analytic"
//! device = "auto"             # "auto" | "cpu" | "cuda" | "cuda:N"
//! precision = "fp32"          # "fp32" | "tf32" | "bf16"
//! input_scale = 10.0          # u, v are multiplied by this before the model (GZ21: 10)
//! output_scale = 1e-7         # the model's forcing is multiplied by this (GZ21: 1e-7)
//! output = "mean"             # "mean" | "stochastic" (mean + σ·N(0,1), σ = 1/precision)
//! seed = 0                    # stochastic mode: seed of rank r is seed + r
//! mask = true                 # zero inputs and forcing on land when mask_u/mask_v arrive
//! threads = 0                 # CPU threads of libtorch (0: its default)
//! max_net_power = 3.8e-8      # largest basin-mean power u·S of the forcing, m² s⁻³ (0: no
//!                             # net source; absent: no limit), see crate::budget
//! power_cap_by = "scaling"    # "scaling" (S × cap/P) | "drag" (S − (P − cap)/Q · (u, v))
//! placement = "server"        # "server": ml-server, launched beside ocean-model (MPMD) |
//!                             # "embedded": every ocean-model rank runs the model itself
//!
//! [ml.fullycnn]
//! weights = "trained_model.pth"   # .pth (torch.save state dict) or .safetensors
//! padding = "valid"               # "valid" | "same" | "init_zeros"
//! batch_norm = false
//! ```
//!
//! Relative paths are taken from the folder of the experiment file.

use std::path::{Path, PathBuf};

use experiment::ExperimentFile;
use serde::Deserialize;

use crate::budget::CapBy;
use crate::error::MlError;

mod models;
#[cfg(test)]
mod tests;

use models::{check_model_file, one};
pub use models::{AnalyticConfig, AnalyticKind, FullyCnnConfig, Padding, TorchScriptConfig};

/// The environment variable that replaces the model file of the experiment.
pub const WEIGHTS_ENV: &str = "EDDYLINK_ML_WEIGHTS";

/// The `[ml]` table as written.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MlConfig {
    pub model: ModelKind,
    #[serde(default = "default_device")]
    pub device: String,
    #[serde(default)]
    pub precision: Precision,
    #[serde(default = "one")]
    pub input_scale: f64,
    #[serde(default = "one")]
    pub output_scale: f64,
    #[serde(default)]
    pub output: OutputMode,
    #[serde(default)]
    pub seed: u64,
    #[serde(default = "yes")]
    pub mask: bool,
    /// CPU threads for libtorch's intra-op pool (0: libtorch's default).
    #[serde(default)]
    pub threads: usize,
    /// The largest basin-mean power u·S the forcing may put into the resolved flow,
    /// m² s⁻³ (0: no net source; `None`: no limit). See [`crate::budget`].
    #[serde(default)]
    pub max_net_power: Option<f64>,
    /// Where the model runs: in ml-server (MPMD) or inside every ocean rank.
    #[serde(default)]
    pub placement: Placement,
    /// How a forcing above `max_net_power` is brought down to it (`None`: the default,
    /// [`CapBy::Scaling`]); given without `max_net_power` it is an error.
    #[serde(default)]
    pub power_cap_by: Option<CapBy>,
    pub fullycnn: Option<FullyCnnConfig>,
    pub torchscript: Option<TorchScriptConfig>,
    pub analytic: Option<AnalyticConfig>,
}

/// `[ml] placement`: where the model runs.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Placement {
    /// In `ml-server`, a program of its own beside `ocean-model` in one MPMD launch: a few
    /// (GPU) ranks serve many CPU ocean ranks.
    #[default]
    Server,
    /// Inside every `ocean-model` rank, on its own box: no second program, no extra cores
    /// (CPU-only runs, or one GPU per ocean rank).
    Embedded,
}

impl Placement {
    /// The placement the `[ml]` table of `exp` asks for (`server` without `[ml]` or the
    /// key); only that key is read.
    pub fn of(exp: &ExperimentFile) -> Result<Placement, MlError> {
        #[derive(Deserialize)]
        struct Only {
            #[serde(default)]
            placement: Placement,
        }
        Ok(exp
            .section::<Only>("ml")?
            .map_or(Placement::Server, |o| o.placement))
    }
}

/// Which model `[ml] model` selects.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ModelKind {
    Fullycnn,
    Torchscript,
    Analytic,
}

/// Arithmetic used on the device.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// IEEE float32 everywhere (TF32 explicitly off in the native FullyCNN).
    #[default]
    Fp32,
    /// float32 storage, TF32 tensor-core convolutions on Ampere and later.
    Tf32,
    /// bfloat16 weights and activations; outputs converted back to float32.
    Bf16,
}

/// Deterministic mean, or one sample of the predicted Gaussian.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum OutputMode {
    #[default]
    Mean,
    Stochastic,
}

fn default_device() -> String {
    "auto".into()
}
fn yes() -> bool {
    true
}

/// Where `[ml] device` asks the model to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceRequest {
    Auto,
    Cpu,
    /// `cuda` (None: the rank-local GPU) or `cuda:N`.
    Cuda(Option<usize>),
}

impl MlConfig {
    /// Reads and validates the `[ml]` table of the experiment file at `path`.
    pub fn load(path: &Path) -> Result<Self, MlError> {
        Self::from_experiment(&ExperimentFile::load(path)?)
    }

    /// Reads and validates the `[ml]` table of a loaded experiment file; relative
    /// paths are taken from the file's folder. Errors name the file and key.
    /// `EDDYLINK_ML_WEIGHTS`, when set, replaces the model file (see
    /// [`MlConfig::from_experiment_with`]).
    pub fn from_experiment(exp: &ExperimentFile) -> Result<Self, MlError> {
        Self::from_experiment_and_cli(exp, None)
    }

    /// [`MlConfig::from_experiment`], the model file replaced by `--weights` (`cli`) if
    /// given, else by `EDDYLINK_ML_WEIGHTS` if set.
    pub fn from_experiment_and_cli(
        exp: &ExperimentFile,
        cli: Option<&Path>,
    ) -> Result<Self, MlError> {
        let env = std::env::var_os(WEIGHTS_ENV).map(PathBuf::from);
        let model_file = match (cli, env.as_deref()) {
            (Some(path), _) => Some((path, "--weights")),
            (None, Some(path)) => Some((path, WEIGHTS_ENV)),
            (None, None) => None,
        };
        Self::from_experiment_with(exp, model_file)
    }

    /// [`MlConfig::from_experiment`] with the model file — `[ml.fullycnn] weights` or
    /// `[ml.torchscript] file` — replaced by `model_file.0` (relative to the working
    /// directory), `model_file.1` saying where it came from (for errors).
    pub fn from_experiment_with(
        exp: &ExperimentFile,
        model_file: Option<(&Path, &str)>,
    ) -> Result<Self, MlError> {
        let file = exp.path();
        let mut raw: MlConfig = exp.section("ml")?.ok_or_else(|| MlError::ConfigFile {
            file: file.to_path_buf(),
            message: "no [ml] table".into(),
        })?;
        if let Some((path, source)) = model_file {
            // Relative to where the program runs, not to the experiment file.
            let path = std::env::current_dir().unwrap_or_default().join(path);
            let key = match (&mut raw.fullycnn, &mut raw.torchscript, raw.model) {
                (Some(f), _, ModelKind::Fullycnn) => {
                    f.weights = path.clone();
                    "[ml.fullycnn] weights"
                }
                (_, Some(t), ModelKind::Torchscript) => {
                    t.file = path.clone();
                    "[ml.torchscript] file"
                }
                _ => {
                    return Err(MlError::ConfigFile {
                        file: exp.path().to_path_buf(),
                        message: format!(
                        "{source} = {} replaces the model file, but [ml] model = \"{}\" has none",
                        path.display(),
                        format!("{:?}", raw.model).to_lowercase()
                    ),
                    })
                }
            };
            tracing::info!("{key} = {} (from {source})", path.display());
        }
        let base = file.parent().unwrap_or(Path::new("."));
        raw.validate(base).map_err(|e| MlError::ConfigFile {
            file: file.to_path_buf(),
            message: e.to_string(),
        })
    }

    /// Checks the values serde cannot and resolves relative paths against `base`.
    /// Reports every problem at once.
    pub fn validate(mut self, base: &Path) -> Result<Self, MlError> {
        let mut problems = Vec::new();
        if let Err(e) = self.device_request() {
            problems.push(e.to_string());
        }
        for (key, v) in [
            ("input_scale", self.input_scale),
            ("output_scale", self.output_scale),
        ] {
            if !v.is_finite() {
                problems.push(format!("[ml] {key}: {v} is not finite"));
            }
        }
        if let Some(p) = self.max_net_power {
            if !(p.is_finite() && p >= 0.0) {
                problems.push(format!(
                    "[ml] max_net_power: {p} m² s⁻³ must be a finite number ≥ 0 (0: the forcing \
                     may not be a net source of energy; leave the key out for no limit)"
                ));
            }
        }
        if self.max_net_power.is_none() {
            if let Some(by) = self.power_cap_by {
                problems.push(format!(
                    "[ml] power_cap_by = \"{}\" has no cap to apply: set [ml] max_net_power too, \
                     or remove power_cap_by",
                    by.name()
                ));
            }
        }
        let section = match self.model {
            ModelKind::Fullycnn => self.fullycnn.is_some(),
            ModelKind::Torchscript => self.torchscript.is_some(),
            ModelKind::Analytic => self.analytic.is_some(),
        };
        let name = format!("{:?}", self.model).to_lowercase();
        if !section {
            problems.push(format!(
                "[ml] model = \"{name}\" needs an [ml.{name}] table"
            ));
        }
        if let Some(f) = self.fullycnn.as_mut() {
            f.weights = base.join(&f.weights);
        }
        if let Some(t) = self.torchscript.as_mut() {
            t.file = base.join(&t.file);
            problems.extend(t.check());
        }
        match (self.model, &self.fullycnn, &self.torchscript) {
            (ModelKind::Fullycnn, Some(f), _) => {
                problems.extend(check_model_file("[ml.fullycnn] weights", &f.weights))
            }
            (ModelKind::Torchscript, _, Some(t)) => {
                problems.extend(check_model_file("[ml.torchscript] file", &t.file))
            }
            _ => {}
        }
        if let (Some(a), ModelKind::Analytic) = (&self.analytic, self.model) {
            if a.kind == AnalyticKind::Backscatter && !(a.dx > 0.0 && a.dy > 0.0) {
                problems.push(format!(
                    "[ml.analytic] dx, dy: backscatter needs positive grid spacings, got {} and {}",
                    a.dx, a.dy
                ));
            }
        }
        if self.output == OutputMode::Stochastic && !self.has_precision() {
            problems.push(format!(
                "[ml] output = \"stochastic\" needs precision channels, which model \"{name}\" does not give"
            ));
        }
        if problems.is_empty() {
            Ok(self)
        } else {
            Err(MlError::Invalid(problems.join("; ")))
        }
    }

    /// The model file: `[ml.fullycnn] weights` or `[ml.torchscript] file`.
    pub fn model_file(&self) -> Option<&Path> {
        match self.model {
            ModelKind::Fullycnn => self.fullycnn.as_ref().map(|f| f.weights.as_path()),
            ModelKind::Torchscript => self.torchscript.as_ref().map(|t| t.file.as_path()),
            ModelKind::Analytic => None,
        }
    }

    fn has_precision(&self) -> bool {
        match self.model {
            ModelKind::Fullycnn => true,
            ModelKind::Analytic => false,
            ModelKind::Torchscript => self.torchscript.as_ref().is_some_and(|t| {
                ["sx_precision", "sy_precision"]
                    .iter()
                    .all(|c| t.outputs.iter().any(|o| o == c))
            }),
        }
    }

    /// Parses `[ml] device`.
    pub fn device_request(&self) -> Result<DeviceRequest, MlError> {
        let d = self.device.trim();
        let bad = || {
            MlError::config(
                "device",
                format!("\"{d}\" is not one of \"auto\", \"cpu\", \"cuda\", \"cuda:N\""),
            )
        };
        match d {
            "auto" => Ok(DeviceRequest::Auto),
            "cpu" => Ok(DeviceRequest::Cpu),
            "cuda" | "gpu" => Ok(DeviceRequest::Cuda(None)),
            _ => match d.strip_prefix("cuda:") {
                Some(n) => n
                    .parse()
                    .map(|n| DeviceRequest::Cuda(Some(n)))
                    .map_err(|_| bad()),
                None => Err(bad()),
            },
        }
    }
}
