//! The inference engine: staging buffers, model and transforms for one batch shape.
//!
//! The input buffer holds `[levels, 2, H, W]` float32 (u in channel 0, v in
//! channel 1, H = ny + 2·halo, W = nx + 2·halo) and is filled in place by the
//! caller (the coupler, or an `.npy` file). [`Engine::run`] then computes
//!
//! ```text
//! x   = input_scale · mask · [u, v]                      (mask: 1 ocean, 0 land)
//! y   = model(x), cropped to the ny × nx interior
//! S   = output_scale · mask · (mean [+ N(0,1) / precision])
//! ```
//!
//! and returns `S` as `[levels, 2, ny, nx]` (sx in channel 0, sy in channel 1), after
//! capping its net energy input where `[ml] max_net_power` is set ([`crate::budget`]).
//! On the CPU the input and output tensors wrap the buffers without copying; on
//! a GPU see [`crate::gpu`].

use std::time::Instant;

use rand::rngs::StdRng;
use rand::SeedableRng;
use rand_distr::{Distribution, StandardNormal};
use tch::{Device, Kind, Tensor};

use crate::budget::{PowerCap, SumAcross};
use crate::config::{MlConfig, OutputMode, Precision};
use crate::error::MlError;
use crate::gpu::CudaStaging;
use crate::models::{self, tch_ok, Model, ModelInfo};

/// The box one rank works on: `levels` levels of `ny × nx` interior cells plus `halo`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchShape {
    pub levels: usize,
    pub ny: usize,
    pub nx: usize,
    pub halo: usize,
}

impl BatchShape {
    /// Rows of the input, halo included.
    pub fn height(&self) -> usize {
        self.ny + 2 * self.halo
    }
    /// Columns of the input, halo included.
    pub fn width(&self) -> usize {
        self.nx + 2 * self.halo
    }
    /// Floats in the `[levels, 2, H, W]` input.
    pub fn input_len(&self) -> usize {
        self.levels * 2 * self.height() * self.width()
    }
    /// Floats in the `[levels, 2, ny, nx]` output.
    pub fn output_len(&self) -> usize {
        self.levels * 2 * self.ny * self.nx
    }
    fn input_dims(&self) -> [i64; 4] {
        [self.levels, 2, self.height(), self.width()].map(|d| d as i64)
    }
    fn output_dims(&self) -> [i64; 4] {
        [self.levels, 2, self.ny, self.nx].map(|d| d as i64)
    }
}

/// Wall-clock seconds of each stage of one call (stages synchronised for timing).
#[derive(Clone, Copy, Debug, Default)]
pub struct StageTimes {
    pub host_to_device: f64,
    pub inference: f64,
    pub device_to_host: f64,
}

enum Staging {
    Host { input: Vec<f32>, output: Vec<f32> },
    Cuda(Box<CudaStaging>),
}

/// Model, transforms and buffers, ready to run on one batch shape.
pub struct Engine {
    model: Box<dyn Model>,
    device: Device,
    kind: Kind,
    shape: BatchShape,
    input_scale: f64,
    output_scale: f64,
    /// `input_scale · mask` on the input grid, `output_scale · mask` on the output grid.
    masks: Option<(Tensor, Tensor)>,
    /// 1 on ocean points, 0 on land, on the output grid (with the masks).
    ocean: Option<Tensor>,
    use_mask: bool,
    budget: Option<PowerCap>,
    noise: Option<(StdRng, Vec<f32>)>,
    staging: Staging,
}

/// Fails with [`MlError::Halo`] when `halo` cannot feed a model that trims `info.trim`
/// cells; warns when it is smaller than the receptive field.
pub fn check_halo(field: &str, halo: usize, info: &ModelInfo) -> Result<(), MlError> {
    if halo < info.trim {
        return Err(MlError::Halo {
            field: field.to_string(),
            halo,
            needed: info.trim,
            model: info.name.clone(),
        });
    }
    if halo < info.receptive_radius {
        tracing::warn!(
            "field `{field}`: halo {halo} < receptive radius {} of {}: cells near the box edge see \
             zero padding instead of their neighbours",
            info.receptive_radius,
            info.name
        );
    }
    Ok(())
}

