//! The start-up checks of the two programs, as their `main`s run them before any exchange,
//! shared by the config fuzz and the table of bad configurations.

use std::path::{Path, PathBuf};

use coupler::config::{CouplingConfig, Period};
use coupler::{ExperimentFile, RunConfig};
use ml_server::config::{MlConfig, ModelKind};
use ocean_model::config::{OceanConfig, Setup};

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
    /// `ocean-model --config FILE` up to `Coupler::init` (ocean-model/src/main.rs `run`).
    pub ocean: Result<(), String>,
    /// `ml-server --config FILE` up to loading the model (ml-server/src/serve.rs `prepare`).
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
    let ocean = ocean_start(&exp).map(|(run, setup, coupling)| {
        invalid.extend(ocean_flaws(&run, &setup, coupling.as_ref()));
    });
    let ml_serve = ml_serve_start(&exp).map(|(ml, coupling)| {
        invalid.extend(ml_flaws(&ml));
        invalid.extend(coupling_flaws(&coupling));
    });
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

/// The ocean's checks, in the order of ocean-model/src/main.rs `run`, which prefixes the
/// experiment file to the errors of `resolve` and `check_coupling`.
#[allow(clippy::type_complexity)]
fn ocean_start(exp: &ExperimentFile) -> Result<(RunConfig, Setup, Option<CouplingConfig>), String> {
    let file = exp.path().display();
    let run = exp.run().map_err(|e| e.to_string())?;
    let ocean: OceanConfig = exp
        .section("ocean")
        .map_err(|e| e.to_string())?
        .unwrap_or_default();
    let coupling = exp.coupling().map_err(|e| e.to_string())?;
    let setup = ocean
        .resolve(run.duration_s, run.run_dir())
        .map_err(|e| format!("{file}: {e}"))?;
    if let Some(coupling) = &coupling {
        setup
            .check_coupling(coupling)
            .map_err(|e| format!("{file}: {e}"))?;
    }
    Ok((run, setup, coupling))
}

/// The ML server's checks before it loads the model, in the order of ml-server/src/serve.rs.
fn ml_serve_start(exp: &ExperimentFile) -> Result<(MlConfig, CouplingConfig), String> {
    let file = exp.path().display();
    let coupling = exp
        .coupling()
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("{file}: no [coupling] table: nothing to serve"))?;
    let ml = MlConfig::from_experiment(exp).map_err(|e| e.to_string())?;
    exp.run().map_err(|e| e.to_string())?;
    coupling
        .grid
        .ok_or_else(|| format!("{file}: [coupling] grid = [nx, ny] is needed"))?;
    ml.device_request().map_err(|e| format!("{file}: {e}"))?;
    Ok((ml, coupling))
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
