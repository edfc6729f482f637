//! M×N routes: which source rank sends which sub-block to which destination rank.
//!
//! Every rank computes the same routes from the same gathered boxes, so no rank has to
//! tell another what to expect. A destination that asks for an `h`-cell halo receives the
//! box grown by `h` on every side; each axis of that grown box is cut into segments that
//! either map onto a contiguous run of global cells (possibly wrapped, for a cyclic edge)
//! or fall outside a closed edge and are zero-filled.

use crate::config::Boundary;

/// A rectangle of cells in a global grid: `ni × nj` cells from `(i0, j0)`; `i` is x.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Region {
    pub i0: usize,
    pub j0: usize,
    pub ni: usize,
    pub nj: usize,
}

impl Region {
    pub fn cells(&self) -> usize {
        self.ni * self.nj
    }

    fn intersect(&self, other: &Region) -> Option<Region> {
        let i0 = self.i0.max(other.i0);
        let j0 = self.j0.max(other.j0);
        let i1 = (self.i0 + self.ni).min(other.i0 + other.ni);
        let j1 = (self.j0 + self.nj).min(other.j0 + other.nj);
        (i1 > i0 && j1 > j0).then(|| Region {
            i0,
            j0,
            ni: i1 - i0,
            nj: j1 - j0,
        })
    }
}

impl std::fmt::Display for Region {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "[{}..{}, {}..{}]",
            self.i0,
            self.i0 + self.ni,
            self.j0,
            self.j0 + self.nj
        )
    }
}

/// Checks that `boxes` (one per rank) tile a grid starting at (0, 0) exactly, and returns
/// its size `(nx, ny)`. The error says which ranks overlap or where the gap is.
pub fn check_tiling(boxes: &[Region]) -> Result<(usize, usize), String> {
    if let Some(r) = boxes.iter().position(|b| b.cells() == 0) {
        return Err(format!("rank {r} declared an empty box {}", boxes[r]));
    }
    let nx = boxes.iter().map(|b| b.i0 + b.ni).max().unwrap_or(0);
    let ny = boxes.iter().map(|b| b.j0 + b.nj).max().unwrap_or(0);
    for (a, ba) in boxes.iter().enumerate() {
        for (b, bb) in boxes.iter().enumerate().skip(a + 1) {
            if let Some(o) = ba.intersect(bb) {
                return Err(format!(
                    "the boxes of ranks {a} {ba} and {b} {bb} overlap on {o}"
                ));
            }
        }
    }
    let covered: usize = boxes.iter().map(Region::cells).sum();
    if covered != nx * ny {
        let gap = first_gap(boxes, nx, ny);
        return Err(format!(
            "the boxes cover {covered} of the {nx}×{ny} = {} cells of the grid they span; \
             cell (i={}, j={}) belongs to no rank",
            nx * ny,
            gap.0,
            gap.1
        ));
    }
    Ok((nx, ny))
}

fn first_gap(boxes: &[Region], nx: usize, ny: usize) -> (usize, usize) {
    let inside = |b: &Region, i: usize, j: usize| {
        i >= b.i0 && i < b.i0 + b.ni && j >= b.j0 && j < b.j0 + b.nj
    };
    (0..ny)
        .flat_map(|j| (0..nx).map(move |i| (i, j)))
        .find(|&(i, j)| !boxes.iter().any(|b| inside(b, i, j)))
        .unwrap_or((0, 0))
}

/// A run of cells along one axis of a destination's grown box.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment {
    /// Offset in the destination's local (grown) array.
    pub local: usize,
    /// First global index, or `None` for cells beyond a closed edge.
    pub global: Option<usize>,
    pub len: usize,
}

/// Cuts the range `[start - halo, start + n + halo)` of an axis of length `size` into
/// segments that are contiguous in the global grid.
pub fn axis_segments(
    start: usize,
    n: usize,
    halo: usize,
    size: usize,
    edge: Boundary,
) -> Vec<Segment> {
    let first = start as i64 - halo as i64;
    let end = (start + n + halo) as i64;
    let size_i = size as i64;
    let mut segments = Vec::new();
    let mut p = first;
    while p < end {
        let local = (p - first) as usize;
        let (global, len) = match edge {
            Boundary::Closed if p < 0 => (None, (0.min(end) - p) as usize),
            Boundary::Closed if p >= size_i => (None, (end - p) as usize),
            Boundary::Closed => (Some(p as usize), (end.min(size_i) - p) as usize),
            Boundary::Cyclic => {
                let g = p.rem_euclid(size_i);
                (Some(g as usize), ((size_i - g).min(end - p)) as usize)
            }
        };
        segments.push(Segment { local, global, len });
        p += len as i64;
    }
    segments
}

