//! Test helper binary, a stand-in for the ML component in the ocean's MPMD tests: joins the coupled job
//! as "ml" on one rank, receives the ocean's u and v, and sends zero forcing sx, sy.
//!
//! ```text
//! mpiexec -n 2 ocean-model --config exp.toml : -n 1 zero_forcing_partner exp.toml
//! ```

use anyhow::{bail, Context};
use coupler::{Coupler, Region};
use experiment::ExperimentFile;

use ocean_model::config::OceanConfig;

fn main() -> anyhow::Result<()> {
    let Some(path) = std::env::args().nth(1) else {
        bail!("usage: zero_forcing_partner EXPERIMENT.toml")
    };
    let universe = mpi::initialize().context("MPI initialised once")?;
    let world = universe.world();
    let exp = ExperimentFile::load(path.as_ref())?;
    let run = exp.run()?;
    let coupling = exp
        .coupling()?
        .context("the experiment has no [coupling] table")?;
    let ocean: OceanConfig = exp.section("ocean")?.unwrap_or_default();
    let setup = ocean.resolve(run.duration_s, run.run_dir())?;
    let p = setup.params;
    let mut cpl = Coupler::init(&world, "ml", &coupling)?;
    let region = Region {
        i0: 0,
        j0: 0,
        ni: p.nx,
        nj: p.ny,
    };
    cpl.define_fields(region)?;
    cpl.enddef()?;
    let mut velocity = vec![0.0f64; p.nx * p.ny];
    let zeros = vec![0.0f64; p.nx * p.ny];
    for n in 0..setup.plan.steps {
        let t = n as f64 * p.dt;
        cpl.get("u", t, &mut velocity)?;
        cpl.get("v", t, &mut velocity)?;
        cpl.put("sx", t, &zeros)?;
        cpl.put("sy", t, &zeros)?;
    }
    cpl.finalize(None)?;
    Ok(())
}
