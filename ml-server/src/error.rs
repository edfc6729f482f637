//! The crate's error type: every message names the file, key, field or shape involved.

use std::path::PathBuf;

/// Everything that can go wrong between reading the `[ml]` table and sending forcing back.
#[derive(Debug, thiserror::Error)]
pub enum MlError {
    #[error("{}: cannot read: {source}", file.display())]
    Io {
        file: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: not a readable torch.save archive: {reason}", file.display())]
    BadArchive { file: PathBuf, reason: String },
    #[error("{}: {message}", file.display())]
    ModelMismatch { file: PathBuf, message: String },
    #[error("{}: key `{key}`: {reason}", file.display())]
    BadTensor {
        file: PathBuf,
        key: String,
        reason: String,
    },
    #[error("{}: missing key `{key}` (the file holds: {available})", file.display())]
    MissingKey {
        file: PathBuf,
        key: String,
        available: String,
    },
    #[error("{}: key `{key}` has shape {found:?}, the model expects {expected:?}", file.display())]
    WrongShape {
        file: PathBuf,
        key: String,
        found: Vec<i64>,
        expected: Vec<i64>,
    },
    #[error("[ml] {key}: {message}")]
    Config { key: String, message: String },
    #[error(transparent)]
    Experiment(#[from] experiment::ConfigError),
    #[error("{}: {message}", file.display())]
    ConfigFile { file: PathBuf, message: String },
    #[error("invalid [ml] table: {0}")]
    Invalid(String),
    /// The exchanges of `[coupling]` do not fit the model.
    #[error("[coupling]: {0}")]
    Coupling(String),
    #[error("{context}: {message}")]
    Torch { context: String, message: String },
    #[error("CUDA {context}: {message}")]
    Cuda { context: String, message: String },
    #[error("input has shape {found:?}, expected {expected}")]
    InputShape { found: Vec<usize>, expected: String },
    #[error(
        "field `{field}`: the coupler delivers a halo of {halo} cells but the model \
         ({model}) needs {needed}; set the exchange halo to at least {needed}"
    )]
    Halo {
        field: String,
        halo: usize,
        needed: usize,
        model: String,
    },
    #[error("{}: {message}", file.display())]
    Npy { file: PathBuf, message: String },
}

impl MlError {
    /// A libtorch failure with what we were doing when it happened.
    pub fn torch(context: impl Into<String>, e: &tch::TchError) -> Self {
        MlError::Torch {
            context: context.into(),
            message: torch_message(e),
        }
    }

    /// A CUDA driver failure with what we were doing when it happened.
    pub fn cuda(context: impl Into<String>, e: cudarc::driver::DriverError) -> Self {
        MlError::Cuda {
            context: context.into(),
            message: format!("{e:?}"),
        }
    }

    /// A configuration problem at `key` (a path below `[ml]`).
    pub fn config(key: impl Into<String>, message: impl Into<String>) -> Self {
        MlError::Config {
            key: key.into(),
            message: message.into(),
        }
    }
}

/// The first line of a libtorch error, without its C++ backtrace.
pub fn torch_message(e: &tch::TchError) -> String {
    let text = e.to_string();
    let head = text.split("Exception raised from").next().unwrap_or(&text);
    head.lines()
        .filter(|l| !l.trim().is_empty())
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
        .trim()
        .to_string()
}

/// A libtorch error raised inside a TorchScript module, in full: the TorchScript traceback
/// (every frame, with the code lines) and the error at its end, without libtorch's C++
/// frames. An error without a traceback gives [`torch_message`].
pub fn torch_traceback(e: &tch::TchError) -> String {
    let text = e.to_string();
    if !text.contains("Traceback of TorchScript") {
        return torch_message(e);
    }
    text.lines()
        .take_while(|l| !l.trim_start().starts_with("Exception raised from"))
        .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with("frame #"))
        .collect::<Vec<_>>()
        .join("\n    ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regression: only the first lines of a TorchScript traceback were shown.
    #[test]
    fn a_torchscript_traceback_is_kept_whole() {
        let text = "The following operation failed in the TorchScript interpreter.\n\
                    Traceback of TorchScript, serialized code (most recent call last):\n\
                    \x20 File \"code/__torch__.py\", line 8, in forward\n\
                    \x20   x0 = self.inner(x)\n\
                    \x20 File \"code/__torch__/inner.py\", line 4, in forward\n\
                    \x20   _0 = torch.relu(torch.matmul(x, self.w))\n\
                    \x20        ~~~~~~~~~~~~ <--- HERE\n\
                    RuntimeError: mat1 and mat2 shapes cannot be multiplied (64x2 and 3x3)\n\
                    Exception raised from meta at aten/src/ATen/native/LinearAlgebra.cpp:190\n\
                    frame #0: c10::Error::Error() + 0x1\n";
        let e = tch::TchError::Torch(text.into());
        let shown = torch_traceback(&e);
        for part in [
            "line 8, in forward",
            "code/__torch__/inner.py\", line 4",
            "torch.matmul(x, self.w)",
            "RuntimeError: mat1 and mat2 shapes cannot be multiplied",
        ] {
            assert!(shown.contains(part), "{part:?} missing:\n{shown}");
        }
        assert!(
            !shown.contains("frame #0") && !shown.contains("Exception raised"),
            "{shown}"
        );
        assert!(
            !torch_message(&e).contains("RuntimeError"),
            "the short form drops it"
        );
    }
}