/// A block of cells that one source rank sends to one destination rank.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Piece {
    /// Rank within the source component.
    pub src: usize,
    /// Rank within the destination component.
    pub dst: usize,
    /// The cells, in global coordinates.
    pub cells: Region,
    /// Where they land in the destination's grown local array (column, row).
    pub at: (usize, usize),
}

/// Cells of a destination's grown array that no source fills (beyond a closed edge).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ZeroFill {
    pub dst: usize,
    /// Column, row and size in the destination's grown local array.
    pub at: (usize, usize),
    pub size: (usize, usize),
}

/// All pieces of one exchange, ordered by (destination, source, row segment, column segment):
/// the order in which a source packs them into its message and a destination unpacks them.
#[derive(Debug, Clone, Default)]
pub struct Routes {
    pub pieces: Vec<Piece>,
    pub zero_fills: Vec<ZeroFill>,
}

/// Computes the routes of an exchange between source boxes and destination boxes over a
/// global grid of `size = (nx, ny)` cells, with a `halo` and edge conditions along x and y.
pub fn compute_routes(
    src: &[Region],
    dst: &[Region],
    size: (usize, usize),
    halo: usize,
    edges: [Boundary; 2],
) -> Routes {
    let mut routes = Routes::default();
    for (d, db) in dst.iter().enumerate() {
        let xs = axis_segments(db.i0, db.ni, halo, size.0, edges[0]);
        let ys = axis_segments(db.j0, db.nj, halo, size.1, edges[1]);
        let mut found = Vec::new();
        for ys_seg in &ys {
            for xs_seg in &xs {
                let (Some(gi), Some(gj)) = (xs_seg.global, ys_seg.global) else {
                    routes.zero_fills.push(ZeroFill {
                        dst: d,
                        at: (xs_seg.local, ys_seg.local),
                        size: (xs_seg.len, ys_seg.len),
                    });
                    continue;
                };
                let want = Region {
                    i0: gi,
                    j0: gj,
                    ni: xs_seg.len,
                    nj: ys_seg.len,
                };
                for (s, sb) in src.iter().enumerate() {
                    if let Some(cells) = want.intersect(sb) {
                        let at = (xs_seg.local + cells.i0 - gi, ys_seg.local + cells.j0 - gj);
                        found.push(Piece {
                            src: s,
                            dst: d,
                            cells,
                            at,
                        });
                    }
                }
            }
        }
        // Stable sort: within a (dst, src) pair the segment order above is kept.
        found.sort_by_key(|p| p.src);
        routes.pieces.extend(found);
    }
    routes
}

#[cfg(test)]
mod tests {
    use super::*;
    use Boundary::{Closed, Cyclic};

    fn r(i0: usize, j0: usize, ni: usize, nj: usize) -> Region {
        Region { i0, j0, ni, nj }
    }

    #[test]
    fn tiling_accepts_exact_covers() {
        assert_eq!(check_tiling(&[r(0, 0, 4, 2), r(0, 2, 4, 3)]), Ok((4, 5)));
        assert_eq!(
            check_tiling(&[r(0, 0, 3, 3), r(3, 0, 2, 1), r(3, 1, 2, 2)]),
            Ok((5, 3))
        );
    }

    #[test]
    fn tiling_names_overlaps_and_gaps() {
        let err = check_tiling(&[r(0, 0, 4, 3), r(0, 2, 4, 3)]).unwrap_err();
        assert!(
            err.contains("ranks 0 [0..4, 0..3] and 1 [0..4, 2..5] overlap"),
            "{err}"
        );
        let err = check_tiling(&[r(0, 0, 2, 2), r(3, 0, 1, 2)]).unwrap_err();
        assert!(err.contains("cell (i=2, j=0) belongs to no rank"), "{err}");
        assert!(check_tiling(&[r(0, 0, 0, 2)])
            .unwrap_err()
            .contains("empty box"));
    }

