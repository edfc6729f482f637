//! GPU staging: page-locked host buffers, a copy stream, and device buffers
//! that libtorch reads and writes in place.
//!
//! One call goes
//! 1. the coupler writes u, v into `host_in` (pinned, not write-combined: it is
//!    also read by the CPU when MPI packs halos);
//! 2. `upload`: async host→device copy on the copy stream, an event recorded
//!    after it, and the compute stream made to wait on that event;
//! 3. the model reads `dev_in` through a tensor made by `from_blob` on the
//!    device pointer (no copy), and the engine's last operation writes the
//!    forcing into `dev_out`, also wrapped by `from_blob`;
//! 4. `download`: an event on the compute stream, the copy stream waits on it,
//!    async device→host copy into pinned `host_out`, then the copy stream is
//!    synchronised before the host reads the forcing.
//!
//! The compute stream is the CUDA legacy default stream of the device's primary
//! context, which is libtorch's current stream unless a caller changes it (tch
//! never does). The copy stream is non-blocking, so the events above are the
//! only ordering between the two, and they are always recorded.

use std::sync::Arc;

use cudarc::driver::{CudaContext, CudaSlice, CudaStream, DevicePtr, PinnedHostSlice};
use tch::{Device, Kind, Tensor};

use crate::error::MlError;

/// Pinned host and device buffers for one batch shape on one GPU.
pub struct CudaStaging {
    index: usize,
    copy: Arc<CudaStream>,
    compute: Arc<CudaStream>,
    host_in: PinnedHostSlice<f32>,
    dev_in: CudaSlice<f32>,
    dev_out: CudaSlice<f32>,
    host_out: PinnedHostSlice<f32>,
}

fn cuda<T>(context: &str, r: Result<T, cudarc::driver::DriverError>) -> Result<T, MlError> {
    r.map_err(|e| MlError::cuda(context, e))
}

impl CudaStaging {
    /// Allocates `input_len` and `output_len` floats on GPU `index` and in pinned host memory.
    /// Call only after [`crate::device::cuda_usable`] said yes.
    pub fn new(index: usize, input_len: usize, output_len: usize) -> Result<Self, MlError> {
        let ctx: Arc<CudaContext> = cuda("opening the primary context", CudaContext::new(index))?;
        let copy = cuda("creating the copy stream", ctx.new_stream())?;
        let compute = ctx.default_stream();
        // SAFETY: flags 0 = plain page-locked memory; the contents are written before use.
        let host_in = cuda("pinned input buffer", unsafe {
            ctx.alloc_pinned_with_flags(input_len, 0)
        })?;
        let host_out = cuda("pinned output buffer", unsafe {
            ctx.alloc_pinned_with_flags(output_len, 0)
        })?;
        let dev_in = cuda("device input buffer", copy.alloc_zeros::<f32>(input_len))?;
        let dev_out = cuda("device output buffer", copy.alloc_zeros::<f32>(output_len))?;
        cuda("initialising buffers", copy.synchronize())?;
        Ok(Self {
            index,
            copy,
            compute,
            host_in,
            dev_in,
            dev_out,
            host_out,
        })
    }

    /// The pinned input buffer, after any copy still reading it has finished.
    pub fn host_input(&mut self) -> Result<&mut [f32], MlError> {
        cuda("waiting for the input buffer", self.host_in.as_mut_slice())
    }

    /// Starts the host→device copy and orders the compute stream after it.
    pub fn upload(&mut self) -> Result<(), MlError> {
        cuda(
            "host→device copy",
            self.copy.memcpy_htod(&self.host_in, &mut self.dev_in),
        )?;
        let done = cuda("recording the upload event", self.copy.record_event(None))?;
        cuda("ordering compute after upload", self.compute.wait(&done))
    }

    /// The device input buffer as a `[levels, 2, H, W]` tensor, without a copy.
    pub fn input_tensor(&self, shape: &[i64]) -> Result<Tensor, MlError> {
        let (ptr, _read) = self.dev_in.device_ptr(&self.compute);
        // SAFETY: `dev_in` holds exactly `shape.iter().product()` floats and lives as
        // long as `self`; the tensor is dropped within the engine's `run`.
        unsafe { wrap(ptr, shape, self.index) }
    }

