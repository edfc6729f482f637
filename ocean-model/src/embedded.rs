//! The embedded ML mode (`[ml] placement = "embedded"`): every ocean rank runs the model
//! of `[ml]` itself, on its own box, and no `ml-server` is launched.
//!
//! The `[coupling]` table still says what moves when: each exchange runs through a
//! [`coupler::loopback::Loopback`], in which every ocean rank also plays the "ml" end on its
//! own box. So the period, lag, time operation, halo (the model's receptive field, taken
//! from the neighbouring ranks), closed or cyclic edges and zero fill are the same code as
//! in the server mode, and the model sees what ml-server would have seen. At each step:
//!
//! 1. the ocean end puts u, v (and, once, the masks), as it would to the coupler;
//! 2. at the coupling times of `ml.u`, the ml end gets u, v with their halo into the
//!    engine's staging buffer, runs the model and puts sx, sy;
//! 3. the ocean end gets sx, sy through the same `[ocean.forcing]` check as a coupled run.
//!
//! The engine is ml-server's ([`ml_server::engine::Engine`]): the same model, transforms,
//! device choice, precision, seed (seed + ocean rank), stochastic mode, masks and power cap,
//! the cap's power summed over the ocean ranks. The ocean ranks agree after every model
//! call, so an error inside the engine on one rank ends every rank with the reason.
//!
//! `[analysis]` runs here as in ml-server ([`analysis::session::Session`]): fed after the
//! forcing of each coupling time has been put, saved on the ocean's checkpoint schedule, on
//! a stop signal and after a failure that every rank shares. Its zonal spectra need whole
//! rows, so the ocean is then split into strips of rows ([`strips_for_analysis`]).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use analysis::session::Session;
use coupler::loopback::Loopback;
use coupler::{CouplingConfig, Region};
use experiment::fault::{Faults, Point};
use ml_server::engine::{BatchShape, Engine};
use ml_server::startup::ServeStart;
use mpi::collective::SystemOperation;
use mpi::topology::SimpleCommunicator;
use mpi::traits::*;

use crate::config::ForcingCheck;
use crate::coupled::{failure_wait, is_restart_time, Coupling, ForcingIntake, COMPONENT};
use crate::error::{OceanError, Result};
use crate::grid::RankBox;
use crate::physics::forcing::{ExternalForcing, ForcingSource, StepStart};
use crate::physics::Rhs;
use crate::real::Real;
use crate::state::State;

/// The component name of the model's end of the exchanges.
const ML: &str = ml_server::startup::COMPONENT;

/// A start-up error another ocean rank reports (the lowest rank that had it).
#[derive(Debug, thiserror::Error)]
#[error("the embedded model could not start on ocean rank {0} (its message says why)")]
pub struct ReportedElsewhere(pub i32);

/// The model inside this ocean rank, and both ends of the exchanges.
pub struct EmbeddedMl {
    loopback: Loopback,
    engine: Engine,
    intake: ForcingIntake,
    comm: SimpleCommunicator,
    coupling: CouplingConfig,
    levels: usize,
    /// Owned-box buffer, [level][j][i] (what the ocean end puts).
    out: Vec<f64>,
    masks: bool,
    faults: Faults,
    /// Model calls so far, and the seconds spent in them.
    calls: u64,
    engine_s: f64,
    /// Seconds in the ranks' agreement after each model call.
    agree_s: f64,
    /// The in-situ analysis of `[analysis]`, if any.
    insitu: Option<Insitu>,
}

/// The analysis of this rank's strip, and whether it failed (its state may then be half
/// updated: it is not saved).
struct Insitu {
    session: Session,
    failed: bool,
}

