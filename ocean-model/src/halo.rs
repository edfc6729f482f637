//! `fill_halos`: the one call the physics makes to refresh ghost cells.
//!
//! Each side of the rank box is either a closed wall or another rank; the physics
//! never knows which. Walls: the normal velocity is zero on the wall and mirrored
//! antisymmetrically behind it; the tangential velocity is mirrored (free slip) or
//! mirrored with a sign change (no slip); eta is mirrored (no flux). Ranks: the
//! halo is exchanged with non-blocking sends and receives, x first, then y over the
//! full row width so that corners arrive too. Because every ghost value equals the
//! value a single-rank run would have there, results do not depend on the layout.

use mpi::topology::SimpleCommunicator;
use mpi::traits::*;

use crate::field::{Field, Stagger};
use crate::grid::{Side, HALO};
use crate::params::WallCondition;
use crate::real::Real;

/// Most fields one [`Halo::fill_halos_of`] call can carry.
pub const MAX_FIELDS: usize = 3;

const TAG_EASTWARD: i32 = 11;
const TAG_WESTWARD: i32 = 12;
const TAG_NORTHWARD: i32 = 13;
const TAG_SOUTHWARD: i32 = 14;

/// Boundary conditions of one rank box plus the buffers for its exchanges, for fields
/// of the float type `T`.
pub struct Halo<T: Real = f64> {
    comm: Option<SimpleCommunicator>,
    /// West, east, south, north.
    sides: [Side; 4],
    walls: WallCondition,
    ni: usize,
    nj: usize,
    send: [Vec<T>; 2],
    recv: [Vec<T>; 2],
}

impl<T: Real> Halo<T> {
    /// Walls on all four sides, no communicator (a single-rank run or a unit test).
    pub fn serial(ni: usize, nj: usize, walls: WallCondition) -> Self {
        Self::new(None, [Side::Wall; 4], ni, nj, walls)
    }

    /// A box with the given neighbours (west, east, south, north) on `comm`.
    pub fn new(
        comm: Option<SimpleCommunicator>,
        sides: [Side; 4],
        ni: usize,
        nj: usize,
        walls: WallCondition,
    ) -> Self {
        let n = MAX_FIELDS * HALO * (ni + 2 * HALO).max(nj + 2 * HALO);
        Halo {
            comm,
            sides,
            walls,
            ni,
            nj,
            send: [vec![T::ZERO; n], vec![T::ZERO; n]],
            recv: [vec![T::ZERO; n], vec![T::ZERO; n]],
        }
    }

    /// Refresh the halo of `f`, which lives at `stagger`.
    pub fn fill_halos(&mut self, f: &mut Field<T>, stagger: Stagger) {
        self.fill_halos_of([(f, stagger)]);
    }

    /// Refresh the halos of up to [`MAX_FIELDS`] fields at once: each message to a
    /// neighbour carries all of them, so a rank waits once per side, not once per field.
    pub fn fill_halos_of<const N: usize>(&mut self, mut fields: [(&mut Field<T>, Stagger); N]) {
        const { assert!(N <= MAX_FIELDS) };
        for (f, stagger) in fields.iter_mut() {
            self.fill_x(f, *stagger);
        }
        if self.sides[0] != Side::Wall || self.sides[1] != Side::Wall {
            self.exchange(&mut fields, Axis::X);
        }
        for (f, stagger) in fields.iter_mut() {
            self.fill_y(f, *stagger);
        }
        if self.sides[2] != Side::Wall || self.sides[3] != Side::Wall {
            self.exchange(&mut fields, Axis::Y);
        }
    }

