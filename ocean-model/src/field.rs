//! A 2-D field on one rank's box with a halo of width [`HALO`], stored flat, i fastest.

use crate::grid::HALO;
use crate::real::Real;

/// Where a field lives on the C-grid; decides how walls fill its halo.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stagger {
    /// Cell centre (eta, h).
    T,
    /// East face (u).
    U,
    /// North face (v).
    V,
}

/// Flat `(ni + 2 HALO) × (nj + 2 HALO)` array; local index (i, j) runs from −HALO.
///
/// A scratch field can instead keep only a few recent rows ([`Field::row_ring`]):
/// row j then lives in slot (j + HALO) mod the ring size, and a row-by-row sweep
/// keeps the whole field in cache.
///
/// The values are of the run's float type `T` ([`Real`]); copies in and out of the
/// owned box ([`Field::copy_interior_to`], [`Field::set_interior_from`]) are in f64, the
/// type of output, checkpoints and coupling buffers (exact both ways for an f32 field
/// read back from what it wrote).
#[derive(Debug, Clone, PartialEq)]
pub struct Field<T: Real = f64> {
    pub ni: usize,
    pub nj: usize,
    pub stride: usize,
    /// Stored rows minus one, a power of two minus one, for a ring; all ones otherwise.
    row_mask: usize,
    pub data: Vec<T>,
}

impl<T: Real> Field<T> {
    /// A zero field for a box of `ni × nj` owned cells.
    pub fn zeros(ni: usize, nj: usize) -> Self {
        let stride = ni + 2 * HALO;
        Field {
            ni,
            nj,
            stride,
            row_mask: usize::MAX,
            data: vec![T::ZERO; stride * (nj + 2 * HALO)],
        }
    }

    /// A scratch field of full width that keeps only the last `rows` rows written
    /// (`rows` rounded up to a power of two): reading row j gives what was last
    /// written to a row congruent to j.
    pub fn row_ring(ni: usize, nj: usize, rows: usize) -> Self {
        let (stride, rows) = (ni + 2 * HALO, rows.next_power_of_two());
        Field {
            ni,
            nj,
            stride,
            row_mask: rows - 1,
            data: vec![T::ZERO; stride * rows],
        }
    }

    /// Flat index of local point (i, j); i, j ≥ −HALO.
    #[inline(always)]
    pub fn idx(&self, i: isize, j: isize) -> usize {
        ((j + HALO as isize) as usize & self.row_mask) * self.stride + (i + HALO as isize) as usize
    }

    /// Value at local (i, j).
    #[inline]
    pub fn at(&self, i: isize, j: isize) -> T {
        self.data[self.idx(i, j)]
    }

    /// Mutable value at local (i, j).
    #[inline]
    pub fn at_mut(&mut self, i: isize, j: isize) -> &mut T {
        let k = self.idx(i, j);
        &mut self.data[k]
    }

    /// `n` values of row j starting at column i0: the building block of the hot loops.
    #[inline(always)]
    pub fn span(&self, i0: isize, j: isize, n: usize) -> &[T] {
        let k = self.idx(i0, j);
        &self.data[k..k + n]
    }

    /// Mutable version of [`Field::span`].
    #[inline(always)]
    pub fn span_mut(&mut self, i0: isize, j: isize, n: usize) -> &mut [T] {
        let k = self.idx(i0, j);
        &mut self.data[k..k + n]
    }

    /// Copy the owned cells (no halo) into `out`, row by row: `out.len() == ni * nj`.
    pub fn copy_interior_to(&self, out: &mut [f64]) {
        for (j, row) in out.chunks_exact_mut(self.ni).enumerate() {
            for (o, &x) in row.iter_mut().zip(self.span(0, j as isize, self.ni)) {
                *o = x.to_f64();
            }
        }
    }

    /// Overwrite the owned cells from `src` laid out as [`Field::copy_interior_to`] writes.
    pub fn set_interior_from(&mut self, src: &[f64]) {
        let ni = self.ni;
        for (j, row) in src.chunks_exact(ni).enumerate() {
            for (x, &v) in self.span_mut(0, j as isize, ni).iter_mut().zip(row) {
                *x = T::from_f64(v);
            }
        }
    }

    /// Set every value, halo included.
    pub fn fill(&mut self, value: T) {
        self.data.fill(value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interior_round_trip_skips_halo() {
        let mut f = Field::<f64>::zeros(3, 2);
        f.set_interior_from(&[1., 2., 3., 4., 5., 6.]);
        assert_eq!(f.at(2, 1), 6.0);
        assert_eq!(f.at(-1, 0), 0.0);
        let mut out = [0.0; 6];
        f.copy_interior_to(&mut out);
        assert_eq!(out, [1., 2., 3., 4., 5., 6.]);
    }

    #[test]
    fn row_ring_keeps_the_last_rows() {
        let mut f = Field::<f64>::row_ring(3, 100, 3);
        for j in -2..40 {
            f.span_mut(-2, j, f.stride).fill(j as f64);
        }
        assert_eq!(f.data.len(), 4 * f.stride);
        assert_eq!((f.at(0, 39), f.at(-2, 36), f.at(4, 37)), (39.0, 36.0, 37.0));
    }
}
