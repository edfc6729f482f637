//! The subgrid momentum forcing that the closure learns, in the **total** form
//! (Ross et al. 2023):
//!
//! ```text
//! S = C(RHS_fine(u, v, η)) − RHS_coarse(C(u), C(v), C(η))      (m s⁻², on U and V points)
//! ```
//!
//! with C the filter-and-coarsen operator of [`crate::filter`] and RHS each grid's own
//! right-hand side of the model ([`ocean_model::physics::Rhs`]: PV flux, Bernoulli gradient,
//! wind, viscosity, bottom drag). S is **added** to the coarse tendency, exactly as the
//! ocean adds the forcing it receives (∂ū/∂t = RHS_coarse + a S, a = `forcing_factor` = 1):
//! a coarse model with this S would follow the filtered truth's tendency exactly.
//!
//! Why the total form rather than GZ21's advection form S = (ū·∇)ū − C[(u·∇)u]: it is
//! everything the coarse model misses with its own discretisation (the unresolved eddy
//! fluxes, and also the difference between the two grids' viscosity and drag), computed with
//! the very operators that run online, so that training and inference see one definition;
//! the advection form would need a second, collocated advection operator that the C-grid
//! model never uses. The η tendency, which the network does not predict, is returned for
//! diagnosis only.

use ocean_model::field::{Field, Stagger};
use ocean_model::grid::RankBox;
use ocean_model::halo::Halo;
use ocean_model::params::Params;
use ocean_model::physics::Rhs;
use ocean_model::state::State;

use crate::filter::Coarsening;
use crate::stagger::{Axis, Global};

/// u, v, η on one whole grid.
#[derive(Debug, Clone, PartialEq)]
pub struct Fields {
    pub u: Global,
    pub v: Global,
    pub eta: Global,
}

impl Fields {
    /// Wrap global `[j][i]` arrays of the grid of `p`.
    pub fn new(p: &Params, u: Vec<f64>, v: Vec<f64>, eta: Vec<f64>) -> Self {
        let g = |s, d| Global::new(p.nx, p.ny, Axis::of(s, p.walls), d);
        Fields {
            u: g(Stagger::U, u),
            v: g(Stagger::V, v),
            eta: g(Stagger::T, eta),
        }
    }

    fn coarsen(&self, c: &Coarsening) -> Fields {
        Fields {
            u: c.apply(&self.u),
            v: c.apply(&self.v),
            eta: c.apply(&self.eta),
        }
    }
}

/// The model's right-hand side on a whole grid, serially.
pub struct Tendency {
    p: Params,
    rhs: Rhs,
    halo: Halo,
    state: State,
    tend: State,
}

impl Tendency {
    pub fn new(p: &Params) -> Self {
        let whole = RankBox {
            i0: 0,
            j0: 0,
            ni: p.nx,
            nj: p.ny,
        };
        Tendency {
            p: p.clone(),
            rhs: Rhs::new(p, whole),
            halo: Halo::serial(p.nx, p.ny, p.walls),
            state: State::zeros(p.nx, p.ny),
            tend: State::zeros(p.nx, p.ny),
        }
    }

    /// (u_t, v_t, η_t) of `f` without external forcing; zero on the wall faces.
    pub fn of(&mut self, f: &Fields) -> Fields {
        let (nx, ny) = (self.p.nx, self.p.ny);
        for (field, g) in [
            (&mut self.state.u, &f.u),
            (&mut self.state.v, &f.v),
            (&mut self.state.eta, &f.eta),
        ] {
            assert_eq!((g.nx, g.ny), (nx, ny), "fields of the tendency's grid");
            load(field, g);
        }
        ocean_model::timestepper::fill_state_halos(&mut self.halo, &mut self.state);
        self.rhs.compute(&self.state, &mut self.tend);
        Fields {
            u: store(&self.tend.u, f.u.axes),
            v: store(&self.tend.v, f.v.axes),
            eta: store(&self.tend.eta, f.eta.axes),
        }
    }
}

