//! What `ml-server` checks before it serves, and what `ml-server check` checks offline: the
//! experiment file, `[run]`, `[coupling]`, `[ml]`, and the exchanges against the model. The
//! binary and the configuration tests call these same functions.
//!
//! [`prepare_serve`] is everything that needs neither MPI nor the model file;
//! [`plan`] is the model's side of the exchanges, once the model is loaded.

use std::path::Path;

use coupler::config::{CouplingConfig, Exchange};
use experiment::{ExperimentFile, RunConfig};

use crate::config::{DeviceRequest, MlConfig};
use crate::engine::check_halo;
use crate::models::ModelInfo;
use crate::MlError;

/// The component name of the ML side in `[coupling]`.
pub const COMPONENT: &str = "ml";

/// A checked experiment, ready to serve.
#[derive(Debug)]
pub struct ServeStart {
    pub ml: MlConfig,
    pub run: RunConfig,
    pub coupling: CouplingConfig,
    /// `[coupling] grid`: the ML ranks split its rows among themselves.
    pub grid: (usize, usize),
    pub device: DeviceRequest,
    /// `[analysis]`, when the experiment asks for in-situ analysis (issue 16).
    pub analysis: Option<analysis::config::AnalysisConfig>,
}

/// What the `[coupling]` table says the ML component receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    pub levels: usize,
    pub halo: usize,
    /// Whether the ocean sends its land masks (mask_u, mask_v).
    pub masks: bool,
}

/// Reads and checks the experiment file at `file` for serving, the model file replaced by
/// `weights` (`--weights`) when given.
pub fn prepare_serve(file: &Path, weights: Option<&Path>) -> Result<ServeStart, MlError> {
    if !file.is_file() {
        return Err(MlError::ConfigFile {
            file: file.to_path_buf(),
            message: if file.is_dir() {
                "is a folder, not an experiment file".into()
            } else {
                "no such experiment file".into()
            },
        });
    }
    prepare_serve_experiment(&ExperimentFile::load(file)?, weights)
}

/// [`prepare_serve`] for an experiment file already read.
pub fn prepare_serve_experiment(
    exp: &ExperimentFile,
    weights: Option<&Path>,
) -> Result<ServeStart, MlError> {
    let start = prepare_model(exp, weights)?;
    if start.ml.placement == crate::config::Placement::Embedded {
        return Err(MlError::ConfigFile {
            file: exp.path().to_path_buf(),
            message: "[ml] placement = \"embedded\": every ocean-model rank runs the model \
                      itself, so there is nothing for ml-server to serve; launch ocean-model \
                      alone (jobs/local.sh does), or set placement = \"server\""
                .into(),
        });
    }
    Ok(start)
}

/// The checks of [`prepare_serve_experiment`] whatever `[ml] placement` says: what the
/// embedded mode (`ocean-model` running the model itself) starts from.
pub fn prepare_model(exp: &ExperimentFile, weights: Option<&Path>) -> Result<ServeStart, MlError> {
    let in_file = |message: String| MlError::ConfigFile {
        file: exp.path().to_path_buf(),
        message,
    };
    let coupling = exp.coupling()?.ok_or_else(|| {
        in_file(
            "no [coupling] table: nothing to serve (ml-server serves a coupled run; \
             use `ml-server check` or `infer` to run the model alone)"
                .into(),
        )
    })?;
    let ml = MlConfig::from_experiment_and_cli(exp, weights)?;
    let run = exp.run()?;
    let grid = coupling.grid.ok_or_else(|| {
        in_file(
            "[coupling] grid = [nx, ny] is needed: the ML ranks split that grid among themselves"
                .into(),
        )
    })?;
    let device = ml.device_request().map_err(|e| in_file(e.to_string()))?;
    let analysis = analysis::config::AnalysisConfig::from_experiment(exp, &coupling)?;
    Ok(ServeStart {
        ml,
        run,
        coupling,
        grid,
        device,
        analysis,
    })
}