    #[test]
    fn closed_axis_zero_fills_beyond_the_edges() {
        let segs = axis_segments(0, 4, 2, 4, Closed);
        assert_eq!(
            segs,
            vec![
                Segment {
                    local: 0,
                    global: None,
                    len: 2
                },
                Segment {
                    local: 2,
                    global: Some(0),
                    len: 4
                },
                Segment {
                    local: 6,
                    global: None,
                    len: 2
                },
            ]
        );
        // An interior box is all real cells.
        assert_eq!(
            axis_segments(3, 2, 1, 8, Closed),
            vec![Segment {
                local: 0,
                global: Some(2),
                len: 4
            }]
        );
    }

    #[test]
    fn cyclic_axis_wraps() {
        let segs = axis_segments(0, 4, 2, 6, Cyclic);
        assert_eq!(
            segs,
            vec![
                Segment {
                    local: 0,
                    global: Some(4),
                    len: 2
                },
                Segment {
                    local: 2,
                    global: Some(0),
                    len: 6
                },
            ]
        );
        let segs = axis_segments(4, 2, 1, 6, Cyclic);
        assert_eq!(
            segs,
            vec![
                Segment {
                    local: 0,
                    global: Some(3),
                    len: 3
                },
                Segment {
                    local: 3,
                    global: Some(0),
                    len: 1
                }
            ]
        );
    }

    /// Fills every destination's grown array through the routes and checks each cell holds
    /// the global cell its position maps to — the halo included.
    fn check_routes_deliver_every_cell(
        src: &[Region],
        dst: &[Region],
        halo: usize,
        edges: [Boundary; 2],
    ) {
        let size = check_tiling(src).unwrap();
        let routes = compute_routes(src, dst, size, halo, edges);
        let value = |i: usize, j: usize| (j * 1000 + i) as i64;
        for (d, db) in dst.iter().enumerate() {
            let (w, h) = (db.ni + 2 * halo, db.nj + 2 * halo);
            let mut got = vec![-1i64; w * h];
            for p in routes.pieces.iter().filter(|p| p.dst == d) {
                assert!(
                    src[p.src].intersect(&p.cells) == Some(p.cells),
                    "piece outside its source"
                );
                for j in 0..p.cells.nj {
                    for i in 0..p.cells.ni {
                        let slot = &mut got[(p.at.1 + j) * w + p.at.0 + i];
                        assert_eq!(*slot, -1, "cell filled twice");
                        *slot = value(p.cells.i0 + i, p.cells.j0 + j);
                    }
                }
            }
            for z in routes.zero_fills.iter().filter(|z| z.dst == d) {
                for j in 0..z.size.1 {
                    for i in 0..z.size.0 {
                        got[(z.at.1 + j) * w + z.at.0 + i] = 0;
                    }
                }
            }
            for lj in 0..h {
                for li in 0..w {
                    let map = |p: usize, start: usize, n: usize, edge: Boundary| {
                        let g = start as i64 + p as i64 - halo as i64;
                        match edge {
                            Cyclic => Some(g.rem_euclid(n as i64) as usize),
                            Closed => (g >= 0 && g < n as i64).then_some(g as usize),
                        }
                    };
                    let want = match (
                        map(li, db.i0, size.0, edges[0]),
                        map(lj, db.j0, size.1, edges[1]),
                    ) {
                        (Some(i), Some(j)) => value(i, j),
                        _ => 0,
                    };
                    assert_eq!(
                        got[lj * w + li],
                        want,
                        "dst {d} local ({li},{lj}) halo {halo} {edges:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn routes_fill_boxes_and_halos_for_every_edge_kind() {
        let src = [r(0, 0, 5, 3), r(5, 0, 3, 3), r(0, 3, 8, 4)];
        let dst = [r(0, 0, 8, 2), r(0, 2, 3, 5), r(3, 2, 5, 5)];
        for edges in [
            [Closed, Closed],
            [Cyclic, Closed],
            [Closed, Cyclic],
            [Cyclic, Cyclic],
        ] {
            for halo in [0, 1, 3] {
                check_routes_deliver_every_cell(&src, &dst, halo, edges);
            }
        }
    }

    #[test]
    fn one_to_one_routes_are_one_piece() {
        let routes = compute_routes(
            &[r(0, 0, 64, 64)],
            &[r(0, 0, 64, 64)],
            (64, 64),
            0,
            [Closed, Closed],
        );
        assert_eq!(
            routes.pieces,
            vec![Piece {
                src: 0,
                dst: 0,
                cells: r(0, 0, 64, 64),
                at: (0, 0)
            }]
        );
        assert!(routes.zero_fills.is_empty());
    }
}
