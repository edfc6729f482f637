//! Output scheduling: snapshots, diagnostics and checkpoints on schedules anchored at
//! t = 0 of the experiment, so that a restarted run writes at the times an uninterrupted
//! one does, and continues the files of the run it restarts.

use netcdf3::DataSet;

use super::Simulation;
use crate::checkpoint;
use crate::diagnostics::{self, relative_vorticity};
use crate::error::{OceanError, Result};
use crate::output::{self, RecordWriter, DIAGNOSTIC_VARS};

/// Every `every` steps from step 0 of the experiment (0: never).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    pub every: u64,
}

impl Schedule {
    /// Whether output is due after `step` steps from t = 0.
    pub fn due(self, step: u64) -> bool {
        self.every > 0 && step % self.every == 0
    }

    /// The steps of the records before `step`: 0, every, 2 every, …
    pub fn steps_before(self, step: u64) -> impl Iterator<Item = u64> {
        let every = self.every.max(1);
        (0..step.div_ceil(every)).map(move |k| k * every)
    }

    /// How many records fall on steps 0 ..= `step`.
    pub fn records_through(self, step: u64) -> usize {
        step.checked_div(self.every).map_or(0, |k| k as usize + 1)
    }
}

/// The data sets of the record files (the writers borrow them).
pub(super) struct DataSets {
    snapshots: DataSet,
    diagnostics: DataSet,
}

/// The open record files (rank 0; `None` elsewhere and where the schedule is off).
pub(super) struct Writers<'a> {
    pub snapshots: Option<RecordWriter<'a>>,
    pub diagnostics: Option<RecordWriter<'a>>,
}

impl Writers<'_> {
    /// Close both files (every record written is already in the file and counted).
    pub fn close(self) -> Result<()> {
        for w in [self.snapshots, self.diagnostics].into_iter().flatten() {
            w.close()?;
        }
        Ok(())
    }
}

impl<T: crate::real::Real> Simulation<T> {
    /// The snapshot and diagnostics schedules.
    pub(super) fn schedules(&self) -> (Schedule, Schedule) {
        (
            Schedule {
                every: self.plan.snapshot_every,
            },
            Schedule {
                every: self.plan.diagnostics_every,
            },
        )
    }

    /// The data sets of this run's record files, with room for every record up to `last_step`.
    pub(super) fn data_sets(&self, last_step: u64, coupled: bool) -> Result<DataSets> {
        let (snaps, diags) = self.schedules();
        let nc = |e| output::nc_err(&self.plan.run_dir, e);
        Ok(DataSets {
            snapshots: output::snapshot_dataset(
                &self.params,
                snaps.records_through(last_step),
                coupled,
            )
            .map_err(nc)?,
            diagnostics: output::diagnostics_dataset(diags.records_through(last_step))
                .map_err(nc)?,
        })
    }

    /// Open `snapshots.nc` and `diagnostics.nc` on rank 0: new files at step 0; after a
    /// restart, the files of the run it continues, kept up to the restart step (a run
    /// dir without them gets new files starting there). Collective: every rank returns
    /// an error when rank 0 cannot open them.
    pub(super) fn open_writers<'a>(&self, sets: &'a DataSets) -> Result<Writers<'a>> {
        let (snaps, diags) = self.schedules();
        let mut writers = Writers {
            snapshots: None,
            diagnostics: None,
        };
        let opened = match self.domain.is_root() {
            true => (|| -> Result<()> {
                let coords = output::grid_coordinates(&self.params);
                writers.snapshots =
                    self.open_one("snapshots.nc", snaps, &sets.snapshots, &coords)?;
                writers.diagnostics =
                    self.open_one("diagnostics.nc", diags, &sets.diagnostics, &[])?;
                Ok(())
            })(),
            false => Ok(()),
        };
        let failed = self.domain.max(f64::from(u8::from(opened.is_err())));
        match opened {
            Err(e) => Err(e),
            Ok(()) if failed > 0.0 => Err(OceanError::NetCdf {
                path: self.plan.run_dir.clone(),
                message: "rank 0 could not open the output files (see its message)".into(),
            }),
            Ok(()) => Ok(writers),
        }
    }

    fn open_one<'a>(
        &self,
        name: &str,
        schedule: Schedule,
        ds: &'a DataSet,
        fixed: &[(&str, Vec<f64>)],
    ) -> Result<Option<RecordWriter<'a>>> {
        if schedule.every == 0 {
            return Ok(None);
        }
        let path = self.plan.run_dir.join(name);
        let writer = if self.step > 0 && path.exists() {
            let dt = self.params.dt;
            let kept: Vec<f64> = schedule
                .steps_before(self.step)
                .map(|s| s as f64 * dt)
                .collect();
            let w = RecordWriter::resume(path.clone(), ds, fixed, &kept)?;
            tracing::info!(
                "continuing {} after its first {} records (restart at step {})",
                path.display(),
                kept.len(),
                self.step
            );
            w
        } else {
            if self.step > 0 {
                tracing::info!(
                    "no {name} of the run before step {} in {}: a new file starts at the restart",
                    self.step,
                    self.plan.run_dir.display()
                );
            }
            RecordWriter::create(path, ds, fixed)?
        };
        Ok(Some(writer))
    }

    /// Snapshots, diagnostics and (unless `at_start`) checkpoints due at the current step.
    pub(super) fn write_outputs(
        &mut self,
        at_start: bool,
        coupled: bool,
        writers: &mut Writers,
    ) -> Result<()> {
        let (snaps, diags) = self.schedules();
        if snaps.due(self.step) {
            self.write_snapshot(&mut writers.snapshots, coupled)?;
        }
        if diags.due(self.step) {
            self.write_diagnostics(&mut writers.diagnostics)?;
        }
        let checkpoints = Schedule {
            every: self.plan.checkpoint_every,
        };
        if !at_start && checkpoints.due(self.step) {
            self.write_checkpoint(checkpoint::path_for(&self.plan.run_dir, self.step))?;
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
    pub fn write_checkpoint(&mut self, path: std::path::PathBuf) -> Result<()> {
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules_count_from_t_zero() {
        let s = Schedule { every: 10 };
        assert!(s.due(0) && s.due(30) && !s.due(25));
        assert_eq!(s.steps_before(25).collect::<Vec<_>>(), [0, 10, 20]);
        assert_eq!(s.steps_before(30).collect::<Vec<_>>(), [0, 10, 20]);
        assert_eq!(s.steps_before(0).count(), 0);
        assert_eq!(s.records_through(30), 4);
        let off = Schedule { every: 0 };
        assert!(!off.due(0));
        assert_eq!(off.records_through(30), 0);
    }
}