impl Engine {
    /// Loads the model on `device` and allocates buffers for `shape`.
    /// `stream_id` (the rank) offsets the stochastic seed.
    pub fn new(
        cfg: &MlConfig,
        device: Device,
        shape: BatchShape,
        stream_id: u64,
    ) -> Result<Self, MlError> {
        Self::with_model(cfg, models::build(cfg, device)?, device, shape, stream_id)
    }

    /// As [`Engine::new`], with a model already built by [`models::build`] on `device`.
    pub fn with_model(
        cfg: &MlConfig,
        model: Box<dyn Model>,
        device: Device,
        shape: BatchShape,
        stream_id: u64,
    ) -> Result<Self, MlError> {
        if cfg.threads > 0 {
            tch::set_num_threads(cfg.threads as i32);
        }
        // Said here, after [ml] threads took effect (an embedded rank runs with 1).
        if device == Device::Cpu {
            tracing::info!("running on the CPU with {} threads", tch::get_num_threads());
        }
        check_halo("u", shape.halo, model.info())?;
        let staging = match device {
            Device::Cuda(index) => Staging::Cuda(Box::new(CudaStaging::new(
                index,
                shape.input_len(),
                shape.output_len(),
            )?)),
            _ => Staging::Host {
                input: vec![0.0; shape.input_len()],
                output: vec![0.0; shape.output_len()],
            },
        };
        let noise = (cfg.output == OutputMode::Stochastic).then(|| {
            let rng = StdRng::seed_from_u64(cfg.seed.wrapping_add(stream_id));
            (rng, vec![0.0; shape.output_len()])
        });
        Ok(Self {
            model,
            device,
            kind: if cfg.precision == Precision::Bf16 {
                Kind::BFloat16
            } else {
                Kind::Float
            },
            shape,
            input_scale: cfg.input_scale,
            output_scale: cfg.output_scale,
            masks: None,
            ocean: None,
            use_mask: cfg.mask,
            // One rank until told otherwise ([`Engine::sum_budget_across`]).
            budget: cfg.max_net_power.map(|p| {
                PowerCap::new(
                    p,
                    cfg.power_cap_by.unwrap_or_default(),
                    Box::new(|_| Ok(())),
                )
            }),
            noise,
            staging,
        })
    }

    /// The model's properties.
    pub fn info(&self) -> &ModelInfo {
        self.model.info()
    }

    /// Where the model runs.
    pub fn device(&self) -> Device {
        self.device
    }

    /// The batch shape the buffers were made for.
    pub fn shape(&self) -> BatchShape {
        self.shape
    }

    /// The `[levels, 2, H, W]` input buffer to fill before [`Engine::run`].
    pub fn input_mut(&mut self) -> Result<&mut [f32], MlError> {
        match &mut self.staging {
            Staging::Host { input, .. } => Ok(input),
            Staging::Cuda(c) => c.host_input(),
        }
    }

