//! What the toy ocean and toy ML programs share: arguments and the response rule.

use anyhow::Context;
use clap::Parser;
use coupler::config::{Exchange, Period};
use coupler::{Coupler, CouplingConfig, FieldDef, Region};
use experiment::ExperimentFile;
use mpi::topology::{Communicator, SimpleCommunicator};

use crate::{blocks, expected_cell, parse_layout, steps_of_coupling_time};

/// Arguments of both toy components.
#[derive(Debug, Parser)]
pub struct ToyArgs {
    /// Experiment TOML with [run] and [coupling].
    #[arg(long)]
    pub config: std::path::PathBuf,
    /// Decomposition of this component, PXxPY.
    #[arg(long, default_value = "1x1")]
    pub layout: String,
    /// Global grid, NXxNY.
    #[arg(long, default_value = "24x20")]
    pub grid: String,
    /// The ocean's time step, seconds.
    #[arg(long, default_value_t = 3600.0)]
    pub dt: f64,
    /// Component name to register as (defaults to the program's role).
    #[arg(long)]
    pub name: Option<String>,
    /// Fault injection: stop answering (stay alive, silent) after this many coupling times.
    #[arg(long)]
    pub hang_after: Option<usize>,
    /// Send with put_sync (straight from the array, waiting until received) instead of put.
    #[arg(long)]
    pub put_sync: bool,
    /// Fault injection: give up before enddef with this reason (Coupler::abandon).
    #[arg(long)]
    pub fail_before_enddef: Option<String>,
}

/// A toy component that has joined the job and declared `u`, `sx` (and the static `mask`
/// when the config has one), ready for `enddef` (or `abandon`).
pub struct Toy {
    pub args: ToyArgs,
    pub exp: ExperimentFile,
    pub cpl: Coupler,
    pub rank: usize,
    /// Global grid (nx, ny).
    pub grid: (usize, usize),
    /// This rank's box.
    pub region: Region,
    pub u_ex: Exchange,
    pub sx_ex: Exchange,
    pub mask_ex: Option<Exchange>,
}

/// Parses the arguments, joins the coupled job as `default_name` (or `--name`) and
/// declares this rank's box of every toy field.
pub fn join(world: &SimpleCommunicator, default_name: &str) -> anyhow::Result<Toy> {
    let args = ToyArgs::parse();
    let exp = ExperimentFile::load(&args.config)?;
    let config = exp
        .coupling()?
        .context("the toy needs a [coupling] table")?;
    let name = args.name.clone().unwrap_or_else(|| default_name.into());
    let mut cpl = Coupler::init(world, &name, &config)?;
    let (px, py) = parse_layout(&args.layout).context("--layout PXxPY")?;
    let grid = parse_layout(&args.grid).context("--grid NXxNY")?;
    let rank = cpl.local_comm().rank() as usize;
    let region = blocks(grid.0, grid.1, px, py)[rank];
    let u_ex = exchange_to(&config, "ml", "u").clone();
    let sx_ex = exchange_to(&config, "ocean", "sx").clone();
    let mask_ex = static_mask(&config);
    for (field, ex) in [
        ("u", Some(&u_ex)),
        ("sx", Some(&sx_ex)),
        ("mask", mask_ex.as_ref()),
    ] {
        if let Some(ex) = ex {
            cpl.define_field(
                field,
                FieldDef {
                    region,
                    levels: ex.levels,
                    point: ex.point,
                },
            )?;
        }
    }
    Ok(Toy {
        args,
        exp,
        cpl,
        rank,
        grid,
        region,
        u_ex,
        sx_ex,
        mask_ex,
    })
}

/// The exchange whose destination is `component.field`.
pub fn exchange_to<'a>(config: &'a CouplingConfig, component: &str, field: &str) -> &'a Exchange {
    config
        .exchanges
        .iter()
        .find(|e| e.dst.component == component && e.dst.field == field)
        .unwrap_or_else(|| panic!("the toy config has no exchange to {component}.{field}"))
}

/// The static exchange `ocean.mask → ml.mask`, when the config has one.
pub fn static_mask(config: &CouplingConfig) -> Option<Exchange> {
    config
        .exchanges
        .iter()
        .find(|e| e.dst.field == "mask" && e.period == Period::Static)
        .cloned()
}

/// The value the ML side sees at global cell (gi, gj) of `ex` at coupling time `t`.
pub fn seen(
    ex: &Exchange,
    size: (usize, usize),
    gi: i64,
    gj: i64,
    level: usize,
    t: f64,
    dt: f64,
) -> f64 {
    let period = match ex.period {
        Period::Every(p) => p,
        Period::Static => dt,
    };
    let steps = steps_of_coupling_time(t, period, ex.lag_s, dt);
    expected_cell(gi, gj, level, size, ex.boundary, &steps, ex.op)
}

/// The toy ML's answer at a cell: 100 plus the value, plus a centred difference along x and
/// y over the halo when there is one.
pub fn response(value: impl Fn(i64, i64) -> f64, gi: i64, gj: i64, halo: usize) -> f64 {
    let centre = 100.0 + value(gi, gj);
    if halo == 0 {
        centre
    } else {
        centre + (value(gi + 1, gj) - value(gi - 1, gj)) + (value(gi, gj + 1) - value(gi, gj - 1))
    }
}