/// The px × py layout the embedded mode needs: with `[analysis]`, strips of whole rows
/// (1 × ranks) when `[ocean.parallel]` leaves the layout free; otherwise `layout` as given.
/// A layout that cuts rows is refused, naming the keys.
pub fn strips_for_analysis(
    layout: Option<(usize, usize)>,
    analysis: bool,
    ranks: usize,
) -> std::result::Result<Option<(usize, usize)>, String> {
    match layout {
        _ if !analysis => Ok(layout),
        None => Ok(Some((1, ranks))),
        Some((1, py)) => Ok(Some((1, py))),
        Some((px, py)) => Err(format!(
            "[analysis] in the embedded mode needs the ocean split into strips of whole rows              (its zonal spectra take whole rows), but [ocean.parallel] px = {px}, py = {py}:              set px = 1, or leave both out"
        )),
    }
}

/// The time of the embedded mode, for the log and `summary.json`.
#[derive(Debug, Clone)]
pub struct EmbeddedTiming {
    /// Model calls, and the seconds of the model (engine) itself.
    pub calls: u64,
    pub engine_s: f64,
    /// Seconds of the ranks' agreement after each model call (an all-reduce).
    pub agree_s: f64,
    /// (exchange, seconds, coupling times moved) of each exchange.
    pub exchanges: Vec<(String, f64, u64)>,
}

impl EmbeddedTiming {
    /// Seconds of the model and of every exchange together.
    pub fn total_s(&self) -> f64 {
        self.engine_s + self.agree_s + self.exchanges.iter().map(|e| e.1).sum::<f64>()
    }

    /// The table the log shows: one row per exchange and one for the model.
    pub fn table(&self) -> String {
        let mut rows = vec![format!(
            "{:<32} {:>10} {:>8}",
            "embedded: exchange", "seconds", "times"
        )];
        for (name, s, n) in &self.exchanges {
            rows.push(format!("{name:<32} {s:>10.3} {n:>8}"));
        }
        rows.push(format!(
            "{:<32} {:>10.3} {:>8}",
            "model (ml engine)", self.engine_s, self.calls
        ));
        rows.push(format!(
            "{:<32} {:>10.3} {:>8}",
            "agreement after each call", self.agree_s, self.calls
        ));
        rows.join("\n")
    }
}

