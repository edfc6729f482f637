//! The little of the zip format a `torch.save` archive needs: the central
//! directory and *stored* (uncompressed) entries, which is what PyTorch writes.

use std::collections::HashMap;

/// Maps entry names to their stored bytes, reading the zip central directory.
pub fn entries(b: &[u8]) -> Result<HashMap<String, &[u8]>, String> {
    const EOCD: u32 = 0x0605_4b50;
    let eocd = (0..b.len().saturating_sub(21))
        .rev()
        .take(65_557)
        .find(|&i| le32(b, i) == Some(EOCD))
        .ok_or("no zip end-of-directory record (file truncated or not a zip)")?;
    let count = le16(b, eocd + 10).ok_or("short end record")? as usize;
    let mut at = le32(b, eocd + 16).ok_or("short end record")? as usize;
    if count == 0xFFFF || at == 0xFFFF_FFFF_usize {
        return Err("zip64 archives are not supported".into());
    }
    let mut map = HashMap::with_capacity(count);
    for _ in 0..count {
        if le32(b, at) != Some(0x0201_4b50) {
            return Err(format!("corrupt central directory at byte {at}"));
        }
        let field = |o: usize| {
            le16(b, at + o)
                .map(usize::from)
                .ok_or("short directory entry")
        };
        let method = field(10)?;
        let size = le32(b, at + 20).ok_or("short directory entry")? as usize;
        let (name_len, extra_len, comment_len) = (field(28)?, field(30)?, field(32)?);
        let local = le32(b, at + 42).ok_or("short directory entry")? as usize;
        let name = b
            .get(at + 46..at + 46 + name_len)
            .ok_or("short directory entry")?;
        let name = String::from_utf8_lossy(name).into_owned();
        if method != 0 {
            return Err(format!("entry `{name}` is compressed (method {method})"));
        }
        if le32(b, local) != Some(0x0403_4b50) {
            return Err(format!("entry `{name}`: bad local header at byte {local}"));
        }
        let start = local
            + 30
            + le16(b, local + 26).ok_or("short local header")? as usize
            + le16(b, local + 28).ok_or("short local header")? as usize;
        let data = b
            .get(start..start + size)
            .ok_or_else(|| format!("entry `{name}` runs past the end of the file (truncated)"))?;
        map.insert(name, data);
        at += 46 + name_len + extra_len + comment_len;
    }
    Ok(map)
}

fn le16(b: &[u8], i: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(i..i + 2)?.try_into().ok()?))
}

fn le32(b: &[u8], i: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(i..i + 4)?.try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_a_zip_is_reported() {
        let err = entries(b"definitely not a zip file at all").unwrap_err();
        assert!(err.contains("end-of-directory"), "{err}");
    }
}
