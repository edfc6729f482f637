//! Classical fourth-order Runge–Kutta with preallocated stages.
//!
//! y_{n+1} = y_n + dt (k1 + 2 k2 + 2 k3 + k4) / 6, stages at y_n + dt/2 k1,
//! y_n + dt/2 k2, y_n + dt k3. Halos are refreshed before every evaluation.

use crate::error::Result;
use crate::field::Stagger;
use crate::halo::Halo;
use crate::physics::forcing::{ForcingSource, StepStart};
use crate::physics::{simd, Rhs, Rows, STRIP};
use crate::real::Real;
use crate::state::State;

const STAGE_OFFSET: [f64; 3] = [0.5, 0.5, 1.0];
const WEIGHT: [f64; 4] = [1.0 / 6.0, 1.0 / 3.0, 1.0 / 3.0, 1.0 / 6.0];

/// RK4 work arrays for one rank box.
pub struct Rk4<T: Real = f64> {
    start: State<T>,
    /// The stage being read (y_n + c k) and the next one being written: two, so
    /// that a stage can be written while the sweep over the one before still reads it.
    stage: State<T>,
    next_stage: State<T>,
    /// k of the first stage, whole box: it is used after the forcing arrives.
    tend: State<T>,
    /// k of the later stages, used strip by strip: the last rows only.
    tend_strip: State<T>,
}

impl<T: Real> Rk4<T> {
    pub fn new(ni: usize, nj: usize) -> Self {
        Rk4 {
            start: State::zeros(ni, nj),
            stage: State::zeros(ni, nj),
            next_stage: State::zeros(ni, nj),
            tend: State::zeros(ni, nj),
            tend_strip: State::row_ring(ni, nj, STRIP as usize + 1),
        }
    }

    /// Advance `state`, the state at `at`, by `dt` seconds. `state` must have fresh halos
    /// (every step leaves them so). The external forcing comes from `forcing` (see
    /// [`ForcingSource`] for when it is called): in the first stage, after every other
    /// term has been computed and just before the forcing is added. If it fails, the
    /// error comes back with `state` still at y_n.
    ///
    /// The first stage updates after its sweep, once the forcing is there; the later ones
    /// update each strip of rows inside the sweep, while it is in cache.
    pub fn step(
        &mut self,
        at: StepStart,
        dt: f64,
        state: &mut State<T>,
        rhs: &mut Rhs<T>,
        halo: &mut Halo<T>,
        forcing: &mut dyn ForcingSource<T>,
    ) -> Result<()> {
        // y_n moves to `start` (no copy); `state` becomes the accumulator.
        std::mem::swap(state, &mut self.start);
        let nj = state.nj() as isize;
        let mut unforced = false;
        for (s, weight) in WEIGHT.iter().enumerate() {
            let mut stage = Stage {
                w: T::from_f64(weight * dt),
                next: STAGE_OFFSET.get(s).map(|c| T::from_f64(c * dt)),
                first: s == 0,
                unforced,
            };
            let (start, next_stage) = (&self.start, &mut self.next_stage);
            if s == 0 && !forcing.is_late() {
                // Known before the sweep (no forcing): the first stage too updates strip by
                // strip, and k1 never goes to memory.
                if let Err(e) = forcing.refresh(at, start, &mut rhs.forcing) {
                    std::mem::swap(state, &mut self.start);
                    return Err(e);
                }
                unforced = rhs.forcing.is_zero();
                stage.unforced = unforced;
                rhs.sweep(start, &mut self.tend_strip, |rhs, tend, rows| {
                    stage.update(rhs, state, next_stage, start, tend, rows)
                });
            } else if s == 0 {
                rhs.sweep(start, &mut self.tend, |_, _, _| forcing.progress());
                if let Err(e) = forcing.refresh(at, start, &mut rhs.forcing) {
                    // Nothing is written yet: hand y_n back, so that the caller can still
                    // save the last completed step.
                    std::mem::swap(state, &mut self.start);
                    return Err(e);
                }
                unforced = rhs.forcing.is_zero();
                stage.unforced = unforced;
                let tend = &self.tend;
                simd::widest(
                    #[inline(always)]
                    || stage.update(rhs, state, next_stage, start, tend, 0..nj),
                );
            } else {
                rhs.sweep(&self.stage, &mut self.tend_strip, |rhs, tend, rows| {
                    stage.update(rhs, state, next_stage, start, tend, rows)
                });
            }
            if stage.next.is_some() {
                std::mem::swap(&mut self.stage, &mut self.next_stage);
                fill_state_halos(halo, &mut self.stage);
            }
        }
        fill_state_halos(halo, state);
        Ok(())
    }
}

