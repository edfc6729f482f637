//! `ml_server`: runs a momentum-forcing model on velocities received from the ocean.
//!
//! The experiment file's `[ml]` table ([`config::MlConfig`]) picks a model —
//! the GZ21 FullyCNN written natively in tch, any TorchScript module, or an
//! analytic forcing — plus its input/output transforms and the device. An
//! [`engine::Engine`] owns the model and the `[levels, 2, H, W]` staging buffer
//! the coupler fills in place, and returns `[levels, 2, ny, nx]` forcing.
//!
//! ```no_run
//! use ml_server::{config::MlConfig, device, engine::{BatchShape, Engine}};
//! # fn main() -> Result<(), ml_server::MlError> {
//! let cfg = MlConfig::load("experiment.toml".as_ref())?;
//! let device = device::select(cfg.device_request()?, 0)?;
//! let shape = BatchShape { levels: 1, ny: 128, nx: 128, halo: 10 };
//! let mut engine = Engine::new(&cfg, device, shape, 0)?;
//! engine.input_mut()?.fill(0.1); // u and v, halo included
//! let forcing = engine.run()?;   // sx, sy on the 128 × 128 interior
//! assert_eq!(forcing.len(), 2 * 128 * 128);
//! # Ok(()) }
//! ```
//!
//! # Where things are
//!
//! | module | its job |
//! |---|---|
//! | [`config`] | the `[ml]` table: model, transforms, device |
//! | [`startup`] | what the server checks before it serves (and `ml-server check`) |
//! | [`engine`] | staging buffers, model and transforms for one batch shape |
//! | [`models`] | the FullyCNN, TorchScript and analytic models |
//! | [`weights`], [`pth`] | named weight tensors from `.safetensors` or a `torch.save` archive |
//! | [`device`], [`gpu`] | where the model runs; page-locked staging and copy streams |
//! | [`bench`] | per-stage timings of one coupling call (`ml-server bench`) |
//! | [`npy`] | `.npy` input and output for `ml-server infer` |
//! | [`error`] | [`MlError`] |
//!
//! The coupled loop itself (`serve`) is in the binary, beside `main`.

pub mod bench;
pub mod budget;
pub mod config;
pub mod device;
pub mod engine;
pub mod error;
pub mod gpu;
pub mod models;
pub mod npy;
pub mod pth;
pub mod startup;
pub mod weights;

pub use error::MlError;
