//! What `ocean-model --config FILE` checks before it joins the launch: the experiment file,
//! `[run]`, `[coupling]`, `[ocean]` and the ocean's side of every exchange. The binary calls
//! [`prepare`]; the configuration tests call the same function.
//!
//! ```
//! # let dir = std::env::temp_dir().join(format!("ocean-startup-doc-{}", std::process::id()));
//! # std::fs::create_dir_all(&dir).unwrap();
//! # let file = dir.join("exp.toml");
//! std::fs::write(&file, "[run]\nname = \"r\"\nduration = \"1d\"\n[ocean.grid]\nnx = 16\n").unwrap();
//! let start = ocean_model::startup::prepare(&file, &Default::default()).unwrap();
//! assert!(start.coupling.is_none());
//! assert_eq!(start.setup.params.nx, 16);
//! # std::fs::remove_dir_all(&dir).unwrap();
//! ```

use std::path::{Path, PathBuf};

use coupler::config::ConfigError;
use coupler::{CouplingConfig, ExperimentFile, RunConfig};

use crate::config::{OceanConfig, Setup};
use crate::OceanError;

/// What the command line changes in the experiment file's plan.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `--steps N`: run this many steps instead of `[run] duration`.
    pub steps: Option<u64>,
    /// `--output-dir DIR`: write every output file into DIR.
    pub output_dir: Option<PathBuf>,
    /// `--restart FILE`: start from this checkpoint.
    pub restart: Option<PathBuf>,
}

/// The checked experiment, ready for [`crate::simulation::Simulation::new`].
#[derive(Debug, Clone)]
pub struct Start {
    pub run: RunConfig,
    /// `None`: the ocean runs alone.
    pub coupling: Option<CouplingConfig>,
    pub setup: Setup,
}

/// A start-up problem: each names the experiment file and the key.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// The file cannot be read, or a table shared by every component is wrong.
    #[error(transparent)]
    File(#[from] ConfigError),
    /// `[ocean]`, or the ocean's side of `[coupling]`, is wrong.
    #[error("{file}: {source}")]
    Ocean { file: PathBuf, source: OceanError },
}

/// Reads and checks the experiment file at `path`.
pub fn prepare(path: &Path, overrides: &Overrides) -> Result<Start, StartupError> {
    prepare_experiment(&ExperimentFile::load(path)?, overrides)
}

/// [`prepare`] for an experiment file already read.
pub fn prepare_experiment(
    exp: &ExperimentFile,
    overrides: &Overrides,
) -> Result<Start, StartupError> {
    let run = exp.run()?;
    let coupling = exp.coupling()?;
    let ocean: OceanConfig = exp.section("ocean")?.unwrap_or_default();
    let in_file = |source| StartupError::Ocean {
        file: exp.path().to_path_buf(),
        source,
    };
    let run_dir = overrides
        .output_dir
        .clone()
        .unwrap_or_else(|| run.run_dir());
    let mut setup = ocean.resolve(run.duration_s, run_dir).map_err(in_file)?;
    if let Some(cfg) = &coupling {
        setup.check_coupling(cfg).map_err(in_file)?;
    }
    if let Some(steps) = overrides.steps {
        setup.plan.steps = steps;
    }
    if overrides.restart.is_some() {
        setup.plan.restart = overrides.restart.clone();
    }
    Ok(Start {
        run,
        coupling,
        setup,
    })
}
