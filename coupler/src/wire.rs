//! The wire format: every value crosses the coupler as an f32. [`Element`] is a value type
//! a program can put or get (f32, moved as is, or f64, converted at both ends).

/// A value type that can be put into or got from the coupler (the wire type is f32).
pub trait Element: Copy + Send + 'static {
    fn to_f64(self) -> f64;
    fn from_f32(value: f32) -> Self;
    fn to_f32(self) -> f32;

    /// Appends `src` converted to f32 (a plain copy for f32).
    fn extend_wire(out: &mut Vec<f32>, src: &[Self]) {
        out.extend(src.iter().map(|x| x.to_f32()));
    }

    /// Writes `src` converted from f32 into `dst` (a plain copy for f32).
    fn store_wire(dst: &mut [Self], src: &[f32]) {
        for (d, s) in dst.iter_mut().zip(src) {
            *d = Self::from_f32(*s);
        }
    }
}

impl Element for f32 {
    fn to_f64(self) -> f64 {
        self as f64
    }
    fn from_f32(value: f32) -> Self {
        value
    }
    fn to_f32(self) -> f32 {
        self
    }
    fn extend_wire(out: &mut Vec<f32>, src: &[Self]) {
        out.reserve(src.len());
        for piece in src.chunks(COPY_PIECE) {
            out.extend_from_slice(piece);
        }
    }
    fn store_wire(dst: &mut [Self], src: &[f32]) {
        assert_eq!(dst.len(), src.len(), "store_wire: lengths differ");
        for (d, s) in dst.chunks_mut(COPY_PIECE).zip(src.chunks(COPY_PIECE)) {
            d.copy_from_slice(s);
        }
    }
}

/// Values per `memcpy` call when the wire copies f32 arrays (1 KiB).
///
/// One `memcpy` of a whole field ran at 2–3 GB/s for 64 KB–256 KB on this project's AMD
/// EPYC machines (glibc 2.36 takes its `rep movsb` path from a few KB up to a large
/// fraction of L3, and that instruction is slow there), a third of the speed of the MPI
/// transfer it precedes: the cause of `put`'s 0.26–0.33 of raw MPI's bandwidth (issue 12
/// item 9; docs/benchmarks.md). Pieces of 1 KiB stay below every x86 `rep movsb`
/// threshold, on glibc's vector loop, at 15–20 GB/s; on other machines they cost a call
/// per KiB, which is noise.
pub const COPY_PIECE: usize = 256;

impl Element for f64 {
    fn to_f64(self) -> f64 {
        self
    }
    fn from_f32(value: f32) -> Self {
        value as f64
    }
    fn to_f32(self) -> f32 {
        self as f32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The piecewise copies give the whole slice back, for lengths around the piece size.
    #[test]
    fn f32_copies_in_pieces_keep_every_value_in_order() {
        for n in [
            0,
            1,
            COPY_PIECE - 1,
            COPY_PIECE,
            COPY_PIECE + 1,
            5 * COPY_PIECE + 7,
        ] {
            let src: Vec<f32> = (0..n).map(|k| k as f32 * 0.5 - 3.0).collect();
            let mut wire = vec![9.0f32];
            f32::extend_wire(&mut wire, &src);
            assert_eq!(wire[0], 9.0, "n = {n}: what was there stays");
            assert_eq!(&wire[1..], &src[..], "n = {n}: extend_wire");
            let mut back = vec![0.0f32; n];
            f32::store_wire(&mut back, &wire[1..]);
            assert_eq!(back, src, "n = {n}: store_wire");
        }
    }
}
