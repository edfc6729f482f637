//! Reader for `torch.save` state dicts (the `.pth` zip format), without Python.
//!
//! libtorch's C++ loaders (`torch::jit::load`, `_load_parameters`) only read
//! TorchScript archives, so tch 0.24 cannot open a plain `torch.save(state_dict)`
//! file. The format is small: a zip archive with *stored* (uncompressed) entries,
//! `<name>/data.pkl` holding a protocol-2 pickle of an `OrderedDict` whose values
//! are `torch._utils._rebuild_tensor_v2(storage, offset, size, stride, ...)`
//! calls, and one raw little-endian file `<name>/data/<key>` per storage. This
//! module walks the zip directory, runs the few pickle opcodes a state dict uses,
//! and rebuilds each tensor with tch.

use std::collections::HashMap;
use std::path::Path;

use tch::{Kind, Tensor};

use crate::error::{torch_message, MlError};
use crate::zip;

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
    let entries = zip::entries(&bytes).map_err(bad)?;
    let pickle_name = entries
        .keys()
        .find(|n| n.ends_with("/data.pkl") || n.as_str() == "data.pkl")
        .cloned()
        .ok_or_else(|| bad("no data.pkl entry (is this a torch.save file?)".into()))?;
    let prefix = pickle_name.trim_end_matches("data.pkl").to_string();
    let pickle = entries[&pickle_name];
    let root = Unpickler::new(pickle)
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
        let data = entries.get(&record).ok_or_else(|| MlError::BadTensor {
            file: file.to_path_buf(),
            key: key.clone(),
            reason: format!("storage entry `{record}` is missing from the archive"),
        })?;
        let t = tensor.build(data).map_err(|reason| MlError::BadTensor {
            file: file.to_path_buf(),
            key: key.clone(),
            reason,
        })?;
        out.push((key, t));
    }
    Ok(out)
}

/// A tensor described by `_rebuild_tensor_v2`, before its storage is read.
#[derive(Clone, Debug)]
struct TensorRef {
    storage_key: String,
    kind: Kind,
    numel: i64,
    offset: i64,
    size: Vec<i64>,
    stride: Vec<i64>,
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

/// The pickle values a state dict uses.
#[derive(Clone, Debug)]
enum Value {
    None,
    Bool,
    Int(i64),
    Float,
    Str(String),
    Tuple(Vec<Value>),
    List(Vec<Value>),
    Dict(Vec<(Value, Value)>),
    Global(String, String),
    Storage(String, Kind, i64),
    Tensor(TensorRef),
    Object(String),
    Mark,
}

impl Value {
    fn kind(&self) -> String {
        match self {
            Value::Global(m, n) => format!("global {m}.{n}"),
            Value::Object(n) => format!("an object of {n}"),
            other => format!("{:?}", std::mem::discriminant(other)).to_lowercase(),
        }
    }
}

struct Unpickler<'a> {
    data: &'a [u8],
    pos: usize,
    stack: Vec<Value>,
    memo: HashMap<u32, Value>,
}

impl<'a> Unpickler<'a> {
    fn new(data: &'a [u8]) -> Self {
        Self {
            data,
            pos: 0,
            stack: Vec::new(),
            memo: HashMap::new(),
        }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let s = self
            .data
            .get(self.pos..self.pos + n)
            .ok_or("pickle ends early (truncated)")?;
        self.pos += n;
        Ok(s)
    }

    fn u8(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }

    fn u32(&mut self) -> Result<u32, String> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn line(&mut self) -> Result<String, String> {
        let rest = &self.data[self.pos..];
        let end = rest
            .iter()
            .position(|&c| c == b'\n')
            .ok_or("unterminated line")?;
        self.pos += end + 1;
        Ok(String::from_utf8_lossy(&rest[..end]).into_owned())
    }

    fn pop(&mut self) -> Result<Value, String> {
        self.stack
            .pop()
            .ok_or_else(|| "stack underflow".to_string())
    }

