//! `ocean-model bench`: cost of a full RK4 step per grid cell, and SYPD, at several
//! resolutions, on the ranks the benchmark was launched with, in f64 or f32
//! (`--precision`). Outputs are off.

use std::time::Instant;

use mpi::topology::SimpleCommunicator;
use mpi::traits::*;

use crate::domain::Domain;
use crate::error::Result;
use crate::grid::Decomposition;
use crate::params::Params;
use crate::physics::forcing::{NoForcing, StepStart};
use crate::physics::Rhs;
use crate::real::Real;
use crate::state::State;
use crate::timestepper::{fill_state_halos, Rk4};

/// One measured resolution.
#[derive(Debug, Clone, Copy)]
pub struct BenchResult {
    pub n: usize,
    pub ranks: usize,
    pub steps: u64,
    /// Wall-clock nanoseconds per grid cell per RK4 step (whole job).
    pub ns_per_cell_step: f64,
    /// The same times the number of ranks: cost on one core.
    pub core_ns_per_cell_step: f64,
    /// Simulated years per wall-clock day at the default time step.
    pub sypd: f64,
    pub dt: f64,
}

/// Time `steps` RK4 steps (after `steps / 10 + 1` warm-up steps) of an n × n double gyre,
/// stepped in `T`.
pub fn run_one<T: Real>(comm: &SimpleCommunicator, n: usize, steps: u64) -> Result<BenchResult> {
    let p = Params::for_grid(n, n);
    p.validate()?;
    let size = comm.size() as usize;
    let domain = Domain::new(comm.duplicate(), Decomposition::new(n, n, size, None)?);
    let b = domain.rank_box;
    let (mut state, mut rhs, mut rk4) = (
        State::<T>::zeros(b.ni, b.nj),
        Rhs::<T>::new(&p, b),
        Rk4::<T>::new(b.ni, b.nj),
    );
    let mut halo = domain.halo(p.walls);
    fill_state_halos(&mut halo, &mut state);
    let mut step = |k: u64| {
        let at = StepStart {
            step: k,
            time_s: k as f64 * p.dt,
        };
        rk4.step(at, p.dt, &mut state, &mut rhs, &mut halo, &mut NoForcing)
    };
    let warm_up = steps / 10 + 1;
    for k in 0..warm_up {
        step(k)?;
    }
    comm.barrier();
    let start = Instant::now();
    for k in warm_up..warm_up + steps {
        step(k)?;
    }
    comm.barrier();
    let wall = domain.max(start.elapsed().as_secs_f64());
    let ns = wall * 1e9 / (steps as f64 * (n * n) as f64);
    Ok(BenchResult {
        n,
        ranks: size,
        steps,
        ns_per_cell_step: ns,
        core_ns_per_cell_step: ns * size as f64,
        sypd: crate::progress::speed(steps, p.dt, wall).sypd,
        dt: p.dt,
    })
}
