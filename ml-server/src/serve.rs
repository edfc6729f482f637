//! The coupled run: receive u, v, run the engine, send sx, sy, at every coupling time.
//!
//! Everything that can be checked without the ocean — the `[ml]` table, the model and its
//! device, the exchanged fields, levels and halos — is checked between `Coupler::init` and
//! `enddef`; a failure goes through `Coupler::abandon`, so the ocean stops at once with the
//! ML side's reason.
//!
//! SIGTERM, SIGINT and SIGUSR1 do not kill the server: the ocean, which receives them too,
//! saves a checkpoint at a coupling time and tells the server, which then finalizes and
//! exits with 128 + the signal number (see [`coupler::signals`]).

use std::path::Path;
use std::process::ExitCode;

use anyhow::{anyhow, bail, Context};
use coupler::config::CouplingConfig;
use coupler::launch::{self, Intent};
use coupler::signals::{self, Signal};
use coupler::{Coupler, CouplerError, Region};
use experiment::fault::{Faults, Point};
use experiment::{logging, RunConfig};
use ml_server::budget::CapBy;
use ml_server::config::MlConfig;
use ml_server::device;
use ml_server::engine::{BatchShape, Engine};
use ml_server::models;
use ml_server::startup::{self, Plan, ServeStart, COMPONENT};
// In-situ analysis (issue 16).
use analysis::config::AnalysisConfig;
use analysis::session::Session;
use mpi::collective::SystemOperation;
use mpi::topology::Communicator;
use mpi::traits::CommunicatorCollectives;

/// Serves the experiment in `file` as component "ml". Errors are printed before
/// MPI is finalised (a peer may abort the job while this rank finalises).
pub fn serve(file: &Path, weights: Option<&Path>) -> ExitCode {
    // Before MPI starts: a stop signal must not kill the server before the ocean has saved.
    if let Err(e) = signals::install() {
        coupler::say!("ml-server: warning: cannot handle stop signals ({e}): they will kill it");
    }
    let watchdog = coupler::launch::init_watchdog(COMPONENT);
    let Some(universe) = mpi::initialize() else {
        coupler::say!("ml-server: MPI was already initialised");
        return ExitCode::FAILURE;
    };
    watchdog.initialised();
    match serve_with(&universe, file, weights) {
        Ok(None) => ExitCode::SUCCESS,
        Ok(Some(signal)) => ExitCode::from(signal.exit_code()),
        // A launch that cannot start: every rank has the message, world rank 0 prints it.
        Err(e) => match e.downcast_ref::<CouplerError>() {
            Some(CouplerError::Launch { report, message }) => {
                if *report {
                    coupler::say!("ml-server: {message}");
                }
                ExitCode::from(2)
            }
            _ => {
                coupler::say!("ml-server: {e:#}");
                ExitCode::FAILURE
            }
        },
    }
}

/// Serves the run; returns the signal the run stopped on, if it stopped early.
fn serve_with(
    universe: &mpi::environment::Universe,
    file: &Path,
    weights: Option<&Path>,
) -> anyhow::Result<Option<Signal>> {
    let world = universe.world();
    // Every rank joins the launch, even with a bad file: the ocean then stops at once too.
    let start = match startup::prepare_serve(file, weights) {
        Ok(start) => start,
        Err(e) => {
            let reason = format!("{e}");
            return Err(launch::join(&world, COMPONENT, Intent::Failed(&reason))
                .err()
                .map_or_else(|| anyhow!(reason), anyhow::Error::new));
        }
    };
    let coupling = start.coupling.clone();
    let mut cpl = Coupler::init(&world, COMPONENT, &coupling)?;
    // From here on a start-up error goes through abandon(): every rank of every component
    // then stops at once with this rank's reason, instead of waiting for the timeout.
    let faults = match Faults::from_env(COMPONENT, cpl.local_comm().rank() as usize) {
        Ok(f) => f,
        Err(e) => return Err(cpl.abandon(&e).into()),
    };
    faults.trigger(Point::Init, COMPONENT);
    let Prepared {
        ml,
        run,
        device,
        model,
        plan,
        region,
        analysis,
    } = match prepare(start, file, &mut cpl) {
        Ok(p) => p,
        Err(e) => return Err(cpl.abandon(&format!("{e:#}")).into()),
    };
    if cpl.local_comm().rank() == 0 {
        if let Err(e) = logging::log_to_file(&run.run_dir(), COMPONENT) {
            tracing::warn!("cannot log into {}: {e}", run.run_dir().display());
        }
    }
    cpl.enddef()?;
    if cpl.start_time() > 0.0 && cpl.local_comm().rank() == 0 {
        tracing::info!("restarted run: serving from t = {} s", cpl.start_time());
    }
    // From here on an error ends the job through fail(): the ocean learns why at once
    // (and saves its last completed step) instead of waiting for the timeout.
    let analysis = analysis.map(|a| (a, run.run_dir()));
    match serve_enddefined(
        &mut cpl, &ml, device, model, &plan, region, &coupling, &faults, analysis,
    ) {
        Ok(Served { calls, stopped }) => {
            let report = cpl.finalize(Some(&run.run_dir()))?;
            if cpl.local_comm().rank() == 0 {
                tracing::info!("ml: {calls} inference calls\n{}", report.table());
            }
            Ok(stopped)
        }
        Err(e) => cpl.fail(&format!("{e:#}")),
    }
}

