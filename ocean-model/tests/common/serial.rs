//! A serial model (no MPI) for the physics tests: parameters, state and the objects that
//! step it.

use ocean_model::grid::RankBox;
use ocean_model::halo::Halo;
use ocean_model::params::Params;
use ocean_model::physics::forcing::{NoForcing, StepStart};
use ocean_model::physics::Rhs;
use ocean_model::real::Real;
use ocean_model::state::State;
use ocean_model::timestepper::{fill_state_halos, Rk4};

/// The serial model in f64, as the physics tests use it.
pub type Model = ModelOf<f64>;

/// The serial model in the float type `T`.
pub struct ModelOf<T: Real> {
    pub p: Params,
    pub state: State<T>,
    pub rhs: Rhs<T>,
    pub halo: Halo<T>,
    pub rk4: Rk4<T>,
}

impl<T: Real> ModelOf<T> {
    pub fn new(p: Params) -> Self {
        p.validate().expect("valid parameters");
        let (nx, ny) = (p.nx, p.ny);
        let whole = RankBox {
            i0: 0,
            j0: 0,
            ni: nx,
            nj: ny,
        };
        ModelOf {
            state: State::zeros(nx, ny),
            rhs: Rhs::new(&p, whole),
            halo: Halo::serial(nx, ny, p.walls),
            rk4: Rk4::new(nx, ny),
            p,
        }
    }

    /// `steps` RK4 steps of `p.dt` without external forcing; `each(n, state)` after each.
    pub fn run(&mut self, steps: usize, mut each: impl FnMut(usize, &State<T>)) {
        fill_state_halos(&mut self.halo, &mut self.state);
        let dt = self.p.dt;
        for n in 1..=steps {
            let at = StepStart {
                step: n as u64 - 1,
                time_s: (n - 1) as f64 * dt,
            };
            let (state, rhs, halo) = (&mut self.state, &mut self.rhs, &mut self.halo);
            self.rk4
                .step(at, dt, state, rhs, halo, &mut NoForcing)
                .expect("step");
            each(n, &self.state);
        }
    }

    /// The tendency of the current state (halos refreshed first).
    pub fn tendency(&mut self) -> State<T> {
        fill_state_halos(&mut self.halo, &mut self.state);
        let mut t = State::zeros(self.p.nx, self.p.ny);
        self.rhs.compute(&self.state, &mut t);
        t
    }
}
