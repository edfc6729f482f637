//! Float32 `.npy` input and output for the offline `infer` command.

use std::path::Path;

use ndarray::{Array4, ArrayD, IxDyn};
use ndarray_npy::{read_npy, write_npy};

use crate::error::MlError;

/// Reads a float32 array of shape `[levels, 2, ny, nx]`.
pub fn read_batch(file: &Path) -> Result<Array4<f32>, MlError> {
    let a: ArrayD<f32> = read_npy(file).map_err(|e| MlError::Npy {
        file: file.to_path_buf(),
        message: format!("cannot read a float32 array: {e}"),
    })?;
    let shape = a.shape().to_vec();
    if shape.len() != 4 || shape[1] != 2 {
        return Err(MlError::Npy {
            file: file.to_path_buf(),
            message: format!("shape {shape:?}, expected [levels, 2, ny, nx] (u, v)"),
        });
    }
    let a = a.into_dimensionality().map_err(|e| MlError::Npy {
        file: file.to_path_buf(),
        message: e.to_string(),
    })?;
    Ok(a.as_standard_layout().into_owned())
}

/// Writes `data` with `shape` as float32.
pub fn write(file: &Path, shape: &[usize], data: &[f32]) -> Result<(), MlError> {
    let bad = |message: String| MlError::Npy {
        file: file.to_path_buf(),
        message,
    };
    let a = ArrayD::from_shape_vec(IxDyn(shape), data.to_vec()).map_err(|e| bad(e.to_string()))?;
    write_npy(file, &a).map_err(|e| bad(format!("cannot write: {e}")))
}