/// How serving ended.
struct Served {
    calls: usize,
    /// The signal the run stopped on early: the one this server received, else the ocean's.
    stopped: Option<Signal>,
}

/// Serves every coupling time after enddef, or until the ocean stops early on a signal.
#[allow(clippy::too_many_arguments)]
fn serve_enddefined(
    cpl: &mut Coupler,
    ml: &MlConfig,
    device: tch::Device,
    model: Box<dyn models::Model>,
    plan: &Plan,
    region: Region,
    coupling: &CouplingConfig,
    faults: &Faults,
    analysis: Option<(AnalysisConfig, std::path::PathBuf)>,
) -> anyhow::Result<Served> {
    let (rank, size) = (
        cpl.local_comm().rank() as usize,
        cpl.local_comm().size() as usize,
    );
    let (levels, nx, j0, j1) = (plan.levels, region.ni, region.j0, region.j0 + region.nj);
    let ny = coupling.grid.map_or(region.nj, |g| g.1);

    let shape = BatchShape {
        levels,
        ny: region.nj,
        nx,
        halo: plan.halo,
    };
    let extent = cpl.recv_extent("u")?;
    if extent != (levels, shape.height(), shape.width(), plan.halo) {
        bail!("coupler receive extent {extent:?} differs from the planned {shape:?}");
    }
    let mut engine = Engine::with_model(ml, model, device, shape, rank as u64)?;
    if size > 1 {
        let comm = cpl.local_comm().duplicate();
        engine.sum_budget_across(Box::new(move |values: &mut [f64]| {
            let local = values.to_vec();
            comm.all_reduce_into(&local[..], values, SystemOperation::sum());
            Ok(())
        }));
    }
    tracing::info!(
        "ml rank {rank}/{size}: rows {j0}..{j1} of {nx}×{ny}, {levels} levels, halo {}, {} on {:?}",
        plan.halo,
        engine.info().name,
        device
    );
    if plan.masks {
        receive_masks(cpl, &mut engine)?;
    }
    let mut insitu = match analysis {
        Some((config, run_dir)) => Some(Session::start(
            config,
            (cpl.local_comm(), cpl.start_time()),
            (nx, ny, region, plan.halo),
            device,
            &run_dir,
            coupling.run_duration_s,
        )?),
        None => None,
    };
    let mut reached = Reached::default();
    let served = serve_times(cpl, &mut engine, faults, insitu.as_mut(), &mut reached);
    match (&served, &insitu) {
        (Ok(Served { stopped: None, .. }), Some(a)) => a.finish()?,
        (Err(e), Some(a)) => {
            // The ocean saves its last completed step: keep the analysis of that time too.
            if let Some((t, every_rank)) = reached.restart_point(e) {
                if a.failed_at(t, every_rank)? {
                    tracing::warn!("ml: analysis saved for a restart at t = {t} s");
                }
            }
        }
        _ => {}
    }
    served
}

/// How far serving got: the coupling time being served, and the last one whose forcing was
/// sent (the analysis's restart point when serving fails).
#[derive(Default)]
struct Reached {
    at: Option<f64>,
    sent: Option<f64>,
}

impl Reached {
    /// The coupling time of the ocean's checkpoint after `error`, and whether every ML rank
    /// ends with the same error; `None` when the analysis itself failed (its state may be
    /// half updated) or nothing was served. The ocean's failure notice (`PeerFailed`) reaches
    /// every ML rank while they wait for the next coupling time, after the ocean has used the
    /// forcing last sent; an error of this rank's own comes at the time being served, whose
    /// forcing the ocean is waiting for.
    fn restart_point(&self, error: &anyhow::Error) -> Option<(f64, bool)> {
        if error.downcast_ref::<analysis::AnalysisError>().is_some() {
            return None;
        }
        match error.downcast_ref::<CouplerError>() {
            Some(CouplerError::PeerFailed { .. }) => self.sent.map(|t| (t, true)),
            _ => self.at.map(|t| (t, false)),
        }
    }
}

