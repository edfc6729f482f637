//! Online scores of coarse runs against the coarse-grained truth, as Ross et al. (2023)
//! score closures: for each metric D, the normalised score 1 − D(run, truth) / D(no closure,
//! truth) — 1 is perfect, 0 no better than no closure, negative worse.
//!
//! Metrics, over the samples of the test period (all points, all days):
//! * Wasserstein-1 distances of the marginal distributions of u, v, η (at their own points),
//!   KE = ½(u² + v²) at T points and relative vorticity ζ at corners;
//! * RMS differences of the time-mean KE map and of the map of the standard deviation of η;
//! * the RMS difference of log10 of the time-mean isotropic KE spectrum, for wavenumbers up
//!   to 2/3 of Nyquist. The spectrum of each snapshot is that of u, v at T points, each
//!   minus its basin mean and times a 2-D Hann window (the basin is closed, not periodic),
//!   binned by |k| in rings of width 2π/L.

use serde::Serialize;
use tch::{Device, Kind, Tensor};

/// One run's fields over the test period, on the coarse grid: [N, ny, nx] each, float64.
pub struct Series {
    pub u: Tensor,
    pub v: Tensor,
    pub eta: Tensor,
    pub dx: f64,
}

impl Series {
    fn t_points(&self) -> (Tensor, Tensor) {
        // u at T = mean of the west (index i − 1, 0 at the wall) and east faces; v likewise.
        let pad_u = self.u.constant_pad_nd([1, 0]);
        let pad_v = self.v.constant_pad_nd([0, 0, 1, 0]);
        let nx = self.u.size()[2];
        let ny = self.v.size()[1];
        let ut = (pad_u.narrow(2, 0, nx) + pad_u.narrow(2, 1, nx)) * 0.5;
        let vt = (pad_v.narrow(1, 0, ny) + pad_v.narrow(1, 1, ny)) * 0.5;
        (ut, vt)
    }

    /// Kinetic energy per unit mass at T points (m² s⁻²).
    pub fn ke(&self) -> Tensor {
        let (ut, vt) = self.t_points();
        (ut.square() + vt.square()) * 0.5
    }

    /// ζ = ∂x v − ∂y u at the north-east corners (s⁻¹), the walls' corners left out.
    pub fn vorticity(&self) -> Tensor {
        let (ny, nx) = (self.u.size()[1], self.u.size()[2]);
        let dvdx = (self.v.narrow(2, 1, nx - 1) - self.v.narrow(2, 0, nx - 1)).narrow(1, 0, ny - 1);
        let dudy = (self.u.narrow(1, 1, ny - 1) - self.u.narrow(1, 0, ny - 1)).narrow(2, 0, nx - 1);
        (dvdx - dudy) / self.dx
    }

    /// Time-mean isotropic KE spectrum: (k in rad m⁻¹, E(k) in m³ s⁻²) up to 2/3 Nyquist.
    pub fn spectrum(&self) -> (Vec<f64>, Vec<f64>) {
        let (ut, vt) = self.t_points();
        let (n, ny, nx) = (ut.size()[0], ut.size()[1], ut.size()[2]);
        let hann = |m: i64| {
            Tensor::from_slice(
                &(0..m)
                    .map(|i| {
                        0.5 - 0.5 * (2.0 * std::f64::consts::PI * (i as f64 + 0.5) / m as f64).cos()
                    })
                    .collect::<Vec<_>>(),
            )
        };
        let window = hann(ny).view([ny, 1]) * hann(nx).view([1, nx]);
        let power = |f: &Tensor| {
            let anomaly = f - f.mean_dim(&[1i64, 2][..], true, Kind::Double);
            let spec = (anomaly * &window).fft_rfft2(None::<&[i64]>, [1i64, 2], "backward");
            spec.abs().square().mean_dim(0, false, Kind::Double)
        };
        let e = (power(&ut) + power(&vt)) * 0.5; // [ny, nx/2 + 1]
        let e: Vec<f64> = Vec::<f64>::try_from(e.flatten(0, -1)).unwrap_or_default();
        let (lx, ly) = (nx as f64 * self.dx, ny as f64 * self.dx);
        let dk = 2.0 * std::f64::consts::PI / lx.max(ly);
        let kmax = (2.0 / 3.0) * std::f64::consts::PI / self.dx;
        let bins = (kmax / dk) as usize;
        let mut sum = vec![0.0; bins + 1];
        let w = nx / 2 + 1;
        for j in 0..ny {
            let ky =
                2.0 * std::f64::consts::PI * (if j <= ny / 2 { j } else { j - ny }) as f64 / ly;
            for i in 0..w {
                let kx = 2.0 * std::f64::consts::PI * i as f64 / lx;
                let b = ((kx * kx + ky * ky).sqrt() / dk).round() as usize;
                if b <= bins {
                    // rfft keeps half the plane: the other half doubles all but the i = 0 column
                    let weight = if i == 0 || (nx % 2 == 0 && i == nx / 2) {
                        1.0
                    } else {
                        2.0
                    };
                    sum[b] += weight * e[j as usize * w as usize + i as usize];
                }
            }
        }
        let _ = n;
        let norm = self.dx * self.dx / (nx * ny) as f64 / dk;
        let ks = (1..=bins).map(|b| b as f64 * dk).collect();
        let es = (1..=bins).map(|b| sum[b] * norm).collect();
        (ks, es)
    }
}