impl EmbeddedMl {
    /// Loads the model of `ml` on this rank (device, weights, transforms) and sets up the
    /// exchanges of `ml.coupling` on `comm`, each rank's box `b` of the `nx × ny` grid,
    /// coupling from model time `start_s`; with `ml.analysis`, the analysis writes into
    /// `run_dir`. Collective over `comm`.
    pub fn new(
        comm: &SimpleCommunicator,
        ml: ServeStart,
        (b, nx, ny): (RankBox, usize, usize),
        levels: usize,
        start_s: f64,
        check: ForcingCheck,
        run_dir: PathBuf,
    ) -> anyhow::Result<Self> {
        use anyhow::Context;
        let (rank, size) = (comm.rank() as usize, comm.size() as usize);
        let mut ml = ml;
        // Each ocean rank has its core: libtorch's own default would start a thread per
        // core in every rank, and their spinning takes the cores the other ranks step on.
        if ml.ml.threads == 0 {
            ml.ml.threads = 1;
        }
        let loaded = (|| -> anyhow::Result<_> {
            let device = ml_server::device::select(ml.device, ml_server::device::local_rank())?;
            let model = ml_server::models::build(&ml.ml, device).context("loading the model")?;
            let plan = ml_server::startup::plan(&ml.coupling, model.info())?;
            Ok((device, model, plan))
        })();
        // The lowest rank that failed reports; the others end quietly (a wrong weights file
        // is said once, not once per rank).
        let mine = if loaded.is_err() {
            rank as i32
        } else {
            i32::MAX
        };
        let mut first = i32::MAX;
        comm.all_reduce_into(&mine, &mut first, SystemOperation::min());
        let (device, model, plan) = match loaded {
            Err(e) if first == rank as i32 => return Err(e),
            _ if first != i32::MAX => return Err(ReportedElsewhere(first).into()),
            Err(e) => return Err(e),
            Ok(loaded) => loaded,
        };
        let region = Region {
            i0: b.i0,
            j0: b.j0,
            ni: b.ni,
            nj: b.nj,
        };
        let loopback = Loopback::new(comm, COMPONENT, &ml.coupling, region, start_s)?;
        let shape = BatchShape {
            levels: plan.levels,
            ny: b.nj,
            nx: b.ni,
            halo: plan.halo,
        };
        let extent = loopback.recv_extent(&format!("{ML}.u"))?;
        if extent != (plan.levels, shape.height(), shape.width(), plan.halo) {
            anyhow::bail!("the receive extent {extent:?} of {ML}.u differs from {shape:?}");
        }
        let mut engine = Engine::with_model(&ml.ml, model, device, shape, rank as u64)?;
        if size > 1 {
            let across = comm.duplicate();
            engine.sum_budget_across(Box::new(move |values: &mut [f64]| {
                let local = values.to_vec();
                across.all_reduce_into(&local[..], values, SystemOperation::sum());
                Ok(())
            }));
        }
        let mut extents = Vec::new();
        for name in crate::coupled::RECEIVES {
            let end = format!("{COMPONENT}.{name}");
            if loopback.receives(&end) {
                extents.push((name, loopback.recv_extent(&end)?));
            }
        }
        if rank == 0 {
            tracing::info!(
                "embedded ML: {} on {device:?} in each of {size} ocean ranks, {} levels, halo {}",
                engine.info().name,
                plan.levels,
                plan.halo
            );
        }
        let faults = Faults::from_env(ML, rank).map_err(anyhow::Error::msg)?;
        let insitu = match ml.analysis {
            Some(config) if b.ni == nx => Some(Insitu {
                session: Session::start(
                    config,
                    (comm, start_s),
                    (nx, ny, region, plan.halo),
                    device,
                    &run_dir,
                    ml.coupling.run_duration_s,
                )?,
                failed: false,
            }),
            Some(_) => anyhow::bail!(
                "[analysis] needs strips of whole rows, but ocean rank {rank} has columns {}..{} of {nx} (see strips_for_analysis)",
                b.i0,
                b.i0 + b.ni
            ),
            None => None,
        };
        Ok(EmbeddedMl {
            loopback,
            engine,
            intake: ForcingIntake::new(b, check, extents),
            comm: comm.duplicate(),
            coupling: ml.coupling,
            levels,
            out: vec![0.0; levels * b.ni * b.nj],
            masks: plan.masks,
            faults,
            calls: 0,
            engine_s: 0.0,
            agree_s: 0.0,
            insitu,
        })
    }

    /// Puts the owned box of `field` (every level alike) from the ocean end, if an
    /// exchange sends it.
    fn put_ocean<T: Real>(
        &mut self,
        name: &str,
        t: f64,
        field: &crate::field::Field<T>,
    ) -> Result<()> {
        let end = format!("{COMPONENT}.{name}");
        if !self.loopback.sends(&end) {
            return Ok(());
        }
        let n = self.out.len() / self.levels.max(1);
        for level in self.out.chunks_exact_mut(n) {
            field.copy_interior_to(level);
        }
        Ok(self.loopback.put(&end, t, &self.out, n)?)
    }

