//! Stand-in for the ML component in the ocean's MPMD tests: joins the coupled job as "ml"
//! on one rank, receives the ocean's u and v, and sends zero forcing sx, sy, at every
//! coupling time of the `[coupling]` table.
//!
//! ```text
//! mpiexec -n 2 ocean-model --config exp.toml : -n 1 zero-forcing-partner exp.toml
//! ```
//!
//! It knows nothing of the ocean but the size of its grid (`[coupling] grid`, else
//! `[ocean.grid]` nx and ny).

use anyhow::{bail, Context};
use coupler::config::Period;
use coupler::{Coupler, CouplingConfig, Region};
use experiment::ExperimentFile;

fn main() -> anyhow::Result<()> {
    let Some(path) = std::env::args().nth(1) else {
        bail!("usage: zero-forcing-partner EXPERIMENT.toml")
    };
    let universe = mpi::initialize().context("MPI initialised once")?;
    let world = universe.world();
    let exp = ExperimentFile::load(path.as_ref())?;
    let coupling = exp
        .coupling()?
        .context("the experiment has no [coupling] table")?;
    let (nx, ny) = grid(&exp, &coupling)?;
    let period = shortest_period(&coupling)?;
    let mut cpl = Coupler::init(&world, "ml", &coupling)?;
    cpl.define_fields(Region {
        i0: 0,
        j0: 0,
        ni: nx,
        nj: ny,
    })?;
    cpl.enddef()?;
    let mut velocity = vec![0.0f64; nx * ny];
    let zeros = vec![0.0f64; nx * ny];
    // Coupling times are 0 <= t < [run] duration; a time that is not one of a field's
    // is passed over by the coupler.
    let times = (coupling.run_duration_s / period).round() as u64;
    for k in 0..times {
        let t = k as f64 * period;
        cpl.get("u", t, &mut velocity)?;
        cpl.get("v", t, &mut velocity)?;
        cpl.put("sx", t, &zeros)?;
        cpl.put("sy", t, &zeros)?;
    }
    cpl.finalize(None)?;
    Ok(())
}

/// The global grid: `[coupling] grid`, else `[ocean.grid]` nx and ny.
fn grid(exp: &ExperimentFile, coupling: &CouplingConfig) -> anyhow::Result<(usize, usize)> {
    if let Some(grid) = coupling.grid {
        return Ok(grid);
    }
    let ocean: serde_json::Value = exp.section("ocean")?.unwrap_or_default();
    let size = |key: &str| {
        ocean["grid"][key]
            .as_u64()
            .map(|n| n as usize)
            .with_context(|| format!("no [coupling] grid and no ocean.grid.{key}"))
    };
    Ok((size("nx")?, size("ny")?))
}

/// The shortest period of the periodic exchanges: every coupling time is a multiple of it.
fn shortest_period(coupling: &CouplingConfig) -> anyhow::Result<f64> {
    let periods = coupling.exchanges.iter().filter_map(|e| match e.period {
        Period::Every(p) => Some(p),
        Period::Static => None,
    });
    let shortest = periods.clone().fold(f64::INFINITY, f64::min);
    if !shortest.is_finite() {
        bail!("no periodic exchange in [coupling]");
    }
    if let Some(p) = periods
        .clone()
        .find(|&p| !coupler::config::is_multiple(p, shortest))
    {
        bail!("period {p} s is not a multiple of the shortest, {shortest} s");
    }
    Ok(shortest)
}
