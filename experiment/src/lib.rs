//! `experiment`: what every eddylink program shares about one experiment.
//!
//! One TOML file describes an experiment; every program of the MPMD job reads it. This
//! crate reads the file once ([`ExperimentFile`]), checks its table list and the `[run]`
//! table ([`RunConfig`]: name, length, output folder), and hands the other tables to their
//! owners: `[coupling]` to the coupler, `[ocean]`, `[ml]` and `[analysis]` to the programs
//! (through [`ExperimentFile::section`]). It also sets up what a program does in the run
//! directory (its log, a copy of the experiment file) and reads the fault-injection
//! variable `EDDYLINK_FAULT`.
//!
//! ```no_run
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let exp = experiment::ExperimentFile::load("configs/double_gyre.toml".as_ref())?;
//! let run = exp.run()?;                      // [run]: name, duration, output_dir
//! let coupling = exp.coupling()?;            // [coupling], if the experiment is coupled
//! experiment::logging::init_logging(true);   // stderr now …
//! experiment::logging::log_to_file(&run.run_dir(), "ocean")?; // … and <run dir>/ocean.log
//! # let _ = coupling; Ok(()) }
//! ```
//!
//! # Where things are
//!
//! | module | its job |
//! |---|---|
//! | `file` | [`ExperimentFile`]: reading the TOML once, the list of top-level tables |
//! | `run` | the `[run]` table, [`RunConfig`] |
//! | [`rundir`] | the run directory: the copy of the experiment file |
//! | [`logging`] | a stderr layer and a run-directory file layer for `tracing` |
//! | [`fault`] | fault injection by `EDDYLINK_FAULT` |
//!
//! The configuration diagnostics ([`ConfigError`], [`Problem`], [`did_you_mean`]) and the
//! durations ([`DurationValue`], [`parse_duration`]) are the coupler's, whose `[coupling]`
//! table needs them too; they are re-exported here, so that a program's own tables report
//! problems exactly as `[coupling]` does.

pub mod fault;
mod file;
pub mod logging;
mod run;
pub mod rundir;

pub use coupler::config::{
    check_duration, deserialize_at, did_you_mean, is_multiple, parse_duration, ConfigError,
    DurationValue, Problem,
};
pub use file::{ExperimentFile, TOP_LEVEL_TABLES};
pub use run::RunConfig;
