//! Potential-vorticity flux: u_t += q (h v), v_t −= q (h u)  [m s⁻²],
//! with q = (f + ∂x v − ∂y u) / h  [m⁻¹ s⁻¹] on cell corners.
//!
//! q[i, j] sits on the north-east corner of T-cell (i, j); its thickness is the
//! average of the four surrounding cells. Two discretisations:
//!
//! * **Arakawa & Lamb (1981)**, conserving energy and potential enstrophy: the four
//!   mass fluxes around a velocity point are weighted by the T-cell coefficients
//!   α (= γ), β (= δ), plus the along-flow terms ε, φ;
//! * **Sadourny (1975)**, conserving energy: q̄ times the averaged mass flux.
//!
//! Both are antisymmetric between the u and v equations, so they do no work.

use crate::field::Field;
use crate::params::PvScheme;
use crate::real::Real;

use super::{Rows, SCRATCH_ROWS};

/// PV and the Arakawa–Lamb coefficients of the current RK stage.
pub struct PvFlux<T: Real> {
    scheme: PvScheme,
    /// Potential vorticity on corners, i, j ∈ [−1, n], last rows only (m⁻¹ s⁻¹).
    pub q: Field<T>,
    /// Coriolis parameter on the corner rows of this box, index j + 1 (s⁻¹).
    f_corner: Vec<T>,
    alpha: Field<T>,
    beta: Field<T>,
    eps: Field<T>,
    phi: Field<T>,
}

const ONE_24: f64 = 1.0 / 24.0;

impl<T: Real> PvFlux<T> {
    /// `f_corner[j + 1]` is f on the corner row j ∈ [−1, nj].
    pub fn new(ni: usize, nj: usize, scheme: PvScheme, f_corner: Vec<T>) -> Self {
        PvFlux {
            scheme,
            q: Field::row_ring(ni, nj, SCRATCH_ROWS),
            f_corner,
            alpha: Field::row_ring(ni, nj, SCRATCH_ROWS),
            beta: Field::row_ring(ni, nj, SCRATCH_ROWS),
            eps: Field::row_ring(ni, nj, SCRATCH_ROWS),
            phi: Field::row_ring(ni, nj, SCRATCH_ROWS),
        }
    }

