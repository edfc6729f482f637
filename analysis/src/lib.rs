//! `analysis`: in-situ analysis of the fields the ML server receives, on its device.
//!
//! The server's engine holds the received u, v (`[1, 2, H, W]`, halo included) and the
//! forcing it returns (`[1, 2, ny, nx]`) in tensors on its device. After the forcing has
//! been sent, [`Analysis::update`] reads those same tensors — no copy to the host, no
//! snapshot on disk — and updates, on the samples `[analysis]` asks for:
//!
//! * Welford mean and variance maps of u and v, hence MKE and EKE maps ([`stats`]);
//! * the time-averaged isotropic KE spectrum and the u·S transfer cospectrum ([`spectrum`]);
//! * a streaming rank-k POD of the vorticity or velocity snapshots ([`pod`]).
//!
//! Each ML rank holds a strip of rows; the ranks combine only small vectors (inner
//! products, basin means, partial DFTs) through [`comm::Ranks`], so the results do not
//! depend on the rank count. [`Analysis::save`] writes `analysis.nc` (CF-1.8) and the
//! state a restart reloads ([`Analysis::restore`]); [`figures::draw`] draws it.
//!
//! ```no_run
//! use analysis::{comm::Alone, config::AnalysisConfig, Analysis, Geometry};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let exp = experiment::ExperimentFile::load("configs/double_gyre_64_analysis.toml".as_ref())?;
//! let coupling = exp.coupling()?.expect("a [coupling] table");
//! let config = AnalysisConfig::from_experiment(&exp, &coupling)?.expect("an [analysis] table");
//! let geometry = Geometry { nx: 64, ny: 64, j0: 0, nj: 64, halo: 1 };
//! let mut analysis = Analysis::new(config, geometry, tch::Device::Cpu, false)?;
//! let input = tch::Tensor::zeros([1, 2, 66, 66], (tch::Kind::Float, tch::Device::Cpu));
//! let forcing = tch::Tensor::zeros([1, 2, 64, 64], (tch::Kind::Float, tch::Device::Cpu));
//! analysis.update(0.0, &input, &forcing, &Alone)?;
//! analysis.save("out/run".as_ref(), 86400.0, &Alone)?;
//! # Ok(()) }
//! ```

pub mod comm;
pub mod config;
pub mod error;
pub mod figures;
pub mod output;
pub mod pod;
pub mod session;
pub mod spectrum;
pub mod stats;

use std::path::Path;
use std::time::Instant;

use tch::{Device, Kind, TchError, Tensor};

use comm::Ranks;
use config::{AnalysisConfig, PodField};
pub use error::AnalysisError;
use pod::Pod;
use spectrum::Spectra;
use stats::Welford;

/// This rank's strip of the `nx × ny` grid: rows `j0 .. j0 + nj`, received with `halo`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Geometry {
    pub nx: usize,
    pub ny: usize,
    pub j0: usize,
    pub nj: usize,
    pub halo: usize,
}

/// The running analysis of one ML rank.
pub struct Analysis {
    config: AnalysisConfig,
    geometry: Geometry,
    device: Device,
    samples: u64,
    /// Model time of the last sample taken (−∞ before any).
    last_sample_s: f64,
    stats: Option<Welford>,
    spectra: Option<Spectra>,
    pod: Option<Pod>,
    /// Wall-clock seconds spent in [`Analysis::update`].
    seconds: f64,
}

/// One sample's interior fields, float64 on the device, `[nj, nx]` each.
struct Sample {
    u: Tensor,
    v: Tensor,
    sx: Tensor,
    sy: Tensor,
}

impl Analysis {
    /// No samples yet. `several_ranks`: the ML component has more than one rank.
    pub fn new(
        config: AnalysisConfig,
        geometry: Geometry,
        device: Device,
        several_ranks: bool,
    ) -> Result<Self, AnalysisError> {
        let g = geometry;
        let build = || -> Result<_, TchError> {
            let stats = (config.statistics && !config.fields.is_empty())
                .then(|| {
                    Welford::new(
                        &[config.fields.len() as i64, g.nj as i64, g.nx as i64],
                        device,
                    )
                })
                .transpose()?;
            let spectra = (config.spectrum || config.transfer)
                .then(|| {
                    Spectra::new(
                        &g,
                        config.window,
                        (config.dx, config.dy),
                        several_ranks,
                        device,
                    )
                })
                .transpose()?;
            let pod = config
                .pod
                .map(|p| {
                    let planes = if p.of == PodField::Velocity { 2 } else { 1 };
                    Pod::new(p.rank, planes * g.nj * g.nx, device)
                })
                .transpose()?;
            Ok((stats, spectra, pod))
        };
        let (stats, spectra, pod) = build().map_err(AnalysisError::torch("setting up"))?;
        Ok(Self {
            config,
            geometry,
            device,
            samples: 0,
            last_sample_s: f64::NEG_INFINITY,
            stats,
            spectra,
            pod,
            seconds: 0.0,
        })
    }

    pub fn config(&self) -> &AnalysisConfig {
        &self.config
    }

    pub fn geometry(&self) -> &Geometry {
        &self.geometry
    }

    /// Samples taken so far (restored ones included).
    pub fn samples(&self) -> u64 {
        self.samples
    }

