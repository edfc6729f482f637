//! The analysis as `ml-server` runs it in a coupled job: built after `enddef` (when the
//! start time is agreed), fed after the forcing of each coupling time has been sent, and
//! saved on the schedule of the ocean's checkpoints.
//!
//! The ocean checkpoints at model times T that are multiples of its
//! `checkpoint_interval` (and at the end); a restart from the checkpoint at T agrees T
//! with every component at `enddef` ([`coupler::Coupler::start_time`]). The server
//! saves its state at the same times — the coupling times that are multiples of
//! `[analysis] checkpoint_interval`, after the sample of that time — and when the ocean
//! stops early on a signal (at the coupling time its checkpoint holds, before that
//! time's sample), when the run fails at the coupling time of the ocean's checkpoint of its
//! last completed step ([`Session::failed_at`]), and at the end of the run. A run restarted
//! at T reloads the state saved at T and skips the sample it already holds, so it ends
//! where an uninterrupted run ends.

use std::path::{Path, PathBuf};

use coupler::Region;
use mpi::topology::{Communicator, SimpleCommunicator};
use tch::{Device, Tensor};

use crate::comm::Mpi;
use crate::config::AnalysisConfig;
use crate::{Analysis, AnalysisError, Geometry};

/// One ML rank's analysis in a coupled run (or one ocean rank's, in the embedded mode).
pub struct Session {
    analysis: Analysis,
    /// The ranks that share the analysis, each with a strip of rows.
    comm: SimpleCommunicator,
    run_dir: PathBuf,
    end_s: f64,
}

impl Session {
    /// Builds the analysis of this rank's `region` (received with `halo`) on `device`, shared
    /// by the ranks of `comm`, and reloads the saved state when the run restarts at
    /// `t0 > 0` (the coupled start time, [`coupler::Coupler::start_time`]). Collective.
    pub fn start(
        config: AnalysisConfig,
        (comm, t0): (&SimpleCommunicator, f64),
        (nx, ny, region, halo): (usize, usize, Region, usize),
        device: Device,
        run_dir: &Path,
        end_s: f64,
    ) -> Result<Self, AnalysisError> {
        let geometry = Geometry {
            nx,
            ny,
            j0: region.j0,
            nj: region.nj,
            halo,
        };
        let several = comm.size() > 1;
        let mut analysis = Analysis::new(config, geometry, device, several)?;
        if t0 > 0.0 {
            analysis.restore(run_dir, t0)?;
            tracing::info!(
                "analysis: continues from {} samples saved at t = {t0} s",
                analysis.samples()
            );
        }
        Ok(Self {
            analysis,
            comm: comm.duplicate(),
            run_dir: run_dir.to_path_buf(),
            end_s,
        })
    }

    /// After the forcing of coupling time `t` has been sent: the sample of `t` (when it is
    /// one), then a save when `t` is a restart point.
    pub fn after_put(
        &mut self,
        t: f64,
        input: &Tensor,
        forcing: &Tensor,
    ) -> Result<(), AnalysisError> {
        let ranks = Mpi(&self.comm);
        self.analysis.update(t, input, forcing, &ranks)?;
        if self.analysis.config().saves_at(t) {
            self.analysis.save(&self.run_dir, t, &ranks)?;
        }
        Ok(())
    }

    /// The ocean stopped before coupling time `t` (its checkpoint holds `t`): save for a
    /// restart at `t`.
    pub fn stopped_at(&self, t: f64) -> Result<(), AnalysisError> {
        self.analysis.save(&self.run_dir, t, &Mpi(&self.comm))
    }

    /// The run failed at coupling time `t` — `t` being the time of the ocean's checkpoint of
    /// its last completed step — after the samples before `t` (and, when the ocean failed
    /// after using the forcing of `t`, the sample of `t`): save for a restart at `t`. Only
    /// when every ML rank gets here, so that the save's collectives cannot wait for a rank
    /// that failed: `every_rank` (the ocean's failure notice reaches every ML rank) or a
    /// single ML rank. Returns whether it saved.
    pub fn failed_at(&self, t: f64, every_rank: bool) -> Result<bool, AnalysisError> {
        let ranks = Mpi(&self.comm);
        if !every_rank && crate::comm::Ranks::size(&ranks) > 1 {
            return Ok(false);
        }
        self.analysis.save(&self.run_dir, t, &ranks)?;
        Ok(true)
    }

    /// The end of the run: the final save, and the cost per sample in the log.
    pub fn finish(&self) -> Result<(), AnalysisError> {
        self.analysis
            .save(&self.run_dir, self.end_s, &Mpi(&self.comm))?;
        let n = self.analysis.samples();
        tracing::info!(
            "analysis: {n} samples in {}, {:.2} ms per sample on this rank",
            self.run_dir.join(crate::output::FILE).display(),
            1e3 * self.analysis.seconds() / n.max(1) as f64
        );
        Ok(())
    }
}
