//! The filter-and-coarsen operator C of the subgrid forcing: a Gaussian filter of
//! standard deviation σ fine cells (GZ21: σ = factor / 2), then averaging onto the coarse
//! C-grid.
//!
//! Coarse cell (I, J) covers the fine cells [rI, rI + r) × [rJ, rJ + r) for the factor r.
//! Along an axis where a variable sits at centres the coarse value is the mean of the r fine
//! values of the block; along an axis where it sits on faces the coarse face coincides with
//! fine face rI + r − 1, which is taken as it is. So η̄ is the block mean, ū the mean of the
//! fine u along the coarse east face, v̄ along the coarse north face: each conserves what
//! flows through or is stored in the coarse cell, and the coarse walls get exactly 0.
//! Beyond a wall the filter reads the variable as the model's halo continues it
//! ([`crate::stagger::Axis`]).

use crate::stagger::{Axis, Global};

/// A normalised, truncated (±4σ) Gaussian along one axis.
#[derive(Debug, Clone)]
pub struct Gaussian {
    weights: Vec<f64>,
    radius: isize,
}

impl Gaussian {
    /// σ in grid cells (> 0).
    pub fn new(sigma: f64) -> Self {
        assert!(sigma > 0.0, "σ = {sigma} must be positive");
        let radius = (4.0 * sigma).ceil() as isize;
        let raw: Vec<f64> = (-radius..=radius)
            .map(|k| (-((k * k) as f64) / (2.0 * sigma * sigma)).exp())
            .collect();
        let total: f64 = raw.iter().sum();
        Gaussian {
            weights: raw.into_iter().map(|w| w / total).collect(),
            radius,
        }
    }

    /// The filtered array: along x, then along y, each reading beyond the walls as the
    /// model's halo would. Wall faces stay exactly 0.
    pub fn apply(&self, a: &Global) -> Global {
        assert!(
            (self.radius as usize) < a.nx.min(a.ny),
            "the filter (radius {} cells) is wider than the basin ({} × {})",
            self.radius,
            a.nx,
            a.ny
        );
        let pass = |src: &Global, along_x: bool| {
            let mut out = Global::zeros(src.nx, src.ny, src.axes);
            for j in 0..src.ny as isize {
                for i in 0..src.nx as isize {
                    let mut s = 0.0;
                    for (k, w) in (-self.radius..=self.radius).zip(&self.weights) {
                        s += w * if along_x {
                            src.at_extended(i + k, j)
                        } else {
                            src.at_extended(i, j + k)
                        };
                    }
                    out.data[j as usize * src.nx + i as usize] = s;
                }
            }
            out
        };
        let mut out = pass(&pass(a, true), false);
        zero_walls(&mut out);
        out
    }
}

/// Set the wall faces (last column of a Face axis along x, last row along y) to 0.
fn zero_walls(a: &mut Global) {
    let (nx, ny) = (a.nx, a.ny);
    if a.axes[0] == Axis::Face {
        for j in 0..ny {
            a.data[j * nx + nx - 1] = 0.0;
        }
    }
    if a.axes[1] == Axis::Face {
        a.data[(ny - 1) * nx..].fill(0.0);
    }
}

/// Filter (optional) and average onto a grid `factor` times coarser.
#[derive(Debug, Clone)]
pub struct Coarsening {
    pub factor: usize,
    pub filter: Option<Gaussian>,
}

impl Coarsening {
    /// GZ21's operator: a Gaussian of σ = factor / 2 fine cells, then the coarse averages.
    pub fn gz21(factor: usize) -> Self {
        Coarsening {
            factor,
            filter: Some(Gaussian::new(factor as f64 / 2.0)),
        }
    }

