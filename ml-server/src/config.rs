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

use crate::error::MlError;

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
    /// How a forcing above `max_net_power` is brought down to it.
    #[serde(default)]
    pub power_cap_by: crate::budget::CapBy,
    pub fullycnn: Option<FullyCnnConfig>,
    pub torchscript: Option<TorchScriptConfig>,
    pub analytic: Option<AnalyticConfig>,
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

/// `[ml.fullycnn]`: the GZ21 FullyCNN.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FullyCnnConfig {
    pub weights: PathBuf,
    #[serde(default)]
    pub padding: Padding,
    #[serde(default)]
    pub batch_norm: bool,
}

/// How the FullyCNN treats the borders of its input.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Padding {
    /// No padding: the output is 10 cells smaller on every side (needs a 10-cell halo).
    #[default]
    Valid,
    /// Zero padding in every layer: the output has the input's size.
    Same,
    /// Zero padding of 10 on the first layer only: the output has the input's size.
    InitZeros,
}

/// `[ml.torchscript]`: any module saved with `torch.jit.save`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TorchScriptConfig {
    pub file: PathBuf,
    /// What the module's input channels hold, in order: each "u" or "v".
    #[serde(default = "default_ts_inputs")]
    pub inputs: Vec<String>,
    /// What its output channels hold, in order: "sx", "sy", "sx_precision",
    /// "sy_precision" or "ignore". Precision channels are needed for stochastic output.
    #[serde(default = "default_ts_outputs")]
    pub outputs: Vec<String>,
    /// Cells the module trims from each side (0 when it pads to keep the size).
    #[serde(default)]
    pub trim: usize,
    /// Half-width of its receptive field in cells (the halo it needs for exact results).
    #[serde(default)]
    pub receptive_radius: usize,
}

/// `[ml.analytic]`: closed-form forcing, no weights.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnalyticConfig {
    pub kind: AnalyticKind,
    /// constant: forcing values (after output_scale).
    #[serde(default)]
    pub sx: f64,
    #[serde(default)]
    pub sy: f64,
    /// linear: S = a·u + b, per component.
    #[serde(default)]
    pub a: f64,
    #[serde(default)]
    pub b: f64,
    /// backscatter: S = −nu ∇²u with negative-viscosity coefficient nu (m²/s).
    #[serde(default)]
    pub nu: f64,
    /// backscatter: grid spacings in metres.
    #[serde(default = "one")]
    pub dx: f64,
    #[serde(default = "one")]
    pub dy: f64,
}

/// The closed forms `[ml.analytic] kind` offers.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum AnalyticKind {
    Zero,
    Constant,
    Linear,
    Backscatter,
}

