//! The ocean's side of the coupling: it registers as "ocean", sends the surface
//! velocities u, v (and the static masks) and receives the momentum forcing sx, sy.
//!
//! The coupler declares the fields that the `[coupling]` table names for "ocean". Sent
//! fields are put at the start of every step; the forcing is fetched inside the
//! first RK4 stage, once all other terms are computed: [`OceanCoupling`] is the step's
//! [`ForcingSource`] (see [`crate::timestepper::Rk4::step`]), and the forcing is kept
//! between coupling times.

use std::path::Path;

use coupler::config::Period;
use coupler::{Coupler, Region, TimingReport};
use mpi::traits::*;

use crate::config::{ocean_ends, BadForcing, ForcingCheck};
use crate::error::{OceanError, Result};
use crate::grid::RankBox;
use crate::physics::forcing::{ExternalForcing, ForcingSource, StepStart};
use crate::physics::Rhs;
use crate::real::Real;
use crate::state::State;

/// Component name of the ocean in the experiment file.
pub const COMPONENT: &str = "ocean";
/// The fields the ocean can send, and those it can receive (`[coupling]` picks among them).
pub const SENDS: [&str; 4] = ["u", "v", "mask_u", "mask_v"];
pub const RECEIVES: [&str; 2] = ["sx", "sy"];

/// A received field and its landing buffer (levels × grown box).
struct Incoming {
    name: &'static str,
    buf: Vec<f64>,
    /// (levels, rows, columns, halo) of `buf`.
    extent: (usize, usize, usize, usize),
}

/// What the run loop asks of the ocean's partner in a coupled run, on top of the forcing
/// it provides: the ML server over the coupler ([`OceanCoupling`]) or the model run inside
/// the ocean's own ranks ([`crate::embedded::EmbeddedMl`]).
pub trait Coupling<T: Real = f64>: ForcingSource<T> {
    /// Send the static masks (once, at the first step of the run).
    fn put_masks(&mut self, t: f64, rhs: &Rhs<T>) -> Result<()>;
    /// Send the surface velocities at the start of the step at time `t`.
    fn put_surface(&mut self, t: f64, s: &State<T>) -> Result<()>;
    /// Whether the coupled run can stop and restart at model time `t`: a coupling time of
    /// every periodic exchange.
    fn is_restart_time(&self, t: f64) -> bool;
    /// Say that the ocean stopped on `signal` at model time `t` (after its checkpoint of
    /// `t`); finalize next.
    fn stop(&mut self, t: f64, signal: coupler::signals::Signal, reason: &str) -> Result<()>;
    /// How long the ocean ranks wait for each other to save a checkpoint after a failure.
    fn failure_wait(&self) -> std::time::Duration;
}

/// Whether `t` is a coupling time of every periodic exchange of `config`.
pub fn is_restart_time(config: &coupler::CouplingConfig, t: f64) -> bool {
    config.exchanges.iter().all(|e| match e.period {
        Period::Every(p) => coupler::config::is_multiple(t, p),
        Period::Static => true,
    })
}

/// Half the coupling timeout, at most a minute: how long the ocean ranks wait for each
/// other to save a checkpoint after a failed exchange (the failed peer ends the job after
/// the timeout).
pub fn failure_wait(config: &coupler::CouplingConfig) -> std::time::Duration {
    std::time::Duration::from_secs_f64((config.timeout_s / 2.0).min(60.0))
}

/// (levels, rows, columns, halo) of a received array.
pub(crate) type Extent = (usize, usize, usize, usize);

/// The received forcing on its way into the model: landing buffers of sx and sy, and the
/// `[ocean.forcing]` check of every value.
pub(crate) struct ForcingIntake {
    rank_box: RankBox,
    check: ForcingCheck,
    incoming: Vec<Incoming>,
}

/// The coupler plus the buffers of the ocean's fields.
pub struct OceanCoupling {
    cpl: Coupler,
    /// The ocean ranks, for their agreement on bad forcing.
    comm: mpi::topology::SimpleCommunicator,
    levels: usize,
    sends: Vec<&'static str>,
    intake: ForcingIntake,
    /// Owned-box buffer, [level][j][i].
    out: Vec<f64>,
}

impl OceanCoupling {
    /// Declare this rank's fields (those the configuration names, as it names them) and
    /// end the definition; the coupled run starts at model time `start_s` (0, or the time
    /// of the restart). [`crate::config::Setup::check_coupling`] has checked the exchanges.
    pub fn new(
        mut cpl: Coupler,
        b: RankBox,
        levels: usize,
        start_s: f64,
        check: ForcingCheck,
    ) -> Result<Self> {
        let region = Region {
            i0: b.i0,
            j0: b.j0,
            ni: b.ni,
            nj: b.nj,
        };
        cpl.define_fields(region)?;
        let named = |f: &str, send: bool| {
            ocean_ends(cpl.config()).any(|(_, end, sends)| sends == send && end.field == f)
        };
        let sends: Vec<&'static str> = SENDS.into_iter().filter(|f| named(f, true)).collect();
        let receives: Vec<&'static str> =
            RECEIVES.into_iter().filter(|f| named(f, false)).collect();
        cpl.set_start_time(start_s)?;
        cpl.enddef()?;
        let mut extents = Vec::new();
        for name in receives {
            extents.push((name, cpl.recv_extent(name)?));
        }
        Ok(OceanCoupling {
            comm: cpl.local_comm().duplicate(),
            cpl,
            levels,
            sends,
            intake: ForcingIntake::new(b, check, extents),
            out: vec![0.0; levels * b.ni * b.nj],
        })
    }

