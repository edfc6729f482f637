//! `[ocean.output]`: when snapshots, diagnostics, checkpoints, stability checks and
//! progress lines happen, in whole time steps, and the restart file; and `[run] duration`
//! in steps.

use std::path::PathBuf;

use coupler::config::DurationValue;
use serde::Deserialize;

/// `[ocean.output]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OutputConfig {
    /// Snapshot interval of u, v, eta, vorticity (default "1d"; 0 = none).
    pub snapshot_interval: Option<DurationValue>,
    /// Diagnostics interval (default: every snapshot_interval, or "1d").
    pub diagnostics_interval: Option<DurationValue>,
    /// Checkpoint interval (default: none; a checkpoint is always written at the end).
    pub checkpoint_interval: Option<DurationValue>,
    /// Steps between NaN/CFL checks (default 1).
    pub check_every_steps: Option<u64>,
    /// Wall-clock seconds between progress lines (default 10).
    pub progress_interval_s: Option<f64>,
    /// Checkpoint file to start from.
    pub restart: Option<PathBuf>,
}

/// When output happens, in steps, and where it goes.
#[derive(Debug, Clone, PartialEq)]
pub struct OutputPlan {
    /// Steps of this run.
    pub steps: u64,
    /// Steps between snapshots (0 = none).
    pub snapshot_every: u64,
    /// Steps between diagnostics records (0 = none).
    pub diagnostics_every: u64,
    /// Steps between checkpoints (0 = only at the end).
    pub checkpoint_every: u64,
    /// Steps between NaN/CFL checks.
    pub check_every: u64,
    /// Wall-clock seconds between progress lines.
    pub progress_interval_s: f64,
    /// Folder of all output files.
    pub run_dir: PathBuf,
    /// Checkpoint to start from.
    pub restart: Option<PathBuf>,
}

/// Most time steps a run may have: 2^53, below which every step count is exact as an f64.
const MAX_STEPS: f64 = 9_007_199_254_740_992.0;

impl OutputConfig {
    /// The plan of a run of `duration_s` seconds in steps of `dt`; every problem goes to
    /// `bad`, named by its key.
    pub(super) fn plan(
        &self,
        dt: f64,
        duration_s: f64,
        run_dir: PathBuf,
        bad: &mut Vec<String>,
    ) -> OutputPlan {
        let mut every = |key: &str, v: &Option<DurationValue>, default_s: f64| {
            interval_steps(key, v, default_s, dt, bad)
        };
        let snapshot_every = every(
            "ocean.output.snapshot_interval",
            &self.snapshot_interval,
            86_400.0,
        );
        let diag_default = if snapshot_every > 0 {
            snapshot_every as f64 * dt
        } else {
            86_400.0
        };
        let diagnostics_every = every(
            "ocean.output.diagnostics_interval",
            &self.diagnostics_interval,
            diag_default,
        );
        let checkpoint_every = every(
            "ocean.output.checkpoint_interval",
            &self.checkpoint_interval,
            0.0,
        );
        let steps = (duration_s / dt).round();
        if !(steps >= 1.0 && (steps * dt - duration_s).abs() <= 1e-9 * duration_s) {
            bad.push(format!(
                "run.duration = {duration_s} s: must be a positive multiple of the time step dt = {dt} s"
            ));
        } else if steps > MAX_STEPS {
            bad.push(format!(
                "run.duration = {duration_s:e} s: {steps:e} steps of dt = {dt} s; at most 2^53 steps (step counts and times stay exact below)"
            ));
        }
        let check_every = self.check_every_steps.unwrap_or(1);
        if check_every == 0 {
            bad.push("ocean.output.check_every_steps = 0: must be >= 1".into());
        }
        let progress_interval_s = self.progress_interval_s.unwrap_or(10.0);
        if progress_interval_s.is_nan() || progress_interval_s <= 0.0 {
            bad.push(format!(
                "ocean.output.progress_interval_s = {progress_interval_s}: must be > 0"
            ));
        }
        OutputPlan {
            steps: steps as u64,
            snapshot_every,
            diagnostics_every,
            checkpoint_every,
            check_every,
            progress_interval_s,
            run_dir,
            restart: self.restart.clone(),
        }
    }
}

/// The interval `key` (`v`, else `default_s` seconds) in steps of `dt`; 0: never.
fn interval_steps(
    key: &str,
    v: &Option<DurationValue>,
    default_s: f64,
    dt: f64,
    bad: &mut Vec<String>,
) -> u64 {
    let s = v
        .as_ref()
        .map_or(Some(default_s), |v| seconds(v, key, bad))
        .unwrap_or(0.0);
    if !(s.is_finite() && s >= 0.0) {
        bad.push(format!("{key} = {s} s: must be finite and >= 0"));
        return 0;
    }
    let steps = (s / dt).round();
    if s > 0.0 && (steps < 1.0 || (steps * dt - s).abs() > 1e-9 * s) {
        bad.push(format!(
            "{key} = {s} s: must be a positive multiple of the time step dt = {dt} s"
        ));
    } else if steps > MAX_STEPS {
        bad.push(format!(
            "{key} = {s:e} s: {steps:e} steps of dt = {dt} s; at most 2^53 steps"
        ));
        return 0;
    }
    steps as u64
}

/// A duration key in seconds; its parse error goes to `bad`.
pub(super) fn seconds(v: &DurationValue, key: &str, bad: &mut Vec<String>) -> Option<f64> {
    v.seconds()
        .map_err(|m| bad.push(format!("{key}: {m}")))
        .ok()
}
