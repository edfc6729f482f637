//! # closure
//!
//! eddylink's learned-closure pipeline, in the stages a user runs (each a subcommand of the
//! `closure` binary, with its inputs and outputs on the command line, and a manifest beside
//! each output):
//!
//! 1. truth: high-resolution standalone runs of the ocean model (`make truth`), started from
//!    a spun-up coarse state interpolated to the fine grid ([`regrid`]);
//! 2. coarse-graining: the fine snapshots filtered and averaged onto the coarse C-grid
//!    ([`filter`]), and the subgrid momentum forcing that the coarse model misses
//!    ([`target`]), written as training data ([`dataset`]).
//!
//! Module map: [`stagger`] (C-grid arrays and how they continue beyond walls), [`filter`]
//! (Gaussian filter, coarse averages), [`regrid`] (bilinear refinement), [`target`]
//! (the total-form subgrid forcing with the model's own right-hand side), [`dataset`]
//! (NetCDF in and out), [`samples`] and [`split`] (training data by period), [`network`]
//! and [`train`] (the FullyCNN and its training), [`offline`], [`score`] and [`figures`]
//! (the offline and online evaluation), [`card`] (the model card). The `closure` program's
//! subcommands are in `src/main.rs` and `src/stages/` (prepare, train, evaluate).
//!
//! ```
//! use closure::filter::Coarsening;
//! use closure::target::{Fields, SubgridForcing};
//! use ocean_model::params::Params;
//! let (fine, coarse) = (Params::for_grid(32, 32), Params::for_grid(8, 8));
//! let mut s = SubgridForcing::new(&fine, &coarse, Coarsening::gz21(4));
//! let rest = Fields::new(&fine, vec![0.0; 1024], vec![0.0; 1024], vec![0.0; 1024]);
//! let sample = s.sample(&rest);
//! assert_eq!(sample.forcing.u.nx, 8);
//! ```

pub mod card;
pub mod dataset;
pub mod figures;
pub mod filter;
pub mod network;
pub mod offline;
pub mod regrid;
pub mod samples;
pub mod score;
pub mod split;
pub mod stagger;
pub mod target;
pub mod train;
