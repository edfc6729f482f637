//! Lateral viscosity  [m s⁻²]:
//! biharmonic D = −ν₄ ∇⁴u (ν₄ in m⁴ s⁻¹, default) or Laplacian D = ν₂ ∇²u (ν₂ in m² s⁻¹),
//! applied to u and v separately.
//!
//! ∇⁴ is ∇²(∇²u): the inner Laplacian is taken on the owned points plus one halo
//! ring, using the wall ghosts of `fill_halos`, so the walls see the same
//! free-slip/no-slip condition in both applications.

use crate::field::Field;
use crate::params::Viscosity;
use crate::real::Real;

use super::{Rows, SCRATCH_ROWS};

/// Work arrays for the viscous term.
pub struct ViscousStress<T: Real> {
    closure: Viscosity,
    /// Grid spacings (m).
    dx: f64,
    dy: f64,
    lap_u: Field<T>,
    lap_v: Field<T>,
}

impl<T: Real> ViscousStress<T> {
    pub fn new(ni: usize, nj: usize, closure: Viscosity, dx: f64, dy: f64) -> Self {
        ViscousStress {
            closure,
            dx,
            dy,
            lap_u: Field::row_ring(ni, nj, SCRATCH_ROWS),
            lap_v: Field::row_ring(ni, nj, SCRATCH_ROWS),
        }
    }

    /// The inner Laplacians ∇²u, ∇²v on `rows` (within [−1, nj]), i ∈ [−1, ni]
    /// (biharmonic closure only).
    #[inline(always)]
    pub fn update(&mut self, u: &Field<T>, v: &Field<T>, rows: Rows) {
        let (dx, dy) = (self.dx, self.dy);
        if let Viscosity::Biharmonic { .. } = self.closure {
            let n = u.ni + 2;
            laplacian(dx, dy, u, &mut self.lap_u, rows.clone(), -1, n, 1.0, false);
            laplacian(dx, dy, v, &mut self.lap_v, rows, -1, n, 1.0, false);
        }
    }

    /// du += D_u, dv += D_v on the owned points of `rows`; needs [`Self::update`] on
    /// the rows around them.
    #[inline(always)]
    pub fn add_tendency(
        &self,
        u: &Field<T>,
        v: &Field<T>,
        du: &mut Field<T>,
        dv: &mut Field<T>,
        rows: Rows,
    ) {
        let (dx, dy) = (self.dx, self.dy);
        let ni = u.ni;
        match self.closure {
            Viscosity::Laplacian { nu2 } => {
                laplacian(dx, dy, u, du, rows.clone(), 0, ni, nu2, true);
                laplacian(dx, dy, v, dv, rows, 0, ni, nu2, true);
            }
            Viscosity::Biharmonic { nu4 } => {
                laplacian(dx, dy, &self.lap_u, du, rows.clone(), 0, ni, -nu4, true);
                laplacian(dx, dy, &self.lap_v, dv, rows, 0, ni, -nu4, true);
            }
        }
    }
}

/// out (=|+=) coef · ∇²f on rows `rows`, columns i0 .. i0 + n (the coefficients
/// coef/dx², coef/dy² are computed in f64).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn laplacian<T: Real>(
    dx: f64,
    dy: f64,
    f: &Field<T>,
    out: &mut Field<T>,
    rows: Rows,
    i0: isize,
    n: usize,
    coef: f64,
    add: bool,
) {
    let (cx, cy) = (T::from_f64(coef / (dx * dx)), T::from_f64(coef / (dy * dy)));
    let two = T::from_f64(2.0);
    for j in rows {
        let (c, w, e) = (f.span(i0, j, n), f.span(i0 - 1, j, n), f.span(i0 + 1, j, n));
        let (s, nn) = (f.span(i0, j - 1, n), f.span(i0, j + 1, n));
        let o = out.span_mut(i0, j, n);
        if add {
            for i in 0..n {
                o[i] += cx * (w[i] - two * c[i] + e[i]) + cy * (s[i] - two * c[i] + nn[i]);
            }
        } else {
            for i in 0..n {
                o[i] = cx * (w[i] - two * c[i] + e[i]) + cy * (s[i] - two * c[i] + nn[i]);
            }
        }
    }
}
