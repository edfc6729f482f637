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

//! # Where things are
//!
//! | module | its job |
//! |---|---|
//! | [`participant`](Coupler) | the [`Coupler`] handle: init, define, enddef, put, get, finalize; restart-time agreement; failure and stop notices, the panic hook, abort on drop |
//! | `component` | [`Component`] and [`FieldDef`]: who takes part and what a rank declares |
//! | `handshake` | the enddef checks: same configuration everywhere, boxes that tile |
//! | [`routes`] | the M×N routes between boxes, halos and zero fill |
//! | `link` | one exchange on one rank: clock, sender, receiver |
//! | [`timeops`] | the time operations over a coupling period |
//! | `wire` | the wire format: [`Element`] values cross as f32 |
//! | `transport` | non-blocking MPI with deadlines (the only direct MPI calls) |
//! | [`timing`] | per-field timings and their reduction over a component's ranks |
//! | [`config`] | the `[coupling]` table (and, for now, the experiment file's other shared tables) |
//! | [`launch`], `launcher` | what every program tells the others at start-up; launcher hints |
//! | [`signals`] | stop requests by signal |
//! | [`error`] | [`CouplerError`] |
//! | [`rundir`], [`fault`], [`say`] | run directory and logging, fault injection, one-write stderr lines |

mod component;
pub mod config;
pub mod error;
pub mod fault;
mod handshake;
pub mod launch;
mod launcher;
mod link;
mod participant;
pub mod routes;
pub mod rundir;
pub mod say;
pub mod signals;
pub mod timeops;
pub mod timing;
mod transport;
mod wire;

pub use component::{Component, FieldDef};
pub use config::{Boundary, CouplingConfig, ExperimentFile, GridPoint, RunConfig, TimeOp};
pub use error::CouplerError;
pub use participant::Coupler;
pub use routes::Region;
pub use timing::{FieldTiming, TimingReport};
pub use wire::Element;
