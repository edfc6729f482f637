//! The isotropic kinetic-energy spectrum of the received velocities and the cospectrum of
//! the closure's energy transfer, time-averaged, computed with libtorch's FFT on the device.
//!
//! Each field f (u, v, sx, sy) of the closed basin is first **detrended** — its basin mean
//! removed — then **tapered** by the separable Hann window w(i, j) = sin²(π(i+½)/nx) ·
//! sin²(π(j+½)/ny), scaled to unit mean square so a stationary field keeps its energy.
//! The walls stop the normal flow but not the tangential one: without the taper the jump
//! at the wall leaks a k⁻² tail into every wavenumber. With `window = "none"` the field is
//! used as it is (right for periodic fields). Then, with F the unnormalised 2-D DFT of
//! the tapered field and N = nx·ny,
//!
//! ```text
//! E(kₙ) = Σ_{|k| in shell n} ½ (|U|² + |V|²) / N² / Δk          (m³ s⁻², KE per unit mass)
//! T(kₙ) = Σ_{|k| in shell n} Re(U* Sx + V* Sy) / N² / Δk         (m³ s⁻³)
//! ```
//!
//! on shells kₙ = n·Δk, Δk = max(2π/(nx·dx), 2π/(ny·dy)). By Parseval Σ E Δk is the mean
//! of ½(u² + v²) over the basin (of the tapered field) and Σ T Δk the mean power u·S the
//! closure puts in; T > 0 at a scale means the closure backscatters energy there, T < 0
//! that it dissipates it.
//!
//! On one rank the DFT is two FFTs. With several ranks, each holding a strip of rows, the
//! x transform is an FFT of each row and the y transform a DFT written as a matrix
//! product of the strip with its columns of the DFT matrix; the ranks' partial sums are
//! then all-reduced, so every rank holds the same transform, whatever the rank count.

use std::f64::consts::PI;

use tch::{Device, Kind, TchError, Tensor};

use crate::comm::Ranks;
use crate::config::Window;
use crate::Geometry;

/// Shells, weights and running sums of the two spectra.
pub struct Spectra {
    /// The taper on this rank's rows, `[nj, nx]`, None for `window = "none"`.
    window: Option<Tensor>,
    /// The shell of each `(ky, kx)` of the half-spectrum, flattened.
    shell: Tensor,
    /// `2/N²/Δk` (1/N²/Δk on the kx = 0 and Nyquist columns), `[ny, nx/2+1]`.
    weight: Tensor,
    /// `exp(−2πi·ky·J/ny)` for this rank's rows J, `[ny, nj]` (several ranks only).
    dft_y: Option<Tensor>,
    /// Δk, rad m⁻¹.
    pub dk: f64,
    /// Sums over the samples of E and T, `[shells]`.
    pub ke_sum: Tensor,
    pub transfer_sum: Tensor,
    pub count: u64,
}

/// The tapers of one axis: `sin²(π(i+½)/n)` scaled to unit mean square.
fn hann(n: usize) -> Vec<f64> {
    let w: Vec<f64> = (0..n)
        .map(|i| (PI * (i as f64 + 0.5) / n as f64).sin().powi(2))
        .collect();
    let rms = (w.iter().map(|x| x * x).sum::<f64>() / n as f64).sqrt();
    w.into_iter().map(|x| x / rms).collect()
}

/// DFT frequency index of position `j` of `n` (numpy's `fftfreq(n) * n`).
fn frequency(j: usize, n: usize) -> f64 {
    if j < n.div_ceil(2) {
        j as f64
    } else {
        j as f64 - n as f64
    }
}