fn load(field: &mut Field, g: &Global) {
    for j in 0..g.ny {
        field
            .span_mut(0, j as isize, g.nx)
            .copy_from_slice(&g.data[j * g.nx..(j + 1) * g.nx]);
    }
}

fn store(field: &Field, axes: [Axis; 2]) -> Global {
    let mut data = Vec::with_capacity(field.ni * field.nj);
    for j in 0..field.nj {
        data.extend_from_slice(field.span(0, j as isize, field.ni));
    }
    Global::new(field.ni, field.nj, axes, data)
}

/// One coarse training sample: the coarse state and the forcing that it misses.
#[derive(Debug, Clone)]
pub struct Sample {
    /// C(u), C(v), C(η).
    pub coarse: Fields,
    /// S on U points (sx) and V points (sy); `eta` holds the η-tendency residual.
    pub forcing: Fields,
}

/// Computes [`Sample`]s from fine states.
pub struct SubgridForcing {
    pub coarsening: Coarsening,
    fine: Tendency,
    coarse: Tendency,
}

impl SubgridForcing {
    /// The fine and coarse grids must cover the same basin, the coarse one `factor` times
    /// coarser, with the same physics except the grid-scaled viscosity.
    pub fn new(fine: &Params, coarse: &Params, coarsening: Coarsening) -> Self {
        let r = coarsening.factor;
        assert_eq!(
            (fine.nx, fine.ny),
            (coarse.nx * r, coarse.ny * r),
            "the fine grid is {r}× the coarse one"
        );
        SubgridForcing {
            coarsening,
            fine: Tendency::new(fine),
            coarse: Tendency::new(coarse),
        }
    }

