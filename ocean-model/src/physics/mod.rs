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
//! them, and keep only the rows a strip needs ([`SCRATCH_ROWS`]), so they stay in
//! cache. To see them for a whole box, copy each strip's rows in [`Rhs::sweep`]'s
//! callback.

pub mod bernoulli;
pub mod bottom_drag;
pub mod continuity;
pub mod forcing;
pub mod pv_flux;
pub mod simd;
pub mod viscosity;
pub mod wind;

use crate::field::Field;
use crate::grid::RankBox;
use crate::params::Params;
use crate::real::Real;
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

/// Rows a sweep needs of its scratch fields at once (rows c0 − 2 ..= c1 of a strip
/// [c0, c1)): the scratch no other code reads keeps only these ([`Field::row_ring`]).
pub const SCRATCH_ROWS: usize = STRIP as usize + 3;

/// Tendency evaluator with its per-term scratch arrays, for one rank box, stepping in
/// the float type `T` (its parameters stay in f64 and each term converts them once a call).
pub struct Rhs<T: Real = f64> {
    dx: f64,
    dy: f64,
    depth: f64,
    gravity: f64,
    bottom_drag: f64,
    pub fluxes: MassFluxes<T>,
    pub bernoulli: Bernoulli<T>,
    pub pv: PvFlux<T>,
    viscosity: ViscousStress<T>,
    wind: WindStress<T>,
    /// External forcing, refreshed by the step's [`forcing::ForcingSource`] (zero when
    /// standalone).
    pub forcing: ExternalForcing<T>,
    /// 1 on u-points that move, 0 on the east wall (–).
    pub mask_u: Field<T>,
    /// 1 on v-points that move, 0 on the north wall (–).
    pub mask_v: Field<T>,
    /// `mask_u` of column i, the same on every row (–).
    pub mask_u_of_column: Vec<T>,
    /// `mask_v` of row j, the same on every column (–).
    pub mask_v_of_row: Vec<T>,
}

impl<T: Real> Rhs<T> {
    /// Set up the terms for the box `b` of the global grid described by `p`.
    pub fn new(p: &Params, b: RankBox) -> Self {
        let (ni, nj) = (b.ni, b.nj);
        let dy = p.dy();
        let f_corner = (-1..=nj as isize)
            .map(|j| T::from_f64(p.coriolis((b.j0 as f64 + j as f64 + 1.0) * dy)))
            .collect();
        let mut mask_u = Field::zeros(ni, nj);
        let mut mask_v = Field::zeros(ni, nj);
        for j in 0..nj {
            for i in 0..ni {
                let (gi, gj) = (b.i0 + i, b.j0 + j);
                let mask = |wall: bool| T::from_f64(if wall { 0.0 } else { 1.0 });
                *mask_u.at_mut(i as isize, j as isize) = mask(gi + 1 == p.nx);
                *mask_v.at_mut(i as isize, j as isize) = mask(gj + 1 == p.ny);
            }
        }
        let mask_u_of_column = (0..ni).map(|i| mask_u.at(i as isize, 0)).collect();
        let mask_v_of_row = (0..nj).map(|j| mask_v.at(0, j as isize)).collect();
        Rhs {
            mask_u_of_column,
            mask_v_of_row,
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
        }
    }

    /// All terms but the external forcing: tend = RHS(s) − a S.
    pub fn compute_internal(&mut self, s: &State<T>, tend: &mut State<T>) {
        self.sweep(s, tend, |_, _, _| {});
    }

    /// [`Rhs::compute_internal`], calling `done(self, tend, rows)` as soon as the
    /// tendencies of each strip of `rows` are complete, so that the caller can use
    /// them while they are still in cache (the RK4 stage update does).
    ///
    /// The terms run compiled for the CPU's widest vector unit (see [`simd`]); `done`
    /// is called as compiled for any CPU (inlining it measured slower).
    pub fn sweep(
        &mut self,
        s: &State<T>,
        tend: &mut State<T>,
        done: impl FnMut(&Self, &mut State<T>, Rows),
    ) {
        simd::widest(
            #[inline(always)]
            || self.sweep_any_cpu(s, tend, done),
        );
    }

    #[inline(always)]
    fn sweep_any_cpu(
        &mut self,
        s: &State<T>,
        tend: &mut State<T>,
        mut done: impl FnMut(&Self, &mut State<T>, Rows),
    ) {
        let nj = s.nj() as isize;
        // Derived rows below the first strip, then strip by strip: derived rows
        // [c0, c1) let the tendencies of rows [c0 − 1, c1 − 1) be completed.
        self.derived(s, -3, 0);
        let mut c0 = 0;
        while c0 <= nj {
            let c1 = (c0 + STRIP).min(nj + 1);
            self.derived(s, c0, c1);
            let rows = (c0 - 1).max(0)..c1 - 1;
            self.tendency(s, tend, rows.clone());
            done(self, tend, rows);
            c0 = c1;
        }
    }

    /// Derived fields for the rows [c0, c1) (h one row further), each clipped to its range.
    #[inline(always)]
    fn derived(&mut self, s: &State<T>, c0: isize, c1: isize) {
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
    #[inline(always)]
    fn tendency(&mut self, s: &State<T>, tend: &mut State<T>, rows: Rows) {
        let (dx, dy) = (self.dx, self.dy);
        let (u, v) = (&s.u, &s.v);
        let (du, dv) = (&mut tend.u, &mut tend.v);
        let (inv_h_u, inv_h_v) = (&self.fluxes.inv_h_u, &self.fluxes.inv_h_v);
        self.fluxes
            .set_tendency(dx, dy, &mut tend.eta, rows.clone());
        self.pv
            .set_tendency(&self.fluxes.uh, &self.fluxes.vh, du, dv, rows.clone());
        self.bernoulli.add_tendency(dx, dy, du, dv, rows.clone());
        self.wind.add_tendency(inv_h_u, du, rows.clone());
        self.viscosity.add_tendency(u, v, du, dv, rows.clone());
        bottom_drag::add_tendency(self.bottom_drag, u, v, inv_h_u, inv_h_v, du, dv, rows);
    }

    /// Add the external forcing and zero the tendency on the wall points (the RK4 step
    /// does the same, through the same [`ExternalForcing::forced`], inside its update
    /// loop, to save a pass over memory).
    pub fn finish(&mut self, tend: &mut State<T>) {
        self.forcing
            .add_masked(&mut tend.u, &mut tend.v, &self.mask_u, &self.mask_v);
    }

    /// The full right-hand side.
    pub fn compute(&mut self, s: &State<T>, tend: &mut State<T>) {
        self.compute_internal(s, tend);
        self.finish(tend);
    }
}

#[cfg(test)]
mod tests;
