//! The analysis crate's errors: each names the file, key, shape or step involved.

use std::path::PathBuf;

use experiment::ConfigError;

/// What can go wrong in the analysis.
#[derive(Debug, thiserror::Error)]
pub enum AnalysisError {
    /// A bad `[analysis]` table (file, key, value, what is allowed).
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A libtorch operation failed.
    #[error("analysis: {context}: {message}")]
    Torch {
        context: &'static str,
        message: String,
    },
    /// The tensors handed in do not have the shape of this rank's strip.
    #[error("analysis: {what} has shape {found:?}, expected {expected:?}")]
    Shape {
        what: &'static str,
        found: Vec<i64>,
        expected: Vec<i64>,
    },
    /// Writing or reading `analysis.nc` (or a saved state) failed.
    #[error("{}: {message}", path.display())]
    File { path: PathBuf, message: String },
    /// A restarted run finds no usable saved state for its start time.
    #[error("restart at t = {time_s} s: {}: {message}", path.display())]
    Restart {
        time_s: f64,
        path: PathBuf,
        message: String,
    },
}

impl AnalysisError {
    pub(crate) fn torch(context: &'static str) -> impl FnOnce(tch::TchError) -> Self {
        move |e| AnalysisError::Torch {
            context,
            message: e.to_string(),
        }
    }

    pub(crate) fn file(path: &std::path::Path, e: impl std::fmt::Debug) -> Self {
        AnalysisError::File {
            path: path.to_path_buf(),
            message: format!("{e:?}"),
        }
    }
}