    /// Sets the land masks (1 ocean, 0 land), each `[levels, H, W]` on the input grid.
    /// Ignored when `[ml] mask = false`.
    pub fn set_masks(&mut self, mask_u: &[f32], mask_v: &[f32]) -> Result<(), MlError> {
        if !self.use_mask {
            return Ok(());
        }
        let s = self.shape;
        let plane = s.levels * s.height() * s.width();
        for (name, m) in [("mask_u", mask_u), ("mask_v", mask_v)] {
            if m.len() != plane {
                return Err(MlError::InputShape {
                    found: vec![m.len()],
                    expected: format!(
                        "{name} of {} values ([{}, {}, {}])",
                        plane,
                        s.levels,
                        s.height(),
                        s.width()
                    ),
                });
            }
        }
        let dims = [s.levels as i64, 1, s.height() as i64, s.width() as i64];
        let both = tch_ok(
            "building masks",
            Tensor::f_cat(
                &[
                    Tensor::from_slice(mask_u).view(dims),
                    Tensor::from_slice(mask_v).view(dims),
                ],
                1,
            ),
        )?;
        let both = tch_ok("moving masks", both.f_to_device(self.device))?;
        let (h, c) = (s.halo as i64, |n: usize| n as i64);
        let out = tch_ok(
            "cropping masks",
            both.f_narrow(2, h, c(s.ny))
                .and_then(|t| t.f_narrow(3, h, c(s.nx))),
        )?;
        let input = tch_ok("scaling masks", both.f_mul_scalar(self.input_scale))?;
        let output = tch_ok("scaling masks", out.f_mul_scalar(self.output_scale))?;
        self.masks = Some((input, output));
        self.ocean = Some(out);
        Ok(())
    }

    /// With `[ml] max_net_power`, sums the forcing's power with `sum` (over every rank of
    /// the ML component) instead of over this engine's box alone.
    pub fn sum_budget_across(&mut self, sum: SumAcross) {
        if let Some(b) = &self.budget {
            self.budget = Some(PowerCap::new(b.max_mean_power(), b.by(), sum));
        }
    }

    /// What the power cap did so far, and how it is applied (`None` without one).
    pub fn budget_stats(&self) -> Option<(crate::budget::BudgetStats, crate::budget::CapBy)> {
        self.budget.as_ref().map(|b| (b.stats(), b.by()))
    }

    /// Runs model and transforms on the input buffer; returns `[levels, 2, ny, nx]`.
    pub fn run(&mut self) -> Result<&[f32], MlError> {
        self.run_inner(None)
    }

    /// As [`Engine::run`], synchronising between stages to time them.
    pub fn run_timed(&mut self, times: &mut StageTimes) -> Result<&[f32], MlError> {
        self.run_inner(Some(times))
    }

    fn run_inner(&mut self, mut times: Option<&mut StageTimes>) -> Result<&[f32], MlError> {
        let _guard = tch::no_grad_guard();
        self.draw_noise();
        let dims = self.shape.input_dims();
        let mut clock = Instant::now();
        let mut lap = |slot: fn(&mut StageTimes) -> &mut f64,
                       times: &mut Option<&mut StageTimes>| {
            if let Some(t) = times.as_deref_mut() {
                *slot(t) += clock.elapsed().as_secs_f64();
                clock = Instant::now();
            }
        };
        let input = match &mut self.staging {
            Staging::Host { input, .. } => {
                // SAFETY: `input` holds `dims` floats and outlives the tensor (dropped below).
                tch_ok("wrapping the input buffer", unsafe {
                    Tensor::f_from_blob(
                        input.as_ptr() as *const u8,
                        &dims,
                        &[],
                        Kind::Float,
                        Device::Cpu,
                    )
                })?
            }
            Staging::Cuda(c) => {
                c.upload()?;
                if times.is_some() {
                    c.sync_copy()?;
                }
                c.input_tensor(&dims)?
            }
        };
        lap(|t| &mut t.host_to_device, &mut times);
        let odims = self.shape.output_dims();
        let output = match &mut self.staging {
            // SAFETY: `output` holds `odims` floats and outlives the view (dropped below).
            Staging::Host { output, .. } => tch_ok("wrapping the output buffer", unsafe {
                Tensor::f_from_blob(
                    output.as_mut_ptr() as *const u8,
                    &odims,
                    &[],
                    Kind::Float,
                    Device::Cpu,
                )
            })?,
            Staging::Cuda(c) => c.output_tensor(&odims)?,
        };
        self.forcing(&input, &output)?;
        drop((input, output));
        if let (Some(_), Staging::Cuda(c)) = (&times, &self.staging) {
            c.sync_compute()?;
        }
        lap(|t| &mut t.inference, &mut times);
        let out = match &mut self.staging {
            Staging::Host { output, .. } => output.as_slice(),
            Staging::Cuda(c) => {
                c.download()?;
                c.host_output()?
            }
        };
        if let Some(t) = times {
            t.device_to_host += clock.elapsed().as_secs_f64();
        }
        Ok(out)
    }

