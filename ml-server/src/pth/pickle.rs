//! The pickle machine: the opcodes a `torch.save` state dict uses, run on a stack, with
//! torch's storages and `_rebuild_tensor_v2` calls turned into [`TensorRef`]s.

use std::collections::HashMap;

use tch::Kind;

use super::opcodes as op;
use super::TensorRef;

/// The pickle values a state dict uses.
#[derive(Clone, Debug)]
pub(super) enum Value {
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
    pub(super) fn kind(&self) -> String {
        match self {
            Value::Global(m, n) => format!("global {m}.{n}"),
            Value::Object(n) => format!("an object of {n}"),
            other => format!("{:?}", std::mem::discriminant(other)).to_lowercase(),
        }
    }
}

pub(super) struct Unpickler<'a> {
    data: &'a [u8],
    pos: usize,
    stack: Vec<Value>,
    memo: HashMap<u32, Value>,
}

impl<'a> Unpickler<'a> {
    pub(super) fn new(data: &'a [u8]) -> Self {
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

    pub(super) fn run(mut self) -> Result<Value, String> {
        loop {
            let code = self.u8()?;
            match code {
                op::PROTO => {
                    self.u8()?;
                }
                op::FRAME => {
                    self.take(8)?;
                }
                op::STOP => return self.pop(),
                op::MARK => self.stack.push(Value::Mark),
                op::NONE => self.stack.push(Value::None),
                op::NEWTRUE | op::NEWFALSE => self.stack.push(Value::Bool),
                op::BININT1 => {
                    let v = self.u8()?;
                    self.stack.push(Value::Int(v.into()))
                }
                op::BININT2 => {
                    let b = self.take(2)?;
                    self.stack
                        .push(Value::Int(u16::from_le_bytes([b[0], b[1]]).into()))
                }
                op::BININT => {
                    let v = self.u32()? as i32;
                    self.stack.push(Value::Int(v.into()))
                }
                op::LONG1 => {
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
                op::BINFLOAT => {
                    self.take(8)?;
                    self.stack.push(Value::Float)
                }
                op::BINUNICODE | op::SHORT_BINUNICODE => {
                    let n = if code == op::BINUNICODE {
                        self.u32()? as usize
                    } else {
                        self.u8()? as usize
                    };
                    let s = String::from_utf8_lossy(self.take(n)?).into_owned();
                    self.stack.push(Value::Str(s))
                }
                op::EMPTY_TUPLE => self.stack.push(Value::Tuple(Vec::new())),
                op::EMPTY_LIST => self.stack.push(Value::List(Vec::new())),
                op::EMPTY_DICT => self.stack.push(Value::Dict(Vec::new())),
                op::TUPLE => {
                    let items = self.pop_mark()?;
                    self.stack.push(Value::Tuple(items))
                }
                op::TUPLE1..=op::TUPLE3 => {
                    let n = usize::from(code - op::TUPLE1) + 1;
                    let at = self.stack.len().checked_sub(n).ok_or("stack underflow")?;
                    let items = self.stack.split_off(at);
                    self.stack.push(Value::Tuple(items))
                }
                op::BINPUT => {
                    let i = self.u8()?.into();
                    self.memoize(i)?
                }
                op::LONG_BINPUT => {
                    let i = self.u32()?;
                    self.memoize(i)?
                }
                op::MEMOIZE => {
                    let i = self.memo.len() as u32;
                    self.memoize(i)?
                }
                op::BINGET | op::LONG_BINGET => {
                    let i = if code == op::BINGET {
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
                op::GLOBAL => {
                    let module = self.line()?;
                    let name = self.line()?;
                    self.stack.push(Value::Global(module, name))
                }
                op::STACK_GLOBAL => {
                    let name = self.pop()?;
                    let module = self.pop()?;
                    match (module, name) {
                        (Value::Str(m), Value::Str(n)) => self.stack.push(Value::Global(m, n)),
                        _ => return Err("STACK_GLOBAL needs two strings".into()),
                    }
                }
                op::BINPERSID => {
                    let pid = self.pop()?;
                    self.stack.push(persistent_storage(pid)?)
                }
                op::REDUCE => {
                    let args = self.pop()?;
                    let func = self.pop()?;
                    self.stack.push(reduce(func, args)?)
                }
                op::BUILD => {
                    self.pop()?;
                }
                op::SETITEM => {
                    let v = self.pop()?;
                    let k = self.pop()?;
                    self.top_dict()?.push((k, v))
                }
                op::SETITEMS => {
                    let items = self.pop_mark()?;
                    let dict = self.top_dict()?;
                    let mut it = items.into_iter();
                    while let (Some(k), Some(v)) = (it.next(), it.next()) {
                        dict.push((k, v));
                    }
                }
                op::APPEND | op::APPENDS => {
                    let items = if code == op::APPEND {
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
        let pickle = [op::PROTO, 2, op::LONG1, 1, 0xff, op::STOP];
        match Unpickler::new(&pickle).run() {
            Ok(Value::Int(v)) => assert_eq!(v, -1),
            other => panic!("{other:?}"),
        }
    }
}
