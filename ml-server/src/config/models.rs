//! The per-model tables `[ml.fullycnn]`, `[ml.torchscript]` and `[ml.analytic]`, and the
//! cheap check of a model file before anything loads it.

use std::path::{Path, PathBuf};

use serde::Deserialize;

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

pub(super) fn one() -> f64 {
    1.0
}
fn default_ts_inputs() -> Vec<String> {
    vec!["u".into(), "v".into()]
}
fn default_ts_outputs() -> Vec<String> {
    ["sx", "sy", "sx_precision", "sy_precision"]
        .map(String::from)
        .to_vec()
}

/// The cheap check of the model file `key` names, before anything loads it: it exists, and
/// it starts as a zip archive (`torch.save`, `torch.jit.save`) or a `.safetensors` header.
pub(super) fn check_model_file(key: &str, path: &Path) -> Option<String> {
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
    pub(super) fn check(&self) -> Vec<String> {
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
