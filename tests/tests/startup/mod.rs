//! The start-up checks of the two programs — `ocean_model::startup` and `ml_server::startup`,
//! which their `main`s call before they join the launch — driven for the config fuzz and the
//! table of bad configurations, with an independent look at what they accept.

use std::path::{Path, PathBuf};

use coupler::config::{CouplingConfig, Period};
use experiment::{ExperimentFile, RunConfig};
use ml_server::config::{MlConfig, ModelKind};
use ml_server::startup as ml_startup;
use ocean_model::config::Setup;
use ocean_model::startup::{self as ocean_startup, Overrides};

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is in the repository")
        .to_path_buf()
}

/// An experiment file as the programs receive it.
pub enum Input<'a> {
    /// Text parsed as if read from this path (which need not exist): relative paths in it
    /// resolve against the path's folder.
    Text { path: &'a Path, text: &'a str },
    /// A file on disk, read by `load`.
    File(&'a Path),
}

/// What each program's start-up makes of one experiment file: `Ok`, or the message it prints.
#[derive(Debug)]
pub struct Verdicts {
    /// `ocean-model --config FILE` before it joins: `ocean_model::startup::prepare`.
    pub ocean: Result<(), String>,
    /// `ml-server --config FILE` before it joins: `ml_server::startup::prepare_serve`.
    pub ml_serve: Result<(), String>,
    /// `ml-server check|infer|bench --config FILE`: `MlConfig::load`.
    pub ml_offline: Result<(), String>,
    /// For each `Ok` above, what is nevertheless wrong with the configuration it accepted.
    pub accepted_but_invalid: Vec<String>,
}

pub fn start_up(input: &Input) -> Verdicts {
    let exp = match input {
        Input::Text { path, text } => ExperimentFile::parse(text, path),
        Input::File(path) => ExperimentFile::load(path),
    };
    let exp = match exp {
        Ok(exp) => exp,
        Err(e) => {
            let e = e.to_string();
            return Verdicts {
                ocean: Err(e.clone()),
                ml_serve: Err(e.clone()),
                ml_offline: Err(e),
                accepted_but_invalid: Vec::new(),
            };
        }
    };
    let mut invalid = Vec::new();
    // The very functions the binaries call before they join the launch.
    let ocean = match input {
        Input::Text { .. } => ocean_startup::prepare_experiment(&exp, &Overrides::default()),
        Input::File(path) => ocean_startup::prepare(path, &Overrides::default()),
    };
    let ocean = ocean
        .map(|start| {
            invalid.extend(ocean_flaws(
                &start.run,
                &start.setup,
                start.coupling.as_ref(),
            ))
        })
        .map_err(|e| e.to_string());
    let ml_serve = match input {
        Input::Text { .. } => ml_startup::prepare_serve_experiment(&exp, None),
        Input::File(path) => ml_startup::prepare_serve(path, None),
    };
    let ml_serve = ml_serve
        .map(|start| {
            invalid.extend(ml_flaws(&start.ml));
            invalid.extend(coupling_flaws(&start.coupling));
        })
        .map_err(|e| e.to_string());
    let ml_offline = match input {
        Input::Text { .. } => MlConfig::from_experiment(&exp),
        Input::File(path) => MlConfig::load(path),
    };
    let ml_offline = ml_offline
        .map(|ml| invalid.extend(ml_flaws(&ml)))
        .map_err(|e| e.to_string());
    Verdicts {
        ocean,
        ml_serve,
        ml_offline,
        accepted_but_invalid: invalid,
    }
}

/// What is wrong with an ocean set-up that start-up accepted (nothing, if all is well).
fn ocean_flaws(run: &RunConfig, s: &Setup, coupling: Option<&CouplingConfig>) -> Vec<String> {
    let mut flaws = Vec::new();
    let (p, plan) = (&s.params, &s.plan);
    if let Err(e) = p.validate() {
        flaws.push(format!("ocean parameters accepted but invalid: {e}"));
    }
    let covered = plan.steps as f64 * p.dt;
    if plan.steps == 0 || (covered - run.duration_s).abs() > 1e-9 * run.duration_s {
        flaws.push(format!(
            "ocean: {} steps of {} s do not cover run.duration = {} s",
            plan.steps, p.dt, run.duration_s
        ));
    }
    for (name, every) in [
        ("snapshot", plan.snapshot_every),
        ("diagnostics", plan.diagnostics_every),
        ("checkpoint", plan.checkpoint_every),
    ] {
        if every == u64::MAX {
            flaws.push(format!(
                "ocean: {name} every u64::MAX steps (a saturated interval)"
            ));
        }
    }
    if plan.check_every == 0 || plan.progress_interval_s.is_nan() || plan.progress_interval_s <= 0.0
    {
        flaws.push(format!("ocean: bad output plan {plan:?}"));
    }
    if let Some(c) = coupling {
        flaws.extend(coupling_flaws(c));
    }
    flaws
}

/// What is wrong with a `[coupling]` table that validation accepted.
fn coupling_flaws(c: &CouplingConfig) -> Vec<String> {
    let mut flaws = Vec::new();
    if !(c.timeout_s.is_finite() && c.timeout_s > 0.0) {
        flaws.push(format!("coupling: timeout {} s accepted", c.timeout_s));
    }
    if !(c.run_duration_s.is_finite() && c.run_duration_s > 0.0) {
        flaws.push(format!(
            "coupling: run length {} s accepted",
            c.run_duration_s
        ));
    }
    for e in &c.exchanges {
        let period_ok = match e.period {
            Period::Static => e.lag_s == 0.0,
            Period::Every(p) => p.is_finite() && p > 0.0 && (0.0..p).contains(&e.lag_s),
        };
        if !period_ok || !(1..=100_000).contains(&e.levels) || e.halo > 1000 {
            flaws.push(format!("{}: accepted but invalid: {e:?}", e.key()));
        }
    }
    flaws
}

/// What is wrong with an `[ml]` table that validation accepted.
fn ml_flaws(ml: &MlConfig) -> Vec<String> {
    let file = match ml.model {
        ModelKind::Fullycnn => ml.fullycnn.as_ref().map(|f| f.weights.clone()),
        ModelKind::Torchscript => ml.torchscript.as_ref().map(|t| t.file.clone()),
        ModelKind::Analytic => None,
    };
    match file {
        Some(f) if !f.is_file() => vec![format!(
            "[ml]: model file {} accepted but absent",
            f.display()
        )],
        _ => Vec::new(),
    }
}
