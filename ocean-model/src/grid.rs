//! Global grid and its px × py decomposition into rank boxes.
//!
//! # Grid convention (the coupling path relies on it)
//!
//! The basin has `nx × ny` tracer (T) cells; cell (i, j) spans
//! x ∈ [i dx, (i+1) dx], y ∈ [j dy, (j+1) dy], i fastest in memory.
//! Every field is stored as `nx × ny` values per level:
//!
//! * `eta[i, j]` at the centre of T-cell (i, j);
//! * `u[i, j]` on the **east** face of T-cell (i, j), at x = (i+1) dx;
//! * `v[i, j]` on the **north** face of T-cell (i, j), at y = (j+1) dy;
//! * `q[i, j]` (vorticity) on the north-east corner of T-cell (i, j).
//!
//! The east wall is therefore the column `u[nx−1, ·]` and the north wall the row
//! `v[·, ny−1]`; both are held at zero (`mask_u`, `mask_v` are 0 there). The west
//! and south walls, x = 0 and y = 0, fall on the west face of column 0 and the south
//! face of row 0: those velocities are not stored; they live in the halo, where
//! `fill_halos` sets them to zero (normal flow) and mirrors the tangential flow.

use crate::error::{OceanError, Result};

/// Halo width of every field (cells). Two rings are enough for the biharmonic operator.
pub const HALO: usize = 2;

/// Smallest rank box (cells per direction) the wall ghosts allow.
pub const MIN_BOX: usize = 4;

/// One rank's box in the global grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RankBox {
    /// Global index of the first owned column.
    pub i0: usize,
    /// Global index of the first owned row.
    pub j0: usize,
    /// Owned columns.
    pub ni: usize,
    /// Owned rows.
    pub nj: usize,
}

/// Neighbour of a box side: another rank or a closed wall.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Wall,
    Rank(i32),
}

/// A px × py block decomposition of the nx × ny grid; rank = ry·px + rx.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decomposition {
    pub nx: usize,
    pub ny: usize,
    pub px: usize,
    pub py: usize,
}

impl Decomposition {
    /// Build and check a decomposition for `size` ranks; `None` picks px × py automatically.
    pub fn new(nx: usize, ny: usize, size: usize, layout: Option<(usize, usize)>) -> Result<Self> {
        let (px, py) = match layout {
            Some(l) => l,
            None => auto_layout(nx, ny, size),
        };
        if px * py != size {
            return Err(OceanError::Decomposition(format!(
                "px × py = {px} × {py} = {} but the ocean communicator has {size} ranks",
                px * py
            )));
        }
        if nx / px.max(1) < MIN_BOX || ny / py.max(1) < MIN_BOX {
            return Err(OceanError::Decomposition(format!(
                "px × py = {px} × {py} leaves boxes smaller than {MIN_BOX} × {MIN_BOX} cells on the {nx} × {ny} grid"
            )));
        }
        Ok(Decomposition { nx, ny, px, py })
    }

    /// Number of ranks.
    pub fn size(&self) -> usize {
        self.px * self.py
    }

    /// The box owned by `rank`.
    pub fn rank_box(&self, rank: usize) -> RankBox {
        let (rx, ry) = (rank % self.px, rank / self.px);
        let split = |n: usize, p: usize, r: usize| (r * n / p, (r + 1) * n / p - r * n / p);
        let (i0, ni) = split(self.nx, self.px, rx);
        let (j0, nj) = split(self.ny, self.py, ry);
        RankBox { i0, j0, ni, nj }
    }

    /// West, east, south and north neighbours of `rank`.
    pub fn neighbours(&self, rank: usize) -> [Side; 4] {
        let (rx, ry) = (rank % self.px, rank / self.px);
        let at = |x: usize, y: usize| Side::Rank((y * self.px + x) as i32);
        [
            if rx == 0 { Side::Wall } else { at(rx - 1, ry) },
            if rx + 1 == self.px {
                Side::Wall
            } else {
                at(rx + 1, ry)
            },
            if ry == 0 { Side::Wall } else { at(rx, ry - 1) },
            if ry + 1 == self.py {
                Side::Wall
            } else {
                at(rx, ry + 1)
            },
        ]
    }
}

/// The factor pair px × py = size whose boxes are closest to square.
fn auto_layout(nx: usize, ny: usize, size: usize) -> (usize, usize) {
    let mut best = (size, 1);
    let mut best_score = f64::INFINITY;
    for px in 1..=size {
        if size % px == 0 {
            let py = size / px;
            let score = ((nx as f64 / px as f64) / (ny as f64 / py as f64))
                .ln()
                .abs();
            if score < best_score {
                best_score = score;
                best = (px, py);
            }
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boxes_tile_the_grid() {
        let d = Decomposition::new(30, 20, 6, Some((3, 2))).unwrap();
        let total: usize = (0..6).map(|r| d.rank_box(r).ni * d.rank_box(r).nj).sum();
        assert_eq!(total, 600);
        assert_eq!(
            d.rank_box(4),
            RankBox {
                i0: 10,
                j0: 10,
                ni: 10,
                nj: 10
            }
        );
        assert_eq!(
            d.neighbours(0),
            [Side::Wall, Side::Rank(1), Side::Wall, Side::Rank(3)]
        );
    }

    #[test]
    fn auto_layout_is_squareish_and_bad_layouts_are_named() {
        assert_eq!(Decomposition::new(64, 64, 4, None).unwrap().px, 2);
        let msg = Decomposition::new(64, 64, 4, Some((3, 1)))
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("3 × 1 = 3 but the ocean communicator has 4"),
            "{msg}"
        );
    }
}