    /// C(a): the coarse array of the same staggering.
    pub fn apply(&self, a: &Global) -> Global {
        let r = self.factor;
        assert!(
            a.nx % r == 0 && a.ny % r == 0,
            "{} × {} is not divisible by the factor {r}",
            a.nx,
            a.ny
        );
        let filtered;
        let a = match &self.filter {
            Some(g) => {
                filtered = g.apply(a);
                &filtered
            }
            None => a,
        };
        let (nxc, nyc) = (a.nx / r, a.ny / r);
        // The fine indices of coarse index I along an axis.
        let members = |axis: Axis, c: usize| match axis {
            Axis::Face => (c * r + r - 1)..(c * r + r),
            Axis::Centre { .. } => (c * r)..(c * r + r),
        };
        let mut out = Global::zeros(nxc, nyc, a.axes);
        for jc in 0..nyc {
            for ic in 0..nxc {
                let (is, js) = (members(a.axes[0], ic), members(a.axes[1], jc));
                let n = (is.len() * js.len()) as f64;
                let mut s = 0.0;
                for j in js {
                    for i in is.clone() {
                        s += a.at(i, j);
                    }
                }
                out.data[jc * nxc + ic] = s / n;
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ocean_model::field::Stagger;
    use ocean_model::params::WallCondition;

    fn field(n: usize, stagger: Stagger, f: impl Fn(usize, usize) -> f64) -> Global {
        let axes = Axis::of(stagger, WallCondition::FreeSlip);
        let mut a = Global::zeros(n, n, axes);
        for j in 0..n {
            for i in 0..n {
                a.data[j * n + i] = f(i, j);
            }
        }
        zero_walls(&mut a);
        a
    }

    #[test]
    fn the_gaussian_keeps_a_constant_and_the_basin_mean_of_eta() {
        let g = Gaussian::new(2.0);
        let c = g.apply(&field(32, Stagger::T, |_, _| 3.5));
        assert!(c.data.iter().all(|x| (x - 3.5).abs() < 1e-13));
        // A lumpy η: its basin mean survives filtering (mirror walls) and block averaging.
        let eta = field(32, Stagger::T, |i, j| {
            ((i * 7 + j * 13) % 11) as f64 - 5.0 + (i as f64 * 0.3).sin()
        });
        let filtered = g.apply(&eta);
        assert!(
            (filtered.mean() - eta.mean()).abs() < 1e-13,
            "{} vs {}",
            filtered.mean(),
            eta.mean()
        );
        let coarse = Coarsening::gz21(4).apply(&eta);
        assert_eq!((coarse.nx, coarse.ny), (8, 8));
        assert!((coarse.mean() - eta.mean()).abs() < 1e-13);
    }

    #[test]
    fn a_field_without_sub_filter_structure_is_left_alone_in_the_interior() {
        // A linear ramp is kept by a symmetric filter wherever the kernel stays inside.
        let u = field(48, Stagger::U, |i, j| {
            0.1 + 0.01 * i as f64 - 0.02 * j as f64
        });
        let filtered = Gaussian::new(2.0).apply(&u);
        for j in 9..39 {
            for i in 9..38 {
                assert!((filtered.at(i, j) - u.at(i, j)).abs() < 1e-12);
            }
        }
    }

    #[test]
    fn coarse_faces_sit_on_fine_faces_and_walls_stay_zero() {
        // Without a filter, coarse u(I, J) is the mean of fine u(4I + 3, 4J..4J + 4).
        let u = field(16, Stagger::U, |i, j| (i * 100 + j) as f64);
        let c = Coarsening {
            factor: 4,
            filter: None,
        }
        .apply(&u);
        assert_eq!(c.at(0, 0), 300.0 + 1.5);
        assert_eq!(c.at(3, 2), 0.0, "the east wall");
        let v = field(16, Stagger::V, |i, j| (i + 100 * j) as f64);
        let c = Coarsening {
            factor: 4,
            filter: None,
        }
        .apply(&v);
        assert_eq!(c.at(1, 0), 300.0 + 5.5);
        assert_eq!(c.at(1, 3), 0.0, "the north wall");
        let filtered = Coarsening::gz21(4).apply(&u);
        assert!((0..4).all(|j| filtered.at(3, j) == 0.0));
    }
}
