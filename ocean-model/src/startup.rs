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

use coupler::CouplingConfig;
use experiment::{ConfigError, ExperimentFile, RunConfig};

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
    /// `[ocean]` (a grid too large for the job's memory included), or the ocean's side of
    /// `[coupling]`, is wrong.
    #[error("{file}: {source}")]
    Ocean { file: PathBuf, source: OceanError },
    /// The output folder cannot be made.
    #[error("{file}: {key} = {value:?}: {message}")]
    OutputDir {
        file: PathBuf,
        key: &'static str,
        value: PathBuf,
        message: String,
    },
}

/// Resident memory of the ocean per grid cell, all ranks together (B): measured as the
/// growth of rank 0's resident set from 256² to 1024² cells, one rank (about 227 B).
pub const BYTES_PER_CELL: f64 = 230.0;

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
    let key = match overrides.output_dir {
        Some(_) => "--output-dir",
        None => "run.output_dir",
    };
    let value = overrides
        .output_dir
        .clone()
        .unwrap_or_else(|| run.output_dir.clone());
    check_output_dir(&run_dir).map_err(|message| StartupError::OutputDir {
        file: exp.path().to_path_buf(),
        key,
        value,
        message,
    })?;
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

/// The run directory can be made: neither it nor the nearest folder above it that exists is
/// a file, and that folder is writable.
fn check_output_dir(run_dir: &Path) -> Result<(), String> {
    let Some(existing) = run_dir.ancestors().find(|p| p.exists()) else {
        return Ok(());
    };
    if !existing.is_dir() {
        return Err(format!(
            "{} is a file, so the run directory {} cannot be made",
            existing.display(),
            run_dir.display()
        ));
    }
    match std::fs::metadata(existing) {
        Ok(m) if m.permissions().readonly() => Err(format!(
            "{} is read-only, so the run directory {} cannot be made",
            existing.display(),
            run_dir.display()
        )),
        _ => Ok(()),
    }
}

/// Memory of the nodes this job runs on (B): this machine's total times the node count the
/// batch system gives (`SLURM_JOB_NUM_NODES`, `PBS_NUM_NODES`; 1 outside a batch job), or
/// `None` when /proc/meminfo cannot be read.
pub(crate) fn job_memory() -> Option<(f64, usize)> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let kb: f64 = info
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    let nodes = ["SLURM_JOB_NUM_NODES", "PBS_NUM_NODES"]
        .iter()
        .find_map(|v| std::env::var(v).ok()?.parse().ok())
        .unwrap_or(1usize);
    Some((kb * 1024.0, nodes.max(1)))
}

/// An `nx × ny` grid fits in `memory` (bytes per node, nodes).
pub(crate) fn check_memory(
    nx: usize,
    ny: usize,
    memory: Option<(f64, usize)>,
) -> Result<(), String> {
    let Some((per_node, nodes)) = memory else {
        return Ok(());
    };
    // In floating point: nx × ny of a mistyped grid may not fit a usize.
    let cells = nx as f64 * ny as f64;
    let need = cells * BYTES_PER_CELL;
    let have = per_node * nodes as f64;
    if need <= have {
        return Ok(());
    }
    Err(format!(
        "nx × ny = {nx} × {ny} ({:.3e} cells) needs about {:.0} GB (≈ {BYTES_PER_CELL} B a cell), \
         more than the {:.0} GB of the {nodes} node(s) of this job: use a coarser grid or more nodes",
        cells,
        need / 1e9,
        have / 1e9
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regression: nx = ny = 32768 passed validation and died in an allocation.
    #[test]
    fn a_grid_beyond_the_jobs_memory_is_refused_with_the_figures() {
        let err = check_memory(32768, 32768, Some((24e9, 1))).unwrap_err();
        assert!(
            err.starts_with("nx × ny = 32768 × 32768 (1.074e9 cells) needs about 247 GB")
                && err.contains("more than the 24 GB of the 1 node(s)"),
            "{err}"
        );
        assert!(check_memory(32768, 32768, Some((24e9, 16))).is_ok());
        assert!(check_memory(512, 512, Some((24e9, 1))).is_ok());
    }

    #[test]
    fn an_output_dir_under_a_file_is_refused() {
        let dir = std::env::temp_dir().join(format!("ocean-startup-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("plain"), "").unwrap();
        let err = check_output_dir(&dir.join("plain/run")).unwrap_err();
        assert!(err.contains("plain is a file"), "{err}");
        assert!(check_output_dir(&dir.join("new/run")).is_ok());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
