//! `ocean-model`: the double-gyre shallow-water model, standalone or coupled.
//!
//! ```text
//! ocean-model --config FILE [--steps N] [--output-dir DIR] [--restart FILE]
//! ocean-model bench [--sizes 128,256,512] [--steps 50]
//! ocean-model plot RUN_DIR [--out DIR]
//! ```
//!
//! Without a `[coupling]` table in FILE the model runs alone; with one it joins the
//! coupled job as component "ocean". Outputs go to `[run].output_dir/[run].name`, or
//! to DIR itself when `--output-dir` is given.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use clap::{Parser, Subcommand};
use coupler::launch::{self, Intent};
use coupler::{Coupler, CouplingConfig};
use experiment::fault::{Faults, Point};
use experiment::{logging, rundir, ExperimentFile, RunConfig};
use mpi::traits::*;

use ml_server::config::Placement;
use ocean_model::coupled::{OceanCoupling, COMPONENT};
use ocean_model::embedded::{strips_for_analysis, EmbeddedMl};
use ocean_model::real::{Precision, Real};
use ocean_model::simulation::{Simulation, Stopped};
use ocean_model::startup::{self, Overrides, Start};

#[derive(Parser)]
#[command(
    name = "ocean-model",
    version,
    about = "Wind-driven shallow-water double gyre on a C-grid"
)]
#[command(args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// Experiment file (TOML with [run], [ocean] and optionally [coupling]).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Run this many steps instead of [run].duration.
    #[arg(long, value_name = "N")]
    steps: Option<u64>,
    /// Write every output file into DIR.
    #[arg(long, value_name = "DIR")]
    output_dir: Option<PathBuf>,
    /// Start from this checkpoint (overrides ocean.output.restart).
    #[arg(long, value_name = "FILE")]
    restart: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Command {
    /// Time full RK4 steps per grid cell at several resolutions.
    Bench {
        /// Grid sizes n (n × n cells).
        #[arg(long, value_delimiter = ',', default_value = "128,256,512")]
        sizes: Vec<usize>,
        /// Timed steps per size.
        #[arg(long, default_value_t = 50)]
        steps: u64,
        /// The float type to step in: f64 or f32.
        #[arg(long, default_value = "f64")]
        precision: Precision,
    },
    /// Draw PNG figures of a run's snapshots.nc and diagnostics.nc.
    Plot {
        /// The run's output folder, or the experiment file (its [run] output_dir/name).
        #[arg(value_name = "RUN_DIR|CONFIG")]
        run_dir: PathBuf,
        /// Write the PNG files into DIR [default: RUN_DIR/plots].
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
}

/// Exit code for command-line and configuration errors.
const USAGE_ERROR: u8 = 2;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if e.use_stderr() => {
            // Under a launcher, join it first: the other programs then stop at once.
            let text = e.to_string();
            let line = text.lines().next().unwrap_or("invalid arguments");
            let reason = line.trim_start_matches("error: ");
            let (report, message) = coupler::launch::refuse(COMPONENT, reason);
            if report {
                coupler::say!("error: {message}");
            }
            return ExitCode::from(USAGE_ERROR);
        }
        Err(e) => {
            // --help and --version
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
    };
    // Before MPI starts: from here on SIGTERM, SIGINT and SIGUSR1 ask for a checkpoint
    // and a clean stop instead of killing the rank.
    if let Err(e) = coupler::signals::install() {
        coupler::say!("warning: cannot handle stop signals ({e}): they will kill the run");
    }
    let watchdog = coupler::launch::init_watchdog(COMPONENT);
    let Some(universe) = mpi::initialize() else {
        coupler::say!("error: MPI was already initialised");
        return ExitCode::FAILURE;
    };
    watchdog.initialised();
    let world = universe.world();
    logging::init_logging(world.rank() == 0);

    let result = match cli.command {
        Some(Command::Bench {
            sizes,
            steps,
            precision,
        }) => match precision {
            Precision::F64 => bench::<f64>(&world, &sizes, steps),
            Precision::F32 => bench::<f32>(&world, &sizes, steps),
        },
        Some(Command::Plot { run_dir, out }) => plot(&world, &run_dir, out),
        None => run(&world, &cli),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.is::<Stopped>() => {
            if world.rank() == 0 {
                // Logged, not only printed: a launcher that tears the job down after a
                // signal (Open MPI's mpirun) may drop the last lines of stderr.
                tracing::warn!("ocean-model: {e}");
            }
            e.downcast_ref::<Stopped>()
                .map_or(ExitCode::FAILURE, |s| ExitCode::from(s.signal.exit_code()))
        }
        Err(e) => {
            let same_on_every_rank = e.is::<ConfigProblem>()
                || matches!(
                    e.downcast_ref::<ocean_model::OceanError>(),
                    Some(ocean_model::OceanError::Unstable { .. })
                )
                // A problem of the exchanges' set-up, which every rank finds alike (the
                // embedded mode's loopback checks the whole table on every rank).
                || e.downcast_ref::<coupler::CouplerError>()
                    .is_some_and(coupler::CouplerError::is_collective);
            let reported_elsewhere = e.is::<ocean_model::embedded::ReportedElsewhere>();
            if (world.rank() == 0 || !same_on_every_rank) && !reported_elsewhere {
                coupler::say!("error: {}", chain(&e));
            }
            if e.is::<ConfigProblem>() {
                ExitCode::from(USAGE_ERROR)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

/// Marks errors in the command line or the experiment file (exit code 2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct ConfigProblem(String);

fn chain(e: &anyhow::Error) -> String {
    e.chain()
        .map(|c| c.to_string())
        .collect::<Vec<_>>()
        .join(": ")
}

fn run(world: &mpi::topology::SimpleCommunicator, cli: &Cli) -> anyhow::Result<()> {
    let bad = |e: &dyn std::fmt::Display| anyhow::Error::new(ConfigProblem(e.to_string()));
    let overrides = Overrides {
        steps: cli.steps,
        output_dir: cli.output_dir.clone(),
        restart: cli.restart.clone(),
    };
    let start = match &cli.config {
        None => Err("--config FILE is required (or use `ocean-model bench`)".to_string()),
        Some(path) => startup::prepare(path, &overrides).map_err(|e| e.to_string()),
    };
    // Every rank joins the launch, with its start-up problem if it has one: a peer component
    // then stops at once with this reason (and this one with a peer's).
    let Start {
        run,
        coupling,
        setup,
    } = match start {
        Ok(start) => start,
        Err(reason) => {
            return Err(
                match launch::join(world, COMPONENT, Intent::Failed(&reason)) {
                    Err(e) => bad(&e),
                    Ok(_) => bad(&reason),
                },
            )
        }
    };
    let path = cli.config.as_deref().unwrap_or(Path::new(""));
    let started = Instant::now();
    // `[ml] placement = "embedded"`: the ocean runs the model itself, alone in the launch.
    let embedded = match &coupling {
        None => false,
        Some(_) => {
            let placement = ExperimentFile::load(path)
                .map_err(|e| e.to_string())
                .and_then(|exp| Placement::of(&exp).map_err(|e| e.to_string()));
            match placement {
                Ok(p) => p == Placement::Embedded,
                Err(reason) => {
                    return Err(
                        match launch::join(world, COMPONENT, Intent::Failed(&reason)) {
                            Err(e) => bad(&e),
                            Ok(_) => bad(&reason),
                        },
                    )
                }
            }
        }
    };

    // The float type is chosen once, here: everything below is generic over it.
    match setup.params.precision {
        Precision::F64 => run_as::<f64>(world, path, started, embedded, cli, run, coupling, setup),
        Precision::F32 => run_as::<f32>(world, path, started, embedded, cli, run, coupling, setup),
    }
}

/// The run of [`run`] in the float type `T` (`ocean.numerics.precision`).
#[allow(clippy::too_many_arguments)]
fn run_as<T: Real>(
    world: &mpi::topology::SimpleCommunicator,
    path: &Path,
    started: Instant,
    embedded: bool,
    cli: &Cli,
    run: RunConfig,
    coupling: Option<CouplingConfig>,
    setup: ocean_model::config::Setup,
) -> anyhow::Result<()> {
    let bad = |e: &dyn std::fmt::Display| anyhow::Error::new(ConfigProblem(e.to_string()));
    match coupling {
        None => {
            launch::join(world, COMPONENT, Intent::Alone(path)).map_err(|e| bad(&e))?;
            let run_dir = setup.plan.run_dir.clone();
            start_run_dir(world.rank() == 0, path, &run_dir);
            let faults = Faults::from_env(COMPONENT, world.rank() as usize).map_err(|e| bad(&e))?;
            let mut sim = Simulation::<T>::new(setup, world.duplicate())?;
            sim.faults = faults;
            continue_to_the_end(&mut sim, cli.steps.is_some(), &run)?;
            log_start(&sim, "standalone");
            let done = sim.run(None)?;
            write_summary(&sim, &done, started, "standalone", None);
            if let Some(stopped) = done.stopped {
                return Err(stopped.into());
            }
        }
        Some(_) if embedded => {
            launch::join(world, COMPONENT, Intent::Alone(path)).map_err(|e| bad(&e))?;
            let exp = ExperimentFile::load(path).map_err(|e| bad(&e))?;
            let ml = ml_server::startup::prepare_model(&exp, None).map_err(|e| bad(&e))?;
            let mut setup = setup;
            let ranks = world.size() as usize;
            setup.layout = strips_for_analysis(setup.layout, ml.analysis.is_some(), ranks)
                .map_err(|e| bad(&format!("{}: {e}", path.display())))?;
            let run_dir = setup.plan.run_dir.clone();
            let (levels, nx, ny) = (setup.params.levels, setup.params.nx, setup.params.ny);
            start_run_dir(world.rank() == 0, path, &run_dir);
            let faults = Faults::from_env(COMPONENT, world.rank() as usize).map_err(|e| bad(&e))?;
            let comm = world.duplicate();
            let mut sim = Simulation::<T>::new(setup, comm.duplicate())?;
            sim.faults = faults;
            continue_to_the_end(&mut sim, cli.steps.is_some(), &run)?;
            let (b, start, check) = (sim.domain.rank_box, sim.time(), sim.forcing_check);
            coupler::loopback::abort_job_on_panic();
            let mut embedded =
                EmbeddedMl::new(&comm, ml, (b, nx, ny), levels, start, check, run_dir)?;
            log_start(&sim, "coupled, embedded ML");
            let done = match sim.run(Some(&mut embedded)) {
                Ok(done) => done,
                // Every rank has the error: each says it and ends, the analysis saved for a
                // restart from the ocean's checkpoint of its last completed step.
                Err(e) if e.is_collective() => {
                    embedded.failed_at(sim.time())?;
                    return Err(e.into());
                }
                // Only this rank may know: the others could wait on it for ever.
                Err(e) => {
                    coupler::say!("error: {e:#}");
                    coupler::loopback::abort_job(1)
                }
            };
            let timing = embedded.finish()?;
            if sim.domain.is_root() {
                tracing::info!("embedded timings (rank 0):\n{}", timing.table());
            }
            write_summary(&sim, &done, started, "embedded", Some(timing.total_s()));
            if let Some(stopped) = done.stopped {
                return Err(stopped.into());
            }
        }
        Some(cfg) => {
            let mut cpl = match Coupler::init(world, COMPONENT, &cfg) {
                Ok(cpl) => cpl,
                Err(e) if e.is_collective() => return Err(bad(&e)),
                Err(e) => return Err(anyhow::Error::new(e).context("joining the coupled job")),
            };
            let (run_dir, levels) = (setup.plan.run_dir.clone(), setup.params.levels);
            let comm = cpl.local_comm().duplicate();
            start_run_dir(comm.rank() == 0, path, &run_dir);
            // A start-up error from here to enddef goes through abandon(): every component
            // then stops at once with this reason instead of waiting for the timeout.
            let faults = match Faults::from_env(COMPONENT, comm.rank() as usize) {
                Ok(f) => f,
                Err(e) => return Err(cpl.abandon(&e).into()),
            };
            faults.trigger(Point::Init, COMPONENT);
            let mut sim = match Simulation::<T>::new(setup, comm) {
                Ok(sim) => sim,
                Err(e) => return Err(cpl.abandon(&format!("{e:#}")).into()),
            };
            sim.faults = faults;
            // The ML side serves every coupling time from the start to the end of [run]
            // duration, so the ocean must cover exactly that: anything else would leave a
            // peer waiting. A restart starts at the checkpoint's time (agreed at enddef).
            if let Err(e) = continue_to_the_end(&mut sim, cli.steps.is_some(), &run) {
                return Err(cpl.abandon(&format!("{e:#}")).into());
            }
            let full = (run.duration_s / sim.params.dt).round() as u64;
            if sim.step + sim.plan.steps != full {
                let reason = format!(
                    "a coupled run covers [run] duration = {} s ({full} steps of {} s), but this ocean would run steps {}..{}: drop --steps and change [run] duration instead",
                    run.duration_s,
                    sim.params.dt,
                    sim.step,
                    sim.step + sim.plan.steps
                );
                return Err(cpl.abandon(&reason).into());
            }
            let (b, start, check) = (sim.domain.rank_box, sim.time(), sim.forcing_check);
            let mut coupling = OceanCoupling::new(cpl, b, levels, start, check)?;
            log_start(&sim, "coupled");
            let done = match sim.run(Some(&mut coupling)) {
                Ok(done) => done,
                // Tells the ML side why, and ends the job (after the checkpoint run() wrote).
                Err(e) => coupling.fail(&format!("{e:#}")),
            };
            let report = coupling.finalize(&run_dir)?;
            if sim.domain.is_root() {
                tracing::info!("coupling timings:\n{}", report.table());
            }
            let coupling_s = report.fields.iter().map(|f| f.seconds).sum::<f64>();
            write_summary(&sim, &done, started, "coupled", Some(coupling_s));
            if let Some(stopped) = done.stopped {
                return Err(stopped.into());
            }
        }
    }
    Ok(())
}

/// On rank 0: log into the run directory too, and keep a copy of the experiment file there.
fn start_run_dir(root: bool, config: &Path, run_dir: &Path) {
    if !root {
        return;
    }
    match logging::log_to_file(run_dir, COMPONENT)
        .and_then(|_| rundir::copy_config(config, run_dir))
    {
        Ok(_) => {}
        Err(e) => tracing::warn!("cannot set up the run directory {}: {e}", run_dir.display()),
    }
}

/// A restart without `--steps` runs on to the end of [run] duration.
fn continue_to_the_end<T: Real>(
    sim: &mut Simulation<T>,
    steps_given: bool,
    run: &RunConfig,
) -> anyhow::Result<()> {
    let full = (run.duration_s / sim.params.dt).round() as u64;
    if sim.step > 0 && !steps_given {
        if sim.step >= full {
            anyhow::bail!(
                "the restart file is at step {} (t = {} s), at or past the end of [run] duration = {} s: nothing is left to run",
                sim.step,
                sim.time(),
                run.duration_s
            );
        }
        sim.plan.steps = full - sim.step;
    }
    Ok(())
}

/// Rank 0 writes `summary.json` into the run directory and logs it.
fn write_summary<T: Real>(
    sim: &Simulation<T>,
    done: &ocean_model::simulation::Summary,
    started: Instant,
    mode: &str,
    coupling_s: Option<f64>,
) {
    if !sim.domain.is_root() {
        return;
    }
    let wall = started.elapsed().as_secs_f64();
    let simulated = done.steps as f64 * sim.params.dt;
    let sypd = simulated / (365.0 * 86_400.0) / (wall / 86_400.0);
    let summary = serde_json::json!({
        "status": done.stopped.as_ref().map_or("completed".to_string(), |s| format!("stopped by {}", s.signal)),
        "mode": mode,
        "grid": [sim.params.nx, sim.params.ny],
        "ocean_ranks": sim.domain.decomp.size(),
        "dt_s": sim.params.dt,
        "first_step": sim.step - done.steps,
        "steps": done.steps,
        "simulated_s": simulated,
        "simulated_days": simulated / 86_400.0,
        "wall_s": wall,
        "sypd": sypd,
        "coupling_s": coupling_s,
        "coupling_share": coupling_s.map(|c| c / wall),
        "rss_mb_rank0": coupler::timing::resident_mb(),
    });
    let path = sim.plan.run_dir.join("summary.json");
    let text = serde_json::to_string_pretty(&summary).unwrap_or_default();
    if let Err(e) = std::fs::write(&path, format!("{text}\n")) {
        tracing::warn!("cannot write {}: {e}", path.display());
    }
    tracing::info!(
        "summary: {} steps, {:.1} simulated days in {wall:.1} s wall, {sypd:.1} SYPD{}; {}",
        done.steps,
        simulated / 86_400.0,
        coupling_s.map_or(String::new(), |c| format!(
            ", {:.1} % of the time in {}",
            100.0 * c / wall,
            if mode == "embedded" {
                "the exchanges and the model"
            } else {
                "coupling (put + waiting in get)"
            }
        )),
        path.display()
    );
}

fn log_start<T: Real>(sim: &Simulation<T>, mode: &str) {
    if sim.domain.is_root() {
        let (p, d) = (&sim.params, &sim.domain.decomp);
        tracing::info!(
            "{mode}: {} × {} cells on {} × {} ranks in {}, dt = {} s, {} steps from step {}, output in {}",
            p.nx,
            p.ny,
            d.px,
            d.py,
            p.precision,
            p.dt,
            sim.plan.steps,
            sim.step,
            sim.plan.run_dir.display()
        );
    }
}

fn bench<T: Real>(
    world: &mpi::topology::SimpleCommunicator,
    sizes: &[usize],
    steps: u64,
) -> anyhow::Result<()> {
    for &n in sizes {
        let r = ocean_model::bench::run_one::<T>(world, n, steps)?;
        if world.rank() == 0 {
            println!(
                "n = {:4}  ranks = {}  {}  steps = {:4}  dt = {:5} s  {:7.2} ns/cell/step (job)  {:7.2} core-ns/cell/step  {:8.2} SYPD",
                r.n, r.ranks, T::NAME, r.steps, r.dt, r.ns_per_cell_step, r.core_ns_per_cell_step, r.sypd
            );
        }
    }
    Ok(())
}

/// Figures of a finished run, drawn by rank 0; unreadable input is a usage error (exit 2).
fn plot(
    world: &mpi::topology::SimpleCommunicator,
    run_dir: &Path,
    out: Option<PathBuf>,
) -> anyhow::Result<()> {
    if world.rank() != 0 {
        return Ok(());
    }
    let from_config;
    let run_dir = if run_dir.is_file() {
        let exp = ExperimentFile::load(run_dir)
            .and_then(|e| e.run())
            .map_err(|e| anyhow::Error::new(ConfigProblem(e.to_string())))?;
        from_config = exp.run_dir();
        &from_config
    } else {
        run_dir
    };
    let output = eddylink_plot::RunOutput::read(run_dir)
        .map_err(|e| anyhow::Error::new(ConfigProblem(e.to_string())))?;
    let out = out.unwrap_or_else(|| run_dir.join("plots"));
    for path in eddylink_plot::write_plots(&output, &out)? {
        tracing::info!("wrote {}", path.display());
    }
    Ok(())
}