    /// The ocean's own communicator.
    pub fn local_comm(&self) -> &mpi::topology::SimpleCommunicator {
        self.cpl.local_comm()
    }

    /// Put the static masks (once, at the first step of the run).
    pub fn put_masks<T: Real>(&mut self, t: f64, rhs: &Rhs<T>) -> Result<()> {
        for (name, mask) in [("mask_u", &rhs.mask_u), ("mask_v", &rhs.mask_v)] {
            if self.sends.contains(&name) {
                fill_levels(&mut self.out, self.levels, |lvl| mask.copy_interior_to(lvl));
                self.cpl.put(name, t, &self.out)?;
            }
        }
        Ok(())
    }

    /// Put the surface velocities at the start of the step at time `t`.
    pub fn put_surface<T: Real>(&mut self, t: f64, s: &State<T>) -> Result<()> {
        for (name, field) in [("u", &s.u), ("v", &s.v)] {
            if self.sends.contains(&name) {
                fill_levels(&mut self.out, self.levels, |lvl| {
                    field.copy_interior_to(lvl)
                });
                self.cpl.put(name, t, &self.out)?;
            }
        }
        Ok(())
    }

    /// Receive sx, sy for time `t` (step `step`) if it is a coupling time; otherwise keep
    /// the last values (see [`ForcingIntake::take`]).
    pub fn get_forcing<T: Real>(
        &mut self,
        t: f64,
        step: u64,
        forcing: &mut ExternalForcing<T>,
    ) -> Result<()> {
        let cpl = &mut self.cpl;
        self.intake.take(t, step, forcing, &self.comm, |name, buf| {
            Ok(cpl.get(name, t, buf)?)
        })
    }

    /// The model time the coupled run starts at.
    pub fn start_time(&self) -> f64 {
        self.cpl.start_time()
    }

    /// End the job after an error of this rank's (telling the ML side why).
    pub fn fail(&mut self, reason: &str) -> ! {
        self.cpl.fail(reason)
    }

    /// End the coupling; rank 0 writes the timing table into `dir`.
    pub fn finalize(&mut self, dir: &Path) -> Result<TimingReport> {
        Ok(self.cpl.finalize(Some(dir))?)
    }
}

impl<T: Real> Coupling<T> for OceanCoupling {
    fn put_masks(&mut self, t: f64, rhs: &Rhs<T>) -> Result<()> {
        OceanCoupling::put_masks(self, t, rhs)
    }

    fn put_surface(&mut self, t: f64, s: &State<T>) -> Result<()> {
        OceanCoupling::put_surface(self, t, s)
    }

    fn is_restart_time(&self, t: f64) -> bool {
        is_restart_time(self.cpl.config(), t)
    }

    /// Tells the other components that the ocean stopped.
    fn stop(&mut self, _: f64, signal: coupler::signals::Signal, reason: &str) -> Result<()> {
        Ok(self.cpl.stop(signal, reason)?)
    }

    fn failure_wait(&self) -> std::time::Duration {
        failure_wait(self.cpl.config())
    }
}

/// The coupled forcing: received at coupling times, kept in between.
impl<T: Real> ForcingSource<T> for OceanCoupling {
    /// Lets MPI move the sends in flight.
    fn progress(&mut self) {
        self.cpl.progress();
    }

    fn refresh(
        &mut self,
        at: StepStart,
        _: &State<T>,
        forcing: &mut ExternalForcing<T>,
    ) -> Result<()> {
        self.get_forcing(at.time_s, at.step, forcing)
    }
}

