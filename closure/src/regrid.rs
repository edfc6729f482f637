//! Bilinear interpolation of a state onto a finer grid of the same basin, staggering kept:
//! the spun-up coarse ocean becomes the initial state of the high-resolution truth run,
//! which then only has to equilibrate its eddies instead of spinning up from rest.

use crate::stagger::{Axis, Global};

/// `a` interpolated onto a grid `factor` times finer, each point at its own C-grid
/// position; beyond the walls the coarse field continues as the model's halo does.
pub fn refine(a: &Global, factor: usize) -> Global {
    let r = factor as f64;
    let (nx, ny) = (a.nx * factor, a.ny * factor);
    // Coarse fractional index of fine index i along an axis: same physical position.
    let source = |axis: Axis, i: usize| {
        let c = axis.position(i as f64) / r - axis.position(0.0);
        let i0 = c.floor();
        (i0 as isize, c - i0)
    };
    let mut out = Global::zeros(nx, ny, a.axes);
    for j in 0..ny {
        let (j0, ty) = source(a.axes[1], j);
        for i in 0..nx {
            let (i0, tx) = source(a.axes[0], i);
            let at = |di, dj| a.at_extended(i0 + di, j0 + dj);
            out.data[j * nx + i] = (1.0 - ty) * ((1.0 - tx) * at(0, 0) + tx * at(1, 0))
                + ty * ((1.0 - tx) * at(0, 1) + tx * at(1, 1));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use ocean_model::field::Stagger;
    use ocean_model::params::WallCondition;

    #[test]
    fn linear_fields_are_reproduced_at_their_own_points() {
        // η = x + 2y (x, y in coarse cells) is linear: bilinear interpolation is exact
        // wherever no wall is between the neighbours.
        let axes = Axis::of(Stagger::T, WallCondition::FreeSlip);
        let n = 8;
        let mut eta = Global::zeros(n, n, axes);
        for j in 0..n {
            for i in 0..n {
                eta.data[j * n + i] = (i as f64 + 0.5) + 2.0 * (j as f64 + 0.5);
            }
        }
        let fine = refine(&eta, 4);
        for j in 2..30 {
            for i in 2..30 {
                let (x, y) = ((i as f64 + 0.5) / 4.0, (j as f64 + 0.5) / 4.0);
                assert!((fine.at(i, j) - (x + 2.0 * y)).abs() < 1e-12);
            }
        }
    }

    #[test]
    fn normal_velocity_stays_zero_on_the_walls() {
        let axes = Axis::of(Stagger::U, WallCondition::FreeSlip);
        let mut u = Global::zeros(4, 4, axes);
        for j in 0..4 {
            for i in 0..3 {
                u.data[j * 4 + i] = 1.0;
            }
        }
        let fine = refine(&u, 4);
        assert!((0..16).all(|j| fine.at(15, j) == 0.0), "east wall");
        // The first fine face is a quarter of the way from the west wall to the first
        // coarse face: a quarter of its value.
        assert!((fine.at(0, 5) - 0.25).abs() < 1e-12);
    }
}
