//! # ocean-model
//!
//! A wind-driven, rotating shallow-water model of a closed basin on a β-plane,
//! discretised on an Arakawa C-grid (see [`grid`] for the staggering convention the
//! coupling relies on), integrated with RK4, decomposed over MPI ranks with
//! bit-for-bit reproducible results, writing CF NetCDF output and checkpoints,
//! and optionally coupled through the `coupler` crate.
//!
//! The physics can be used without MPI:
//!
//! ```
//! use ocean_model::{grid::RankBox, halo::Halo, params::Params, physics::Rhs,
//!                   state::State, timestepper::Rk4};
//! use ocean_model::physics::forcing::{NoForcing, StepStart};
//! let p = Params::for_grid(16, 16);
//! p.validate().unwrap();
//! let whole = RankBox { i0: 0, j0: 0, ni: 16, nj: 16 };
//! // The float type the model steps in: f64 here, f32 works the same way.
//! let (mut state, mut rhs) = (State::<f64>::zeros(16, 16), Rhs::new(&p, whole));
//! let (mut halo, mut rk4) = (Halo::serial(16, 16, p.walls), Rk4::new(16, 16));
//! for step in 0..10 {
//!     let at = StepStart { step, time_s: step as f64 * p.dt };
//!     rk4.step(at, p.dt, &mut state, &mut rhs, &mut halo, &mut NoForcing).unwrap();
//! }
//! assert!(state.u.at(3, 3) != 0.0); // the wind has spun the ocean up
//! ```
//!
//! The binary (`src/main.rs`) reads like the experiment: configuration →
//! [`simulation::Simulation`] (grid, decomposition, physics, restart) → optional
//! [`coupled::OceanCoupling`] → `run` (time loop with output schedules). Module map
//! (docs/ocean.md says more):
//!
//! * [`params`] (every parameter, checked) and [`config`] (the `[ocean]` table, one module
//!   per table), [`startup`] (the checks before the launch is joined);
//! * [`grid`], [`field`], [`halo`], [`domain`] (decomposition and MPI), [`state`];
//! * [`physics`]: one module per term; [`physics::forcing`] holds the external forcing and
//!   [`physics::forcing::ForcingSource`], where it comes from (none, the coupler, later an
//!   in-process model);
//! * [`timestepper`]: RK4, written once for every forcing source;
//! * [`coupled`]: the coupler and the ocean's fields, a forcing source, and the
//!   [`coupled::Coupling`] hooks the run loop calls;
//! * [`embedded`]: `[ml] placement = "embedded"`, ml-server's engine inside every ocean
//!   rank, the exchanges through the coupler's loopback;
//! * [`simulation`]: the loop, with output schedules, the stability check and the
//!   checkpoints of a run that stops early;
//! * [`diagnostics`], [`output`], [`checkpoint`], [`progress`], [`bench`], [`error`].
//!
//! The figures of `ocean-model plot` are drawn by the `eddylink-plot` crate.

pub mod bench;
pub mod checkpoint;
pub mod config;
pub mod coupled;
pub mod diagnostics;
pub mod domain;
pub mod embedded;
pub mod error;
pub mod field;
pub mod grid;
pub mod halo;
pub mod output;
pub mod params;
pub mod physics;
pub mod progress;
pub mod real;
pub mod simulation;
pub mod startup;
pub mod state;
pub mod timestepper;

pub use error::{OceanError, Result};