    /// The ml end at model time `t`: at the coupling times of `ml.u`, gets u, v into the
    /// engine, runs the model and puts sx, sy.
    fn serve(&mut self, t: f64) -> anyhow::Result<()> {
        let (u, v) = (format!("{ML}.u"), format!("{ML}.v"));
        if !self.loopback.delivers_at(&u, t)? {
            return Ok(());
        }
        let shape = self.engine.shape();
        let plane = shape.height() * shape.width();
        let out_plane = shape.ny * shape.nx;
        let input = self.engine.input_mut()?;
        let got_u = self.loopback.get(&u, t, input, 2 * plane)?;
        let got_v = self.loopback.get(&v, t, &mut input[plane..], 2 * plane)?;
        if !(got_u && got_v) {
            anyhow::bail!("{ML}.u and {ML}.v do not share their coupling times (t = {t} s)");
        }
        self.calls += 1;
        let at = Point::At(self.calls);
        self.faults.trigger(at, ML);
        let started = Instant::now();
        let forcing = self.engine.run()?;
        self.engine_s += started.elapsed().as_secs_f64();
        let corrupted: Vec<f32>;
        let forcing = match self.faults.corruption(at) {
            Some(c) => {
                corrupted = forcing.iter().map(|&x| c.apply(x)).collect();
                &corrupted[..]
            }
            None => forcing,
        };
        self.loopback
            .put(&format!("{ML}.sx"), t, forcing, 2 * out_plane)?;
        self.loopback
            .put(&format!("{ML}.sy"), t, &forcing[out_plane..], 2 * out_plane)?;
        // After the puts, as in ml-server: the sample of `t` from the model's tensors.
        if let Some(a) = &mut self.insitu {
            let sampled = self
                .engine
                .with_tensors(|input, forcing| a.session.after_put(t, input, forcing))?;
            a.failed = sampled.is_err();
            sampled?;
        }
        Ok(())
    }

