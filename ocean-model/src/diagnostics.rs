//! Global integrals and the stability check.
//!
//! KE = ρ0 Σ h ½|u|² dA, PE = ½ ρ0 g Σ η² dA (J); volume = Σ h dA (m³);
//! CFL = dt [(|ū| + √(gh))/dx + (|v̄| + √(gh))/dy] at T-points (–).

use crate::field::Field;
use crate::params::Params;
use crate::real::Real;
use crate::state::State;

/// Integrals over one rank box (summed over ranks by the caller).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Integrals {
    /// Kinetic energy (J).
    pub kinetic_energy: f64,
    /// Potential energy of the surface displacement (J).
    pub potential_energy: f64,
    /// Total water volume (m³).
    pub volume: f64,
}

/// KE, PE and volume of the owned cells of `s` (halos must be fresh), summed in f64
/// whatever the model's precision.
pub fn integrals<T: Real>(p: &Params, s: &State<T>) -> Integrals {
    let area = p.dx() * p.dy();
    let mut out = Integrals::default();
    let ni = s.ni();
    for j in 0..s.nj() as isize {
        let (uw, ue) = (s.u.span(-1, j, ni), s.u.span(0, j, ni));
        let (vs, vn) = (s.v.span(0, j - 1, ni), s.v.span(0, j, ni));
        let eta = s.eta.span(0, j, ni);
        for i in 0..ni {
            let (uw, ue, vs, vn) = (
                uw[i].to_f64(),
                ue[i].to_f64(),
                vs[i].to_f64(),
                vn[i].to_f64(),
            );
            let eta = eta[i].to_f64();
            let h = p.depth + eta;
            let ke = 0.25 * (uw * uw + ue * ue + vs * vs + vn * vn);
            out.kinetic_energy += p.rho0 * h * ke * area;
            out.potential_energy += 0.5 * p.rho0 * p.gravity * eta * eta * area;
            out.volume += h * area;
        }
    }
    out
}

/// The worst point of a rank box: largest CFL number, or the first non-finite value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Worst {
    pub cfl: f64,
    /// Local (i, j) of the worst point.
    pub i: usize,
    pub j: usize,
    /// Name and value of a non-finite field, if any.
    pub non_finite: Option<(&'static str, f64)>,
}

/// Scan the owned cells for non-finite values and the largest CFL number.
pub fn worst_point<T: Real>(p: &Params, s: &State<T>) -> Worst {
    let (dt, rdx, rdy) = (p.dt, 1.0 / p.dx(), 1.0 / p.dy());
    let mut worst = Worst {
        cfl: 0.0,
        i: 0,
        j: 0,
        non_finite: None,
    };
    let ni = s.ni();
    for j in 0..s.nj() {
        let jj = j as isize;
        for (name, f) in s.named() {
            if let Some(i) = f.span(0, jj, ni).iter().position(|x| !x.is_finite()) {
                worst = Worst {
                    cfl: f64::INFINITY,
                    i,
                    j,
                    non_finite: Some((name, f.at(i as isize, jj).to_f64())),
                };
                return worst;
            }
        }
        let (uw, ue) = (s.u.span(-1, jj, ni), s.u.span(0, jj, ni));
        let (vs, vn) = (s.v.span(0, jj - 1, ni), s.v.span(0, jj, ni));
        let eta = s.eta.span(0, jj, ni);
        for i in 0..ni {
            let (uw, ue, vs, vn) = (
                uw[i].to_f64(),
                ue[i].to_f64(),
                vs[i].to_f64(),
                vn[i].to_f64(),
            );
            let c = (p.gravity * (p.depth + eta[i].to_f64()).max(0.0)).sqrt();
            let cfl = dt * ((0.5 * (uw + ue).abs() + c) * rdx + (0.5 * (vs + vn).abs() + c) * rdy);
            if cfl > worst.cfl {
                worst = Worst {
                    cfl,
                    i,
                    j,
                    non_finite: None,
                };
            }
        }
    }
    worst
}

/// Relative vorticity ζ = ∂x v − ∂y u on the north-east corners of the owned cells (s⁻¹),
/// written [j][i] into `out`.
pub fn relative_vorticity<T: Real>(p: &Params, u: &Field<T>, v: &Field<T>, out: &mut [f64]) {
    let (rdx, rdy, ni) = (1.0 / p.dx(), 1.0 / p.dy(), u.ni);
    for (j, row) in out.chunks_exact_mut(ni).enumerate() {
        let j = j as isize;
        let (vw, ve) = (v.span(0, j, ni), v.span(1, j, ni));
        let (us, un) = (u.span(0, j, ni), u.span(0, j + 1, ni));
        for i in 0..ni {
            row[i] =
                (ve[i].to_f64() - vw[i].to_f64()) * rdx - (un[i].to_f64() - us[i].to_f64()) * rdy;
        }
    }
}
