//! The model card written beside trained weights: what data, which operator, which scales,
//! how it was trained and how well it does offline. JSON for programs, Markdown for people.

use std::path::Path;

use anyhow::Result;
use serde::Serialize;

use crate::offline::Skill;
use crate::train::{History, Settings};

#[derive(Debug, Serialize)]
pub struct ModelCard {
    pub model: String,
    pub weights: String,
    pub made_by: String,
    pub data: DataCard,
    /// u, v are multiplied by this before the network (`[ml] input_scale`).
    pub input_scale: f64,
    /// The network's μ is multiplied by this to give m s⁻² (`[ml] output_scale`).
    pub output_scale: f64,
    pub settings: Settings,
    pub history: History,
    pub min_value: f64,
    pub parameters: usize,
    pub device: String,
    pub threads: i32,
    /// Time spent in the training epochs (from their measured rates, across resumes).
    pub training_s: f64,
    /// Skill of the mean forcing on the validation and test periods.
    pub validation_skill: Skill,
    pub test_skill: Option<Skill>,
}

#[derive(Debug, Serialize)]
pub struct DataCard {
    pub files: Vec<String>,
    pub fine_grid: String,
    pub coarse_grid: String,
    pub filter: String,
    pub forcing_form: String,
    pub boundary: String,
    /// (first day, last day, samples) of each period.
    pub train: (f64, f64, usize),
    pub validation: (f64, f64, usize),
    pub test: Option<(f64, f64, usize)>,
}

impl ModelCard {
    pub fn write(&self, json: &Path, markdown: &Path) -> Result<()> {
        std::fs::write(json, serde_json::to_string_pretty(self)? + "\n")?;
        std::fs::write(markdown, self.markdown())?;
        Ok(())
    }

    fn markdown(&self) -> String {
        let d = &self.data;
        let period =
            |p: &(f64, f64, usize)| format!("days {:.0}–{:.0}, {} daily samples", p.0, p.1, p.2);
        let skill = |s: &Skill| {
            format!(
                "R² sx {:.3}, sy {:.3}; correlation sx {:.3}, sy {:.3} ({} samples)",
                s.r2[0], s.r2[1], s.correlation[0], s.correlation[1], s.samples
            )
        };
        let h = &self.history;
        let s = &self.settings;
        let mut out = format!(
            "# Model card: {model}\n\n\
             Weights: `{weights}` ({params} parameters). Made by `{made}`.\n\n\
             ## Data\n\
             - truth: {fine}, coarse-grained onto {coarse} ({filter});\n\
             - target: {form};\n\
             - beyond the walls the network sees {boundary};\n\
             - training: {train}; validation: {val}; test: {test};\n\
             - files: {files}.\n\n\
             ## Scales (put these in `[ml]`)\n\
             - `input_scale = {ins}` (u, v × this → network input);\n\
             - `output_scale = {outs}` (network μ × this → m s⁻²); σ = output_scale / p.\n\n\
             ## Training\n\
             - loss {loss:?}, Adam lr {lr} (× 0.1 after epochs {decay:?}), batch {batch}, gradient norm clipped at {clip}, seed {seed};\n\
             - {epochs} epochs on {device} ({threads} threads) in {wall:.0} s of epochs, {rate:.1} training samples/s;\n\
             - precision floor min_value = {minv:.4};\n\
             - final train loss {tl:.4}, validation loss {vl:.4}.\n\n\
             | epoch | train loss | validation loss |\n|---|---|---|\n",
            model = self.model,
            weights = self.weights,
            params = self.parameters,
            made = self.made_by,
            fine = d.fine_grid,
            coarse = d.coarse_grid,
            filter = d.filter,
            form = d.forcing_form,
            boundary = d.boundary,
            train = period(&d.train),
            val = period(&d.validation),
            test = d.test.as_ref().map(period).unwrap_or_else(|| "none".into()),
            files = d.files.join(", "),
            ins = self.input_scale,
            outs = self.output_scale,
            loss = s.loss,
            lr = s.learning_rate,
            decay = s.decay_at,
            batch = s.batch,
            clip = s.clip_norm,
            seed = s.seed,
            epochs = h.train_loss.len(),
            device = self.device,
            threads = self.threads,
            wall = self.training_s,
            rate = h.samples_per_s.iter().sum::<f64>() / h.samples_per_s.len().max(1) as f64,
            minv = self.min_value,
            tl = h.train_loss.last().copied().unwrap_or(f64::NAN),
            vl = h.validation_loss.last().copied().unwrap_or(f64::NAN),
        );
        for (k, (t, v)) in h.train_loss.iter().zip(&h.validation_loss).enumerate() {
            out += &format!("| {} | {t:.4} | {v:.4} |\n", k + 1);
        }
        out += &format!(
            "\n## Offline skill of the mean forcing\n- validation: {}\n- test: {}\n",
            skill(&self.validation_skill),
            self.test_skill
                .as_ref()
                .map(skill)
                .unwrap_or_else(|| "no test data given".into())
        );
        out
    }
}
