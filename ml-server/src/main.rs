//! `ml-server`: serves momentum forcing to the ocean model, or checks, runs and
//! benchmarks the configured model offline.
//!
//! ```text
//! ml-server --config exp.toml                      serve (under mpiexec, with the ocean)
//! ml-server check --config exp.toml                load, run one dummy batch, describe
//! ml-server infer --config exp.toml --input in.npy --output out.npy
//! ml-server bench --config exp.toml [--repeats N]
//! ml-server plot RUN_DIR [--out DIR]               figures of RUN_DIR/analysis.nc
//! ```

mod serve;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use ml_server::bench;
use ml_server::config::MlConfig;
use ml_server::device;
use ml_server::engine::{BatchShape, Engine};

#[derive(Parser)]
#[command(
    name = "ml-server",
    version,
    about = "Momentum-forcing inference server for eddylink"
)]
#[command(args_conflicts_with_subcommands = true)]
struct Cli {
    /// Experiment file (TOML) with an [ml] table: serve it in the coupled run.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Model file replacing [ml.fullycnn] weights or [ml.torchscript] file (also
    /// EDDYLINK_ML_WEIGHTS; this flag wins). Relative to the working directory.
    #[arg(long, value_name = "FILE", global = true)]
    weights: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Load the model, run one dummy batch and describe it.
    Check {
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
        /// Interior size of the dummy batch.
        #[arg(long, default_value_t = 32)]
        size: usize,
    },
    /// Run model and transforms on a float32 .npy of shape [levels, 2, ny+2h, nx+2h].
    Infer {
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
        #[arg(long, value_name = "FILE")]
        input: PathBuf,
        #[arg(long, value_name = "FILE")]
        output: PathBuf,
        /// Halo h of the input on each side (default: what the model trims).
        #[arg(long)]
        halo: Option<usize>,
    },
    /// Time receive/stage, host→device, inference and device→host per call.
    Bench {
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
        #[arg(long, default_value_t = 5)]
        repeats: usize,
        #[arg(long, default_value_t = 1)]
        warmup: usize,
        /// Only cases with at most this many input cells (levels × H × W).
        #[arg(long)]
        max_cells: Option<usize>,
    },
    /// Draw the in-situ analysis of a run (RUN_DIR/analysis.nc) as PNG files.
    Plot {
        run_dir: PathBuf,
        /// Write the PNG files into DIR [default: RUN_DIR/plots].
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            print!("{e}");
            return ExitCode::SUCCESS;
        }
        Err(e) => return refuse(&one_line(&e.to_string())),
    };
    // Every ML rank logs its own set-up line: info on all of them.
    experiment::logging::init_logging(true);
    if let Some(Command::Plot { run_dir, out }) = &cli.command {
        return exit_code(plot(run_dir, out.as_deref()));
    }
    let config = match &cli.command {
        None => cli.config.clone(),
        Some(Command::Plot { .. }) => None,
        Some(
            Command::Check { config, .. }
            | Command::Infer { config, .. }
            | Command::Bench { config, .. },
        ) => Some(config.clone()),
    };
    let Some(config) = config else {
        return refuse(
            "no experiment file: give --config FILE (or a command: check, infer, bench)",
        );
    };
    let weights = cli.weights.as_deref();
    let Some(command) = cli.command else {
        return serve::serve(&config, weights);
    };
    if !config.is_file() {
        let what = if config.is_dir() {
            "is a folder, not an experiment file"
        } else {
            "no such experiment file"
        };
        coupler::say!("ml-server: {}: {what}", config.display());
        return ExitCode::from(2);
    }
    let result = match command {
        Command::Check { size, .. } => check(&config, weights, size),
        Command::Infer {
            input,
            output,
            halo,
            ..
        } => infer(&config, weights, &input, &output, halo),
        Command::Bench {
            repeats,
            warmup,
            max_cells,
            ..
        } => run_bench(&config, weights, warmup, repeats, max_cells),
        Command::Plot { run_dir, out } => plot(&run_dir, out.as_deref()),
    };
    exit_code(result)
}

