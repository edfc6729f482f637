//! The `closure` program's stages, one file per group: [`prepare`] (regrid, coarse-grain,
//! init), [`train`], [`evaluate`] (score, figures); this file the helpers they share.

pub mod evaluate;
pub mod prepare;
pub mod train;

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use experiment::ExperimentFile;
use ocean_model::config::OceanConfig;
use ocean_model::params::Params;

/// The model parameters an experiment file resolves to.
pub(crate) fn params(path: &Path) -> Result<Params> {
    let exp = ExperimentFile::load(path)?;
    let run = exp.run()?;
    let ocean: OceanConfig = exp.section("ocean")?.unwrap_or_default();
    let setup = ocean
        .resolve(run.duration_s, PathBuf::new())
        .with_context(|| path.display().to_string())?;
    Ok(setup.params)
}

/// The whole-multiple factor between two grids of one basin.
pub(crate) fn factor(fine: &Params, coarse: &Params) -> Result<usize> {
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
