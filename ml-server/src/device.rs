//! Choosing where the model runs.
//!
//! The CUDA driver library is probed with `dlopen` before anything touches it
//! (cudarc's context constructor panics without a driver), then libtorch is
//! asked whether it sees a GPU. `auto` takes GPU `local_rank mod count` when
//! both say yes, the CPU otherwise, and logs which.

use tch::Device;

use crate::config::DeviceRequest;
use crate::error::MlError;

/// Whether `libcuda` can be loaded and libtorch sees at least one GPU.
pub fn cuda_usable() -> bool {
    // SAFETY: only tries to dlopen the driver library; no driver call is made.
    let driver = unsafe { cudarc::driver::sys::is_culib_present() };
    driver && tch::Cuda::is_available()
}

/// Resolves `[ml] device` for the ML rank with node-local index `local_rank`.
pub fn select(request: DeviceRequest, local_rank: usize) -> Result<Device, MlError> {
    let device = match request {
        DeviceRequest::Cpu => Device::Cpu,
        DeviceRequest::Auto if !cuda_usable() => {
            tracing::info!("device = auto: no usable CUDA driver or GPU, running on the CPU");
            Device::Cpu
        }
        DeviceRequest::Auto | DeviceRequest::Cuda(_) => {
            if !cuda_usable() {
                // SAFETY: as in `cuda_usable`.
                let driver = unsafe { cudarc::driver::sys::is_culib_present() };
                return Err(MlError::config(
                    "device",
                    format!(
                        "a GPU was requested but none is usable (CUDA driver library found: {driver}, \
                         GPUs seen by libtorch: {}); use device = \"cpu\" or \"auto\"",
                        tch::Cuda::device_count()
                    ),
                ));
            }
            let count = tch::Cuda::device_count().max(1) as usize;
            let index = match request {
                DeviceRequest::Cuda(Some(i)) if i >= count => {
                    return Err(MlError::config(
                        "device",
                        format!("cuda:{i} requested but only {count} GPU(s) are visible"),
                    ))
                }
                DeviceRequest::Cuda(Some(i)) => i,
                _ => local_rank % count,
            };
            tracing::info!("running on GPU cuda:{index} ({count} visible)");
            Device::Cuda(index)
        }
    };
    Ok(device)
}

/// The rank's index among the processes on its node, from the usual launcher variables.
pub fn local_rank() -> usize {
    [
        "OMPI_COMM_WORLD_LOCAL_RANK",
        "MPI_LOCALRANKID",
        "SLURM_LOCALID",
        "PALS_LOCAL_RANKID",
        "PMI_LOCAL_RANK",
    ]
    .iter()
    .find_map(|v| std::env::var(v).ok()?.parse().ok())
    .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_is_always_available() {
        assert_eq!(select(DeviceRequest::Cpu, 3).unwrap(), Device::Cpu);
    }

    #[test]
    fn auto_takes_the_rank_local_gpu_where_one_is_usable_and_the_cpu_otherwise() {
        let auto = |rank| select(DeviceRequest::Auto, rank).unwrap();
        if !cuda_usable() {
            assert_eq!(auto(0), Device::Cpu);
            eddylink_tests::skip::skip("no usable GPU: that `auto` picks CUDA is unchecked");
            return;
        }
        let count = tch::Cuda::device_count() as usize;
        assert_eq!(auto(0), Device::Cuda(0), "auto on a GPU host");
        assert_eq!(
            auto(count + 1),
            Device::Cuda(1 % count),
            "local rank mod count"
        );
    }

    #[test]
    fn explicit_cuda_is_an_error_naming_what_is_missing() {
        if cuda_usable() {
            let count = tch::Cuda::device_count() as usize;
            assert_eq!(
                select(DeviceRequest::Cuda(Some(0)), 0).unwrap(),
                Device::Cuda(0)
            );
            let e = select(DeviceRequest::Cuda(Some(count)), 0)
                .unwrap_err()
                .to_string();
            assert!(e.contains(&format!("cuda:{count} requested")), "{e}");
            return;
        }
        let e = select(DeviceRequest::Cuda(Some(0)), 0)
            .unwrap_err()
            .to_string();
        assert!(e.contains("none is usable"), "{e}");
    }
}
