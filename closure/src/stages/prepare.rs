//! The stages before training: the truth's start on the fine grid (`regrid`), the coarse
//! samples and their subgrid forcing (`coarse-grain`), an online run's start (`init`).

use std::path::Path;

use anyhow::{bail, Context, Result};
use closure::dataset::{coarse_dataset, CoarseWriter, Provenance, Snapshots};
use closure::filter::Coarsening;
use closure::regrid::refine;
use closure::samples::CoarseFile;
use closure::stagger::{Axis, Global};
use closure::target::SubgridForcing;
use ocean_model::checkpoint;
use ocean_model::field::Stagger;

use super::{factor, params};

/// `closure regrid`: a coarse checkpoint interpolated onto the fine grid (step 0, time 0).
pub(crate) fn regrid(ckpt: &Path, from: &Path, to: &Path, out: &Path) -> Result<()> {
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

/// `closure coarse-grain`: each fine snapshot filtered, coarsened, and its subgrid forcing.
pub(crate) fn coarse_grain(
    fine_toml: &Path,
    coarse_toml: &Path,
    snapshots: &Path,
    out: &Path,
) -> Result<()> {
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

/// `closure init`: a coarse checkpoint from the truth sample of one day.
pub(crate) fn init(data: &Path, day: f64, config: &Path, out: &Path) -> Result<()> {
    let p = params(config)?;
    let file = CoarseFile::read(data)?;
    let k = file
        .times
        .iter()
        .position(|t| (t / 86_400.0 - day).abs() < 1e-6)
        .with_context(|| format!("{}: no sample at day {day}", data.display()))?;
    if (file.nx, file.ny) != (p.nx, p.ny) {
        bail!(
            "{}: grid {} × {} is not that of {}",
            data.display(),
            file.nx,
            file.ny,
            config.display()
        );
    }
    let take = |t: &tch::Tensor| -> Vec<f64> {
        Vec::<f64>::try_from(t.get(k as i64).to_kind(tch::Kind::Double).flatten(0, -1))
            .unwrap_or_default()
    };
    let (u, v) = (
        take(&file.velocity.select(1, 0)),
        take(&file.velocity.select(1, 1)),
    );
    let eta = take(&file.eta);
    let zeros = vec![0.0; p.cells()];
    let time_s = file.times[k];
    let step = (time_s / p.dt).round() as u64;
    checkpoint::write(out, &p, step, time_s, [&u, &v, &eta, &zeros, &zeros])?;
    println!(
        "closure init: day {day} of {} → {} (step {step})",
        data.display(),
        out.display()
    );
    Ok(())
}