    /// The west and east walls of `f` (the ranks are left to [`Self::exchange`]).
    fn fill_x(&self, f: &mut Field<T>, stagger: Stagger) {
        let (ni, nj) = (self.ni as isize, self.nj as isize);
        let h = HALO as isize;
        let s = self.wall_sign(stagger, Stagger::U);
        // West wall sits on the west face of column 0.
        if self.sides[0] == Side::Wall {
            for j in 0..nj {
                if stagger == Stagger::U {
                    *f.at_mut(-1, j) = T::ZERO;
                    *f.at_mut(-2, j) = -f.at(0, j);
                } else {
                    for g in 1..=h {
                        *f.at_mut(-g, j) = s * f.at(g - 1, j);
                    }
                }
            }
        }
        // East wall: u[ni−1] is on the wall.
        if self.sides[1] == Side::Wall {
            for j in 0..nj {
                if stagger == Stagger::U {
                    *f.at_mut(ni - 1, j) = T::ZERO;
                    for g in 1..=h {
                        *f.at_mut(ni - 1 + g, j) = -f.at(ni - 1 - g, j);
                    }
                } else {
                    for g in 1..=h {
                        *f.at_mut(ni - 1 + g, j) = s * f.at(ni - g, j);
                    }
                }
            }
        }
    }

    /// The south and north walls of `f`, over the full row width.
    fn fill_y(&self, f: &mut Field<T>, stagger: Stagger) {
        let nj = self.nj as isize;
        let h = HALO as isize;
        let s = self.wall_sign(stagger, Stagger::V);
        let w = f.stride;
        if self.sides[2] == Side::Wall {
            if stagger == Stagger::V {
                f.span_mut(-h, -1, w).fill(T::ZERO);
                copy_row(f, 0, -2, -T::from_f64(1.0));
            } else {
                for g in 1..=h {
                    copy_row(f, g - 1, -g, s);
                }
            }
        }
        if self.sides[3] == Side::Wall {
            if stagger == Stagger::V {
                f.span_mut(-h, nj - 1, w).fill(T::ZERO);
                for g in 1..=h {
                    copy_row(f, nj - 1 - g, nj - 1 + g, -T::from_f64(1.0));
                }
            } else {
                for g in 1..=h {
                    copy_row(f, nj - g, nj - 1 + g, s);
                }
            }
        }
    }

    /// The sign a field at `stagger` takes when mirrored in a wall whose normal velocity
    /// lives at `normal`: −1 for that normal velocity (odd, zero on the wall), the wall
    /// condition's for the tangential one (free slip +1, no slip −1), +1 for T points.
    fn wall_sign(&self, stagger: Stagger, normal: Stagger) -> T {
        T::from_f64(match stagger {
            Stagger::T => 1.0,
            s if s == normal => -1.0,
            _ => match self.walls {
                WallCondition::FreeSlip => 1.0,
                WallCondition::NoSlip => -1.0,
            },
        })
    }

    /// Non-blocking exchange of `fields` with the rank neighbours along one axis.
    fn exchange(&mut self, fields: &mut [(&mut Field<T>, Stagger)], axis: Axis) {
        let Some(comm) = self.comm.as_ref() else {
            return;
        };
        let (lo, hi) = match axis {
            Axis::X => (self.sides[0], self.sides[1]),
            Axis::Y => (self.sides[2], self.sides[3]),
        };
        let region = |side: usize, owned: bool| -> Strip {
            let (ni, nj, h) = (self.ni as isize, self.nj as isize, HALO as isize);
            match (axis, side, owned) {
                (Axis::X, 0, true) => Strip {
                    i0: 0,
                    j0: 0,
                    w: h,
                    hgt: nj,
                },
                (Axis::X, 0, false) => Strip {
                    i0: -h,
                    j0: 0,
                    w: h,
                    hgt: nj,
                },
                (Axis::X, _, true) => Strip {
                    i0: ni - h,
                    j0: 0,
                    w: h,
                    hgt: nj,
                },
                (Axis::X, _, false) => Strip {
                    i0: ni,
                    j0: 0,
                    w: h,
                    hgt: nj,
                },
                (Axis::Y, 0, true) => Strip {
                    i0: -h,
                    j0: 0,
                    w: ni + 2 * h,
                    hgt: h,
                },
                (Axis::Y, 0, false) => Strip {
                    i0: -h,
                    j0: -h,
                    w: ni + 2 * h,
                    hgt: h,
                },
                (Axis::Y, _, true) => Strip {
                    i0: -h,
                    j0: nj - h,
                    w: ni + 2 * h,
                    hgt: h,
                },
                (Axis::Y, _, false) => Strip {
                    i0: -h,
                    j0: nj,
                    w: ni + 2 * h,
                    hgt: h,
                },
            }
        };
        let (tag_up, tag_down) = match axis {
            Axis::X => (TAG_EASTWARD, TAG_WESTWARD),
            Axis::Y => (TAG_NORTHWARD, TAG_SOUTHWARD),
        };
        let strips = [region(0, true), region(1, true)];
        let m = strips[0].len();
        let n = m * fields.len();
        for (s, strip) in strips.iter().enumerate() {
            for ((f, _), buf) in fields.iter().zip(self.send[s].chunks_exact_mut(m)) {
                strip.pack(f, buf);
            }
        }
        let [recv_lo, recv_hi] = &mut self.recv;
        let [send_lo, send_hi] = &self.send;
        mpi::request::scope(|scope| {
            let lo_reqs = match lo {
                Side::Rank(r) => {
                    let p = comm.process_at_rank(r);
                    let recv = p.immediate_receive_into_with_tag(scope, &mut recv_lo[..n], tag_up);
                    Some((
                        recv,
                        p.immediate_send_with_tag(scope, &send_lo[..n], tag_down),
                    ))
                }
                Side::Wall => None,
            };
            let hi_reqs = match hi {
                Side::Rank(r) => {
                    let p = comm.process_at_rank(r);
                    let recv =
                        p.immediate_receive_into_with_tag(scope, &mut recv_hi[..n], tag_down);
                    Some((
                        recv,
                        p.immediate_send_with_tag(scope, &send_hi[..n], tag_up),
                    ))
                }
                Side::Wall => None,
            };
            for (recv, send) in [lo_reqs, hi_reqs].into_iter().flatten() {
                recv.wait();
                send.wait();
            }
        });
        for (s, side) in [lo, hi].into_iter().enumerate() {
            if matches!(side, Side::Rank(_)) {
                let strip = region(s, false);
                for ((f, _), buf) in fields.iter_mut().zip(self.recv[s].chunks_exact(m)) {
                    strip.unpack(f, buf);
                }
            }
        }
    }
}

