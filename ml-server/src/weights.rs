//! Named weight tensors read from a `.pth` state dict or a `.safetensors` file,
//! looked up by key with checks that name the file, the key and both shapes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use tch::{Device, Kind, Tensor};

use crate::error::{torch_message, MlError};
use crate::pth;

/// The tensors of one weight file, taken out one key at a time.
pub struct WeightFile {
    file: PathBuf,
    tensors: BTreeMap<String, Tensor>,
    all_keys: Vec<String>,
}

impl WeightFile {
    /// Reads `file`: `.safetensors` by extension, anything else as a `torch.save` zip.
    pub fn read(file: &Path) -> Result<Self, MlError> {
        if !file.exists() {
            return Err(MlError::Io {
                file: file.to_path_buf(),
                source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"),
            });
        }
        let list = if file.extension().is_some_and(|e| e == "safetensors") {
            Tensor::read_safetensors(file).map_err(|e| MlError::BadArchive {
                file: file.to_path_buf(),
                reason: format!("safetensors: {}", torch_message(&e)),
            })?
        } else {
            pth::read_state_dict(file)?
        };
        let mut all_keys: Vec<String> = list.iter().map(|(k, _)| k.clone()).collect();
        all_keys.sort();
        Ok(Self {
            file: file.to_path_buf(),
            all_keys,
            tensors: list.into_iter().collect(),
        })
    }

    /// The file the tensors came from.
    pub fn path(&self) -> &Path {
        &self.file
    }

    /// Removes `key`, checks its shape and moves it to `device` as `kind`.
    pub fn take(
        &mut self,
        key: &str,
        shape: &[i64],
        device: Device,
        kind: Kind,
    ) -> Result<Tensor, MlError> {
        let t = self
            .tensors
            .remove(key)
            .ok_or_else(|| MlError::MissingKey {
                file: self.file.clone(),
                key: key.to_string(),
                available: self.keys(),
            })?;
        let found = t.size();
        let scalar_ok = shape.is_empty() && t.numel() == 1;
        if found != shape && !scalar_ok {
            return Err(MlError::WrongShape {
                file: self.file.clone(),
                key: key.to_string(),
                found,
                expected: shape.to_vec(),
            });
        }
        t.f_reshape(shape)
            .and_then(|t| t.f_to_kind(kind))
            .and_then(|t| t.f_to_device(device))
            .map_err(|e| MlError::BadTensor {
                file: self.file.clone(),
                key: key.to_string(),
                reason: torch_message(&e),
            })
    }

    /// Fails if keys are left that the model did not take (a different architecture).
    pub fn finish(self, ignorable: &[&str]) -> Result<(), MlError> {
        let left: Vec<&String> = self
            .tensors
            .keys()
            .filter(|k| !ignorable.iter().any(|s| k.ends_with(s)))
            .collect();
        match left.first() {
            None => Ok(()),
            Some(first) => Err(MlError::BadTensor {
                file: self.file.clone(),
                key: first.to_string(),
                reason: format!(
                    "unexpected key{} {left:?}: the file is for a different architecture \
                     (check [ml.fullycnn] batch_norm)",
                    if left.len() > 1 { "s" } else { "" }
                ),
            }),
        }
    }

    fn keys(&self) -> String {
        if self.all_keys.is_empty() {
            "no tensors".into()
        } else {
            self.all_keys.join(", ")
        }
    }
}
