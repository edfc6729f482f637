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
///
/// One pass summarises each row in a loop that vectorises (its largest CFL number, and
/// whether its u, v, η are all finite); then only one row is scanned cell by cell — the
/// first with a non-finite value, else the first that holds the largest CFL number — so
/// the result is the one a cell-by-cell scan of every row gives.
pub fn worst_point<T: Real>(p: &Params, s: &State<T>) -> Worst {
    let terms = CflTerms::of(p);
    let mut worst = Worst {
        cfl: 0.0,
        i: 0,
        j: 0,
        non_finite: None,
    };
    let (mut largest, mut row_of_largest) = (0.0, None);
    for j in 0..s.nj() {
        let (cfl_max, finite) = crate::physics::simd::widest(
            #[inline(always)]
            || row_summary(terms, s, j as isize),
        );
        if !finite {
            if let Some(found) = scan_row(terms, s, j, &mut worst) {
                return found;
            }
        }
        if cfl_max > largest {
            (largest, row_of_largest) = (cfl_max, Some(j));
        }
    }
    if let Some(j) = row_of_largest {
        scan_row(terms, s, j, &mut worst);
    }
    worst
}

/// What the CFL number of a cell needs of the parameters, taken once per scan.
#[derive(Clone, Copy)]
struct CflTerms {
    dt: f64,
    rdx: f64,
    rdy: f64,
    gravity: f64,
    depth: f64,
}

impl CflTerms {
    fn of(p: &Params) -> Self {
        CflTerms {
            dt: p.dt,
            rdx: 1.0 / p.dx(),
            rdy: 1.0 / p.dy(),
            gravity: p.gravity,
            depth: p.depth,
        }
    }

    /// The CFL number of a cell from u on its west and east faces, v on its south and north
    /// faces, and its η.
    #[inline(always)]
    fn at(&self, (uw, ue, vs, vn, eta): (f64, f64, f64, f64, f64)) -> f64 {
        let c = (self.gravity * (self.depth + eta).max(0.0)).sqrt();
        self.dt * ((0.5 * (uw + ue).abs() + c) * self.rdx + (0.5 * (vs + vn).abs() + c) * self.rdy)
    }
}

/// Lanes of [`row_summary`]'s accumulators: one AVX2 register of f64.
const LANES: usize = 4;

/// The largest CFL number of row j (NaN ones ignored, as [`scan_row`] does) and whether its
/// owned u, v, η are all finite (x · 0 is 0 for every finite x, NaN otherwise).
#[inline(always)]
fn row_summary<T: Real>(terms: CflTerms, s: &State<T>, j: isize) -> (f64, bool) {
    let ni = s.ni();
    let (uw, ue) = (s.u.span(-1, j, ni), s.u.span(0, j, ni));
    let (vs, vn) = (s.v.span(0, j - 1, ni), s.v.span(0, j, ni));
    let eta = s.eta.span(0, j, ni);
    let (mut largest, mut probe) = ([0.0f64; LANES], [0.0f64; LANES]);
    let mut cell = |i: usize, lane: usize| {
        let faces = (
            uw[i].to_f64(),
            ue[i].to_f64(),
            vs[i].to_f64(),
            vn[i].to_f64(),
        );
        let eta = eta[i].to_f64();
        let cfl = terms.at((faces.0, faces.1, faces.2, faces.3, eta));
        largest[lane] = if cfl > largest[lane] {
            cfl
        } else {
            largest[lane]
        };
        probe[lane] += faces.1 * 0.0 + faces.3 * 0.0 + eta * 0.0;
    };
    let whole = ni / LANES * LANES;
    for i0 in (0..whole).step_by(LANES) {
        for lane in 0..LANES {
            cell(i0 + lane, lane);
        }
    }
    for i in whole..ni {
        cell(i, 0);
    }
    let cfl_max = largest
        .iter()
        .fold(0.0f64, |m, &c| if c > m { c } else { m });
    (cfl_max, probe.iter().all(|&x| x == 0.0))
}

