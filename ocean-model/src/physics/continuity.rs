//! Continuity: ∂η/∂t = −∂x(h u) − ∂y(h v)  [m s⁻¹], with h = H + η [m].
//!
//! The layer thickness is averaged to the faces, giving the mass fluxes
//! U = h̄ˣ u and V = h̄ʸ v [m² s⁻¹], which the PV flux reuses. The divergence
//! telescopes, so with U = V = 0 on the walls the volume is conserved to round-off.
//! The reciprocal face thicknesses 1/h̄ˣ, 1/h̄ʸ are kept for the terms that divide
//! by h (wind, bottom drag): one division per face instead of one per term.

use crate::field::Field;
use crate::grid::HALO;
use crate::real::Real;

use super::{Rows, SCRATCH_ROWS};

/// Layer thickness and mass fluxes of the current RK stage.
pub struct MassFluxes<T: Real> {
    /// Layer thickness h = H + η at T-points, last rows only (m).
    pub h: Field<T>,
    /// Zonal mass flux U = h̄ˣ u at u-points, last rows only (m² s⁻¹).
    pub uh: Field<T>,
    /// Meridional mass flux V = h̄ʸ v at v-points, last rows only (m² s⁻¹).
    pub vh: Field<T>,
    /// 1/h̄ˣ at u-points, last rows only (m⁻¹).
    pub inv_h_u: Field<T>,
    /// 1/h̄ʸ at v-points, last rows only (m⁻¹).
    pub inv_h_v: Field<T>,
}

impl<T: Real> MassFluxes<T> {
    pub fn new(ni: usize, nj: usize) -> Self {
        MassFluxes {
            h: Field::row_ring(ni, nj, SCRATCH_ROWS),
            uh: Field::row_ring(ni, nj, SCRATCH_ROWS),
            vh: Field::row_ring(ni, nj, SCRATCH_ROWS),
            inv_h_u: Field::row_ring(ni, nj, SCRATCH_ROWS),
            inv_h_v: Field::row_ring(ni, nj, SCRATCH_ROWS),
        }
    }

    /// h on `h_rows` (full width); U, 1/h̄ˣ (i ∈ [−2, ni]) and V, 1/h̄ʸ (full width) on `rows`.
    /// V on row j needs h on row j + 1.
    #[inline(always)]
    pub fn update(
        &mut self,
        depth: f64,
        u: &Field<T>,
        v: &Field<T>,
        eta: &Field<T>,
        h_rows: Rows,
        rows: Rows,
    ) {
        let w = self.h.stride;
        let (depth, half, one) = (T::from_f64(depth), T::from_f64(0.5), T::from_f64(1.0));
        for j in h_rows {
            let e = eta.span(-(HALO as isize), j, w);
            let h = self.h.span_mut(-(HALO as isize), j, w);
            for i in 0..w {
                h[i] = depth + e[i];
            }
        }
        let (ni, hw) = (u.ni as isize, HALO as isize);
        let n = (ni + 1 + hw) as usize;
        for j in rows.clone() {
            let (h0, h1) = (self.h.span(-hw, j, n), self.h.span(1 - hw, j, n));
            let uu = u.span(-hw, j, n);
            let out = self.uh.span_mut(-hw, j, n);
            let inv = self.inv_h_u.span_mut(-hw, j, n);
            for i in 0..n {
                let h_u = half * (h0[i] + h1[i]);
                out[i] = h_u * uu[i];
                inv[i] = one / h_u;
            }
        }
        for j in rows {
            let (h0, h1) = (self.h.span(-hw, j, w), self.h.span(-hw, j + 1, w));
            let vv = v.span(-hw, j, w);
            let out = self.vh.span_mut(-hw, j, w);
            let inv = self.inv_h_v.span_mut(-hw, j, w);
            for i in 0..w {
                let h_v = half * (h0[i] + h1[i]);
                out[i] = h_v * vv[i];
                inv[i] = one / h_v;
            }
        }
    }

    /// deta = −(U[i] − U[i−1])/dx − (V[j] − V[j−1])/dy on the owned cells of `rows` (sets deta).
    #[inline(always)]
    pub fn set_tendency(&self, dx: f64, dy: f64, deta: &mut Field<T>, rows: Rows) {
        let ni = deta.ni;
        let (rdx, rdy) = (T::from_f64(1.0 / dx), T::from_f64(1.0 / dy));
        for j in rows {
            let (ue, uw) = (self.uh.span(0, j, ni), self.uh.span(-1, j, ni));
            let (vn, vs) = (self.vh.span(0, j, ni), self.vh.span(0, j - 1, ni));
            let out = deta.span_mut(0, j, ni);
            for i in 0..ni {
                out[i] = -(ue[i] - uw[i]) * rdx - (vn[i] - vs[i]) * rdy;
            }
        }
    }
}