impl Spectra {
    /// Shells and weights for the strip of `g` on `device`.
    pub fn new(
        g: &Geometry,
        window: Window,
        (dx, dy): (f64, f64),
        several_ranks: bool,
        device: Device,
    ) -> Result<Self, TchError> {
        let (nx, ny) = (g.nx, g.ny);
        let nkx = nx / 2 + 1;
        let (kx0, ky0) = (2.0 * PI / (nx as f64 * dx), 2.0 * PI / (ny as f64 * dy));
        let dk = kx0.max(ky0);
        let n2 = (nx * ny) as f64 * (nx * ny) as f64;
        let (mut shell, mut weight) = (Vec::with_capacity(ny * nkx), Vec::with_capacity(ny * nkx));
        for j in 0..ny {
            for i in 0..nkx {
                let k = ((i as f64 * kx0).powi(2) + (frequency(j, ny) * ky0).powi(2)).sqrt();
                shell.push((k / dk).round() as i64);
                let once = i == 0 || (nx % 2 == 0 && i == nx / 2);
                weight.push(if once { 1.0 } else { 2.0 } / n2 / dk);
            }
        }
        let shells = shell.iter().max().map_or(1, |m| *m + 1);
        let window = match window {
            Window::None => None,
            Window::Hann => {
                let (wx, wy) = (hann(nx), hann(ny));
                let w: Vec<f64> = wy[g.j0..g.j0 + g.nj]
                    .iter()
                    .flat_map(|a| wx.iter().map(move |b| a * b))
                    .collect();
                Some(
                    Tensor::f_from_slice(&w)?
                        .f_view([g.nj as i64, nx as i64])?
                        .f_to_device(device)?,
                )
            }
        };
        let dft_y = if several_ranks {
            let (re, im): (Vec<f64>, Vec<f64>) = (0..ny)
                .flat_map(|k| {
                    (g.j0..g.j0 + g.nj).map(move |j| {
                        let phase = -2.0 * PI * (k * j % ny) as f64 / ny as f64;
                        (phase.cos(), phase.sin())
                    })
                })
                .unzip();
            let dims = [ny as i64, g.nj as i64];
            let m = Tensor::f_complex(
                &Tensor::f_from_slice(&re)?.f_view(dims)?,
                &Tensor::f_from_slice(&im)?.f_view(dims)?,
            )?;
            Some(m.f_to_device(device)?)
        } else {
            None
        };
        let zeros = || Tensor::f_zeros([shells], (Kind::Double, device));
        Ok(Self {
            window,
            shell: Tensor::f_from_slice(&shell)?.f_to_device(device)?,
            weight: Tensor::f_from_slice(&weight)?
                .f_view([ny as i64, nkx as i64])?
                .f_to_device(device)?,
            dft_y,
            dk,
            ke_sum: zeros()?,
            transfer_sum: zeros()?,
            count: 0,
        })
    }

    /// Number of shells.
    pub fn shells(&self) -> usize {
        self.ke_sum.size()[0] as usize
    }

    /// The 2-D DFTs `[c, ny, nx/2+1]` of the detrended, tapered strips `f` `[c, nj, nx]`.
    pub fn transform(
        &self,
        f: &Tensor,
        g: &Geometry,
        ranks: &dyn Ranks,
    ) -> Result<Tensor, TchError> {
        let mut sums = to_host(&f.f_sum_dim_intlist(&[1i64, 2][..], false, Kind::Double)?)?;
        ranks.sum(&mut sums);
        let means: Vec<f64> = sums.iter().map(|s| s / (g.nx * g.ny) as f64).collect();
        let means = Tensor::f_from_slice(&means)?
            .f_view([-1, 1, 1])?
            .f_to_device(f.device())?;
        let mut x = f.f_sub(&means)?;
        if let Some(w) = &self.window {
            x = x.f_mul(w)?;
        }
        let rows = x.f_fft_rfft(None, 2, "backward")?;
        match &self.dft_y {
            None => rows.f_fft_fft(None, 1, "backward"),
            Some(m) => {
                let partial = m.f_matmul(&rows)?;
                let dims = partial.size();
                let mut values = to_host(&partial.f_view_as_real()?)?;
                ranks.sum(&mut values);
                let mut real_dims = dims.clone();
                real_dims.push(2);
                Tensor::f_from_slice(&values)?
                    .f_view(&real_dims[..])?
                    .f_view_as_complex()?
                    .f_to_device(f.device())
            }
        }
    }

    /// The shell sums of `density` `[ny, nx/2+1]` (weighted), `[shells]`.
    fn bin(&self, density: &Tensor) -> Result<Tensor, TchError> {
        let zeros = Tensor::f_zeros([self.shells() as i64], (Kind::Double, density.device()))?;
        zeros.f_index_add(
            0,
            &self.shell,
            &density.f_mul(&self.weight)?.f_reshape([-1])?,
        )
    }

    /// E of the transforms `u`, `v` `[ny, nx/2+1]`.
    pub fn energy(&self, u: &Tensor, v: &Tensor) -> Result<Tensor, TchError> {
        let power = u.f_abs()?.f_square()?.f_add(&v.f_abs()?.f_square()?)?;
        self.bin(&power.f_mul_scalar(0.5)?)
    }

