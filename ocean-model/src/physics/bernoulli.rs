//! Pressure gradient and kinetic-energy gradient: −∇B with B = g η + ½|u|²  [m s⁻²].
//!
//! B lives at T-points [m² s⁻²]; ½|u|² is the average of the four face values
//! ¼(u²[i−1] + u²[i] + v²[j−1] + v²[j]), the choice that keeps the scheme's energy
//! conservation exact.

use crate::field::Field;
use crate::real::Real;

use super::{Rows, SCRATCH_ROWS};

/// Bernoulli potential of the current RK stage.
pub struct Bernoulli<T: Real> {
    /// B = g η + ½|u|² at T-points, on i, j ∈ [−1, n], last rows only (m² s⁻²).
    pub b: Field<T>,
}

impl<T: Real> Bernoulli<T> {
    pub fn new(ni: usize, nj: usize) -> Self {
        Bernoulli {
            b: Field::row_ring(ni, nj, SCRATCH_ROWS),
        }
    }

    /// B on `rows` (within [−1, nj]), i ∈ [−1, ni].
    #[inline(always)]
    pub fn update(&mut self, gravity: f64, u: &Field<T>, v: &Field<T>, eta: &Field<T>, rows: Rows) {
        let n = u.ni + 2;
        let (gravity, quarter) = (T::from_f64(gravity), T::from_f64(0.25));
        for j in rows {
            let (uw, ue) = (u.span(-2, j, n), u.span(-1, j, n));
            let (vs, vn) = (v.span(-1, j - 1, n), v.span(-1, j, n));
            let e = eta.span(-1, j, n);
            let out = self.b.span_mut(-1, j, n);
            for i in 0..n {
                let ke = quarter * (uw[i] * uw[i] + ue[i] * ue[i] + vs[i] * vs[i] + vn[i] * vn[i]);
                out[i] = gravity * e[i] + ke;
            }
        }
    }

    /// du −= ∂x B, dv −= ∂y B on the owned points of `rows`.
    #[inline(always)]
    pub fn add_tendency(&self, dx: f64, dy: f64, du: &mut Field<T>, dv: &mut Field<T>, rows: Rows) {
        let ni = du.ni;
        let (rdx, rdy) = (T::from_f64(1.0 / dx), T::from_f64(1.0 / dy));
        for j in rows {
            let (b0, be, bn) = (
                self.b.span(0, j, ni),
                self.b.span(1, j, ni),
                self.b.span(0, j + 1, ni),
            );
            let out = du.span_mut(0, j, ni);
            for i in 0..ni {
                out[i] -= (be[i] - b0[i]) * rdx;
            }
            let out = dv.span_mut(0, j, ni);
            for i in 0..ni {
                out[i] -= (bn[i] - b0[i]) * rdy;
            }
        }
    }
}