    /// Wall-clock seconds spent updating, over the samples this process took.
    pub fn seconds(&self) -> f64 {
        self.seconds
    }

    /// Takes the sample at coupling time `t` when `t` is a sample time not yet analysed
    /// (a restart skips the sample its saved state already holds). `input` is the
    /// engine's `[1, 2, nj + 2h, nx + 2h]` float32 input (u, v), `forcing` its
    /// `[1, 2, nj, nx]` output (sx, sy), both on the analysis's device. Collective over
    /// `ranks`. Returns whether a sample was taken.
    pub fn update(
        &mut self,
        t: f64,
        input: &Tensor,
        forcing: &Tensor,
        ranks: &dyn Ranks,
    ) -> Result<bool, AnalysisError> {
        if !self.config.samples_at(t) || t <= self.last_sample_s {
            return Ok(false);
        }
        let clock = Instant::now();
        let (h, g) = (self.geometry.halo as i64, self.geometry);
        let (nj, nx) = (g.nj as i64, g.nx as i64);
        check_shape("the input", input, &[1, 2, nj + 2 * h, nx + 2 * h])?;
        check_shape("the forcing", forcing, &[1, 2, nj, nx])?;
        let plane = |c: i64, dj: i64, di: i64| -> Result<Tensor, TchError> {
            input
                .f_select(0, 0)?
                .f_select(0, c)?
                .f_narrow(0, h + dj, nj)?
                .f_narrow(1, h + di, nx)?
                .f_to_kind(Kind::Double)
        };
        let mut step = || -> Result<(), TchError> {
            let _guard = tch::no_grad_guard();
            let out = |c: i64| -> Result<Tensor, TchError> {
                forcing
                    .f_select(0, 0)?
                    .f_select(0, c)?
                    .f_to_kind(Kind::Double)
            };
            let s = Sample {
                u: plane(0, 0, 0)?,
                v: plane(1, 0, 0)?,
                sx: out(0)?,
                sy: out(1)?,
            };
            if let Some(w) = &mut self.stats {
                let fields: Vec<&Tensor> = self
                    .config
                    .fields
                    .iter()
                    .map(|&k| [&s.u, &s.v][k])
                    .collect();
                w.push(&Tensor::f_stack(&fields, 0)?)?;
            }
            if let Some(sp) = &mut self.spectra {
                let transfer = self.config.transfer;
                let fields: Vec<&Tensor> = if transfer {
                    vec![&s.u, &s.v, &s.sx, &s.sy]
                } else {
                    vec![&s.u, &s.v]
                };
                let f = sp.transform(&Tensor::f_stack(&fields, 0)?, &g, ranks)?;
                let ke = sp.energy(&f.f_get(0)?, &f.f_get(1)?)?;
                let tr = if transfer {
                    Some(sp.transfer(&f.f_get(0)?, &f.f_get(1)?, &f.f_get(2)?, &f.f_get(3)?)?)
                } else {
                    None
                };
                sp.push(&ke, tr.as_ref())?;
            }
            if let (Some(pod), Some(p)) = (&mut self.pod, self.config.pod) {
                let snapshot = match p.of {
                    // ζ at the north-east corner of each cell, from the halo's next row/column.
                    PodField::Vorticity => plane(1, 0, 1)?
                        .f_sub(&s.v)?
                        .f_div_scalar(self.config.dx)?
                        .f_sub(&plane(0, 1, 0)?.f_sub(&s.u)?.f_div_scalar(self.config.dy)?)?
                        .f_reshape([-1])?,
                    PodField::Velocity => {
                        Tensor::f_cat(&[s.u.f_reshape([-1])?, s.v.f_reshape([-1])?], 0)?
                    }
                };
                pod.push(&snapshot, ranks)?;
            }
            Ok(())
        };
        step().map_err(AnalysisError::torch("updating"))?;
        // The engine's next upload overwrites the tensors read here: finish first.
        if let Device::Cuda(index) = self.device {
            tch::Cuda::synchronize(index as i64);
        }
        self.samples += 1;
        self.last_sample_s = t;
        self.seconds += clock.elapsed().as_secs_f64();
        Ok(true)
    }

    /// Writes `analysis.nc` in `run_dir`, and the state at model time `t`
    /// ([`output::state_path`]) that a run restarted at `t` reloads. Collective over
    /// `ranks`; rank 0 writes.
    pub fn save(&self, run_dir: &Path, t: f64, ranks: &dyn Ranks) -> Result<(), AnalysisError> {
        output::save(self, run_dir, t, ranks)
    }

    /// Reloads the state saved at model time `t` in `run_dir` (a restart at `t`).
    pub fn restore(&mut self, run_dir: &Path, t: f64) -> Result<(), AnalysisError> {
        output::restore(self, run_dir, t)
    }
}

fn check_shape(what: &'static str, t: &Tensor, expected: &[i64]) -> Result<(), AnalysisError> {
    let found = t.size();
    if found != expected {
        return Err(AnalysisError::Shape {
            what,
            found,
            expected: expected.to_vec(),
        });
    }
    Ok(())
}

/// libtorch's random generator is one per process and tests run in parallel threads: a test
/// that seeds it and then draws holds this lock, so that another test cannot draw between.
#[cfg(test)]
pub(crate) static TORCH_RNG: std::sync::Mutex<()> = std::sync::Mutex::new(());
