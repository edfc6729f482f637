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
        out.extend_from_slice(src);
    }
    fn store_wire(dst: &mut [Self], src: &[f32]) {
        dst.copy_from_slice(src);
    }
}

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
