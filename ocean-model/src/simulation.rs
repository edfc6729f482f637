//! The run: grid → model → output writers → time loop, over the ocean communicator.
//!
//! Output scheduling is in [`outputs`]; the stability check (and the last good state it
//! saves) in [`stability`]; the checkpoints written when a run stops early (a failed
//! exchange, a stop signal) in [`stopping`].

mod outputs;
mod stability;
mod stopping;

use mpi::topology::SimpleCommunicator;
use mpi::traits::*;

use experiment::fault::{Faults, Point};

use crate::checkpoint::{self, Checkpoint};
use crate::config::{ForcingCheck, OutputPlan, Setup};
use crate::coupled::Coupling;
use crate::domain::Domain;
use crate::error::{OceanError, Result};
use crate::grid::Decomposition;
use crate::halo::Halo;
use crate::params::Params;
use crate::physics::forcing::{ForcingSource, NoForcing, StepStart};
use crate::physics::Rhs;
use crate::progress::{Progress, Speed};
use crate::real::Real;
use crate::state::State;
use crate::timestepper::{fill_state_halos, Rk4};

pub use outputs::Schedule;
pub use stability::{Culprit, WorstCell};
pub use stopping::Stopped;

/// A decomposed model, ready to step in the float type `T`.
pub struct Simulation<T: Real = f64> {
    pub params: Params,
    pub plan: OutputPlan,
    /// The check of received forcing (used by the coupling).
    pub forcing_check: ForcingCheck,
    pub domain: Domain,
    pub state: State<T>,
    pub rhs: Rhs<T>,
    halo: Halo<T>,
    rk4: Rk4<T>,
    /// Steps done since t = 0.
    pub step: u64,
    /// State and step of the last passed stability check.
    last_good: (State<T>, u64),
    /// Faults to inject (from `EDDYLINK_FAULT`; tests only).
    pub faults: Faults,
    /// Six global arrays on rank 0 (empty elsewhere) and a local work array.
    globals: [Vec<f64>; 6],
    work: Vec<f64>,
}

/// What a finished run reports.
#[derive(Debug, Clone)]
pub struct Summary {
    /// Steps done by this run.
    pub steps: u64,
    pub speed: Speed,
    /// Set when a signal stopped the run early (after a checkpoint).
    pub stopped: Option<Stopped>,
}

impl<T: Real> Simulation<T> {
    /// Decompose over `comm`, set up the terms and read the restart file if any.
    pub fn new(setup: Setup, comm: SimpleCommunicator) -> Result<Self> {
        let Setup {
            params: p,
            plan,
            layout,
            forcing: forcing_check,
        } = setup;
        let decomp = Decomposition::new(p.nx, p.ny, comm.size() as usize, layout)?;
        let domain = Domain::new(comm, decomp);
        let b = domain.rank_box;
        let mut sim = Simulation {
            state: State::zeros(b.ni, b.nj),
            rhs: Rhs::new(&p, b),
            halo: domain.halo(p.walls),
            rk4: Rk4::new(b.ni, b.nj),
            step: 0,
            last_good: (State::zeros(b.ni, b.nj), 0),
            globals: std::array::from_fn(|_| {
                if domain.is_root() {
                    vec![0.0; p.cells()]
                } else {
                    Vec::new()
                }
            }),
            work: vec![0.0; b.ni * b.nj],
            params: p,
            plan,
            domain,
            forcing_check,
            faults: Faults::default(),
        };
        if let Some(path) = sim.plan.restart.clone() {
            let ck = checkpoint::read(&path, &sim.params)?;
            sim.load(&ck);
        }
        fill_state_halos(&mut sim.halo, &mut sim.state);
        sim.last_good = (sim.state.clone(), sim.step);
        Ok(sim)
    }

    fn load(&mut self, ck: &Checkpoint) {
        let b = self.domain.rank_box;
        let nx = self.params.nx;
        let [u, v, eta, sx, sy] = &ck.arrays;
        for (field, global) in [
            (&mut self.state.u, u),
            (&mut self.state.v, v),
            (&mut self.state.eta, eta),
        ] {
            checkpoint::extract_box(global, nx, b, &mut self.work);
            field.set_interior_from(&self.work);
        }
        checkpoint::extract_box(sx, nx, b, &mut self.rhs.forcing.sx);
        checkpoint::extract_box(sy, nx, b, &mut self.rhs.forcing.sy);
        self.step = ck.step;
    }

    /// Model time (s).
    pub fn time(&self) -> f64 {
        self.step as f64 * self.params.dt
    }

    /// Run the planned number of steps, writing output on its schedules; a stop signal
    /// ends it early at a step the ranks agree on, after a checkpoint of that step.
    pub fn run(&mut self, mut coupling: Option<&mut (dyn Coupling<T> + '_)>) -> Result<Summary> {
        let root = self.domain.is_root();
        let run_dir = self.plan.run_dir.clone();
        std::fs::create_dir_all(&run_dir).map_err(|source| OceanError::Io {
            path: run_dir.clone(),
            source,
        })?;
        let coupled = coupling.is_some();
        let (first, steps) = (self.step, self.plan.steps);
        let sets = self.data_sets(first + steps, coupled)?;
        let mut writers = self.open_writers(&sets)?;

        if let Some(c) = coupling.as_deref_mut() {
            c.put_masks(self.time(), &self.rhs)?;
        }
        self.write_outputs(true, coupled, &mut writers)?;
        let interval = self.plan.progress_interval_s;
        let mut progress = Progress::new(root, first, steps, self.params.dt, interval);
        for _ in 0..steps {
            if let Some(signal) = self.agreed_stop(coupling.as_deref()) {
                writers.close()?;
                let stopped = self.stop_on(signal, coupling)?;
                return Ok(Summary {
                    steps: self.step - first,
                    speed: progress.finish(self.step),
                    stopped: Some(stopped),
                });
            }
            self.faults.trigger(Point::At(self.step + 1), "ocean");
            if let Err(e) = self.coupled_step(coupling.as_deref_mut()) {
                if let Some(c) = coupling.as_deref() {
                    self.save_after_failure(c.failure_wait());
                }
                return Err(e);
            }
            let n = self.step - first;
            if n % self.plan.check_every == 0 || n == steps {
                self.check_stability()?;
            }
            self.write_outputs(false, coupled, &mut writers)?;
            progress.tick(self.step);
        }
        let every = self.plan.checkpoint_every;
        if every == 0 || self.step % every != 0 {
            self.write_checkpoint(checkpoint::path_for(&run_dir, self.step))?;
        }
        writers.close()?;
        Ok(Summary {
            steps,
            speed: progress.finish(self.step),
            stopped: None,
        })
    }

    /// One time step: put the surface fields, step (receiving the forcing inside the first
    /// RK4 stage), count it.
    fn coupled_step(&mut self, mut coupling: Option<&mut (dyn Coupling<T> + '_)>) -> Result<()> {
        let at = StepStart {
            step: self.step,
            time_s: self.time(),
        };
        if let Some(c) = coupling.as_deref_mut() {
            c.put_surface(at.time_s, &self.state)?;
        }
        let forcing: &mut dyn ForcingSource<T> = match coupling {
            Some(c) => c,
            None => &mut NoForcing,
        };
        let (state, rhs, halo) = (&mut self.state, &mut self.rhs, &mut self.halo);
        self.rk4
            .step(at, self.params.dt, state, rhs, halo, forcing)?;
        self.step += 1;
        Ok(())
    }
}