fn exit_code(result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            coupler::say!("ml-server: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// `ml-server plot`: the figures of RUN_DIR/analysis.nc.
fn plot(run_dir: &Path, out: Option<&Path>) -> anyhow::Result<()> {
    let file = run_dir.join(analysis::output::FILE);
    if !file.is_file() {
        anyhow::bail!(
            "{}: no such file (a run with an [analysis] table writes it)",
            file.display()
        );
    }
    let out = out.map_or_else(|| run_dir.join("plots"), Path::to_path_buf);
    for path in analysis::figures::draw(&file, &out)? {
        println!("{}", path.display());
    }
    Ok(())
}

/// A usage error: under an MPI launcher this rank first joins the launch with the reason,
/// so that the other programs stop at once instead of waiting for it in `MPI_Init`.
fn refuse(reason: &str) -> ExitCode {
    let (report, message) = coupler::launch::refuse(ml_server::startup::COMPONENT, reason);
    if report {
        coupler::say!("ml-server: {message}");
    }
    ExitCode::from(2)
}

/// clap's message on one line: its first line, joined with the next when it ends in ':'.
fn one_line(text: &str) -> String {
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let first = lines
        .next()
        .unwrap_or("bad arguments")
        .trim_start_matches("error: ");
    match lines.next() {
        Some(next) if first.ends_with(':') => format!("{first} {next}"),
        _ => first.to_string(),
    }
}

/// The validated `[ml]` table of `file`, relative paths taken from its folder, the model
/// file replaced by `--weights` or EDDYLINK_ML_WEIGHTS.
fn load_config(file: &Path, weights: Option<&Path>) -> anyhow::Result<MlConfig> {
    let exp = experiment::ExperimentFile::load(file)?;
    Ok(MlConfig::from_experiment_and_cli(&exp, weights)?)
}

fn check(file: &Path, weights: Option<&Path>, size: usize) -> anyhow::Result<()> {
    let exp = experiment::ExperimentFile::load(file)?;
    let cfg = MlConfig::from_experiment_and_cli(&exp, weights)?;
    let device = device::select(cfg.device_request()?, device::local_rank())?;
    let model = ml_server::models::build(&cfg, device).context("loading the model")?;
    let info = model.info().clone();
    let problems = ml_server::startup::coupled_problems(&exp, weights, &info);
    let shape = BatchShape {
        levels: 1,
        ny: size,
        nx: size,
        halo: info.receptive_radius.max(info.trim),
    };
    let mut engine = Engine::with_model(&cfg, model, device, shape, 0)?;
    engine.input_mut()?.fill(0.05);
    let out = engine.run().context("running a dummy batch")?;
    anyhow::ensure!(
        out.len() == shape.output_len(),
        "output has {} values, expected {}",
        out.len(),
        shape.output_len()
    );
    anyhow::ensure!(
        out.iter().all(|v| v.is_finite()),
        "the dummy batch gave non-finite forcing: {}",
        match cfg.model_file() {
            Some(f) => format!("the model file {} holds non-finite weights, or [ml] input_scale / output_scale overflow", f.display()),
            None => "the [ml] transforms (input_scale, output_scale) or the analytic model's settings overflow".into(),
        }
    );
    let side = 2 * info.receptive_radius + 1;
    println!("model:            {}", info.name);
    println!("device:           {}", format!("{device:?}").to_lowercase());
    println!(
        "precision:        {}",
        format!("{:?}", cfg.precision).to_lowercase()
    );
    println!("parameters:       {}", info.parameters);
    println!(
        "input shape:      [1, 2, {}, {}] (u, v with a {}-cell halo)",
        shape.height(),
        shape.width(),
        shape.halo
    );
    println!("output shape:     [1, 2, {size}, {size}] (sx, sy)");
    println!("receptive field:  {side}×{side} cells");
    println!(
        "halo needed:      {} (exact results need {})",
        info.trim, info.receptive_radius
    );
    let mode = format!("{:?}", cfg.output).to_lowercase();
    println!(
        "transforms:       input ×{}, output ×{:e}, {mode} output, mask {}",
        cfg.input_scale, cfg.output_scale, cfg.mask
    );
    match exp.coupling() {
        Ok(Some(c)) if problems.is_empty() => println!(
            "coupled run:      ok ({} exchanges; the ML side's start-up accepts the file)",
            c.exchanges.len()
        ),
        Ok(None) => println!("coupled run:      none (no [coupling] table)"),
        _ => {}
    }
    anyhow::ensure!(
        problems.is_empty(),
        "the coupled run would refuse this file:\n  {}",
        problems.join("\n  ")
    );
    Ok(())
}

fn infer(
    file: &Path,
    weights: Option<&Path>,
    input: &Path,
    output: &Path,
    halo: Option<usize>,
) -> anyhow::Result<()> {
    let cfg = load_config(file, weights)?;
    let device = device::select(cfg.device_request()?, device::local_rank())?;
    let batch = ml_server::npy::read_batch(input)?;
    let &[levels, _, h, w] = batch.shape() else {
        anyhow::bail!("{}: expected a 4-d array", input.display());
    };
    let halo = match halo {
        Some(h) => h,
        None => ml_server::models::build(&cfg, device)?.info().trim,
    };
    anyhow::ensure!(
        h > 2 * halo && w > 2 * halo,
        "{}: input of {h}×{w} is too small for a {halo}-cell halo",
        input.display()
    );
    let shape = BatchShape {
        levels,
        ny: h - 2 * halo,
        nx: w - 2 * halo,
        halo,
    };
    let mut engine = Engine::new(&cfg, device, shape, 0)?;
    let values = batch.as_slice().context("input array is not contiguous")?;
    engine.input_mut()?.copy_from_slice(values);
    let out = engine.run()?;
    ml_server::npy::write(output, &[levels, 2, shape.ny, shape.nx], out)?;
    println!(
        "{}: [{levels}, 2, {}, {}] forcing written",
        output.display(),
        shape.ny,
        shape.nx
    );
    Ok(())
}

fn run_bench(
    file: &Path,
    weights: Option<&Path>,
    warmup: usize,
    repeats: usize,
    max_cells: Option<usize>,
) -> anyhow::Result<()> {
    let cfg = load_config(file, weights)?;
    let mut devices = vec![tch::Device::Cpu];
    if device::cuda_usable() {
        devices.push(tch::Device::Cuda(0));
    }
    println!("{}", bench::HEADER);
    let mut gpu_rows = Vec::new();
    for device in devices {
        for shape in bench::standard_cases(10) {
            if max_cells.is_some_and(|m| shape.levels * shape.height() * shape.width() > m) {
                continue;
            }
            let row = bench::run_case(&cfg, device, shape, warmup, repeats)?;
            println!("{row}");
            if device != tch::Device::Cpu {
                gpu_rows.push(row);
            }
        }
    }
    if !gpu_rows.is_empty() {
        println!(
            "{}",
            bench::copy_rates(
                &gpu_rows,
                ml_server::gpu::pinned_bandwidth(0, 256 << 20, 5)?
            )
        );
    }
    Ok(())
}
