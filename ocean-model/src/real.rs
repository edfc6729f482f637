//! The float type the model steps in: [`Real`], implemented for `f64` (the default) and
//! `f32` (`[ocean.numerics] precision = "f32"`).
//!
//! The physics is written once, generic over `T: Real`. Its constants are given in f64
//! and converted once with [`Real::from_f64`], so that in f64 every operation is the
//! one the model did before it was generic: the same operations in the same order on
//! the same numbers, hence the same bits. Global sums (volume, energies) are taken in
//! f64 in either precision ([`crate::diagnostics`]).
//!
//! ```
//! use ocean_model::real::Real;
//! fn half<T: Real>(x: T) -> T { T::from_f64(0.5) * x }
//! assert_eq!(half(3.0f32), 1.5f32);
//! assert_eq!(<f32 as Real>::NAME, "f32");
//! ```

use std::fmt::{Debug, Display};
use std::ops::{Add, AddAssign, Div, Mul, Neg, Sub, SubAssign};

use mpi::datatype::Equivalence;
use netcdf3::DataType;
use serde::Deserialize;

/// A float type the model can step in.
pub trait Real:
    Copy
    + Debug
    + Display
    + Default
    + PartialEq
    + PartialOrd
    + Send
    + Sync
    + 'static
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
    + AddAssign
    + SubAssign
    + Equivalence
{
    /// The name the configuration and the files use: "f64" or "f32".
    const NAME: &'static str;
    /// Which of the configuration's choices this is.
    const PRECISION: Precision;
    /// The NetCDF type of a variable in this precision.
    const NC_TYPE: DataType;
    /// Zero.
    const ZERO: Self;
    /// The nearest value of this type (exact for f64).
    fn from_f64(x: f64) -> Self;
    /// The value as f64 (always exact).
    fn to_f64(self) -> f64;
    /// Square root, correctly rounded.
    fn sqrt(self) -> Self;
    /// Absolute value.
    fn abs(self) -> Self;
    /// Neither infinite nor NaN.
    fn is_finite(self) -> bool;
}

/// The float type of a run, as `ocean.numerics.precision` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Precision {
    /// Double precision (the default).
    #[default]
    F64,
    /// Single precision: half the memory traffic, about 7 significant digits.
    F32,
}

impl Precision {
    /// "f64" or "f32".
    pub fn name(self) -> &'static str {
        match self {
            Precision::F64 => f64::NAME,
            Precision::F32 => f32::NAME,
        }
    }

    /// The precision a NetCDF variable of type `kind` holds, if it is a float type.
    pub fn of_nc_type(kind: DataType) -> Option<Self> {
        match kind {
            DataType::F64 => Some(Precision::F64),
            DataType::F32 => Some(Precision::F32),
            _ => None,
        }
    }
}

impl std::fmt::Display for Precision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Precision {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "f64" => Ok(Precision::F64),
            "f32" => Ok(Precision::F32),
            _ => Err(format!("{s:?}: allowed \"f64\" or \"f32\"")),
        }
    }
}

macro_rules! real {
    ($t:ty, $precision:ident, $nc:ident) => {
        impl Real for $t {
            const NAME: &'static str = stringify!($t);
            const PRECISION: Precision = Precision::$precision;
            const NC_TYPE: DataType = DataType::$nc;
            const ZERO: Self = 0.0;
            #[inline(always)]
            fn from_f64(x: f64) -> Self {
                x as $t
            }
            #[inline(always)]
            fn to_f64(self) -> f64 {
                self as f64
            }
            #[inline(always)]
            fn sqrt(self) -> Self {
                <$t>::sqrt(self)
            }
            #[inline(always)]
            fn abs(self) -> Self {
                <$t>::abs(self)
            }
            #[inline(always)]
            fn is_finite(self) -> bool {
                <$t>::is_finite(self)
            }
        }
    };
}

real!(f64, F64, F64);
real!(f32, F32, F32);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_conversions() {
        assert_eq!((f64::NAME, f32::NAME), ("f64", "f32"));
        assert_eq!(f64::from_f64(0.1), 0.1);
        assert_eq!(f32::from_f64(0.1), 0.1f32);
        assert_eq!("f32".parse::<Precision>(), Ok(Precision::F32));
        assert!("f16"
            .parse::<Precision>()
            .unwrap_err()
            .contains("\"f64\" or \"f32\""));
    }
}
