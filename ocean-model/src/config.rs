//! The `[ocean]` table of the experiment file, in two steps: plain serde structs
//! (`deny_unknown_fields`, read through `experiment::ExperimentFile::section`,
//! which reports key paths and "did you mean"; the choices deserialize straight into
//! the model's enums), then [`OceanConfig::resolve`], which checks everything at once
//! and returns ready [`Params`] and an [`OutputPlan`]. Each table resolves in its module:
//!
//! ```toml
//! [ocean.grid]      # nx, ny, lx, ly, levels                                  (physics)
//! [ocean.physics]   # depth, gravity, f0, beta, rho0, tau0, wind, viscosity, ... (physics)
//! [ocean.time]      # dt, cfl_safety                                          (physics)
//! [ocean.parallel]  # px, py                                                  (here)
//! [ocean.output]    # snapshot_interval, diagnostics_interval, ...            (output)
//! [ocean.forcing]   # check, max_abs: what to do with bad ML forcing          (forcing)
//! [ocean.numerics]  # precision = "f64" | "f32"                              (here)
//! ```
//!
//! The ocean's side of `[coupling]` is checked against the result in [`coupling`].

mod coupling;
mod forcing;
mod output;
mod physics;

use std::path::PathBuf;

use serde::Deserialize;

use crate::error::{OceanError, Result};
use crate::params::Params;
use crate::real::Precision;

pub use coupling::ocean_ends;
pub use forcing::{BadForcing, ForcingCheck, ForcingConfig, DEFAULT_MAX_FORCING};
pub use output::{OutputConfig, OutputPlan};
pub use physics::{GridConfig, PhysicsConfig, TimeConfig};

/// `[ocean]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OceanConfig {
    pub grid: GridConfig,
    pub physics: PhysicsConfig,
    pub time: TimeConfig,
    pub parallel: ParallelConfig,
    pub output: OutputConfig,
    pub forcing: ForcingConfig,
    pub numerics: NumericsConfig,
}

/// `[ocean.parallel]`; both absent: automatic layout over the ocean communicator.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ParallelConfig {
    pub px: Option<usize>,
    pub py: Option<usize>,
}

/// `[ocean.numerics]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NumericsConfig {
    /// The float type of the model: "f64" (default) or "f32" (see docs/ocean.md).
    pub precision: Option<Precision>,
}

/// Everything a run needs, checked.
#[derive(Debug, Clone)]
pub struct Setup {
    pub params: Params,
    pub plan: OutputPlan,
    /// Explicit px × py, or automatic.
    pub layout: Option<(usize, usize)>,
    /// The check of received forcing.
    pub forcing: ForcingCheck,
}

impl OceanConfig {
    /// Check every key and build the run set-up. `duration_s` is the run length;
    /// errors list each bad key as `ocean.<table>.<key> = value: allowed ...`.
    pub fn resolve(&self, duration_s: f64, run_dir: PathBuf) -> Result<Setup> {
        let mut bad = Vec::new();
        let mut params = physics::params(&self.grid, &self.physics, &self.time, &mut bad);
        params.precision = self.numerics.precision.unwrap_or_default();
        let plan = self.output.plan(params.dt, duration_s, run_dir, &mut bad);
        let layout = self.parallel.layout(&mut bad);
        let forcing = self.forcing.check(&mut bad);
        // First: the grid that does not fit is the problem to fix before any other.
        let memory = crate::startup::job_memory();
        if let Err(m) = crate::startup::check_memory(params.nx, params.ny, memory) {
            bad.insert(0, format!("ocean.grid: {m}"));
        }
        if !bad.is_empty() {
            return Err(OceanError::InvalidParams(bad));
        }
        Ok(Setup {
            params,
            plan,
            layout,
            forcing,
        })
    }
}

impl ParallelConfig {
    /// px × py, or `None` for the automatic layout.
    fn layout(&self, bad: &mut Vec<String>) -> Option<(usize, usize)> {
        match (self.px, self.py) {
            (Some(px), Some(py)) if px > 0 && py > 0 => Some((px, py)),
            (None, None) => None,
            (px, py) => {
                bad.push(format!(
                    "ocean.parallel: px = {px:?}, py = {py:?}: give both (each >= 1) or neither (automatic)"
                ));
                None
            }
        }
    }
}

#[cfg(test)]
mod tests;