/// Finds the ML component's exchanges and checks them against the model.
pub fn plan(coupling: &CouplingConfig, info: &ModelInfo) -> Result<Plan, MlError> {
    let bad = MlError::Coupling;
    let find_in = |field: &str| -> Option<&Exchange> {
        coupling
            .exchanges
            .iter()
            .find(|e| e.dst.component == COMPONENT && e.dst.field == field)
    };
    let find_out = |field: &str| {
        coupling
            .exchanges
            .iter()
            .any(|e| e.src.component == COMPONENT && e.src.field == field)
    };
    let (u, v) = match (find_in("u"), find_in("v")) {
        (Some(u), Some(v)) => (u, v),
        _ => {
            return Err(bad(
                "the model takes 2 input channels (u, v) but the exchanges do not send both ml.u and ml.v".into(),
            ))
        }
    };
    for out in ["sx", "sy"] {
        if !find_out(out) {
            return Err(bad(format!(
                "the model gives 2 output channels (sx, sy) but no exchange sends ml.{out}"
            )));
        }
    }
    for e in [u, v] {
        check_halo(&e.dst.field, e.halo, info).map_err(|err| bad(format!("{}: {err}", e.key())))?;
    }
    if u.levels != v.levels || u.halo != v.halo {
        return Err(bad(format!(
            "ml.u ({} levels, halo {}) and ml.v ({} levels, halo {}) must match: they are stacked as channels",
            u.levels, u.halo, v.levels, v.halo
        )));
    }
    // The coupler declares every field the table names for "ml": each must be one the
    // server handles, with the levels of ml.u (the model's batch of levels).
    for e in &coupling.exchanges {
        let (end, known) = if e.src.component == COMPONENT {
            (&e.src, &["sx", "sy"][..])
        } else if e.dst.component == COMPONENT {
            (&e.dst, &["u", "v", "mask_u", "mask_v"][..])
        } else {
            continue;
        };
        if !known.contains(&end.field.as_str()) {
            return Err(bad(format!(
                "{} ({} → {}): the ML server exchanges only ml.u, ml.v, ml.mask_u, ml.mask_v (in) and ml.sx, ml.sy (out), not {end}",
                e.key(),
                e.src,
                e.dst
            )));
        }
        if e.levels != u.levels {
            return Err(bad(format!(
                "{}.levels = {} ({} → {}): must be the levels of ml.u ({})",
                e.key(),
                e.levels,
                e.src,
                e.dst,
                u.levels
            )));
        }
    }
    let masks = match (find_in("mask_u"), find_in("mask_v")) {
        (Some(mu), Some(mv)) if mu.halo == u.halo && mv.halo == u.halo => true,
        (Some(_), Some(_)) => {
            return Err(bad(format!(
                "ml.mask_u and ml.mask_v must have the halo of ml.u ({})",
                u.halo
            )))
        }
        (None, None) => false,
        _ => return Err(bad("send both ml.mask_u and ml.mask_v, or neither".into())),
    };
    Ok(Plan {
        levels: u.levels,
        halo: u.halo,
        masks,
    })
}

/// What `ml-server check` reports beside the model: every problem the coupled start-up of
/// the ML side would find in `exp` without MPI — `[run]`, `[coupling]` (timeout, periods,
/// levels, grid), `[ml]` and the exchanges against the model `info` (halo, channels). Empty
/// when the file is fine, or has no `[coupling]` (an offline experiment).
pub fn coupled_problems(
    exp: &ExperimentFile,
    weights: Option<&Path>,
    info: &ModelInfo,
) -> Vec<String> {
    let mut problems = Vec::new();
    if let Err(e) = exp.run() {
        problems.push(e.to_string());
    }
    let coupling = match exp.coupling() {
        Ok(Some(c)) => c,
        Ok(None) => return problems,
        Err(e) => {
            problems.push(e.to_string());
            return problems;
        }
    };
    if let Err(e) = prepare_serve_experiment(exp, weights) {
        let text = e.to_string();
        if !problems.contains(&text) {
            problems.push(text);
        }
    }
    if let Err(e) = plan(&coupling, info) {
        problems.push(format!("{}: {e}", exp.path().display()));
    }
    problems
}
