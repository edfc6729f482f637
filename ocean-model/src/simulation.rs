//! The run: grid → model → output writers → time loop, over the ocean communicator.

use std::path::PathBuf;

use mpi::topology::SimpleCommunicator;
use mpi::traits::*;

use std::time::{Duration, Instant};

use coupler::fault::{Faults, Point};

use crate::checkpoint::{self, Checkpoint};
use crate::config::{ForcingCheck, OutputPlan, Setup};
use crate::coupled::OceanCoupling;
use crate::diagnostics::{self, relative_vorticity};
use crate::domain::Domain;
use crate::error::{OceanError, Result};
use crate::grid::Decomposition;
use crate::halo::Halo;
use crate::output::{self, RecordWriter, DIAGNOSTIC_VARS};
use crate::params::Params;
use crate::physics::Rhs;
use crate::progress::{Progress, Speed};
use crate::state::State;
use crate::timestepper::{fill_state_halos, Rk4};

/// A decomposed model, ready to step.
pub struct Simulation {
    pub params: Params,
    pub plan: OutputPlan,
    /// The check of received forcing (used by the coupling).
    pub forcing_check: ForcingCheck,
    pub domain: Domain,
    pub state: State,
    pub rhs: Rhs,
    halo: Halo,
    rk4: Rk4,
    /// Steps done since t = 0.
    pub step: u64,
    /// State and step of the last passed stability check.
    last_good: (State, u64),
    /// Faults to inject (from `EDDYLINK_FAULT`; tests only).
    pub faults: Faults,
    /// Six global arrays on rank 0 (empty elsewhere) and a local work array.
    globals: [Vec<f64>; 6],
    work: Vec<f64>,
}

/// What a finished run reports.
#[derive(Debug, Clone, Copy)]
pub struct Summary {
    pub steps: u64,
    pub speed: Speed,
}

impl Simulation {
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

    /// Run the planned number of steps, writing output on its schedules.
    pub fn run(&mut self, mut coupling: Option<&mut OceanCoupling>) -> Result<Summary> {
        let plan = self.plan.clone();
        let root = self.domain.is_root();
        std::fs::create_dir_all(&plan.run_dir).map_err(|source| OceanError::Io {
            path: plan.run_dir.clone(),
            source,
        })?;
        let suffix = if self.step == 0 {
            String::new()
        } else {
            format!("_from_step{}", self.step)
        };
        let records = |every: u64| {
            plan.steps
                .checked_div(every)
                .map_or(0, |k| (k + 1) as usize)
        };
        let nc = |e| output::nc_err(&plan.run_dir, e);
        let coupled = coupling.is_some();
        let snap_ds = output::snapshot_dataset(&self.params, records(plan.snapshot_every), coupled)
            .map_err(nc)?;
        let diag_ds = output::diagnostics_dataset(records(plan.diagnostics_every)).map_err(nc)?;
        let coords = output::grid_coordinates(&self.params);
        let mut snaps = match root && plan.snapshot_every > 0 {
            true => Some(RecordWriter::create(
                plan.run_dir.join(format!("snapshots{suffix}.nc")),
                &snap_ds,
                &coords,
            )?),
            false => None,
        };
        let mut diags = match root && plan.diagnostics_every > 0 {
            true => Some(RecordWriter::create(
                plan.run_dir.join(format!("diagnostics{suffix}.nc")),
                &diag_ds,
                &[],
            )?),
            false => None,
        };

        let first = self.step;
        let dt = self.params.dt;
        if let Some(c) = coupling.as_deref_mut() {
            c.put_masks(self.time(), &self.rhs)?;
        }
        self.write_outputs(0, &plan, coupled, &mut snaps, &mut diags)?;
        let mut progress = Progress::new(root, first, plan.steps, dt, plan.progress_interval_s);
        for n in 1..=plan.steps {
            self.faults.trigger(Point::At(self.step + 1), "ocean");
            if let Err(e) = self.coupled_step(coupling.as_deref_mut()) {
                if let Some(c) = coupling.as_deref() {
                    self.save_after_failure(c.failure_wait());
                }
                return Err(e);
            }
            if n % plan.check_every == 0 || n == plan.steps {
                self.check_stability()?;
            }
            self.write_outputs(n, &plan, coupled, &mut snaps, &mut diags)?;
            progress.tick(self.step);
        }
        if plan.checkpoint_every == 0 || self.step % plan.checkpoint_every != 0 {
            self.write_checkpoint(checkpoint::path_for(&plan.run_dir, self.step))?;
        }
        for w in [snaps, diags].into_iter().flatten() {
            w.close()?;
        }
        Ok(Summary {
            steps: plan.steps,
            speed: progress.finish(self.step),
        })
    }

