//! The crate's error type: each message names the file involved.

use std::path::PathBuf;

/// Everything that can go wrong reading a run's output or drawing its figures.
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    /// A NetCDF file could not be read, or holds no usable record.
    #[error("NetCDF file {path}: {message}")]
    NetCdf { path: PathBuf, message: String },
    /// A figure could not be drawn or written.
    #[error("plot {path}: {message}")]
    Draw { path: PathBuf, message: String },
    /// Plain I/O error with the path involved.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Result alias for the crate.
pub type Result<T> = std::result::Result<T, PlotError>;

/// A NetCDF error of the file at `path`.
pub(crate) fn nc_err(path: &std::path::Path, e: impl std::fmt::Debug) -> PlotError {
    PlotError::NetCdf {
        path: path.to_path_buf(),
        message: format!("{e:?}"),
    }
}