fn default_device() -> String {
    "auto".into()
}
fn one() -> f64 {
    1.0
}
fn yes() -> bool {
    true
}
fn default_ts_inputs() -> Vec<String> {
    vec!["u".into(), "v".into()]
}
fn default_ts_outputs() -> Vec<String> {
    ["sx", "sy", "sx_precision", "sy_precision"]
        .map(String::from)
        .to_vec()
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

/// The cheap check of the model file `key` names, before anything loads it: it exists, and
/// it starts as a zip archive (`torch.save`, `torch.jit.save`) or a `.safetensors` header.
fn check_model_file(key: &str, path: &Path) -> Option<String> {
    use std::io::Read;
    let shown = path.display();
    let mut head = Vec::with_capacity(8);
    let read = std::fs::File::open(path).and_then(|f| f.take(8).read_to_end(&mut head));
    match read {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Some(format!(
            "{key} = \"{shown}\": the file does not exist (relative paths are taken from the experiment file's folder)"
        )),
        Err(e) => Some(format!("{key} = \"{shown}\": cannot be read: {e}")),
        Ok(_) if path.extension().is_some_and(|e| e == "safetensors") => (head.len() < 8)
            .then(|| format!("{key} = \"{shown}\": too short for a .safetensors file")),
        Ok(_) => (!head.starts_with(b"PK\x03\x04")).then(|| {
            format!(
                "{key} = \"{shown}\": not a zip archive, which torch.save and torch.jit.save write \
                 (or name a .safetensors file)"
            )
        }),
    }
}

impl TorchScriptConfig {
    fn check(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.inputs.is_empty() {
            problems.push("[ml.torchscript] inputs: needs at least one channel".to_string());
        }
        for i in &self.inputs {
            if i != "u" && i != "v" {
                problems.push(format!(
                    "[ml.torchscript] inputs: \"{i}\" is not \"u\" or \"v\""
                ));
            }
        }
        let allowed = ["sx", "sy", "sx_precision", "sy_precision", "ignore"];
        for o in &self.outputs {
            if !allowed.contains(&o.as_str()) {
                problems.push(format!(
                    "[ml.torchscript] outputs: \"{o}\" is not one of {allowed:?}"
                ));
            } else if o != "ignore" && self.outputs.iter().filter(|x| *x == o).count() > 1 {
                problems.push(format!("[ml.torchscript] outputs: \"{o}\" appears twice"));
            }
        }
        for needed in ["sx", "sy"] {
            if !self.outputs.iter().any(|o| o == needed) {
                problems.push(format!("[ml.torchscript] outputs: no \"{needed}\" channel"));
            }
        }
        problems.dedup();
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<MlConfig, String> {
        parse_in(text, Path::new("/cfg"))
    }

    fn parse_in(text: &str, base: &Path) -> Result<MlConfig, String> {
        let mut t: toml::Table = toml::from_str(text).map_err(|e| e.to_string())?;
        let ml = t.remove("ml").ok_or("no ml")?;
        ml.try_into::<MlConfig>()
            .map_err(|e| e.to_string())?
            .validate(base)
            .map_err(|e| e.to_string())
    }

    /// A folder holding `w.pth`, which starts as a zip archive does.
    fn weights_dir(test: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("ml-config-{test}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("w.pth"), b"PK\x03\x04 not really a model").unwrap();
        dir
    }

    #[test]
    fn gz21_table_parses_with_defaults() {
        let dir = weights_dir("defaults");
        let text = "[ml]\nmodel = \"fullycnn\"\n[ml.fullycnn]\nweights = \"w.pth\"\n";
        let c = parse_in(text, &dir).unwrap();
        assert_eq!(c.device_request().unwrap(), DeviceRequest::Auto);
        assert_eq!(c.precision, Precision::Fp32);
        assert_eq!(c.output, OutputMode::Mean);
        let f = c.fullycnn.unwrap();
        assert_eq!(f.padding, Padding::Valid);
        assert_eq!(f.weights, dir.join("w.pth"));
    }

    /// Regression: a missing weights file passed validation and surfaced only when the model
    /// loaded, as an I/O error that named neither the key nor the experiment file.
    #[test]
    fn a_missing_or_foreign_model_file_is_named_with_its_key() {
        let dir = weights_dir("missing");
        let text = "[ml]\nmodel = \"fullycnn\"\n[ml.fullycnn]\nweights = \"nope.pth\"\n";
        let e = parse_in(text, &dir).unwrap_err();
        assert!(
            e.contains("[ml.fullycnn] weights")
                && e.contains("nope.pth")
                && e.contains("does not exist"),
            "{e}"
        );
        std::fs::write(dir.join("notes.pth"), "plain text").unwrap();
        let text = "[ml]\nmodel = \"torchscript\"\n[ml.torchscript]\nfile = \"notes.pth\"\n";
        let e = parse_in(text, &dir).unwrap_err();
        assert!(
            e.contains("[ml.torchscript] file") && e.contains("not a zip archive"),
            "{e}"
        );
        // An unused model's table is not checked.
        let text = "[ml]\nmodel = \"analytic\"\n[ml.analytic]\nkind = \"zero\"\n\
                    [ml.fullycnn]\nweights = \"nope.pth\"\n";
        parse_in(text, &dir).unwrap();
    }

    #[test]
    fn unknown_key_is_named() {
        let e = parse("[ml]\nmodel = \"analytic\"\ndevise = \"cpu\"\n").unwrap_err();
        assert!(e.contains("devise"), "{e}");
    }

    #[test]
    fn missing_section_and_bad_device_are_both_reported() {
        let e = parse("[ml]\nmodel = \"torchscript\"\ndevice = \"tpu\"\n").unwrap_err();
        assert!(e.contains("[ml.torchscript]") && e.contains("tpu"), "{e}");
    }

    #[test]
    fn stochastic_needs_precision_channels() {
        let e = parse(
            "[ml]\nmodel = \"analytic\"\noutput = \"stochastic\"\n[ml.analytic]\nkind = \"zero\"\n",
        )
        .unwrap_err();
        assert!(e.contains("precision"), "{e}");
    }

    #[test]
    fn a_negative_or_nan_power_cap_is_named() {
        for bad in ["-1e-8", "nan"] {
            let e = parse(&format!(
                "[ml]\nmodel = \"analytic\"\nmax_net_power = {bad}\n[ml.analytic]\nkind = \"zero\"\n"
            ))
            .unwrap_err();
            assert!(e.contains("[ml] max_net_power") && e.contains("≥ 0"), "{e}");
        }
        let c = parse(
            "[ml]\nmodel = \"analytic\"\nmax_net_power = 0\n[ml.analytic]\nkind = \"zero\"\n",
        );
        // TOML's integer 0 is taken as 0.0.
        assert_eq!(c.unwrap().max_net_power, Some(0.0));
    }

    #[test]
    fn cuda_index_parses() {
        let c = parse(
            "[ml]\nmodel = \"analytic\"\ndevice = \"cuda:3\"\n[ml.analytic]\nkind = \"zero\"\n",
        )
        .unwrap();
        assert_eq!(c.device_request().unwrap(), DeviceRequest::Cuda(Some(3)));
    }
}
