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
//! let p = Params::for_grid(16, 16);
//! p.validate().unwrap();
//! let whole = RankBox { i0: 0, j0: 0, ni: 16, nj: 16 };
//! let (mut state, mut rhs) = (State::zeros(16, 16), Rhs::new(&p, whole));
//! let (mut halo, mut rk4) = (Halo::serial(16, 16, p.walls), Rk4::new(16, 16));
//! for _ in 0..10 {
//!     rk4.step(&mut state, &mut rhs, &mut halo, p.dt, &mut |_| Ok(())).unwrap();
//! }
//! assert!(state.u.at(3, 3) != 0.0); // the wind has spun the ocean up
//! ```
//!
//! The binary (`src/main.rs`) reads like the experiment: configuration →
//! [`simulation::Simulation`] (grid, decomposition, physics, restart) → optional
//! [`coupled::OceanCoupling`] → `run` (time loop with output schedules). Module map:
//! [`params`] and [`config`] (parameters, `[ocean]` table), [`startup`] (the checks before
//! the launch is joined), [`grid`], [`field`],
//! [`halo`], [`domain`] (decomposition and MPI), [`physics`] (one module per term),
//! [`timestepper`] (RK4), [`diagnostics`], [`output`], [`checkpoint`], [`progress`],
//! [`bench`], [`plot`] (PNG figures of a run's output).

pub mod bench;
pub mod checkpoint;
pub mod config;
pub mod coupled;
pub mod diagnostics;
pub mod domain;
pub mod error;
pub mod field;
pub mod grid;
pub mod halo;
pub mod output;
pub mod params;
pub mod physics;
pub mod plot;
pub mod progress;
pub mod simulation;
pub mod startup;
pub mod state;
pub mod timestepper;

pub use error::{OceanError, Result};