/// Row j cell by cell: the first non-finite value of u, v or η (returned, ending the
/// scan), else every CFL number above `worst`'s, in order.
fn scan_row<T: Real>(terms: CflTerms, s: &State<T>, j: usize, worst: &mut Worst) -> Option<Worst> {
    let (ni, jj) = (s.ni(), j as isize);
    for (name, f) in s.named() {
        if let Some(i) = f.span(0, jj, ni).iter().position(|x| !x.is_finite()) {
            return Some(Worst {
                cfl: f64::INFINITY,
                i,
                j,
                non_finite: Some((name, f.at(i as isize, jj).to_f64())),
            });
        }
    }
    let (uw, ue) = (s.u.span(-1, jj, ni), s.u.span(0, jj, ni));
    let (vs, vn) = (s.v.span(0, jj - 1, ni), s.v.span(0, jj, ni));
    let eta = s.eta.span(0, jj, ni);
    for i in 0..ni {
        let faces = (
            uw[i].to_f64(),
            ue[i].to_f64(),
            vs[i].to_f64(),
            vn[i].to_f64(),
        );
        let cfl = terms.at((faces.0, faces.1, faces.2, faces.3, eta[i].to_f64()));
        if cfl > worst.cfl {
            *worst = Worst {
                cfl,
                i,
                j,
                non_finite: None,
            };
        }
    }
    None
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The scan every cell by cell, as the stability check did before rows were summarised.
    fn reference(p: &Params, s: &State<f64>) -> Worst {
        let terms = CflTerms::of(p);
        let mut worst = Worst {
            cfl: 0.0,
            i: 0,
            j: 0,
            non_finite: None,
        };
        for j in 0..s.nj() {
            if let Some(found) = scan_row(terms, s, j, &mut worst) {
                return found;
            }
        }
        worst
    }

    /// A reproducible pseudo-random state (a 64-bit LCG), |u|, |v| ≤ 2 m/s, |η| ≤ 5 m.
    fn state(ni: usize, nj: usize, seed: u64) -> State<f64> {
        let mut x = seed;
        let mut next = move || {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (x >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
        };
        let mut s = State::zeros(ni, nj);
        for (f, scale) in [(&mut s.u, 2.0), (&mut s.v, 2.0), (&mut s.eta, 5.0)] {
            for v in f.data.iter_mut() {
                *v = scale * next();
            }
        }
        s
    }

    #[test]
    fn the_row_summaries_find_what_the_cell_by_cell_scan_finds() {
        let p = Params::for_grid(64, 64);
        for (seed, (ni, nj)) in [(1, (37, 11)), (2, (64, 64)), (3, (5, 3)), (4, (128, 9))] {
            let mut s = state(ni, nj, seed);
            assert_eq!(worst_point(&p, &s), reference(&p, &s), "seed {seed}");
            // Non-finite values, in a halo (ignored by both) and in the box, at every field.
            *s.u.at_mut(-1, 0) = f64::NAN;
            assert_eq!(
                worst_point(&p, &s),
                reference(&p, &s),
                "seed {seed}, NaN in the halo"
            );
            for (k, bad) in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY]
                .into_iter()
                .enumerate()
            {
                let mut t = s.clone();
                let (bi, bj) = ((k * 7 + 3) % ni, (k * 5 + 1) % nj);
                let f = match k {
                    0 => &mut t.u,
                    1 => &mut t.v,
                    _ => &mut t.eta,
                };
                *f.at_mut(bi as isize, bj as isize) = bad;
                let (got, want) = (worst_point(&p, &t), reference(&p, &t));
                assert_eq!(
                    format!("{got:?}"),
                    format!("{want:?}"),
                    "seed {seed}, {bad}"
                );
                assert!(got.non_finite.is_some(), "{got:?}");
            }
        }
        // Ties: in a uniform flow every cell has the same CFL number; the first one wins.
        let mut s = State::zeros(40, 6);
        for f in [&mut s.u, &mut s.v, &mut s.eta] {
            f.fill(0.25);
        }
        assert_eq!(worst_point(&p, &s), reference(&p, &s));
        assert_eq!((worst_point(&p, &s).i, worst_point(&p, &s).j), (0, 0));
    }
}
