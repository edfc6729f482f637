//! Wind forcing: u_t += τx / (ρ0 h), v_t += τy / (ρ0 h)  [m s⁻²].
//!
//! τx(y) [Pa] is fixed in time, tabulated once per u-row as τx/ρ0 [m² s⁻²];
//! τy is zero for the profiles offered.

use crate::field::Field;
use crate::params::{Params, WindProfile};
use crate::real::Real;

use super::Rows;

/// Zonal wind stress τx (Pa) at height y (m) for the configured profile.
pub fn tau_x(p: &Params, y: f64) -> f64 {
    use std::f64::consts::PI;
    let ly = p.ly;
    match p.wind {
        WindProfile::DoubleGyre => {
            p.tau0
                * ((2.0 * PI * (y - 0.5 * ly) / ly).cos() + 2.0 * (PI * (y - 0.5 * ly) / ly).sin())
        }
        WindProfile::SingleGyre => -p.tau0 * (PI * y / ly).cos(),
        WindProfile::None => 0.0,
    }
}

/// τx/ρ0 on the u-rows of one rank box.
pub struct WindStress<T: Real> {
    /// τx/ρ0 for owned row j (m² s⁻²).
    taux_over_rho: Vec<T>,
}

impl<T: Real> WindStress<T> {
    /// Tabulate for rows j0 .. j0 + nj of the global grid.
    pub fn new(p: &Params, j0: usize, nj: usize) -> Self {
        let dy = p.dy();
        let taux_over_rho = (0..nj)
            .map(|j| T::from_f64(tau_x(p, ((j0 + j) as f64 + 0.5) * dy) / p.rho0))
            .collect();
        WindStress { taux_over_rho }
    }

    /// du += τx / (ρ0 h̄ˣ) on the owned points of `rows`, given 1/h̄ˣ.
    #[inline(always)]
    pub fn add_tendency(&self, inv_h_u: &Field<T>, du: &mut Field<T>, rows: Rows) {
        let ni = du.ni;
        for j in rows {
            let t = self.taux_over_rho[j as usize];
            let inv_h = inv_h_u.span(0, j, ni);
            let out = du.span_mut(0, j, ni);
            for i in 0..ni {
                out[i] += t * inv_h[i];
            }
        }
    }
}