/// Serves the coupling times: get u, v, run the engine, put sx, sy, then the analysis.
fn serve_times(
    cpl: &mut Coupler,
    engine: &mut Engine,
    faults: &Faults,
    mut insitu: Option<&mut Session>,
    reached: &mut Reached,
) -> anyhow::Result<Served> {
    let rank = cpl.local_comm().rank();
    let shape = engine.shape();
    let plane = shape.height() * shape.width();
    let out_plane = shape.ny * shape.nx;
    let mut calls = 0usize;
    let mut told = false;
    for t in cpl.coupling_times("u")? {
        reached.at = Some(t);
        if let (Some(signal), false, 0) = (signals::requested(), told, rank) {
            tracing::warn!(
                "ml: {signal} received: serving on until the ocean has saved its checkpoint and stops"
            );
            told = true;
        }
        let input = engine.input_mut()?;
        // The ocean stops before its put at a coupling time: its notice comes here.
        let got_u = match cpl.get_strided("u", t, input, 2 * plane) {
            Err(CouplerError::PeerStopped { signal, reason, .. }) => {
                if rank == 0 {
                    tracing::warn!("ml: {reason}; ml-server ends too");
                }
                let stopped = Some(signals::requested().unwrap_or(signal));
                if let Some(a) = &insitu {
                    a.stopped_at(t)?;
                }
                log_budget(engine, rank as usize);
                return Ok(Served { calls, stopped });
            }
            got => got?,
        };
        let got_v = cpl.get_strided("v", t, &mut input[plane..], 2 * plane)?;
        if !(got_u && got_v) {
            continue;
        }
        calls += 1;
        let at = Point::At(calls as u64);
        faults.trigger(at, COMPONENT);
        let forcing = engine.run()?;
        let corrupted: Vec<f32>;
        let forcing = match faults.corruption(at) {
            Some(c) => {
                corrupted = forcing.iter().map(|&x| c.apply(x)).collect();
                &corrupted[..]
            }
            None => forcing,
        };
        cpl.put_strided("sx", t, forcing, 2 * out_plane)?;
        cpl.put_strided("sy", t, &forcing[out_plane..], 2 * out_plane)?;
        reached.sent = Some(t);
        // After the puts: the ocean has its forcing while the analysis reads the tensors.
        if let Some(a) = insitu.as_deref_mut() {
            engine.with_tensors(|input, forcing| a.after_put(t, input, forcing))??;
        }
    }
    log_budget(engine, rank as usize);
    Ok(Served {
        calls,
        stopped: None,
    })
}

/// Says on rank 0 how often `[ml] max_net_power` capped the forcing's power.
fn log_budget(engine: &Engine, rank: usize) {
    let Some((b, by)) = engine.budget_stats() else {
        return;
    };
    if rank != 0 {
        return;
    }
    let share = 100.0 * b.corrected as f64 / b.levels.max(1) as f64;
    let mean = b.coefficient_sum / b.corrected.max(1) as f64;
    let how = match by {
        CapBy::Scaling => format!("scaled down by {:.1} % on average there", 100.0 * mean),
        CapBy::Drag => format!("the excess removed as a mean drag of {mean:.3e} s⁻¹ there"),
    };
    tracing::info!(
        "ml: max_net_power: the forcing's power exceeded the cap at {} of {} calls×levels \
         ({share:.0} %), {how}",
        b.corrected,
        b.levels,
    );
}

/// What start-up produces before enddef().
struct Prepared {
    ml: MlConfig,
    run: RunConfig,
    device: tch::Device,
    model: Box<dyn models::Model>,
    plan: Plan,
    region: Region,
    analysis: Option<AnalysisConfig>,
}

/// Reads `[ml]`, picks the device, loads the model, checks it against the exchanges and
/// declares this rank's strip of rows of the `[coupling] grid`.
fn prepare(start: ServeStart, file: &Path, cpl: &mut Coupler) -> anyhow::Result<Prepared> {
    let ServeStart {
        ml,
        run,
        coupling,
        grid: (nx, ny),
        device,
        analysis,
    } = start;
    let device = device::select(device, device::local_rank())?;
    let model = models::build(&ml, device).context("loading the model")?;
    let plan =
        startup::plan(&coupling, model.info()).with_context(|| file.display().to_string())?;
    let (rank, size) = (
        cpl.local_comm().rank() as usize,
        cpl.local_comm().size() as usize,
    );
    if ny < size {
        bail!("[coupling] grid: {ny} rows cannot be split among {size} ML ranks");
    }
    let (j0, j1) = (rank * ny / size, (rank + 1) * ny / size);
    let region = Region {
        i0: 0,
        j0,
        ni: nx,
        nj: j1 - j0,
    };
    cpl.define_fields(region)?;
    Ok(Prepared {
        ml,
        run,
        device,
        model,
        plan,
        region,
        analysis,
    })
}

/// Receives the static land masks and hands them to the engine.
fn receive_masks(cpl: &mut Coupler, engine: &mut Engine) -> anyhow::Result<()> {
    let s = engine.shape();
    let n = s.levels * s.height() * s.width();
    let (mut mu, mut mv) = (vec![0.0f32; n], vec![0.0f32; n]);
    let got_u = cpl.get("mask_u", 0.0, &mut mu)?;
    let got_v = cpl.get("mask_v", 0.0, &mut mv)?;
    if !(got_u && got_v) {
        bail!("the static masks mask_u, mask_v were not delivered at t = 0");
    }
    engine.set_masks(&mu, &mv)?;
    Ok(())
}