    fn pop_mark(&mut self) -> Result<Vec<Value>, String> {
        let at = self
            .stack
            .iter()
            .rposition(|v| matches!(v, Value::Mark))
            .ok_or("MARK missing")?;
        let items = self.stack.split_off(at + 1);
        self.stack.pop();
        Ok(items)
    }

    fn top_dict(&mut self) -> Result<&mut Vec<(Value, Value)>, String> {
        match self.stack.last_mut() {
            Some(Value::Dict(d)) => Ok(d),
            _ => Err("SETITEM(S) target is not a dict".into()),
        }
    }

    fn run(mut self) -> Result<Value, String> {
        loop {
            let op = self.u8()?;
            match op {
                0x80 => {
                    self.u8()?;
                }
                0x95 => {
                    self.take(8)?;
                }
                b'.' => return self.pop(),
                b'(' => self.stack.push(Value::Mark),
                b'N' => self.stack.push(Value::None),
                0x88 | 0x89 => self.stack.push(Value::Bool),
                b'K' => {
                    let v = self.u8()?;
                    self.stack.push(Value::Int(v.into()))
                }
                b'M' => {
                    let b = self.take(2)?;
                    self.stack
                        .push(Value::Int(u16::from_le_bytes([b[0], b[1]]).into()))
                }
                b'J' => {
                    let v = self.u32()? as i32;
                    self.stack.push(Value::Int(v.into()))
                }
                0x8a => {
                    let n = self.u8()? as usize;
                    let b = self.take(n)?;
                    let mut v: i64 = 0;
                    for (i, &byte) in b.iter().enumerate().take(8) {
                        v |= i64::from(byte) << (8 * i);
                    }
                    if n > 0 && n < 8 && b[n - 1] & 0x80 != 0 {
                        v -= 1i64 << (8 * n);
                    }
                    self.stack.push(Value::Int(v))
                }
                b'G' => {
                    self.take(8)?;
                    self.stack.push(Value::Float)
                }
                b'X' | 0x8c => {
                    let n = if op == b'X' {
                        self.u32()? as usize
                    } else {
                        self.u8()? as usize
                    };
                    let s = String::from_utf8_lossy(self.take(n)?).into_owned();
                    self.stack.push(Value::Str(s))
                }
                b')' => self.stack.push(Value::Tuple(Vec::new())),
                b']' => self.stack.push(Value::List(Vec::new())),
                b'}' => self.stack.push(Value::Dict(Vec::new())),
                b't' => {
                    let items = self.pop_mark()?;
                    self.stack.push(Value::Tuple(items))
                }
                0x85..=0x87 => {
                    let n = usize::from(op - 0x84);
                    let at = self.stack.len().checked_sub(n).ok_or("stack underflow")?;
                    let items = self.stack.split_off(at);
                    self.stack.push(Value::Tuple(items))
                }
                b'q' => {
                    let i = self.u8()?.into();
                    self.memoize(i)?
                }
                b'r' => {
                    let i = self.u32()?;
                    self.memoize(i)?
                }
                0x94 => {
                    let i = self.memo.len() as u32;
                    self.memoize(i)?
                }
                b'h' | b'j' => {
                    let i = if op == b'h' {
                        self.u8()?.into()
                    } else {
                        self.u32()?
                    };
                    let v = self
                        .memo
                        .get(&i)
                        .cloned()
                        .ok_or(format!("memo {i} unset"))?;
                    self.stack.push(v)
                }
                b'c' => {
                    let module = self.line()?;
                    let name = self.line()?;
                    self.stack.push(Value::Global(module, name))
                }
                0x93 => {
                    let name = self.pop()?;
                    let module = self.pop()?;
                    match (module, name) {
                        (Value::Str(m), Value::Str(n)) => self.stack.push(Value::Global(m, n)),
                        _ => return Err("STACK_GLOBAL needs two strings".into()),
                    }
                }
                b'Q' => {
                    let pid = self.pop()?;
                    self.stack.push(persistent_storage(pid)?)
                }
                b'R' => {
                    let args = self.pop()?;
                    let func = self.pop()?;
                    self.stack.push(reduce(func, args)?)
                }
                b'b' => {
                    self.pop()?;
                }
                b's' => {
                    let v = self.pop()?;
                    let k = self.pop()?;
                    self.top_dict()?.push((k, v))
                }
                b'u' => {
                    let items = self.pop_mark()?;
                    let dict = self.top_dict()?;
                    let mut it = items.into_iter();
                    while let (Some(k), Some(v)) = (it.next(), it.next()) {
                        dict.push((k, v));
                    }
                }
                b'a' | b'e' => {
                    let items = if op == b'a' {
                        vec![self.pop()?]
                    } else {
                        self.pop_mark()?
                    };
                    match self.stack.last_mut() {
                        Some(Value::List(l)) => l.extend(items),
                        _ => return Err("APPEND target is not a list".into()),
                    }
                }
                other => {
                    return Err(format!(
                        "unsupported pickle opcode 0x{other:02x} at byte {}",
                        self.pos - 1
                    ))
                }
            }
        }
    }