    /// T of the transforms `u`, `v`, `sx`, `sy`.
    pub fn transfer(
        &self,
        u: &Tensor,
        v: &Tensor,
        sx: &Tensor,
        sy: &Tensor,
    ) -> Result<Tensor, TchError> {
        let cross = u
            .f_conj()?
            .f_mul(sx)?
            .f_add(&v.f_conj()?.f_mul(sy)?)?
            .f_real()?;
        self.bin(&cross)
    }

    /// Adds one sample's spectra.
    pub fn push(&mut self, ke: &Tensor, transfer: Option<&Tensor>) -> Result<(), TchError> {
        self.count += 1;
        self.ke_sum = self.ke_sum.f_add(ke)?;
        if let Some(t) = transfer {
            self.transfer_sum = self.transfer_sum.f_add(t)?;
        }
        Ok(())
    }
}

/// A tensor's values on the host, as float64, in row-major order.
pub fn to_host(t: &Tensor) -> Result<Vec<f64>, TchError> {
    let t = t
        .f_to_kind(Kind::Double)?
        .f_to_device(Device::Cpu)?
        .f_contiguous()?
        .f_reshape([-1])?;
    Vec::<f64>::try_from(&t)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::comm::Alone;

    const N: usize = 64;
    const DX: f64 = 1e4;

    fn geometry() -> Geometry {
        Geometry {
            nx: N,
            ny: N,
            j0: 0,
            nj: N,
            halo: 0,
        }
    }

    /// u = cos(k·x) on a periodic grid, v = 0, at integer wavenumber (kx, ky).
    fn wave(kx: usize, ky: usize) -> Tensor {
        let values: Vec<f64> = (0..N * N)
            .map(|c| {
                let (j, i) = ((c / N) as f64, (c % N) as f64);
                (2.0 * PI * (kx as f64 * i + ky as f64 * j) / N as f64).cos()
            })
            .collect();
        Tensor::from_slice(&values).view([1, N as i64, N as i64])
    }

    #[test]
    fn a_single_wavenumber_peaks_at_its_shell_and_parseval_holds() {
        let g = geometry();
        for window in [Window::None, Window::Hann] {
            let s = Spectra::new(&g, window, (DX, DX), false, Device::Cpu).unwrap();
            let u = wave(8, 6);
            let f = s
                .transform(&Tensor::cat(&[&u, &u.zeros_like()], 0), &g, &Alone)
                .unwrap();
            let e = to_host(&s.energy(&f.get(0), &f.get(1)).unwrap()).unwrap();
            let peak = e
                .iter()
                .enumerate()
                .max_by(|a, b| a.1.total_cmp(b.1))
                .unwrap()
                .0;
            assert_eq!(peak, 10, "{window:?}: |k| = 10 Δk for (8, 6)");
            // Parseval: Σ E Δk = mean ½u² of the (tapered) field; 1/4 untapered.
            let total: f64 = e.iter().sum::<f64>() * s.dk;
            let windowed: f64 = match &s.window {
                Some(w) => {
                    to_host(&(u.get(0) * w).square())
                        .unwrap()
                        .iter()
                        .sum::<f64>()
                        / (2 * N * N) as f64
                }
                None => 0.25,
            };
            assert!(
                (total - windowed).abs() < 1e-12 * windowed,
                "{window:?}: {total} vs {windowed}"
            );
        }
    }

    /// The strip-wise transform (several ranks) equals the FFT of the whole field.
    #[test]
    fn the_strip_dft_sums_to_the_fft() {
        let g = geometry();
        let field = wave(3, 5) + wave(11, 2) * 0.3;
        let whole = Spectra::new(&g, Window::Hann, (DX, DX), false, Device::Cpu).unwrap();
        let reference = whole.transform(&field, &g, &Alone).unwrap();
        let mut sum = reference.zeros_like();
        for (j0, nj) in [(0, 40), (40, 24)] {
            let strip = Geometry { j0, nj, ..g };
            let s = Spectra::new(&strip, Window::Hann, (DX, DX), true, Device::Cpu).unwrap();
            // Alone: the rank's partial sum (its basin mean taken over the strip only, so
            // the field here has zero mean by construction).
            sum += s
                .transform(&field.narrow(1, j0 as i64, nj as i64), &strip, &Alone)
                .unwrap();
        }
        let diff = f64::try_from((sum - &reference).abs().max()).unwrap();
        assert!(diff < 1e-9, "strip sum differs from the FFT by {diff}");
    }
}