    /// The device output buffer as a tensor, without a copy: the engine's last
    /// operation writes the forcing into it on the compute stream.
    pub fn output_tensor(&self, shape: &[i64]) -> Result<Tensor, MlError> {
        let (ptr, _read) = self.dev_out.device_ptr(&self.compute);
        // SAFETY: as in `input_tensor`, for `dev_out`.
        unsafe { wrap(ptr, shape, self.index) }
    }

    /// Starts the device→host copy once the work queued on the compute stream is done.
    pub fn download(&mut self) -> Result<(), MlError> {
        let done = cuda(
            "recording the inference event",
            self.compute.record_event(None),
        )?;
        cuda(
            "ordering the download after inference",
            self.copy.wait(&done),
        )?;
        cuda(
            "device→host copy",
            self.copy.memcpy_dtoh(&self.dev_out, &mut self.host_out),
        )
    }

    /// The forcing on the host, once the device→host copy has finished.
    pub fn host_output(&mut self) -> Result<&[f32], MlError> {
        cuda("waiting for the device→host copy", self.copy.synchronize())?;
        cuda("reading the output buffer", self.host_out.as_slice())
    }

    /// Blocks until the compute stream is idle (used only to time stages).
    pub fn sync_compute(&self) -> Result<(), MlError> {
        cuda("synchronising compute", self.compute.synchronize())
    }

    /// Blocks until the copy stream is idle (used only to time stages).
    pub fn sync_copy(&self) -> Result<(), MlError> {
        cuda("synchronising copies", self.copy.synchronize())
    }
}

unsafe fn wrap(ptr: u64, shape: &[i64], index: usize) -> Result<Tensor, MlError> {
    Tensor::f_from_blob(
        ptr as *const u8,
        shape,
        &[],
        Kind::Float,
        Device::Cuda(index),
    )
    .map_err(|e| MlError::torch("wrapping a device buffer", &e))
}

/// Pinned-memory copy bandwidth of GPU `index`: the best of `repeats` host→device and
/// device→host copies of `bytes` between page-locked memory and the device, in bytes per
/// second. The reference against which `ml-server bench` rates the copies of a call.
/// Call only after [`crate::device::cuda_usable`] said yes.
pub fn pinned_bandwidth(index: usize, bytes: usize, repeats: usize) -> Result<(f64, f64), MlError> {
    let n = bytes / std::mem::size_of::<f32>();
    let ctx: Arc<CudaContext> = cuda("opening the primary context", CudaContext::new(index))?;
    let stream = cuda("creating a stream", ctx.new_stream())?;
    // SAFETY: plain page-locked memory; it is written before it is read.
    let mut host = cuda("pinned buffer", unsafe {
        ctx.alloc_pinned_with_flags::<f32>(n, 0)
    })?;
    cuda("filling the pinned buffer", host.as_mut_slice())?.fill(1.0);
    let mut dev = cuda("device buffer", stream.alloc_zeros::<f32>(n))?;
    cuda("synchronising", stream.synchronize())?;
    let (mut h2d, mut d2h) = (f64::INFINITY, f64::INFINITY);
    for _ in 0..repeats.max(1) {
        let t = std::time::Instant::now();
        cuda("host→device copy", stream.memcpy_htod(&host, &mut dev))?;
        cuda("synchronising", stream.synchronize())?;
        h2d = h2d.min(t.elapsed().as_secs_f64());
        let t = std::time::Instant::now();
        cuda("device→host copy", stream.memcpy_dtoh(&dev, &mut host))?;
        cuda("synchronising", stream.synchronize())?;
        d2h = d2h.min(t.elapsed().as_secs_f64());
    }
    let b = (n * std::mem::size_of::<f32>()) as f64;
    Ok((b / h2d, b / d2h))
}
