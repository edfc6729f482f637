//! Global arrays on the C-grid and how they continue beyond the basin's walls.
//!
//! The convention is the ocean model's ([`ocean_model::grid`]): u(i, j) sits on the east
//! face of cell (i, j), v(i, j) on its north face, η(i, j) at its centre; u of the last
//! column and v of the last row are the east and north walls (always 0), and the west and
//! south walls are the faces at index −1. Along each axis a variable is either at cell
//! centres or on faces:
//!
//! * **faces** (u along x, v along y, the normal velocity): odd about the walls, whose
//!   value is 0 — index −1 and n − 1 are walls, m < −1 reads −a[−2 − m];
//! * **centres** (η everywhere, u along y, v along x): mirrored half a cell behind the wall,
//!   m < 0 reads ±a[−1 − m] — even for η and for the tangential velocity with free-slip
//!   walls, odd for no-slip walls (the velocity is 0 on the wall).
//!
//! Filtering and interpolation read beyond the walls through [`Global::at_extended`], so
//! that what they do at a wall is what the model's own halo does there.

use ocean_model::field::Stagger;
use ocean_model::params::WallCondition;

/// How a variable continues beyond a wall along one axis.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Axis {
    /// On faces: zero on the walls (index −1 and n − 1), odd behind them.
    Face,
    /// At centres: mirrored half a cell behind the wall, times `sign` (±1).
    Centre { sign: f64 },
}

impl Axis {
    /// The axes (x, y) of a variable at `stagger`, with the walls' condition.
    pub fn of(stagger: Stagger, walls: WallCondition) -> [Axis; 2] {
        let tangential = Axis::Centre {
            sign: match walls {
                WallCondition::FreeSlip => 1.0,
                WallCondition::NoSlip => -1.0,
            },
        };
        let even = Axis::Centre { sign: 1.0 };
        match stagger {
            Stagger::T => [even, even],
            Stagger::U => [Axis::Face, tangential],
            Stagger::V => [tangential, Axis::Face],
        }
    }

    /// Offset of point `i` from the west (south) wall, in cells: i + ½ or i + 1.
    pub fn position(self, i: f64) -> f64 {
        match self {
            Axis::Face => i + 1.0,
            Axis::Centre { .. } => i + 0.5,
        }
    }

    /// The stored index and sign that index `m` of an axis of `n` points reads, or
    /// `None` on a wall face (value 0). Valid for −n ≤ m < 2n.
    pub fn source(self, m: isize, n: usize) -> Option<(usize, f64)> {
        let n = n as isize;
        match self {
            Axis::Face => {
                let last = n - 1;
                if m == -1 || m == last {
                    None
                } else if m < -1 {
                    Some(((-2 - m) as usize, -1.0))
                } else if m > last {
                    Some(((2 * last - m) as usize, -1.0))
                } else {
                    Some((m as usize, 1.0))
                }
            }
            Axis::Centre { sign } => {
                if m < 0 {
                    Some(((-1 - m) as usize, sign))
                } else if m >= n {
                    Some(((2 * n - 1 - m) as usize, sign))
                } else {
                    Some((m as usize, 1.0))
                }
            }
        }
    }
}

/// One variable on the whole grid, `data[j * nx + i]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Global {
    pub nx: usize,
    pub ny: usize,
    /// How the variable continues beyond the walls along x and y.
    pub axes: [Axis; 2],
    pub data: Vec<f64>,
}

impl Global {
    pub fn new(nx: usize, ny: usize, axes: [Axis; 2], data: Vec<f64>) -> Self {
        assert_eq!(data.len(), nx * ny, "a {nx} × {ny} array");
        Global { nx, ny, axes, data }
    }

    pub fn zeros(nx: usize, ny: usize, axes: [Axis; 2]) -> Self {
        Self::new(nx, ny, axes, vec![0.0; nx * ny])
    }

    #[inline]
    pub fn at(&self, i: usize, j: usize) -> f64 {
        self.data[j * self.nx + i]
    }

    /// The value at (i, j), which may lie up to one basin width beyond a wall.
    #[inline]
    pub fn at_extended(&self, i: isize, j: isize) -> f64 {
        let [ax, ay] = self.axes;
        match (ax.source(i, self.nx), ay.source(j, self.ny)) {
            (Some((i, si)), Some((j, sj))) => si * sj * self.at(i, j),
            _ => 0.0,
        }
    }

    /// Area mean of the stored values.
    pub fn mean(&self) -> f64 {
        self.data.iter().sum::<f64>() / self.data.len() as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faces_are_zero_on_the_walls_and_odd_behind_them() {
        let a = Global::new(
            4,
            1,
            [Axis::Face, Axis::Centre { sign: 1.0 }],
            vec![1.0, 2.0, 3.0, 0.0],
        );
        assert_eq!(a.at_extended(-1, 0), 0.0);
        assert_eq!(a.at_extended(-2, 0), -1.0);
        assert_eq!(a.at_extended(-3, 0), -2.0);
        assert_eq!(a.at_extended(3, 0), 0.0);
        assert_eq!(a.at_extended(4, 0), -3.0);
        assert_eq!(a.at_extended(5, 0), -2.0);
    }

    #[test]
    fn centres_are_mirrored_half_a_cell_behind_the_wall() {
        let even = Global::new(
            1,
            3,
            [Axis::Centre { sign: 1.0 }, Axis::Centre { sign: 1.0 }],
            vec![1.0, 2.0, 3.0],
        );
        assert_eq!(even.at_extended(0, -1), 1.0);
        assert_eq!(even.at_extended(0, -2), 2.0);
        assert_eq!(even.at_extended(0, 3), 3.0);
        assert_eq!(even.at_extended(-1, 4), 2.0);
        let odd = Global::new(
            1,
            3,
            [Axis::Centre { sign: 1.0 }, Axis::Centre { sign: -1.0 }],
            vec![1.0, 2.0, 3.0],
        );
        assert_eq!(odd.at_extended(0, -1), -1.0);
        assert_eq!(odd.at_extended(0, 3), -3.0);
    }
}