impl ForcingIntake {
    /// Landing buffers for the received fields `extents` ((levels, rows, columns, halo) of
    /// each).
    pub(crate) fn new(
        rank_box: RankBox,
        check: ForcingCheck,
        extents: Vec<(&'static str, Extent)>,
    ) -> Self {
        let incoming = extents
            .into_iter()
            .map(|(name, extent)| Incoming {
                name,
                buf: vec![0.0; extent.0 * extent.1 * extent.2],
                extent,
            })
            .collect();
        ForcingIntake {
            rank_box,
            check,
            incoming,
        }
    }

    /// Receive sx, sy for time `t` (step `step`) through `get` (field name, landing buffer
    /// → whether it was a coupling time) and copy them into `forcing`; off coupling times
    /// keep the last values. Both fields are received before either is used, so a failed
    /// get leaves the forcing as it was. Values that are not finite or exceed the bound go
    /// through the `[ocean.forcing]` policy; every ocean rank (`comm`) stops together when
    /// one must.
    pub(crate) fn take<T: Real>(
        &mut self,
        t: f64,
        step: u64,
        forcing: &mut ExternalForcing<T>,
        comm: &mpi::topology::SimpleCommunicator,
        mut get: impl FnMut(&'static str, &mut [f64]) -> Result<bool>,
    ) -> Result<()> {
        let mut got = [false; 2];
        for (inc, got) in self.incoming.iter_mut().zip(&mut got) {
            *got = get(inc.name, &mut inc.buf)?;
        }
        let mut problem = None;
        for (inc, _) in self.incoming.iter().zip(got).filter(|(_, got)| *got) {
            let target = if inc.name == "sx" {
                &mut forcing.sx
            } else {
                &mut forcing.sy
            };
            let (levels, rows, cols, h) = inc.extent;
            let ni = cols - 2 * h;
            let nj = rows - 2 * h;
            let mut bad = BadValues::default();
            for l in 0..levels {
                for j in 0..nj {
                    let src = &inc.buf[l * rows * cols + (j + h) * cols + h..][..ni];
                    let dst = &mut target[(l * nj + j) * ni..][..ni];
                    // Nearly every row is clean: check it in one pass that vectorises
                    // (no early exit), and copy it without a branch per value.
                    let max = self.check.max_abs;
                    if src
                        .iter()
                        .fold(true, |ok, &s| ok & (s.is_finite() & (s.abs() <= max)))
                    {
                        for (d, &s) in dst.iter_mut().zip(src) {
                            *d = T::from_f64(s);
                        }
                        continue;
                    }
                    for (i, (d, &s)) in dst.iter_mut().zip(src).enumerate() {
                        *d = T::from_f64(if s.is_finite() && s.abs() <= self.check.max_abs {
                            s
                        } else {
                            bad.note(s, l, i, j);
                            repair(s, self.check)
                        });
                    }
                }
            }
            if bad.count > 0 && problem.is_none() {
                problem = self.report(inc.name, t, step, &bad).err();
            }
        }
        if !got.contains(&true) {
            return Ok(());
        }
        // Every ocean rank stops together (and so can checkpoint) when any must.
        let mine = problem.is_some() as i32;
        let mut any = 0;
        comm.all_reduce_into(&mine, &mut any, mpi::collective::SystemOperation::max());
        match (problem, any) {
            (Some(e), _) => Err(e),
            (None, 0) => Ok(()),
            (None, _) => Err(OceanError::BadForcing(format!(
                "step {step} (t = {t} s): another ocean rank received forcing it cannot use (see its message)"
            ))),
        }
    }

    /// Logs (or, with policy abort, returns) the bad values of one received field.
    fn report(&self, field: &str, t: f64, step: u64, bad: &BadValues) -> Result<()> {
        let (l, i, j) = bad.first;
        let (gi, gj) = (self.rank_box.i0 + i, self.rank_box.j0 + j);
        let what = format!(
            "step {step} (t = {t} s): received {field} has {} value(s) that are not finite or exceed ocean.forcing.max_abs = {} m/s²; first: {} at level {l}, global cell (i = {gi}, j = {gj})",
            bad.count, self.check.max_abs, bad.value
        );
        match self.check.policy {
            BadForcing::Abort => Err(OceanError::BadForcing(format!(
                "{what}; ocean.forcing.check = \"abort\" (\"zero\" or \"clip\" keep running)"
            ))),
            BadForcing::Zero => {
                tracing::warn!("{what}; set to 0 (ocean.forcing.check = \"zero\")");
                Ok(())
            }
            BadForcing::Clip => {
                tracing::warn!(
                    "{what}; clipped to ±{} (NaN to 0; ocean.forcing.check = \"clip\")",
                    self.check.max_abs
                );
                Ok(())
            }
        }
    }
}

/// The bad values of one received field: how many, and the first one and where.
#[derive(Default)]
struct BadValues {
    count: usize,
    value: f64,
    /// (level, i, j) in the rank's box.
    first: (usize, usize, usize),
}

impl BadValues {
    fn note(&mut self, value: f64, l: usize, i: usize, j: usize) {
        if self.count == 0 {
            self.value = value;
            self.first = (l, i, j);
        }
        self.count += 1;
    }
}

/// The value a bad forcing value is replaced by (with policy abort the run stops anyway).
fn repair(s: f64, check: ForcingCheck) -> f64 {
    match check.policy {
        BadForcing::Clip if !s.is_nan() => s.clamp(-check.max_abs, check.max_abs),
        _ => 0.0,
    }
}

/// Write the same owned-box values into every level of `out`.
fn fill_levels(out: &mut [f64], levels: usize, mut fill: impl FnMut(&mut [f64])) {
    let n = out.len() / levels.max(1);
    for lvl in out.chunks_exact_mut(n) {
        fill(lvl);
    }
}