/// Refresh the halos of u, v and eta (one message per neighbour for all three).
pub fn fill_state_halos<T: Real>(halo: &mut Halo<T>, s: &mut State<T>) {
    halo.fill_halos_of([
        (&mut s.u, Stagger::U),
        (&mut s.v, Stagger::V),
        (&mut s.eta, Stagger::T),
    ]);
}

/// One RK4 stage's update: with k = (tend + a S) · mask (u, v;
/// [`crate::physics::forcing::ExternalForcing::forced`])
/// or k = tend (eta),
/// acc = start + w k in the first stage, acc += w k after, and
/// stage = start + c k when there is a next stage (c = `next`). `unforced`: S is +0
/// everywhere ([`crate::physics::forcing::ExternalForcing::is_zero`]), so it is not read
/// (two streams fewer per stage).
#[derive(Clone, Copy)]
struct Stage<T> {
    w: T,
    next: Option<T>,
    first: bool,
    unforced: bool,
}

impl<T: Real> Stage<T> {
    /// The update on the owned points of `rows`.
    #[inline(always)]
    fn update(
        &self,
        rhs: &Rhs<T>,
        acc: &mut State<T>,
        stage: &mut State<T>,
        start: &State<T>,
        tend: &State<T>,
        rows: Rows,
    ) {
        let (f, ni) = (&rhs.forcing, acc.ni());
        let mask_u = &rhs.mask_u_of_column[..ni];
        let zero = T::ZERO;
        for j in rows {
            let (sx, sy) = f.row(j as usize, ni);
            let mask_v = rhs.mask_v_of_row[j as usize];
            let (k, s0) = (tend.u.span(0, j, ni), start.u.span(0, j, ni));
            let (a, st) = (acc.u.span_mut(0, j, ni), stage.u.span_mut(0, j, ni));
            match self.unforced {
                true => self.row(a, st, s0, ni, |i| f.forced(k[i], zero, mask_u[i])),
                false => self.row(a, st, s0, ni, |i| f.forced(k[i], sx[i], mask_u[i])),
            }
            let (k, s0) = (tend.v.span(0, j, ni), start.v.span(0, j, ni));
            let (a, st) = (acc.v.span_mut(0, j, ni), stage.v.span_mut(0, j, ni));
            match self.unforced {
                true => self.row(a, st, s0, ni, |i| f.forced(k[i], zero, mask_v)),
                false => self.row(a, st, s0, ni, |i| f.forced(k[i], sy[i], mask_v)),
            }
            let (k, s0) = (tend.eta.span(0, j, ni), start.eta.span(0, j, ni));
            let (a, st) = (acc.eta.span_mut(0, j, ni), stage.eta.span_mut(0, j, ni));
            self.row(a, st, s0, ni, |i| k[i]);
        }
    }

    /// One row of the update, with k[i] given by `k`, in one branch-free loop.
    #[inline(always)]
    fn row(&self, a: &mut [T], st: &mut [T], s0: &[T], n: usize, k: impl Fn(usize) -> T) {
        let (a, st, s0) = (&mut a[..n], &mut st[..n], &s0[..n]);
        let w = self.w;
        match (self.first, self.next) {
            (true, Some(c)) => {
                for i in 0..n {
                    let k = k(i);
                    a[i] = s0[i] + w * k;
                    st[i] = s0[i] + c * k;
                }
            }
            (false, Some(c)) => {
                for i in 0..n {
                    let k = k(i);
                    a[i] += w * k;
                    st[i] = s0[i] + c * k;
                }
            }
            (true, None) => {
                for i in 0..n {
                    a[i] = s0[i] + w * k(i);
                }
            }
            (false, None) => {
                for (i, a) in a.iter_mut().enumerate() {
                    *a += w * k(i);
                }
            }
        }
    }
}
