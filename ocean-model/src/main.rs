//! `ocean-model`: the double-gyre shallow-water model, standalone or coupled.
//!
//! ```text
//! ocean-model --config FILE [--steps N] [--output-dir DIR] [--restart FILE]
//! ocean-model bench [--sizes 128,256,512] [--steps 50]
//! ```
//!
//! Without a `[coupling]` table in FILE the model runs alone; with one it joins the
//! coupled job as component "ocean". Outputs go to `[run].output_dir/[run].name`, or
//! to DIR itself when `--output-dir` is given.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use coupler::{Coupler, ExperimentFile};
use mpi::traits::*;

use ocean_model::config::OceanConfig;
use ocean_model::coupled::{OceanCoupling, COMPONENT};
use ocean_model::simulation::Simulation;

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
    },
}

/// Exit code for command-line and configuration errors.
const USAGE_ERROR: u8 = 2;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if e.use_stderr() => {
            let text = e.to_string();
            eprintln!("{}", text.lines().next().unwrap_or("invalid arguments"));
            return ExitCode::from(USAGE_ERROR);
        }
        Err(e) => {
            // --help and --version
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
    };
    let Some(universe) = mpi::initialize() else {
        eprintln!("error: MPI was already initialised");
        return ExitCode::FAILURE;
    };
    let world = universe.world();
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(if world.rank() == 0 { "info" } else { "warn" })
    });
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .init();

    let result = match cli.command {
        Some(Command::Bench { sizes, steps }) => bench(&world, &sizes, steps),
        None => run(&world, &cli),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let same_on_every_rank = e.is::<ConfigProblem>()
                || matches!(
                    e.downcast_ref::<ocean_model::OceanError>(),
                    Some(ocean_model::OceanError::Unstable { .. })
                );
            if world.rank() == 0 || !same_on_every_rank {
                eprintln!("error: {}", chain(&e));
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
    let path = cli
        .config
        .as_ref()
        .ok_or_else(|| bad(&"--config FILE is required (or use `ocean-model bench`)"))?;
    let exp = ExperimentFile::load(path).map_err(|e| bad(&e))?;
    let run = exp.run().map_err(|e| bad(&e))?;
    let ocean: OceanConfig = exp
        .section("ocean")
        .map_err(|e| bad(&e))?
        .unwrap_or_default();
    let coupling = exp.coupling().map_err(|e| bad(&e))?;
    let run_dir = cli.output_dir.clone().unwrap_or_else(|| run.run_dir());
    let in_file = |e: ocean_model::OceanError| bad(&format_args!("{}: {e}", path.display()));
    let mut setup = ocean.resolve(run.duration_s, run_dir).map_err(in_file)?;
    if let Some(cfg) = &coupling {
        setup.check_coupling(cfg).map_err(in_file)?;
    }
    if let Some(steps) = cli.steps {
        setup.plan.steps = steps;
    }
    if cli.restart.is_some() {
        setup.plan.restart = cli.restart.clone();
    }
    let run_dir = setup.plan.run_dir.clone();
    let levels = setup.params.levels;

    match coupling {
        None => {
            let mut sim = Simulation::new(setup, world.duplicate())?;
            log_start(&sim, "standalone");
            sim.run(None)?;
        }
        Some(cfg) => {
            let mut cpl =
                Coupler::init(world, COMPONENT, &cfg).context("joining the coupled job")?;
            let comm = cpl.local_comm().duplicate();
            // A start-up error from here to enddef goes through abandon(): every component
            // then stops at once with this reason instead of waiting for the timeout.
            let mut sim = match Simulation::new(setup, comm) {
                Ok(sim) => sim,
                Err(e) => return Err(cpl.abandon(&format!("{e:#}")).into()),
            };
            // The ML side serves every coupling time of [run] duration from t = 0, so the
            // ocean must cover exactly that: anything else would leave a peer waiting.
            let full = (run.duration_s / sim.params.dt).round() as u64;
            if sim.step != 0 || sim.plan.steps != full {
                let hint = if sim.step != 0 {
                    "restarting a coupled run from a checkpoint is not supported yet: restart it standalone, or rerun from t = 0"
                } else {
                    "drop --steps and change [run] duration instead"
                };
                let reason = format!(
                    "a coupled run covers [run] duration = {} s ({full} steps of {} s) from t = 0, but this ocean would run steps {}..{}: {hint}",
                    run.duration_s,
                    sim.params.dt,
                    sim.step,
                    sim.step + sim.plan.steps
                );
                return Err(cpl.abandon(&reason).into());
            }
            let mut coupling = OceanCoupling::new(cpl, sim.domain.rank_box, levels, sim.params.dt)?;
            log_start(&sim, "coupled");
            sim.run(Some(&mut coupling))?;
            let report = coupling.finalize(&run_dir)?;
            if sim.domain.is_root() {
                tracing::info!("coupling timings:\n{}", report.table());
            }
        }
    }
    Ok(())
}

fn log_start(sim: &Simulation, mode: &str) {
    if sim.domain.is_root() {
        let (p, d) = (&sim.params, &sim.domain.decomp);
        tracing::info!(
            "{mode}: {} × {} cells on {} × {} ranks, dt = {} s, {} steps from step {}, output in {}",
            p.nx,
            p.ny,
            d.px,
            d.py,
            p.dt,
            sim.plan.steps,
            sim.step,
            sim.plan.run_dir.display()
        );
    }
}

fn bench(
    world: &mpi::topology::SimpleCommunicator,
    sizes: &[usize],
    steps: u64,
) -> anyhow::Result<()> {
    for &n in sizes {
        let r = ocean_model::bench::run_one(world, n, steps)?;
        if world.rank() == 0 {
            println!(
                "n = {:4}  ranks = {}  steps = {:4}  dt = {:5} s  {:7.2} ns/cell/step (job)  {:7.2} core-ns/cell/step  {:8.2} SYPD",
                r.n, r.ranks, r.steps, r.dt, r.ns_per_cell_step, r.core_ns_per_cell_step, r.sypd
            );
        }
    }
    Ok(())
}
