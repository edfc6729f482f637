//! Right-hand side of the rotating shallow-water equations, vector-invariant form:
//!
//! ```text
//! u_t =  q (h v) − ∂x B + τx/(ρ0 h) + D_u − c_D |u| u / h + a Sx
//! v_t = −q (h u) − ∂y B + τy/(ρ0 h) + D_v − c_D |u| v / h + a Sy
//! η_t = −∂x(h u) − ∂y(h v),     h = H + η,  B = g η + ½|u|²,  q = (f + ∂x v − ∂y u)/h
//! ```
//!
//! One module per term; [`Rhs::compute`] reads as the sum above. Everything is
//! allocated in [`Rhs::new`]; a call allocates nothing. The input state must have
//! fresh halos (see [`crate::halo::Halo::fill_halos`]).
//!
//! For speed the box is swept in strips of [`STRIP`] rows: the derived fields (h,
//! mass fluxes, B, q, ∇²u) are computed one strip ahead of the tendencies that read
//! them, so the arrays a strip touches stay in cache.

pub mod bernoulli;
pub mod bottom_drag;
pub mod continuity;
pub mod forcing;
pub mod pv_flux;
pub mod viscosity;
pub mod wind;

use crate::field::Field;
use crate::grid::RankBox;
use crate::params::Params;
use crate::state::State;

use bernoulli::Bernoulli;
use continuity::MassFluxes;
use forcing::ExternalForcing;
use pv_flux::PvFlux;
use viscosity::ViscousStress;
use wind::WindStress;

/// A range of local rows.
pub type Rows = std::ops::Range<isize>;

/// Rows per strip of the cache-blocked sweep.
pub const STRIP: isize = 8;

/// Tendency evaluator with its per-term scratch arrays, for one rank box.
pub struct Rhs {
    dx: f64,
    dy: f64,
    depth: f64,
    gravity: f64,
    bottom_drag: f64,
    pub fluxes: MassFluxes,
    pub bernoulli: Bernoulli,
    pub pv: PvFlux,
    viscosity: ViscousStress,
    wind: WindStress,
    /// External forcing, refreshed by the coupler (zero when standalone).
    pub forcing: ExternalForcing,
    /// 1 on u-points that move, 0 on the east wall (–).
    pub mask_u: Field,
    /// 1 on v-points that move, 0 on the north wall (–).
    pub mask_v: Field,
    /// 1 on every T-point (–).
    pub mask_t: Field,
}

impl Rhs {
    /// Set up the terms for the box `b` of the global grid described by `p`.
    pub fn new(p: &Params, b: RankBox) -> Self {
        let (ni, nj) = (b.ni, b.nj);
        let dy = p.dy();
        let f_corner = (-1..=nj as isize)
            .map(|j| p.coriolis((b.j0 as f64 + j as f64 + 1.0) * dy))
            .collect();
        let mut mask_u = Field::zeros(ni, nj);
        let mut mask_v = Field::zeros(ni, nj);
        for j in 0..nj {
            for i in 0..ni {
                let (gi, gj) = (b.i0 + i, b.j0 + j);
                *mask_u.at_mut(i as isize, j as isize) = if gi + 1 == p.nx { 0.0 } else { 1.0 };
                *mask_v.at_mut(i as isize, j as isize) = if gj + 1 == p.ny { 0.0 } else { 1.0 };
            }
        }
        Rhs {
            dx: p.dx(),
            dy,
            depth: p.depth,
            gravity: p.gravity,
            bottom_drag: p.bottom_drag,
            fluxes: MassFluxes::new(ni, nj),
            bernoulli: Bernoulli::new(ni, nj),
            pv: PvFlux::new(ni, nj, p.pv_scheme, f_corner),
            viscosity: ViscousStress::new(ni, nj, p.viscosity, p.dx(), dy),
            wind: WindStress::new(p, b.j0, nj),
            forcing: ExternalForcing::new(ni, nj, p.levels, p.forcing_factor),
            mask_u,
            mask_v,
            mask_t: {
                let mut m = Field::zeros(ni, nj);
                m.fill(1.0);
                m
            },
        }
    }

    /// All terms but the external forcing: tend = RHS(s) − a S.
    pub fn compute_internal(&mut self, s: &State, tend: &mut State) {
        let nj = s.nj() as isize;
        // Derived rows below the first strip, then strip by strip: derived rows
        // [c0, c1) let the tendencies of rows [c0 − 1, c1 − 1) be completed.
        self.derived(s, -3, 0);
        let mut c0 = 0;
        while c0 <= nj {
            let c1 = (c0 + STRIP).min(nj + 1);
            self.derived(s, c0, c1);
            self.tendency(s, tend, (c0 - 1).max(0)..c1 - 1);
            c0 = c1;
        }
    }

    /// Derived fields for the rows [c0, c1) (h one row further), each clipped to its range.
    fn derived(&mut self, s: &State, c0: isize, c1: isize) {
        let (dx, dy) = (self.dx, self.dy);
        let (u, v, eta) = (&s.u, &s.v, &s.eta);
        self.fluxes.update(
            self.depth,
            u,
            v,
            eta,
            (c0 + 1).max(-2)..c1 + 1,
            c0.max(-2)..c1,
        );
        self.bernoulli
            .update(self.gravity, u, v, eta, c0.max(-1)..c1);
        self.pv.update(dx, dy, u, v, &self.fluxes.h, c0.max(-1)..c1);
        self.viscosity.update(u, v, c0.max(-1)..c1);
    }

    /// u_t, v_t (without the external forcing) and η_t on `rows`.
    fn tendency(&mut self, s: &State, tend: &mut State, rows: Rows) {
        let (dx, dy) = (self.dx, self.dy);
        let (u, v) = (&s.u, &s.v);
        let (du, dv) = (&mut tend.u, &mut tend.v);
        let h = &self.fluxes.h;
        self.fluxes
            .set_tendency(dx, dy, &mut tend.eta, rows.clone());
        self.pv
            .set_tendency(&self.fluxes.uh, &self.fluxes.vh, du, dv, rows.clone());
        self.bernoulli.add_tendency(dx, dy, du, dv, rows.clone());
        self.wind.add_tendency(h, du, rows.clone());
        self.viscosity.add_tendency(u, v, du, dv, rows.clone());
        bottom_drag::add_tendency(self.bottom_drag, u, v, h, du, dv, rows);
    }

    /// Add the external forcing and zero the tendency on the wall points. (The RK4
    /// step does the same inside its update loop, to save a pass over memory.)
    pub fn finish(&mut self, tend: &mut State) {
        self.forcing.add_tendency(&mut tend.u, &mut tend.v);
        mask(&mut tend.u, &self.mask_u);
        mask(&mut tend.v, &self.mask_v);
    }

    /// The full right-hand side.
    pub fn compute(&mut self, s: &State, tend: &mut State) {
        self.compute_internal(s, tend);
        self.finish(tend);
    }
}

fn mask(f: &mut Field, m: &Field) {
    let ni = f.ni;
    for j in 0..f.nj as isize {
        let mm = m.span(0, j, ni);
        let out = f.span_mut(0, j, ni);
        for i in 0..ni {
            out[i] *= mm[i];
        }
    }
}

#[cfg(test)]
mod tests;
