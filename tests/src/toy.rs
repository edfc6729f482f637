//! What the toy ocean and toy ML programs share: arguments and the response rule.

use clap::Parser;
use coupler::config::{Exchange, Period};
use coupler::CouplingConfig;

use crate::{expected_cell, steps_of_coupling_time};

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
    /// Fault injection: give up before enddef with this reason (Coupler::abandon).
    #[arg(long)]
    pub fail_before_enddef: Option<String>,
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
