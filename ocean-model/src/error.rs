//! The crate's error type: every message carries the values involved.

use std::path::PathBuf;

/// Everything that can go wrong in the ocean model library.
#[derive(Debug, thiserror::Error)]
pub enum OceanError {
    /// One or more parameters are out of range; each line names the key, value and allowed range.
    #[error("invalid ocean parameters:\n  {}", .0.join("\n  "))]
    InvalidParams(Vec<String>),
    /// The configuration file could not be read or parsed.
    #[error("config {path}: {message}")]
    Config { path: PathBuf, message: String },
    /// The decomposition does not fit the grid or the communicator.
    #[error("decomposition: {0}")]
    Decomposition(String),
    /// NetCDF output or checkpoint input failed.
    #[error("NetCDF file {path}: {message}")]
    NetCdf { path: PathBuf, message: String },
    /// A checkpoint does not match the run it should restart.
    #[error("restart file {path}: {message}")]
    Restart { path: PathBuf, message: String },
    /// The model state became non-finite or exceeded the CFL limit.
    #[error(
        "model blew up at step {step} (t = {time_s} s): {field} = {value} at global cell \
         (i = {i}, j = {j}) of ocean rank {rank}; max CFL {cfl:.3}. Last good state written to {last_good}"
    )]
    Unstable {
        step: u64,
        time_s: f64,
        field: crate::simulation::Culprit,
        value: f64,
        i: usize,
        j: usize,
        rank: usize,
        cfl: f64,
        last_good: PathBuf,
    },
    /// The forcing received from the ML side is not usable (policy abort).
    #[error("bad ML forcing: {0}")]
    BadForcing(String),
    /// The model run inside the ocean ranks (`[ml] placement = "embedded"`) failed.
    #[error("{0}")]
    Embedded(String),
    /// Error reported by the coupling library, kept whole (whether it is collective, which
    /// peer failed): see [`coupler::CouplerError`].
    #[error("coupler: {0}")]
    Coupler(#[from] coupler::CouplerError),
    /// Plain I/O error with the path involved.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl OceanError {
    /// Whether every ocean rank has this error, agreed among them (and so each can end
    /// without aborting the job): an unstable state, forcing the ranks refused together,
    /// an embedded model failure they agreed on, a collective coupler error.
    pub fn is_collective(&self) -> bool {
        match self {
            OceanError::Unstable { .. } | OceanError::BadForcing(_) | OceanError::Embedded(_) => {
                true
            }
            OceanError::Coupler(e) => e.is_collective(),
            _ => false,
        }
    }
}

/// Result alias for the crate.
pub type Result<T> = std::result::Result<T, OceanError>;