    fn memoize(&mut self, i: u32) -> Result<(), String> {
        let v = self.stack.last().cloned().ok_or("memo of empty stack")?;
        self.memo.insert(i, v);
        Ok(())
    }
}

/// `('storage', torch.FloatStorage, key, location, numel)` → a storage reference.
fn persistent_storage(pid: Value) -> Result<Value, String> {
    let Value::Tuple(items) = pid else {
        return Err("persistent id is not a tuple".into());
    };
    match items.as_slice() {
        [Value::Str(tag), Value::Global(_, ty), Value::Str(key), _, Value::Int(numel)]
            if tag == "storage" =>
        {
            let kind = match ty.as_str() {
                "FloatStorage" => Kind::Float,
                "DoubleStorage" => Kind::Double,
                "HalfStorage" => Kind::Half,
                "BFloat16Storage" => Kind::BFloat16,
                "LongStorage" => Kind::Int64,
                "IntStorage" => Kind::Int,
                other => return Err(format!("unsupported storage type {other}")),
            };
            Ok(Value::Storage(key.clone(), kind, *numel))
        }
        _ => Err("unrecognised persistent id".into()),
    }
}

fn ints(v: &Value) -> Result<Vec<i64>, String> {
    match v {
        Value::Tuple(items) | Value::List(items) => items
            .iter()
            .map(|i| match i {
                Value::Int(n) => Ok(*n),
                _ => Err("expected an integer tuple".to_string()),
            })
            .collect(),
        _ => Err("expected a tuple".into()),
    }
}

fn reduce(func: Value, args: Value) -> Result<Value, String> {
    let Value::Global(module, name) = func else {
        return Err("REDUCE of a non-global".into());
    };
    let args = match args {
        Value::Tuple(a) => a,
        _ => return Err("REDUCE arguments are not a tuple".into()),
    };
    match (module.as_str(), name.as_str()) {
        ("collections", "OrderedDict") => Ok(Value::Dict(Vec::new())),
        ("torch._utils", "_rebuild_tensor_v2") => match args.as_slice() {
            [Value::Storage(key, kind, numel), Value::Int(offset), size, stride, ..] => {
                Ok(Value::Tensor(TensorRef {
                    storage_key: key.clone(),
                    kind: *kind,
                    numel: *numel,
                    offset: *offset,
                    size: ints(size)?,
                    stride: ints(stride)?,
                }))
            }
            _ => Err("unexpected _rebuild_tensor_v2 arguments".into()),
        },
        ("torch._utils", "_rebuild_parameter") => args
            .into_iter()
            .next()
            .ok_or_else(|| "empty _rebuild_parameter".to_string()),
        _ => Ok(Value::Object(format!("{module}.{name}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long1_decodes_negative_numbers() {
        let pickle = [0x80, 2, 0x8a, 1, 0xff, b'.'];
        match Unpickler::new(&pickle).run() {
            Ok(Value::Int(v)) => assert_eq!(v, -1),
            other => panic!("{other:?}"),
        }
    }
}
