//! Reader for `torch.save` state dicts (the `.pth` zip format), without Python.
//!
//! libtorch's C++ loaders (`torch::jit::load`, `_load_parameters`) only read
//! TorchScript archives, so tch 0.24 cannot open a plain `torch.save(state_dict)`
//! file. The format is small: a zip archive with *stored* (uncompressed) entries,
//! `<name>/data.pkl` holding a protocol-2 pickle of an `OrderedDict` whose values
//! are `torch._utils._rebuild_tensor_v2(storage, offset, size, stride, ...)`
//! calls, and one raw little-endian file `<name>/data/<key>` per storage. This
//! module opens the archive with the `zip` crate, runs the few pickle opcodes a state
//! dict uses (`pickle`, with the opcodes named in `opcodes`), and rebuilds each tensor
//! with tch.

mod opcodes;
mod pickle;

use std::io::{Cursor, Read};
use std::path::Path;

use tch::{Kind, Tensor};
use zip::ZipArchive;

use crate::error::{torch_message, MlError};
use pickle::{Unpickler, Value};

/// Reads every tensor of a `torch.save` state dict, in file order, on the CPU.
pub fn read_state_dict(file: &Path) -> Result<Vec<(String, Tensor)>, MlError> {
    let bytes = std::fs::read(file).map_err(|source| MlError::Io {
        file: file.to_path_buf(),
        source,
    })?;
    let bad = |reason: String| MlError::BadArchive {
        file: file.to_path_buf(),
        reason,
    };
    let mut archive = ZipArchive::new(Cursor::new(bytes))
        .map_err(|e| bad(format!("file truncated, or not a torch.save file: {e}")))?;
    let pickle_name = archive
        .file_names()
        .find(|n| n.ends_with("/data.pkl") || *n == "data.pkl")
        .map(str::to_string)
        .ok_or_else(|| bad("no data.pkl entry (is this a torch.save file?)".into()))?;
    let prefix = pickle_name.trim_end_matches("data.pkl").to_string();
    let pickle = read_entry(&mut archive, &pickle_name)
        .map_err(|e| bad(format!("{pickle_name}: {e} (file truncated or corrupt)")))?;
    let root = Unpickler::new(&pickle)
        .run()
        .map_err(|e| bad(format!("data.pkl: {e}")))?;
    let Value::Dict(items) = root else {
        return Err(bad(format!(
            "data.pkl holds {}, not a state dict",
            root.kind()
        )));
    };
    let mut out = Vec::with_capacity(items.len());
    for (key, value) in items {
        let Value::Str(key) = key else {
            return Err(bad(format!(
                "state dict key {} is not a string",
                key.kind()
            )));
        };
        let tensor = match value {
            Value::Tensor(t) => t,
            other => {
                return Err(MlError::BadTensor {
                    file: file.to_path_buf(),
                    key,
                    reason: format!("value is {}, not a tensor", other.kind()),
                })
            }
        };
        let record = format!("{prefix}data/{}", tensor.storage_key);
        if archive.index_for_name(&record).is_none() {
            return Err(MlError::BadTensor {
                file: file.to_path_buf(),
                key,
                reason: format!("storage entry `{record}` is missing from the archive"),
            });
        }
        let data = read_entry(&mut archive, &record).map_err(|e| MlError::BadTensor {
            file: file.to_path_buf(),
            key: key.clone(),
            reason: format!("storage entry `{record}`: {e} (file truncated or corrupt)"),
        })?;
        let t = tensor.build(&data).map_err(|reason| MlError::BadTensor {
            file: file.to_path_buf(),
            key: key.clone(),
            reason,
        })?;
        out.push((key, t));
    }
    Ok(out)
}

/// The bytes of the archive's entry `name`.
fn read_entry(archive: &mut ZipArchive<Cursor<Vec<u8>>>, name: &str) -> Result<Vec<u8>, String> {
    let mut entry = archive.by_name(name).map_err(|e| e.to_string())?;
    let mut data = Vec::with_capacity(usize::try_from(entry.size()).unwrap_or(0));
    entry.read_to_end(&mut data).map_err(|e| e.to_string())?;
    Ok(data)
}

/// A tensor described by `_rebuild_tensor_v2`, before its storage is read.
#[derive(Clone, Debug)]
pub(super) struct TensorRef {
    pub(super) storage_key: String,
    pub(super) kind: Kind,
    pub(super) numel: i64,
    pub(super) offset: i64,
    pub(super) size: Vec<i64>,
    pub(super) stride: Vec<i64>,
}

impl TensorRef {
    fn build(&self, data: &[u8]) -> Result<Tensor, String> {
        let bytes = self.numel as usize * self.kind.elt_size_in_bytes();
        if data.len() != bytes {
            return Err(format!(
                "storage holds {} bytes, expected {bytes} ({} × {:?}): file truncated or corrupt",
                data.len(),
                self.numel,
                self.kind
            ));
        }
        let storage = Tensor::f_from_data_size(data, &[self.numel], self.kind)
            .map_err(|e| torch_message(&e))?;
        storage
            .f_as_strided(self.size.as_slice(), self.stride.as_slice(), self.offset)
            .and_then(|t| t.f_contiguous())
            .map_err(|e| {
                format!(
                    "size {:?} stride {:?}: {}",
                    self.size,
                    self.stride,
                    torch_message(&e)
                )
            })
    }
}