    /// Input transform, model, crop and output transform, all on the device; the
    /// last operation writes into `output` (a view of the output buffer).
    fn forcing(&self, input: &Tensor, output: &Tensor) -> Result<(), MlError> {
        let x = match &self.masks {
            Some((scale_mask, _)) => input.f_mul(scale_mask),
            None if self.input_scale != 1.0 => input.f_mul_scalar(self.input_scale),
            None => Ok(input.shallow_clone()),
        };
        let x = tch_ok("input transform", x.and_then(|x| x.f_to_kind(self.kind)))?;
        let y = self.model.forward(&x)?;
        let s = self.shape;
        let crop = (s.halo - self.model.info().trim) as i64;
        let y = tch_ok(
            "cropping the halo",
            y.f_narrow(2, crop, s.ny as i64)
                .and_then(|t| t.f_narrow(3, crop, s.nx as i64)),
        )?;
        let mean = tch_ok("mean channels", y.f_narrow(1, 0, 2))?;
        let out = match &self.noise {
            Some((_, z)) => {
                let z = tch_ok(
                    "moving noise",
                    Tensor::from_slice(z)
                        .f_view(s.output_dims())
                        .and_then(|z| z.f_to_device(self.device)),
                )?;
                let precision = tch_ok("precision channels", y.f_narrow(1, 2, 2))?;
                tch_ok("sampling", z.f_div(&precision).and_then(|n| n.f_add(&mean)))?
            }
            None => mean,
        };
        let written = match &self.masks {
            Some((_, scaled_mask)) => out.f_mul_out(output, scaled_mask),
            None => out.f_mul_scalar_out(output, self.output_scale),
        };
        let _written = tch_ok("output transform", written)?;
        if let Some(budget) = &self.budget {
            let h = s.halo as i64;
            let uv = tch_ok(
                "energy budget: interior",
                input
                    .f_narrow(2, h, s.ny as i64)
                    .and_then(|t| t.f_narrow(3, h, s.nx as i64)),
            )?;
            budget.apply(&uv, self.ocean.as_ref(), output)?;
        }
        Ok(())
    }

    /// Calls `f` with the received u, v (`[levels, 2, H, W]`, halo included) and the
    /// forcing of the last [`Engine::run`] (`[levels, 2, ny, nx]`) as float32 tensors on the
    /// engine's device that wrap its buffers without a copy (in-situ analysis). `f` must
    /// not keep them: they are valid only during the call.
    pub fn with_tensors<R>(&self, f: impl FnOnce(&Tensor, &Tensor) -> R) -> Result<R, MlError> {
        let (dims, odims) = (self.shape.input_dims(), self.shape.output_dims());
        let (input, output) = match &self.staging {
            // SAFETY: the buffers hold `dims` and `odims` floats and outlive the tensors,
            // which are dropped before this returns.
            Staging::Host { input, output } => unsafe {
                let wrap = |p: *const f32, d: &[i64]| {
                    Tensor::f_from_blob(p as *const u8, d, &[], Kind::Float, Device::Cpu)
                };
                (
                    tch_ok("wrapping the input buffer", wrap(input.as_ptr(), &dims))?,
                    tch_ok("wrapping the output buffer", wrap(output.as_ptr(), &odims))?,
                )
            },
            Staging::Cuda(c) => (c.input_tensor(&dims)?, c.output_tensor(&odims)?),
        };
        Ok(f(&input, &output))
    }

    fn draw_noise(&mut self) {
        if let Some((rng, z)) = &mut self.noise {
            for v in z.iter_mut() {
                *v = StandardNormal.sample(rng);
            }
        }
    }
}
