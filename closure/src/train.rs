//! Training, in the four usual parts: data ([`crate::samples`], split by
//! [`crate::split`]), model ([`crate::network::Network`]), loss ([`crate::network::Loss`]),
//! and this loop: Adam, a step decay of the learning rate, gradient clipping at norm 1
//! (GZ21's settings, with a batch chosen for the CPU), a progress bar with the loss, a
//! validation loss per epoch, and a resumable checkpoint after each epoch.
//!
//! Reproducible: the initial weights come from `seed`, and epoch e shuffles with
//! `seed + e + 1`; with the same thread count (CPU convolutions sum in a thread-dependent
//! order) a run and a resumed run give the same weights.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use tch::nn::{self, OptimizerConfig};
use tch::{Device, Kind, Tensor};

use crate::network::{Loss, Network};
use crate::samples::Samples;

/// Settings of one training run (recorded in the model card).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Settings {
    pub epochs: usize,
    pub batch: usize,
    pub learning_rate: f64,
    /// Epochs after which the learning rate is multiplied by 0.1.
    pub decay_at: Vec<usize>,
    pub seed: i64,
    pub loss: Loss,
    pub clip_norm: f64,
}

/// Loss per epoch.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct History {
    pub train_loss: Vec<f64>,
    pub validation_loss: Vec<f64>,
    /// Training samples per second of each epoch.
    pub samples_per_s: Vec<f64>,
}

/// What a checkpoint folder holds besides the weights.
#[derive(Debug, Serialize, Deserialize)]
struct Progress {
    epochs_done: usize,
    history: History,
}

/// The mean loss over `data`, without gradients.
pub fn evaluate(net: &Network, data: &Samples, mask: &Tensor, loss: Loss, batch: usize) -> f64 {
    let device = net.vs.device();
    let _guard = tch::no_grad_guard();
    let (mut total, n) = (0.0, data.len());
    for start in (0..n).step_by(batch) {
        let b = batch.min(n - start);
        let x = data.x.narrow(0, start as i64, b as i64).to_device(device);
        let y = data.y.narrow(0, start as i64, b as i64).to_device(device);
        total += loss.of(&net.forward(&x), &y, mask).double_value(&[]) * b as f64;
    }
    total / n.max(1) as f64
}

/// Train `net` on `train`, checking `validation` after each epoch. With `checkpoints`, the
/// weights and history are saved there after each epoch and a later call resumes from
/// them (the Adam moments restart at a resume; the schedule and shuffles do not).
pub fn train(
    net: &mut Network,
    train: &Samples,
    validation: &Samples,
    mask: &Tensor,
    s: &Settings,
    checkpoints: Option<&Path>,
) -> Result<History> {
    let device = net.vs.device();
    let mut progress = Progress {
        epochs_done: 0,
        history: History::default(),
    };
    if let Some(dir) = checkpoints {
        std::fs::create_dir_all(dir).with_context(|| dir.display().to_string())?;
        if let Some(saved) = read_progress(dir)? {
            net.vs
                .load(weights_path(dir))
                .with_context(|| format!("resuming from {}", dir.display()))?;
            eprintln!(
                "closure train: resuming after epoch {} ({})",
                saved.epochs_done,
                dir.display()
            );
            progress = saved;
        }
    }
    let mut opt = nn::Adam::default().build(&net.vs, s.learning_rate)?;
    let n = train.len();
    for epoch in progress.epochs_done..s.epochs {
        let lr = s.learning_rate
            * 0.1f64.powi(s.decay_at.iter().filter(|&&e| e <= epoch).count() as i32);
        opt.set_lr(lr);
        tch::manual_seed(s.seed + epoch as i64 + 1);
        let order = Tensor::randperm(n as i64, (Kind::Int64, Device::Cpu));
        let bar = indicatif::ProgressBar::new(n as u64).with_style(
            indicatif::ProgressStyle::with_template(
                "epoch {prefix} [{bar:30}] {pos}/{len} samples  loss {msg}  ({per_sec}, {eta} left)",
            )
            .expect("a valid template")
            .progress_chars("=> "),
        );
        bar.set_prefix(format!("{}/{}", epoch + 1, s.epochs));
        let started = Instant::now();
        let mut sum = 0.0;
        for start in (0..n).step_by(s.batch) {
            let b = s.batch.min(n - start);
            let idx = order.narrow(0, start as i64, b as i64);
            let x = train.x.index_select(0, &idx).to_device(device);
            let y = train.y.index_select(0, &idx).to_device(device);
            let loss = s.loss.of(&net.forward(&x), &y, mask);
            opt.backward_step_clip_norm(&loss, s.clip_norm);
            net.clamp_floor();
            let l = loss.double_value(&[]);
            sum += l * b as f64;
            bar.inc(b as u64);
            bar.set_message(format!("{l:.4}"));
        }
        bar.finish_and_clear();
        let rate = n as f64 / started.elapsed().as_secs_f64();
        let val = evaluate(net, validation, mask, s.loss, s.batch);
        let h = &mut progress.history;
        h.train_loss.push(sum / n as f64);
        h.validation_loss.push(val);
        h.samples_per_s.push(rate);
        eprintln!(
            "closure train: epoch {}/{}  lr {lr:.1e}  train loss {:.4}  validation loss {val:.4}  {rate:.1} samples/s",
            epoch + 1,
            s.epochs,
            sum / n as f64
        );
        progress.epochs_done = epoch + 1;
        if let Some(dir) = checkpoints {
            net.vs.save(weights_path(dir))?;
            let text = serde_json::to_string_pretty(&progress)?;
            std::fs::write(dir.join("progress.json"), text)?;
        }
    }
    Ok(progress.history)
}

fn weights_path(dir: &Path) -> PathBuf {
    dir.join("last.safetensors")
}

fn read_progress(dir: &Path) -> Result<Option<Progress>> {
    let path = dir.join("progress.json");
    if !path.exists() || !weights_path(dir).exists() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(&path)?;
    Ok(Some(
        serde_json::from_str(&text).with_context(|| path.display().to_string())?,
    ))
}
