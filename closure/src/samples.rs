//! Coarse samples as tensors: inputs (u, v) scaled and padded with the 10-cell halo that the
//! coupler sends with `boundary = "closed"` (zeros beyond the walls), targets (sx, sy)
//! scaled, and the mask of the points the ocean moves (walls excluded from the loss).

use std::path::Path;

use netcdf3::FileReader;
use tch::{Device, Kind, Tensor};

use crate::network::HALO;

/// Samples of one period, on the CPU.
pub struct Samples {
    /// [N, 2, ny + 20, nx + 20]: u, v times the input scale, zero beyond the walls.
    pub x: Tensor,
    /// [N, 2, ny, nx]: sx, sy divided by the output scale.
    pub y: Tensor,
    /// Model time of each sample (s).
    pub times: Vec<f64>,
}

impl Samples {
    pub fn len(&self) -> usize {
        self.times.len()
    }

    pub fn is_empty(&self) -> bool {
        self.times.is_empty()
    }
}

/// The whole content of a `coarse.nc` in physical units.
pub struct CoarseFile {
    pub nx: usize,
    pub ny: usize,
    pub times: Vec<f64>,
    /// [N, 2, ny, nx] (u, v) and (sx, sy), float32.
    pub velocity: Tensor,
    pub forcing: Tensor,
    /// [N, ny, nx] η.
    pub eta: Tensor,
}

impl CoarseFile {
    pub fn read(path: &Path) -> anyhow::Result<Self> {
        let mut r =
            FileReader::open(path).map_err(|e| anyhow::anyhow!("{}: {e:?}", path.display()))?;
        let ds = r.data_set();
        let (nx, ny) = (ds.dim_size("x").unwrap_or(0), ds.dim_size("y").unwrap_or(0));
        let times = r
            .read_var_f64("time")
            .map_err(|e| anyhow::anyhow!("{}: time: {e:?}", path.display()))?;
        let n = times.iter().take_while(|t| t.abs() < 1e30).count();
        let mut var = |name: &str| -> anyhow::Result<Tensor> {
            let data = r
                .read_var_f32(name)
                .map_err(|e| anyhow::anyhow!("{}: {name}: {e:?}", path.display()))?;
            Ok(Tensor::from_slice(&data[..n * nx * ny]).view([n as i64, ny as i64, nx as i64]))
        };
        let (u, v, eta, sx, sy) = (var("u")?, var("v")?, var("eta")?, var("sx")?, var("sy")?);
        Ok(CoarseFile {
            nx,
            ny,
            times: times[..n].to_vec(),
            velocity: Tensor::stack(&[u, v], 1),
            forcing: Tensor::stack(&[sx, sy], 1),
            eta,
        })
    }

    /// The samples at `indices`, scaled: x = u · input_scale, y = S / output_scale.
    pub fn select(&self, indices: &[usize], input_scale: f64, output_scale: f64) -> Samples {
        let idx = Tensor::from_slice(&indices.iter().map(|&k| k as i64).collect::<Vec<_>>());
        let x = (self.velocity.index_select(0, &idx) * input_scale)
            .constant_pad_nd([HALO, HALO, HALO, HALO]);
        let y = self.forcing.index_select(0, &idx) / output_scale;
        Samples {
            x,
            y,
            times: indices.iter().map(|&k| self.times[k]).collect(),
        }
    }

    /// [1, 2, ny, nx]: 1 where the ocean moves u (all but the east wall) and v (all but the
    /// north wall), 0 on the walls.
    pub fn mask(&self, device: Device) -> Tensor {
        let (nx, ny) = (self.nx as i64, self.ny as i64);
        let m = Tensor::ones([1, 2, ny, nx], (Kind::Float, Device::Cpu));
        let _ = m.narrow(1, 0, 1).narrow(3, nx - 1, 1).fill_(0.0);
        let _ = m.narrow(1, 1, 1).narrow(2, ny - 1, 1).fill_(0.0);
        m.to_device(device)
    }
}

/// Root mean square of a tensor's elements.
pub fn rms(t: &Tensor) -> f64 {
    t.square().mean(Kind::Double).sqrt().double_value(&[])
}