/// The Wasserstein-1 distance of two empirical distributions (from 2000 quantiles).
pub fn wasserstein1(a: &Tensor, b: &Tensor) -> f64 {
    let q = Tensor::linspace(0.0005, 0.9995, 2000, (Kind::Double, Device::Cpu));
    let qa = a
        .flatten(0, -1)
        .to_kind(Kind::Double)
        .quantile(&q, None, false, "linear");
    let qb = b
        .flatten(0, -1)
        .to_kind(Kind::Double)
        .quantile(&q, None, false, "linear");
    (qa - qb).abs().mean(Kind::Double).double_value(&[])
}

fn rms_diff(a: &Tensor, b: &Tensor) -> f64 {
    (a - b).square().mean(Kind::Double).sqrt().double_value(&[])
}

/// Distances of one run from the truth, by metric (same order as [`METRICS`]).
pub fn distances(run: &Series, truth: &Series) -> Vec<f64> {
    let (ks, er) = run.spectrum();
    let (_, et) = truth.spectrum();
    let spectrum = (er
        .iter()
        .zip(&et)
        .map(|(a, b)| (a.log10() - b.log10()).powi(2))
        .sum::<f64>()
        / ks.len() as f64)
        .sqrt();
    vec![
        wasserstein1(&run.u, &truth.u),
        wasserstein1(&run.v, &truth.v),
        wasserstein1(&run.eta, &truth.eta),
        wasserstein1(&run.ke(), &truth.ke()),
        wasserstein1(&run.vorticity(), &truth.vorticity()),
        rms_diff(
            &run.ke().mean_dim(0, false, Kind::Double),
            &truth.ke().mean_dim(0, false, Kind::Double),
        ),
        rms_diff(
            &run.eta.std_dim(0, false, false),
            &truth.eta.std_dim(0, false, false),
        ),
        spectrum,
    ]
}

/// Names of the metrics, in the order of [`distances`].
pub const METRICS: [&str; 8] = [
    "W1 u",
    "W1 v",
    "W1 η",
    "W1 KE",
    "W1 ζ",
    "time-mean KE map",
    "η std map",
    "KE spectrum",
];

/// One run's distances and normalised scores.
#[derive(Debug, Clone, Serialize)]
pub struct Scores {
    pub run: String,
    pub distances: Vec<f64>,
    /// 1 − D / D(no closure); absent for the reference itself.
    pub scores: Vec<f64>,
    pub median_score: f64,
}

/// Scores of every run against the truth, normalised by the run named `reference`.
pub fn score_all(runs: &[(String, Series)], truth: &Series, reference: &str) -> Vec<Scores> {
    let d: Vec<(String, Vec<f64>)> = runs
        .iter()
        .map(|(n, s)| (n.clone(), distances(s, truth)))
        .collect();
    let base = d
        .iter()
        .find(|(n, _)| n == reference)
        .map(|(_, d)| d.clone());
    d.into_iter()
        .map(|(run, distances)| {
            let scores: Vec<f64> = match &base {
                Some(b) => distances.iter().zip(b).map(|(x, r)| 1.0 - x / r).collect(),
                None => vec![],
            };
            let mut sorted = scores.clone();
            sorted.sort_by(f64::total_cmp);
            let median_score = match sorted.len() {
                0 => f64::NAN,
                n if n % 2 == 1 => sorted[n / 2],
                n => 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]),
            };
            Scores {
                run,
                distances,
                scores,
                median_score,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(f: impl Fn(i64, i64, i64) -> f64, n: i64, m: i64) -> Series {
        let data: Vec<f64> = (0..n)
            .flat_map(|t| (0..m).flat_map(move |j| (0..m).map(move |i| (t, j, i))))
            .map(|(t, j, i)| f(t, j, i))
            .collect();
        let t = Tensor::from_slice(&data).view([n, m, m]);
        Series {
            u: t.shallow_clone(),
            v: t.shallow_clone() * 0.5,
            eta: t * 0.1,
            dx: 1.0e4,
        }
    }

    #[test]
    fn wasserstein_of_a_shift_is_the_shift() {
        let a = Tensor::randn([10_000], (Kind::Double, Device::Cpu));
        let b = &a + 0.3;
        assert!((wasserstein1(&a, &b) - 0.3).abs() < 1e-9);
        assert!(wasserstein1(&a, &a) == 0.0);
    }

    #[test]
    fn the_spectrum_of_one_wave_peaks_at_its_wavenumber() {
        let m = 64;
        let k = 8.0; // waves across the basin
        let s = series(
            |_, _, i| (2.0 * std::f64::consts::PI * k * (i as f64 + 0.5) / m as f64).sin(),
            3,
            m,
        );
        let (ks, e) = s.spectrum();
        let peak = (0..e.len())
            .max_by(|&a, &b| e[a].total_cmp(&e[b]))
            .expect("bins");
        let expected = 2.0 * std::f64::consts::PI * k / (m as f64 * s.dx);
        assert!(
            (ks[peak] - expected).abs() < 1.01 * (ks[1] - ks[0]),
            "peak at {} vs {expected}",
            ks[peak]
        );
    }

    #[test]
    fn a_run_equal_to_the_truth_scores_one_and_the_reference_zero() {
        let truth = series(|t, j, i| ((t * 7 + j * 3 + i) % 13) as f64 * 0.01, 4, 16);
        let other = series(|t, j, i| ((t * 5 + j + i * 2) % 11) as f64 * 0.012, 4, 16);
        let same = series(|t, j, i| ((t * 7 + j * 3 + i) % 13) as f64 * 0.01, 4, 16);
        let s = score_all(
            &[("none".into(), other), ("perfect".into(), same)],
            &truth,
            "none",
        );
        assert!(s[0].scores.iter().all(|x| x.abs() < 1e-12));
        assert!(
            s[1].scores.iter().all(|x| (x - 1.0).abs() < 1e-12),
            "{:?}",
            s[1].scores
        );
    }
}
