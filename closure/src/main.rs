//! `closure`: the stages of the learned-closure pipeline.
//!
//! ```text
//! closure regrid --checkpoint C.nc --from coarse.toml --to fine.toml --out F.nc
//! closure coarse-grain --fine fine.toml --coarse coarse.toml --snapshots S.nc --out coarse.nc
//! closure train --data coarse_a.nc [--data coarse_b.nc] --out weights.safetensors [--epochs N …]
//! ```

mod stages;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use stages::evaluate::{figures, score, FiguresArgs, ScoreArgs};
use stages::prepare::{coarse_grain, init, regrid};
use stages::train::{train, TrainArgs};

#[derive(Parser)]
#[command(
    name = "closure",
    version,
    about = "eddylink's learned-closure pipeline"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Interpolate a checkpoint onto a finer grid of the same basin (the truth run's start).
    Regrid {
        /// Checkpoint of a run of the `--from` experiment.
        #[arg(long, value_name = "FILE")]
        checkpoint: PathBuf,
        /// The coarse experiment file.
        #[arg(long, value_name = "TOML")]
        from: PathBuf,
        /// The fine experiment file (its grid must be a whole multiple of the coarse one).
        #[arg(long, value_name = "TOML")]
        to: PathBuf,
        /// The checkpoint to write (step 0, time 0, the fine time step).
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Filter and coarsen fine snapshots; compute the subgrid forcing of each.
    CoarseGrain {
        /// The fine (truth) experiment file.
        #[arg(long, value_name = "TOML")]
        fine: PathBuf,
        /// The coarse experiment file.
        #[arg(long, value_name = "TOML")]
        coarse: PathBuf,
        /// The truth run's snapshots.nc.
        #[arg(long, value_name = "FILE")]
        snapshots: PathBuf,
        /// The coarse samples to write (NetCDF).
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Write a coarse checkpoint from one coarse-grained truth sample (an online run's start).
    Init {
        /// Coarse samples (`coarse-grain` output).
        #[arg(long, value_name = "FILE")]
        data: PathBuf,
        /// Model day of the sample to start from.
        #[arg(long)]
        day: f64,
        /// The coarse experiment file (grid and time step).
        #[arg(long, value_name = "TOML")]
        config: PathBuf,
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Score coarse runs against the coarse-grained truth over a period (Ross et al. metrics).
    Score(ScoreArgs),
    /// Draw the evaluation's figures (KE series, spectra, maps, offline R² map).
    Figures(FiguresArgs),
    /// Train the FullyCNN on coarse samples (split by time as closure::split::TRUTH says).
    Train(TrainArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Regrid {
            checkpoint,
            from,
            to,
            out,
        } => regrid(&checkpoint, &from, &to, &out),
        Command::CoarseGrain {
            fine,
            coarse,
            snapshots,
            out,
        } => coarse_grain(&fine, &coarse, &snapshots, &out),
        Command::Train(args) => train(&args),
        Command::Init {
            data,
            day,
            config,
            out,
        } => init(&data, day, &config, &out),
        Command::Score(args) => score(&args),
        Command::Figures(args) => figures(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("closure: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
