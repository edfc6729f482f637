//! Stopping early and saving the work: a checkpoint of the last completed step after a
//! failed exchange, and a checkpoint of an agreed step when the job is asked to stop by a
//! signal (SIGTERM, SIGINT, SIGUSR1). (The last good state when the model blows up is
//! [`super::stability`]'s.)

use std::path::PathBuf;
use std::time::{Duration, Instant};

use coupler::signals::{self, Signal};
use mpi::traits::*;

use super::Simulation;
use crate::checkpoint;
use crate::coupled::Coupling;
use crate::error::Result;

/// A run that stopped early on a signal, after saving a checkpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct Stopped {
    pub signal: Signal,
    /// The step of the checkpoint, from t = 0.
    pub step: u64,
    pub time_s: f64,
    pub checkpoint: PathBuf,
}

impl std::fmt::Display for Stopped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "stopped by {} at step {} (t = {} s); restart with --restart {}",
            self.signal,
            self.step,
            self.time_s,
            self.checkpoint.display()
        )
    }
}

/// An error for the binary to end with: exit status [`Signal::exit_code`].
impl std::error::Error for Stopped {}

impl<T: crate::real::Real> Simulation<T> {
    /// The stop signal the ocean ranks agree on at this step, if a rank received one and
    /// the step is one to stop at: any step of a standalone run; in a coupled run a
    /// coupling time of every exchange, from which the coupled restart is allowed.
    /// Collective (one small all-reduce) at those steps.
    pub(super) fn agreed_stop(&self, coupling: Option<&(dyn Coupling<T> + '_)>) -> Option<Signal> {
        if coupling.is_some_and(|c| !c.is_restart_time(self.time())) {
            return None;
        }
        let mine = signals::requested().map_or(0, Signal::number);
        Signal::from_number(self.domain.max(f64::from(mine)) as i32)
    }

    /// Saves the current (completed) step as a checkpoint on every rank's behalf and,
    /// in a coupled run, tells the other components; the caller then finalizes.
    pub(super) fn stop_on(
        &mut self,
        signal: Signal,
        coupling: Option<&mut (dyn Coupling<T> + '_)>,
    ) -> Result<Stopped> {
        let root = self.domain.is_root();
        if root {
            tracing::warn!(
                "{signal} received: saving step {} (t = {} s) and stopping",
                self.step,
                self.time()
            );
        }
        let path = checkpoint::path_for(&self.plan.run_dir, self.step);
        let written = self.write_checkpoint(path.clone());
        // No rank may go on (and end the job) before rank 0 has written the file; every
        // rank waits here, also when rank 0 failed to write it.
        self.domain.comm.barrier();
        written?;
        let stopped = Stopped {
            signal,
            step: self.step,
            time_s: self.time(),
            checkpoint: path,
        };
        if let Some(c) = coupling {
            let reason = format!(
                "{signal} at step {} (t = {} s), after writing {}",
                stopped.step,
                stopped.time_s,
                stopped.checkpoint.display()
            );
            c.stop(stopped.time_s, signal, &reason)?;
        }
        Ok(stopped)
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
}