#[derive(Clone, Copy)]
enum Axis {
    X,
    Y,
}

/// A rectangle of local points, row-major.
struct Strip {
    i0: isize,
    j0: isize,
    w: isize,
    hgt: isize,
}

impl Strip {
    fn len(&self) -> usize {
        (self.w * self.hgt) as usize
    }
    fn pack<T: Real>(&self, f: &Field<T>, buf: &mut [T]) {
        for (r, chunk) in buf.chunks_exact_mut(self.w as usize).enumerate() {
            chunk.copy_from_slice(f.span(self.i0, self.j0 + r as isize, self.w as usize));
        }
    }
    fn unpack<T: Real>(&self, f: &mut Field<T>, buf: &[T]) {
        for (r, chunk) in buf.chunks_exact(self.w as usize).enumerate() {
            f.span_mut(self.i0, self.j0 + r as isize, self.w as usize)
                .copy_from_slice(chunk);
        }
    }
}

/// Row `to` := sign × row `from`, over the full width including the x halo.
fn copy_row<T: Real>(f: &mut Field<T>, from: isize, to: isize, sign: T) {
    let w = f.stride;
    let (a, b) = (f.idx(-(HALO as isize), from), f.idx(-(HALO as isize), to));
    for k in 0..w {
        f.data[b + k] = sign * f.data[a + k];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walls_zero_normal_flow_and_mirror_tangential() {
        let mut halo = Halo::serial(4, 4, WallCondition::NoSlip);
        let mut u = Field::<f64>::zeros(4, 4);
        u.fill(1.0);
        halo.fill_halos(&mut u, Stagger::U);
        assert_eq!(u.at(-1, 1), 0.0, "west wall normal velocity");
        assert_eq!(u.at(-2, 1), -1.0);
        assert_eq!(u.at(3, 1), 0.0, "east wall normal velocity");
        assert_eq!(u.at(4, 1), -1.0);
        assert_eq!(u.at(1, -1), -1.0, "no-slip tangential mirror");
        let mut eta = Field::zeros(4, 4);
        eta.set_interior_from(&(0..16).map(f64::from).collect::<Vec<_>>());
        halo.fill_halos(&mut eta, Stagger::T);
        assert_eq!(eta.at(-1, -1), eta.at(0, 0));
        assert_eq!(eta.at(5, 2), eta.at(2, 2));
    }
}
