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
//! every component reads (see [`config`]; the `experiment` crate reads the whole file and
//! hands this table over). The lifecycle is explicit and checked:
//!
//! ```no_run
//! use coupler::{Coupler, CouplingConfig, FieldDef, GridPoint, Region};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let universe = mpi::initialize().expect("MPI initialised once");
//! let config = CouplingConfig::from_toml(
//!     r#"[[exchange]]
//!        from = "ocean.u"
//!        to = "ml.u"
//!        grid = "U"
//!        period = "1h"
//!        [[exchange]]
//!        from = "ml.sx"
//!        to = "ocean.sx"
//!        grid = "U"
//!        period = "1h""#,
//!     86400.0, // the run length, from the experiment's [run] table
//! )?;
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
//! | [`config`] | the `[coupling]` table; durations and configuration diagnostics |
//! | [`launch`], `launcher` | what every program tells the others at start-up; launcher hints |
//! | [`signals`] | stop requests by signal |
//! | [`error`] | [`CouplerError`] |
//! | [`say`] | one-write stderr lines |

mod component;
pub mod config;
pub mod error;
mod handshake;
pub mod launch;
mod launcher;
mod link;
pub mod loopback;
mod participant;
pub mod routes;
pub mod say;
pub mod signals;
pub mod timeops;
pub mod timing;
mod transport;
mod wire;

pub use component::{Component, FieldDef};
pub use config::{Boundary, CouplingConfig, GridPoint, TimeOp};
pub use error::CouplerError;
pub use participant::Coupler;
pub use routes::Region;
pub use timing::{FieldTiming, TimingReport};
pub use wire::Element;