    /// One time step: put the surface fields, step (receiving the forcing inside the first
    /// RK4 stage), count it.
    fn coupled_step(&mut self, mut coupling: Option<&mut OceanCoupling>) -> Result<()> {
        let (t, step) = (self.time(), self.step);
        if let Some(c) = coupling.as_deref_mut() {
            c.put_surface(t, &self.state)?;
        }
        let Some(c) = coupling else {
            self.rk4.step(
                &mut self.state,
                &mut self.rhs,
                &mut self.halo,
                self.params.dt,
                &mut |_| Ok(()),
            )?;
            self.step += 1;
            return Ok(());
        };
        let c = std::cell::RefCell::new(c);
        self.rk4.step_with_progress(
            &mut self.state,
            &mut self.rhs,
            &mut self.halo,
            self.params.dt,
            &mut |f| c.borrow_mut().get_forcing(t, step, f),
            &mut || c.borrow_mut().progress(),
        )?;
        self.step += 1;
        Ok(())
    }

    /// After a failed exchange: writes a checkpoint of the last completed step, if every
    /// ocean rank has stopped at that same step (agreed within `wait`: a rank stuck in a
    /// halo exchange with a rank that went on would never join a collective). Returns
    /// its path.
    pub fn save_after_failure(&mut self, wait: Duration) -> Option<PathBuf> {
        let root = self.domain.is_root();
        let Some((lo, hi)) = self.step_range_within(wait) else {
            if root {
                tracing::error!(
                    "the ocean ranks did not all stop within {wait:?}: no checkpoint at the failure; restart from the last periodic one in {}",
                    self.plan.run_dir.display()
                );
            }
            return None;
        };
        if lo != hi {
            if root {
                tracing::error!(
                    "the ocean ranks stopped at steps {lo}..{hi}: no checkpoint at the failure; restart from the last periodic one in {}",
                    self.plan.run_dir.display()
                );
            }
            return None;
        }
        let path = checkpoint::path_for(&self.plan.run_dir, self.step);
        let written = self.write_checkpoint(path.clone());
        // Every rank is here (they agreed above): none may end the job before rank 0 has
        // written the file.
        self.domain.comm.barrier();
        match written {
            Ok(()) => {
                if root {
                    tracing::warn!(
                        "checkpoint of the last completed step {} (t = {} s) written to {}",
                        self.step,
                        self.time(),
                        path.display()
                    );
                }
                Some(path)
            }
            Err(e) => {
                tracing::error!("could not write the checkpoint after the failure: {e}");
                None
            }
        }
    }