    /// The run failed collectively (every ocean rank has the error) with its last completed
    /// step at model time `t`, the time of the checkpoint the ocean wrote: the analysis saves
    /// for a restart at `t`, unless the analysis itself failed. Collective.
    pub fn failed_at(&self, t: f64) -> Result<()> {
        match &self.insitu {
            Some(a) if !a.failed => {
                a.session.failed_at(t, true).map_err(analysis_error)?;
                if self.comm.rank() == 0 {
                    tracing::warn!("embedded ML: analysis saved for a restart at t = {t} s");
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// Every ocean rank learns whether the model failed on any of them: the failed rank's
    /// error is its own, the others' names it.
    fn agree(&self, t: f64, served: anyhow::Result<()>) -> Result<()> {
        if let Err(e) = &served {
            // A rank that did not answer in time may be gone: no agreement to wait for.
            if matches!(
                e.downcast_ref(),
                Some(coupler::CouplerError::Timeout { .. })
            ) {
                let Ok(timeout) = served.unwrap_err().downcast::<coupler::CouplerError>() else {
                    unreachable!("checked above");
                };
                return Err(OceanError::Coupler(timeout));
            }
        }
        let mine = served.is_err() as i32;
        let mut any = 0;
        self.comm
            .all_reduce_into(&mine, &mut any, SystemOperation::max());
        match (served, any) {
            (Err(e), _) => Err(OceanError::Embedded(format!(
                "embedded ML at t = {t} s on ocean rank {}: {e:#}",
                self.comm.rank()
            ))),
            (Ok(()), 0) => Ok(()),
            (Ok(()), _) => Err(OceanError::Embedded(format!(
                "embedded ML at t = {t} s: the model failed on another ocean rank (see its message)"
            ))),
        }
    }

    /// The time of the model and of each exchange on this rank.
    pub fn timing(&self) -> EmbeddedTiming {
        EmbeddedTiming {
            calls: self.calls,
            engine_s: self.engine_s,
            agree_s: self.agree_s,
            exchanges: self
                .loopback
                .timings()
                .into_iter()
                .map(|l| (l.exchange, l.seconds, l.exchanges))
                .collect(),
        }
    }

    /// Ends the exchanges (the sends still in flight, the receives posted for times that
    /// will not come) and says on rank 0 how often the power cap acted.
    pub fn finish(&mut self) -> Result<EmbeddedTiming> {
        self.loopback.finish()?;
        if let Some(a) = &self.insitu {
            a.session.finish().map_err(analysis_error)?;
        }
        if let (Some((b, _)), 0) = (self.engine.budget_stats(), self.comm.rank()) {
            tracing::info!(
                "embedded ML: max_net_power: the forcing's power exceeded the cap at {} of {} \
                 calls×levels",
                b.corrected,
                b.levels
            );
        }
        Ok(self.timing())
    }
}

impl<T: Real> Coupling<T> for EmbeddedMl {
    fn put_masks(&mut self, t: f64, rhs: &Rhs<T>) -> Result<()> {
        self.put_ocean("mask_u", t, &rhs.mask_u)?;
        self.put_ocean("mask_v", t, &rhs.mask_v)?;
        if !self.masks {
            return Ok(());
        }
        let s = self.engine.shape();
        let n = s.levels * s.height() * s.width();
        let (mut mu, mut mv) = (vec![0.0f32; n], vec![0.0f32; n]);
        let plane = s.height() * s.width();
        let got_u = self
            .loopback
            .get(&format!("{ML}.mask_u"), t, &mut mu, plane)?;
        let got_v = self
            .loopback
            .get(&format!("{ML}.mask_v"), t, &mut mv, plane)?;
        if !(got_u && got_v) {
            return Err(OceanError::Embedded(format!(
                "the static masks {ML}.mask_u, {ML}.mask_v were not delivered at t = {t} s"
            )));
        }
        self.engine
            .set_masks(&mu, &mv)
            .map_err(|e| OceanError::Embedded(format!("embedded ML: {e}")))
    }

    fn put_surface(&mut self, t: f64, s: &State<T>) -> Result<()> {
        self.put_ocean("u", t, &s.u)?;
        self.put_ocean("v", t, &s.v)
    }

    fn is_restart_time(&self, t: f64) -> bool {
        is_restart_time(&self.coupling, t)
    }

    /// Nobody else to tell: the ocean's ranks are all there is. The analysis saves for a
    /// restart at `t`, whose sample it has not taken yet.
    fn stop(&mut self, t: f64, _: coupler::signals::Signal, _: &str) -> Result<()> {
        match &self.insitu {
            Some(a) => a.session.stopped_at(t).map_err(analysis_error),
            None => Ok(()),
        }
    }

    fn failure_wait(&self) -> Duration {
        failure_wait(&self.coupling)
    }
}

/// The embedded forcing: computed at the coupling times, kept in between.
impl<T: Real> ForcingSource<T> for EmbeddedMl {
    fn refresh(
        &mut self,
        at: StepStart,
        _: &State<T>,
        forcing: &mut ExternalForcing<T>,
    ) -> Result<()> {
        let t = at.time_s;
        if self.loopback.delivers_at(&format!("{ML}.u"), t)? {
            let served = self.serve(t);
            let started = Instant::now();
            let agreed = self.agree(t, served);
            self.agree_s += started.elapsed().as_secs_f64();
            agreed?;
        }
        let loopback = &mut self.loopback;
        self.intake
            .take(t, at.step, forcing, &self.comm, |name, buf| {
                let end = format!("{COMPONENT}.{name}");
                let (_, rows, cols, _) = loopback.recv_extent(&end)?;
                Ok(loopback.get(&end, t, buf, rows * cols)?)
            })
    }
}

/// An analysis error as the ocean's: every rank has it (the analysis's saves are collective).
fn analysis_error(e: analysis::AnalysisError) -> OceanError {
    OceanError::Embedded(format!("embedded ML: analysis: {e}"))
}

#[cfg(test)]
mod tests {
    use super::strips_for_analysis;

    #[test]
    fn the_analysis_gets_strips_of_whole_rows_or_a_reason() {
        assert_eq!(strips_for_analysis(None, false, 4), Ok(None));
        assert_eq!(
            strips_for_analysis(Some((2, 2)), false, 4),
            Ok(Some((2, 2)))
        );
        assert_eq!(strips_for_analysis(None, true, 4), Ok(Some((1, 4))));
        assert_eq!(strips_for_analysis(Some((1, 4)), true, 4), Ok(Some((1, 4))));
        let e = strips_for_analysis(Some((2, 2)), true, 4).unwrap_err();
        assert!(
            e.contains("[ocean.parallel] px = 2, py = 2") && e.contains("px = 1"),
            "{e}"
        );
    }
}
