//! `coupler`: an OASIS/Eophis-style coupling library for MPMD MPI jobs.
//!
//! Two or more programs launched together (`mpiexec -n 4 ocean-model … : -n 2 ml-server …`)
//! find each other by component name, declare how their fields are decomposed, and then
//! exchange 2-D and 3-D fields at coupling times. The coupler moves each sub-block directly
//! from the rank that owns it to the rank that needs it (M×N redistribution), fills the
//! halos a destination asks for, applies time operations over a coupling period on the
//! source side, and never lets a rank wait forever: every wait has a deadline.
//!
//! The exchanges are described once, in the `[coupling]` table of the experiment TOML that
//! every component reads (see [`config`]). The lifecycle is explicit and checked:
//!
//! ```no_run
//! use coupler::{config::ExperimentFile, Coupler, FieldDef, GridPoint, Region};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let universe = mpi::initialize().expect("MPI initialised once");
//! let exp = ExperimentFile::load("configs/double_gyre.toml".as_ref())?;
//! let config = exp.coupling()?.expect("a [coupling] table");
//! let mut cpl = Coupler::init(&universe.world(), "ocean", &config)?;
//! let region = Region { i0: 0, j0: 0, ni: 64, nj: 64 }; // this rank's box, from local_comm()
//! cpl.define_field("u", FieldDef { region, levels: 1, point: GridPoint::U })?;
//! cpl.define_field("sx", FieldDef { region, levels: 1, point: GridPoint::U })?;
//! cpl.enddef()?;
//! let (u, mut sx) = (vec![0.0f64; 64 * 64], vec![0.0f64; 64 * 64]);
//! for step in 0..24 {
//!     let t = step as f64 * 3600.0;
//!     cpl.put("u", t, &u)?;          // returns at once: the ML side works meanwhile
//!     // … ocean work …
//!     cpl.get("sx", t, &mut sx)?;    // waits only at coupling times
//! }
//! let report = cpl.finalize(Some("out/run".as_ref()))?;
//! println!("{}", report.table());
//! # Ok(()) }
//! ```

pub mod config;
mod coupler;
pub mod error;
pub mod fault;
mod handshake;
pub mod launch;
mod launcher;
mod link;
pub mod routes;
pub mod rundir;
pub mod say;
pub mod signals;
pub mod timeops;
pub mod timing;
mod transport;

pub use config::{Boundary, CouplingConfig, ExperimentFile, GridPoint, RunConfig, TimeOp};
pub use coupler::{Component, Coupler, FieldDef};
pub use error::CouplerError;
pub use routes::Region;
pub use timeops::Element;
pub use timing::{FieldTiming, TimingReport};