    pub fn sample(&mut self, fine: &Fields) -> Sample {
        let coarse = fine.coarsen(&self.coarsening);
        let filtered_tendency = self.fine.of(fine).coarsen(&self.coarsening);
        let coarse_tendency = self.coarse.of(&coarse);
        let minus = |a: &Global, b: &Global| {
            let data = a.data.iter().zip(&b.data).map(|(x, y)| x - y).collect();
            Global::new(a.nx, a.ny, a.axes, data)
        };
        Sample {
            forcing: Fields {
                u: minus(&filtered_tendency.u, &coarse_tendency.u),
                v: minus(&filtered_tendency.v, &coarse_tendency.v),
                eta: minus(&filtered_tendency.eta, &coarse_tendency.eta),
            },
            coarse,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ocean_model::params::{Viscosity, WindProfile};

    fn pair() -> (Params, Params) {
        let mut fine = Params::for_grid(64, 64);
        let mut coarse = Params::for_grid(16, 16);
        for p in [&mut fine, &mut coarse] {
            p.lx = 1.6e6;
            p.ly = 1.6e6;
        }
        fine.viscosity = Viscosity::Biharmonic {
            nu4: fine.default_nu4(0.03),
        };
        coarse.viscosity = Viscosity::Biharmonic {
            nu4: coarse.default_nu4(0.03),
        };
        (fine, coarse)
    }

    fn fields(
        p: &Params,
        u: impl Fn(f64, f64) -> f64,
        v: impl Fn(f64, f64) -> f64,
        eta: impl Fn(f64, f64) -> f64,
    ) -> Fields {
        let (dx, dy) = (p.dx(), p.dy());
        let grid = |s: Stagger, f: &dyn Fn(f64, f64) -> f64| {
            let [ax, ay] = Axis::of(s, p.walls);
            let mut d = Vec::with_capacity(p.nx * p.ny);
            for j in 0..p.ny {
                for i in 0..p.nx {
                    let wall =
                        (ax == Axis::Face && i + 1 == p.nx) || (ay == Axis::Face && j + 1 == p.ny);
                    d.push(if wall {
                        0.0
                    } else {
                        f(ax.position(i as f64) * dx, ay.position(j as f64) * dy)
                    });
                }
            }
            d
        };
        Fields::new(
            p,
            grid(Stagger::U, &u),
            grid(Stagger::V, &v),
            grid(Stagger::T, &eta),
        )
    }

    #[test]
    fn a_smooth_basin_scale_flow_has_a_small_subgrid_forcing() {
        // No structure below the filter scale: S is a small fraction of the tendency it
        // corrects (the two grids then differ only by discretisation, O((kΔ)²)).
        let (fine, coarse) = pair();
        let (lx, ly) = (fine.lx, fine.ly);
        let pi = std::f64::consts::PI;
        let u = move |x: f64, y: f64| 0.3 * (pi * x / lx).sin() * (2.0 * pi * y / ly).cos();
        let v = move |x: f64, y: f64| -0.3 * (2.0 * pi * x / lx).sin() * 0.5 * (pi * y / ly).sin();
        let eta = move |x: f64, y: f64| 0.2 * (pi * x / lx).cos() * (pi * y / ly).cos();
        let mut s = SubgridForcing::new(&fine, &coarse, Coarsening::gz21(4));
        let sample = s.sample(&fields(&fine, u, v, eta));
        let tendency = Tendency::new(&coarse).of(&sample.coarse);
        let rms =
            |g: &Global| (g.data.iter().map(|x| x * x).sum::<f64>() / g.data.len() as f64).sqrt();
        let ratio = rms(&sample.forcing.u) / rms(&tendency.u);
        assert!(ratio < 0.05, "|S| / |RHS| = {ratio}");
    }

    #[test]
    fn a_uniform_flow_without_rotation_has_no_subgrid_forcing_in_the_interior() {
        let (mut fine, mut coarse) = pair();
        for p in [&mut fine, &mut coarse] {
            p.wind = WindProfile::None;
            p.f0 = 0.0;
            p.beta = 0.0;
            p.bottom_drag = 0.0;
        }
        let mut s = SubgridForcing::new(&fine, &coarse, Coarsening::gz21(4));
        let sample = s.sample(&fields(&fine, |_, _| 0.1, |_, _| -0.05, |_, _| 0.0));
        // Away from the walls (where the uniform flow meets them, and which the filter and
        // the coarse biharmonic stencil see from up to 5 coarse cells) S vanishes.
        for j in 5..11 {
            for i in 5..11 {
                let (sx, sy) = (sample.forcing.u.at(i, j), sample.forcing.v.at(i, j));
                assert!(
                    sx.abs() < 1e-15 && sy.abs() < 1e-15,
                    "S = ({sx}, {sy}) at ({i}, {j})"
                );
            }
        }
    }

    #[test]
    fn sub_filter_eddies_give_a_forcing_of_the_size_of_their_advection() {
        // Small eddies (wavelength 4 fine cells) are filtered out of the coarse state; what
        // their momentum flux and its effect on the mean does comes back as S, of the order
        // of U²k, far above round-off.
        let (fine, coarse) = pair();
        let k = 2.0 * std::f64::consts::PI / (4.0 * fine.dx());
        let big = 2.0 * std::f64::consts::PI / fine.lx;
        let u = move |x: f64, y: f64| 0.2 * (k * x).sin() * (k * y).cos() + 0.1 * (big * y).sin();
        let v = move |x: f64, y: f64| -0.2 * (k * x).cos() * (k * y).sin();
        let mut s = SubgridForcing::new(&fine, &coarse, Coarsening::gz21(4));
        let sample = s.sample(&fields(&fine, u, v, |_, _| 0.0));
        let max = sample
            .forcing
            .u
            .data
            .iter()
            .fold(0.0f64, |m, x| m.max(x.abs()));
        assert!(max > 1e-7, "max |S| = {max}");
        assert!(sample.forcing.u.data.iter().all(|x| x.is_finite()));
    }
}
