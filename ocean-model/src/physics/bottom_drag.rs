//! Quadratic bottom drag: u_t −= c_D |u| u / h, v_t −= c_D |u| v / h  [m s⁻²].
//!
//! c_D is dimensionless; |u| at a u-point uses the four-point average of v, and h
//! the face thickness h̄ˣ (h̄ʸ for v), passed as its reciprocal.

use crate::field::Field;
use crate::real::Real;

use super::Rows;

/// du, dv −= c_D |u| (u, v) / h on the owned points of `rows`.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub fn add_tendency<T: Real>(
    c_d: f64,
    u: &Field<T>,
    v: &Field<T>,
    inv_h_u: &Field<T>,
    inv_h_v: &Field<T>,
    du: &mut Field<T>,
    dv: &mut Field<T>,
    rows: Rows,
) {
    if c_d == 0.0 {
        return;
    }
    let ni = u.ni;
    let (c_d, quarter) = (T::from_f64(c_d), T::from_f64(0.25));
    for j in rows {
        let uc = u.span(0, j, ni);
        let (vnw, vne, vsw, vse) = (
            v.span(0, j, ni),
            v.span(1, j, ni),
            v.span(0, j - 1, ni),
            v.span(1, j - 1, ni),
        );
        let inv_h = inv_h_u.span(0, j, ni);
        let out = du.span_mut(0, j, ni);
        for i in 0..ni {
            let vbar = quarter * (vnw[i] + vne[i] + vsw[i] + vse[i]);
            let speed = (uc[i] * uc[i] + vbar * vbar).sqrt();
            out[i] -= c_d * speed * uc[i] * inv_h[i];
        }
        let vc = v.span(0, j, ni);
        let (use_, usw, une, unw) = (
            u.span(0, j, ni),
            u.span(-1, j, ni),
            u.span(0, j + 1, ni),
            u.span(-1, j + 1, ni),
        );
        let inv_h = inv_h_v.span(0, j, ni);
        let out = dv.span_mut(0, j, ni);
        for i in 0..ni {
            let ubar = quarter * (use_[i] + usw[i] + une[i] + unw[i]);
            let speed = (vc[i] * vc[i] + ubar * ubar).sqrt();
            out[i] -= c_d * speed * vc[i] * inv_h[i];
        }
    }
}
