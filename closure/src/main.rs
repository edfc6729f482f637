//! `closure`: the stages of the learned-closure pipeline.
//!
//! ```text
//! closure regrid --checkpoint C.nc --from coarse.toml --to fine.toml --out F.nc
//! closure coarse-grain --fine fine.toml --coarse coarse.toml --snapshots S.nc --out coarse.nc
//! ```

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use closure::dataset::{coarse_dataset, CoarseWriter, Provenance, Snapshots};
use closure::filter::Coarsening;
use closure::regrid::refine;
use closure::stagger::{Axis, Global};
use closure::target::SubgridForcing;
use coupler::ExperimentFile;
use ocean_model::checkpoint;
use ocean_model::config::OceanConfig;
use ocean_model::field::Stagger;
use ocean_model::params::Params;

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
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("closure: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The model parameters an experiment file resolves to.
fn params(path: &Path) -> Result<Params> {
    let exp = ExperimentFile::load(path)?;
    let run = exp.run()?;
    let ocean: OceanConfig = exp.section("ocean")?.unwrap_or_default();
    let setup = ocean
        .resolve(run.duration_s, PathBuf::new())
        .with_context(|| path.display().to_string())?;
    Ok(setup.params)
}

/// The whole-multiple factor between two grids of one basin.
fn factor(fine: &Params, coarse: &Params) -> Result<usize> {
    let r = fine.nx / coarse.nx;
    if r < 1
        || fine.nx != r * coarse.nx
        || fine.ny != r * coarse.ny
        || fine.lx != coarse.lx
        || fine.ly != coarse.ly
    {
        bail!(
            "the fine grid ({} × {}, {} × {} m) is not a whole multiple of the coarse one ({} × {}, {} × {} m) over the same basin",
            fine.nx, fine.ny, fine.lx, fine.ly, coarse.nx, coarse.ny, coarse.lx, coarse.ly
        );
    }
    Ok(r)
}

fn regrid(ckpt: &Path, from: &Path, to: &Path, out: &Path) -> Result<()> {
    let (coarse, fine) = (params(from)?, params(to)?);
    let r = factor(&fine, &coarse)?;
    let ck = checkpoint::read(ckpt, &coarse)?;
    let staggers = [Stagger::U, Stagger::V, Stagger::T, Stagger::U, Stagger::V];
    let arrays: Vec<Vec<f64>> = ck
        .arrays
        .iter()
        .zip(staggers)
        .enumerate()
        .map(|(k, (a, s))| {
            if k >= 3 {
                // No forcing was received yet on the new grid.
                return vec![0.0; fine.cells()];
            }
            let g = Global::new(coarse.nx, coarse.ny, Axis::of(s, coarse.walls), a.clone());
            refine(&g, r).data
        })
        .collect();
    let refs = [
        &arrays[0][..],
        &arrays[1],
        &arrays[2],
        &arrays[3],
        &arrays[4],
    ];
    checkpoint::write(out, &fine, 0, 0.0, refs)?;
    println!(
        "closure regrid: {} (day {:.0} of a {} × {} run) → {} ({} × {}, dt = {} s)",
        ckpt.display(),
        ck.time_s / 86_400.0,
        coarse.nx,
        coarse.ny,
        out.display(),
        fine.nx,
        fine.ny,
        fine.dt
    );
    Ok(())
}

fn coarse_grain(fine_toml: &Path, coarse_toml: &Path, snapshots: &Path, out: &Path) -> Result<()> {
    let (fine, coarse) = (params(fine_toml)?, params(coarse_toml)?);
    let r = factor(&fine, &coarse)?;
    let mut snaps = Snapshots::open(snapshots, &fine)?;
    let n = snaps.times.len();
    let coarsening = Coarsening::gz21(r);
    let how = Provenance {
        source: &format!(
            "eddylink closure {} coarse-grain of {} ({} × {}) onto {} × {}",
            env!("CARGO_PKG_VERSION"),
            snapshots.display(),
            fine.nx,
            fine.ny,
            coarse.nx,
            coarse.ny
        ),
        factor: r,
        filter_sigma: r as f64 / 2.0,
        target: "total: S = C(RHS_fine(u, v, eta)) - RHS_coarse(C(u), C(v), C(eta)), added to the coarse tendency",
    };
    let ds = coarse_dataset(out, &coarse, n, &how)?;
    let mut writer = CoarseWriter::create(out, &coarse, &ds)?;
    let mut forcing = SubgridForcing::new(&fine, &coarse, coarsening);
    for k in 0..n {
        let sample = forcing.sample(&snaps.record(k)?);
        writer.push(snaps.times[k], &sample)?;
        if (k + 1) % 50 == 0 || k + 1 == n {
            eprintln!("closure coarse-grain: {}/{n} samples", k + 1);
        }
    }
    writer.close()?;
    println!("closure coarse-grain: {n} samples → {}", out.display());
    Ok(())
}