    /// q = (f + ζ)/h_q on corner rows `rows` (within [−1, nj]), i ∈ [−1, ni], then the
    /// scheme's coefficients on the same rows (those ≥ 0). Needs q on the row below.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    pub fn update(
        &mut self,
        dx: f64,
        dy: f64,
        u: &Field<T>,
        v: &Field<T>,
        h: &Field<T>,
        rows: Rows,
    ) {
        let ni = u.ni;
        let (rdx, rdy) = (T::from_f64(1.0 / dx), T::from_f64(1.0 / dy));
        let quarter = T::from_f64(0.25);
        let n = ni + 2;
        for j in rows.clone() {
            let f = self.f_corner[(j + 1) as usize];
            let (vw, ve) = (v.span(-1, j, n), v.span(0, j, n));
            let (us, un) = (u.span(-1, j, n), u.span(-1, j + 1, n));
            let (hsw, hse) = (h.span(-1, j, n), h.span(0, j, n));
            let (hnw, hne) = (h.span(-1, j + 1, n), h.span(0, j + 1, n));
            let out = self.q.span_mut(-1, j, n);
            for i in 0..n {
                let zeta = (ve[i] - vw[i]) * rdx - (un[i] - us[i]) * rdy;
                out[i] = (f + zeta) / (quarter * (hsw[i] + hse[i] + hnw[i] + hne[i]));
            }
        }
        if self.scheme == PvScheme::ArakawaLamb {
            self.update_al_coefficients(rows.start.max(0)..rows.end);
        }
    }

    /// α, β, ε, φ on T-points i, j ∈ [0, n] from the four corners of each cell.
    #[inline(always)]
    fn update_al_coefficients(&mut self, rows: Rows) {
        let n = self.q.ni + 1;
        let (one_24, two) = (T::from_f64(ONE_24), T::from_f64(2.0));
        for j in rows {
            let (ne, nw) = (self.q.span(0, j, n), self.q.span(-1, j, n));
            let (se, sw) = (self.q.span(0, j - 1, n), self.q.span(-1, j - 1, n));
            let a = self.alpha.span_mut(0, j, n);
            let b = self.beta.span_mut(0, j, n);
            let e = self.eps.span_mut(0, j, n);
            let p = self.phi.span_mut(0, j, n);
            for i in 0..n {
                let (diag, anti) = (ne[i] + sw[i], nw[i] + se[i]);
                a[i] = one_24 * (two * diag + anti);
                b[i] = one_24 * (diag + two * anti);
                e[i] = one_24 * ((ne[i] + nw[i]) - (sw[i] + se[i]));
                p[i] = one_24 * ((nw[i] + sw[i]) - (ne[i] + se[i]));
            }
        }
    }

    /// Set du = q (h v) and dv = −q (h u) on the owned points (the first RHS term).
    #[inline(always)]
    pub fn set_tendency(
        &self,
        uh: &Field<T>,
        vh: &Field<T>,
        du: &mut Field<T>,
        dv: &mut Field<T>,
        rows: Rows,
    ) {
        match self.scheme {
            PvScheme::ArakawaLamb => self.arakawa_lamb(uh, vh, du, dv, rows),
            PvScheme::Sadourny => self.sadourny(uh, vh, du, dv, rows),
        }
    }

    #[inline(always)]
    fn arakawa_lamb(
        &self,
        uh: &Field<T>,
        vh: &Field<T>,
        du: &mut Field<T>,
        dv: &mut Field<T>,
        rows: Rows,
    ) {
        let ni = du.ni;
        let (al, be, ep, ph) = (&self.alpha, &self.beta, &self.eps, &self.phi);
        for j in rows {
            let (a0, a1) = (al.span(0, j, ni), al.span(1, j, ni));
            let (b0, b1) = (be.span(0, j, ni), be.span(1, j, ni));
            let (e0, e1) = (ep.span(0, j, ni), ep.span(1, j, ni));
            let (v_nw, v_ne) = (vh.span(0, j, ni), vh.span(1, j, ni));
            let (v_sw, v_se) = (vh.span(0, j - 1, ni), vh.span(1, j - 1, ni));
            let (u_w, u_e) = (uh.span(-1, j, ni), uh.span(1, j, ni));
            let out = du.span_mut(0, j, ni);
            for i in 0..ni {
                out[i] = a1[i] * v_ne[i] + b0[i] * v_nw[i] + a0[i] * v_sw[i] + b1[i] * v_se[i]
                    - e1[i] * u_e[i]
                    + e0[i] * u_w[i];
            }
            let (an, bn, p0, pn) = (
                al.span(0, j + 1, ni),
                be.span(0, j + 1, ni),
                ph.span(0, j, ni),
                ph.span(0, j + 1, ni),
            );
            let (u_se, u_sw) = (uh.span(0, j, ni), uh.span(-1, j, ni));
            let (u_ne, u_nw) = (uh.span(0, j + 1, ni), uh.span(-1, j + 1, ni));
            let (v_n, v_s) = (vh.span(0, j + 1, ni), vh.span(0, j - 1, ni));
            let out = dv.span_mut(0, j, ni);
            for i in 0..ni {
                out[i] = -(b0[i] * u_se[i] + a0[i] * u_sw[i] + an[i] * u_ne[i] + bn[i] * u_nw[i])
                    - pn[i] * v_n[i]
                    + p0[i] * v_s[i];
            }
        }
    }

    #[inline(always)]
    fn sadourny(
        &self,
        uh: &Field<T>,
        vh: &Field<T>,
        du: &mut Field<T>,
        dv: &mut Field<T>,
        rows: Rows,
    ) {
        let ni = du.ni;
        let (quarter, minus_quarter) = (T::from_f64(0.25), T::from_f64(-0.25));
        for j in rows {
            let (qn, qs) = (self.q.span(0, j, ni), self.q.span(0, j - 1, ni));
            let (v_nw, v_ne) = (vh.span(0, j, ni), vh.span(1, j, ni));
            let (v_sw, v_se) = (vh.span(0, j - 1, ni), vh.span(1, j - 1, ni));
            let out = du.span_mut(0, j, ni);
            for i in 0..ni {
                out[i] = quarter * (qn[i] * (v_nw[i] + v_ne[i]) + qs[i] * (v_sw[i] + v_se[i]));
            }
            let (qe, qw) = (self.q.span(0, j, ni), self.q.span(-1, j, ni));
            let (u_se, u_ne) = (uh.span(0, j, ni), uh.span(0, j + 1, ni));
            let (u_sw, u_nw) = (uh.span(-1, j, ni), uh.span(-1, j + 1, ni));
            let out = dv.span_mut(0, j, ni);
            for i in 0..ni {
                out[i] =
                    minus_quarter * (qe[i] * (u_se[i] + u_ne[i]) + qw[i] * (u_sw[i] + u_nw[i]));
            }
        }
    }
}
