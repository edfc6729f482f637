//! Classical fourth-order Runge–Kutta with preallocated stages.
//!
//! y_{n+1} = y_n + dt (k1 + 2 k2 + 2 k3 + k4) / 6, stages at y_n + dt/2 k1,
//! y_n + dt/2 k2, y_n + dt k3. Halos are refreshed before every evaluation.

use crate::error::Result;
use crate::field::{Field, Stagger};
use crate::halo::Halo;
use crate::physics::forcing::ExternalForcing;
use crate::physics::Rhs;
use crate::state::State;

const STAGE_OFFSET: [f64; 3] = [0.5, 0.5, 1.0];
const WEIGHT: [f64; 4] = [1.0 / 6.0, 1.0 / 3.0, 1.0 / 3.0, 1.0 / 6.0];

/// RK4 work arrays for one rank box.
pub struct Rk4 {
    start: State,
    stage: State,
    tend: State,
}

impl Rk4 {
    pub fn new(ni: usize, nj: usize) -> Self {
        Rk4 {
            start: State::zeros(ni, nj),
            stage: State::zeros(ni, nj),
            tend: State::zeros(ni, nj),
        }
    }

    /// Advance `state` by `dt` seconds. `state` must have fresh halos (every step
    /// leaves them so). `refresh_forcing` runs once per step, in the first stage,
    /// after every other term has been computed and just before the forcing is
    /// added: the coupler's `get` belongs there.
    pub fn step(
        &mut self,
        state: &mut State,
        rhs: &mut Rhs,
        halo: &mut Halo,
        dt: f64,
        refresh_forcing: &mut dyn FnMut(&mut ExternalForcing) -> Result<()>,
    ) -> Result<()> {
        // y_n moves to `start` (no copy); `state` becomes the accumulator.
        std::mem::swap(state, &mut self.start);
        for (s, weight) in WEIGHT.iter().enumerate() {
            let input = if s == 0 { &self.start } else { &self.stage };
            rhs.compute_internal(input, &mut self.tend);
            if s == 0 {
                refresh_forcing(&mut rhs.forcing)?;
            }
            let f = &rhs.forcing;
            let next = STAGE_OFFSET.get(s).map(|c| c * dt);
            let w = weight * dt;
            let first = s == 0;
            update(
                &mut state.u,
                &mut self.stage.u,
                &self.start.u,
                &mut self.tend.u,
                Some((&f.sx, f.factor)),
                &rhs.mask_u,
                w,
                next,
                first,
            );
            update(
                &mut state.v,
                &mut self.stage.v,
                &self.start.v,
                &mut self.tend.v,
                Some((&f.sy, f.factor)),
                &rhs.mask_v,
                w,
                next,
                first,
            );
            update(
                &mut state.eta,
                &mut self.stage.eta,
                &self.start.eta,
                &mut self.tend.eta,
                None,
                &rhs.mask_t,
                w,
                next,
                first,
            );
            if next.is_some() {
                fill_state_halos(halo, &mut self.stage);
            }
        }
        fill_state_halos(halo, state);
        Ok(())
    }
}

/// Refresh the halos of u, v and eta.
pub fn fill_state_halos(halo: &mut Halo, s: &mut State) {
    halo.fill_halos(&mut s.u, Stagger::U);
    halo.fill_halos(&mut s.v, Stagger::V);
    halo.fill_halos(&mut s.eta, Stagger::T);
}

/// With k = (tend + a S) · mask (u, v) or k = tend (eta): acc = start + w k in the
/// first stage, acc += w k after, and stage = start + c k when there is a next stage;
/// owned points only. k overwrites `tend`; each row is done in short branch-free loops.
#[allow(clippy::too_many_arguments)]
fn update(
    acc: &mut Field,
    stage: &mut Field,
    start: &Field,
    tend: &mut Field,
    forcing: Option<(&[f64], f64)>,
    mask: &Field,
    w: f64,
    next: Option<f64>,
    first: bool,
) {
    let ni = acc.ni;
    for j in 0..acc.nj as isize {
        let k = tend.span_mut(0, j, ni);
        if let Some((s, fa)) = forcing {
            let row = j as usize * ni;
            let (s, m) = (&s[row..row + ni], mask.span(0, j, ni));
            for i in 0..ni {
                k[i] = (k[i] + fa * s[i]) * m[i];
            }
        }
        let s0 = start.span(0, j, ni);
        let a = acc.span_mut(0, j, ni);
        if first {
            for i in 0..ni {
                a[i] = s0[i] + w * k[i];
            }
        } else {
            for i in 0..ni {
                a[i] += w * k[i];
            }
        }
        if let Some(c) = next {
            let st = stage.span_mut(0, j, ni);
            for i in 0..ni {
                st[i] = s0[i] + c * k[i];
            }
        }
    }
}