    /// The lowest and highest step of the ocean ranks, unless they do not all answer
    /// within `wait` (a non-blocking all-reduce, polled).
    fn step_range_within(&self, wait: Duration) -> Option<(u64, u64)> {
        use mpi::collective::SystemOperation;
        use mpi::request::StaticScope;
        // Leaked: on a timeout the request is abandoned with the job about to abort.
        let send: &'static [f64; 2] = Box::leak(Box::new([self.step as f64, -(self.step as f64)]));
        let recv: *mut [f64; 2] = Box::into_raw(Box::new([0.0; 2]));
        // SAFETY: `recv` is leaked, so it outlives the request; it is read only once the
        // request has completed.
        let mut req = self.domain.comm.immediate_all_reduce_into(
            StaticScope,
            &send[..],
            unsafe { (&mut *recv).as_mut_slice() },
            SystemOperation::max(),
        );
        let deadline = Instant::now() + wait;
        loop {
            match req.test() {
                // SAFETY: the request has completed (see above).
                Ok(_) => {
                    let [hi, neg_lo] = unsafe { *recv };
                    return Some(((-neg_lo) as u64, hi as u64));
                }
                Err(pending) => req = pending,
            }
            if Instant::now() >= deadline {
                std::mem::forget(req);
                return None;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// Snapshots, diagnostics and checkpoints due after `n` steps of this run.
    fn write_outputs(
        &mut self,
        n: u64,
        plan: &OutputPlan,
        coupled: bool,
        snaps: &mut Option<RecordWriter>,
        diags: &mut Option<RecordWriter>,
    ) -> Result<()> {
        let due = |every: u64| every > 0 && n % every == 0;
        if due(plan.snapshot_every) {
            self.write_snapshot(snaps, coupled)?;
        }
        if due(plan.diagnostics_every) {
            self.write_diagnostics(diags)?;
        }
        // Checkpoints fall on multiples of the interval counted from t = 0, restarts or not
        // (so that they stay on coupling times).
        let every = plan.checkpoint_every;
        if n > 0 && every > 0 && self.step % every == 0 {
            self.write_checkpoint(checkpoint::path_for(&plan.run_dir, self.step))?;
        }
        Ok(())
    }

    /// Gather and write u, v, η, vorticity and, in a `coupled` run, the level-0 forcing
    /// last received (collective; rank 0 writes).
    fn write_snapshot(&mut self, w: &mut Option<RecordWriter>, coupled: bool) -> Result<()> {
        let t = self.time();
        let [gu, gv, geta, gzeta, gsx, gsy] = &mut self.globals;
        self.domain.gather(&self.state.u, gu);
        self.domain.gather(&self.state.v, gv);
        self.domain.gather(&self.state.eta, geta);
        relative_vorticity(&self.params, &self.state.u, &self.state.v, &mut self.work);
        self.domain.gather_slice(&self.work, gzeta);
        if coupled {
            let n = self.work.len();
            self.domain.gather_slice(&self.rhs.forcing.sx[..n], gsx);
            self.domain.gather_slice(&self.rhs.forcing.sy[..n], gsy);
        }
        let vars: [(&str, &[f64]); 6] = [
            ("u", gu),
            ("v", gv),
            ("eta", geta),
            ("vorticity", gzeta),
            ("sx", gsx),
            ("sy", gsy),
        ];
        let written = if coupled { &vars[..] } else { &vars[..4] };
        if let Some(w) = w.as_mut().filter(|w| !w.is_full()) {
            w.write(t, written)?;
        }
        Ok(())
    }

    fn write_diagnostics(&mut self, w: &mut Option<RecordWriter>) -> Result<()> {
        let local = diagnostics::integrals(&self.params, &self.state);
        let cfl = self
            .domain
            .max(diagnostics::worst_point(&self.params, &self.state).cfl);
        let values = [
            self.domain.sum(local.kinetic_energy),
            self.domain.sum(local.potential_energy),
            self.domain.sum(local.volume),
            cfl,
        ];
        if let Some(w) = w.as_mut().filter(|w| !w.is_full()) {
            let vars: Vec<(&str, &[f64])> = DIAGNOSTIC_VARS
                .iter()
                .zip(&values)
                .map(|((n, ..), v)| (*n, std::slice::from_ref(v)))
                .collect();
            w.write(self.time(), &vars)?;
        }
        Ok(())
    }

    /// Gather the state and forcing and write a checkpoint (collective; rank 0 writes).
    pub fn write_checkpoint(&mut self, path: PathBuf) -> Result<()> {
        let time = self.time();
        let [gu, gv, geta, gsx, gsy, _] = &mut self.globals;
        self.domain.gather(&self.state.u, gu);
        self.domain.gather(&self.state.v, gv);
        self.domain.gather(&self.state.eta, geta);
        let n = self.work.len();
        self.domain.gather_slice(&self.rhs.forcing.sx[..n], gsx);
        self.domain.gather_slice(&self.rhs.forcing.sy[..n], gsy);
        if self.domain.is_root() {
            let arrays = [&gu[..], &gv[..], &geta[..], &gsx[..], &gsy[..]];
            checkpoint::write(&path, &self.params, self.step, time, arrays)?;
        }
        Ok(())
    }

    /// Stop with the location of the problem if the state is non-finite or CFL > 1;
    /// the last good state is written as a checkpoint first.
    fn check_stability(&mut self) -> Result<()> {
        let w = diagnostics::worst_point(&self.params, &self.state);
        let b = self.domain.rank_box;
        let bad = if w.non_finite.is_some() { 1.0 } else { 0.0 };
        let value = w.non_finite.map_or(w.cfl, |(_, v)| v);
        let code = match w.non_finite.map(|(n, _)| n) {
            Some("u") => 1.0,
            Some("v") => 2.0,
            Some(_) => 3.0,
            None => 0.0,
        };
        let mine = [
            bad,
            if w.cfl.is_finite() { w.cfl } else { f64::MAX },
            (b.i0 + w.i) as f64,
            (b.j0 + w.j) as f64,
            value,
            code,
        ];
        let mut all = vec![0.0; 6 * self.domain.decomp.size()];
        self.domain.all_gather(mine, &mut all);
        let worst = all
            .chunks_exact(6)
            .max_by(|a, b| {
                (a[0], a[1])
                    .partial_cmp(&(b[0], b[1]))
                    .unwrap_or(std::cmp::Ordering::Equal)
            })
            .map(|c| c.to_vec())
            .unwrap_or_default();
        if worst.len() == 6 && (worst[0] > 0.0 || worst[1] > 1.0) {
            let (state, step) = self.last_good.clone();
            let path = checkpoint::path_for(&self.plan.run_dir, step);
            let (bad_state, bad_step) = (std::mem::replace(&mut self.state, state), self.step);
            self.step = step;
            self.write_checkpoint(path.clone())?;
            self.state = bad_state;
            self.step = bad_step;
            let field = match worst[5] as u8 {
                1 => "u",
                2 => "v",
                3 => "eta",
                _ => "CFL",
            };
            return Err(OceanError::Unstable {
                step: self.step,
                time_s: self.time(),
                field,
                value: worst[4],
                i: worst[2] as usize,
                j: worst[3] as usize,
                cfl: worst[1],
                last_good: path,
            });
        }
        self.last_good.0.copy_from(&self.state);
        self.last_good.1 = self.step;
        Ok(())
    }
}
