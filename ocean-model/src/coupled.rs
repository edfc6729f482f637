//! The ocean's side of the coupling: it registers as "ocean", sends the surface
//! velocities u, v (and the static masks) and receives the momentum forcing sx, sy.
//!
//! Only the fields that the `[coupling]` table names for "ocean" are declared. Sent
//! fields are put at the start of every step; the forcing is fetched inside the
//! first RK4 stage, once all other terms are computed (see
//! [`crate::timestepper::Rk4::step`]), and kept between coupling times.

use std::path::Path;

use coupler::config::Period;
use coupler::{Coupler, FieldDef, GridPoint, Region, TimingReport};

use crate::error::{OceanError, Result};
use crate::grid::RankBox;
use crate::physics::forcing::ExternalForcing;
use crate::physics::Rhs;
use crate::state::State;

/// Component name of the ocean in the experiment file.
pub const COMPONENT: &str = "ocean";

fn cerr(e: coupler::CouplerError) -> OceanError {
    OceanError::Coupler(e.to_string())
}

/// A received field and its landing buffer (levels × grown box).
struct Incoming {
    name: &'static str,
    buf: Vec<f64>,
    /// (levels, rows, columns, halo) of `buf`.
    extent: (usize, usize, usize, usize),
}

/// The coupler plus the buffers of the ocean's fields.
pub struct OceanCoupling {
    cpl: Coupler,
    levels: usize,
    sends: Vec<&'static str>,
    incoming: Vec<Incoming>,
    /// Owned-box buffer, [level][j][i].
    out: Vec<f64>,
}

impl OceanCoupling {
    /// Declare this rank's fields (those the configuration names) and end the definition.
    /// Every coupling period of the ocean's fields must be a multiple of the time step `dt`.
    pub fn new(mut cpl: Coupler, b: RankBox, levels: usize, dt: f64) -> Result<Self> {
        for e in &cpl.config().exchanges {
            let ours = e.src.component == COMPONENT || e.dst.component == COMPONENT;
            if let (true, Period::Every(p)) = (ours, e.period) {
                if !coupler::config::is_multiple(p, dt) || p < dt {
                    let reason = format!(
                        "{}: period {p} s ({} → {}) is not a multiple of the ocean time step dt = {dt} s",
                        e.key(),
                        e.src,
                        e.dst
                    );
                    return Err(cerr(cpl.abandon(&reason)));
                }
            }
        }
        let region = Region {
            i0: b.i0,
            j0: b.j0,
            ni: b.ni,
            nj: b.nj,
        };
        let named = |f: &str, send: bool| {
            cpl.config().exchanges.iter().any(|e| {
                let end = if send { &e.src } else { &e.dst };
                end.component == COMPONENT && end.field == f
            })
        };
        let sends: Vec<&'static str> = ["u", "v", "mask_u", "mask_v"]
            .into_iter()
            .filter(|f| named(f, true))
            .collect();
        let receives: Vec<&'static str> = ["sx", "sy"]
            .into_iter()
            .filter(|f| named(f, false))
            .collect();
        for &f in sends.iter().chain(&receives) {
            let point = match f {
                "u" | "mask_u" | "sx" => GridPoint::U,
                _ => GridPoint::V,
            };
            cpl.define_field(
                f,
                FieldDef {
                    region,
                    levels,
                    point,
                },
            )
            .map_err(cerr)?;
        }
        cpl.enddef().map_err(cerr)?;
        let mut incoming = Vec::new();
        for name in receives {
            let extent = cpl.recv_extent(name).map_err(cerr)?;
            incoming.push(Incoming {
                name,
                buf: vec![0.0; extent.0 * extent.1 * extent.2],
                extent,
            });
        }
        Ok(OceanCoupling {
            cpl,
            levels,
            sends,
            incoming,
            out: vec![0.0; levels * b.ni * b.nj],
        })
    }

    /// The ocean's own communicator.
    pub fn local_comm(&self) -> &mpi::topology::SimpleCommunicator {
        self.cpl.local_comm()
    }

    /// Put the static masks (once, at the first step of the run).
    pub fn put_masks(&mut self, t: f64, rhs: &Rhs) -> Result<()> {
        for (name, mask) in [("mask_u", &rhs.mask_u), ("mask_v", &rhs.mask_v)] {
            if self.sends.contains(&name) {
                fill_levels(&mut self.out, self.levels, |lvl| mask.copy_interior_to(lvl));
                self.cpl.put(name, t, &self.out).map_err(cerr)?;
            }
        }
        Ok(())
    }

    /// Put the surface velocities at the start of the step at time `t`.
    pub fn put_surface(&mut self, t: f64, s: &State) -> Result<()> {
        for (name, field) in [("u", &s.u), ("v", &s.v)] {
            if self.sends.contains(&name) {
                fill_levels(&mut self.out, self.levels, |lvl| {
                    field.copy_interior_to(lvl)
                });
                self.cpl.put(name, t, &self.out).map_err(cerr)?;
            }
        }
        Ok(())
    }

    /// Receive sx, sy for time `t` if it is a coupling time; otherwise keep the last values.
    pub fn get_forcing(&mut self, t: f64, forcing: &mut ExternalForcing) -> Result<()> {
        for inc in &mut self.incoming {
            if !self.cpl.get(inc.name, t, &mut inc.buf).map_err(cerr)? {
                continue;
            }
            let target = if inc.name == "sx" {
                &mut forcing.sx
            } else {
                &mut forcing.sy
            };
            let (levels, rows, cols, h) = inc.extent;
            let ni = cols - 2 * h;
            let nj = rows - 2 * h;
            for l in 0..levels {
                for j in 0..nj {
                    let src = l * rows * cols + (j + h) * cols + h;
                    let dst = (l * nj + j) * ni;
                    target[dst..dst + ni].copy_from_slice(&inc.buf[src..src + ni]);
                }
            }
        }
        Ok(())
    }

    /// End the coupling; rank 0 writes the timing table into `dir`.
    pub fn finalize(&mut self, dir: &Path) -> Result<TimingReport> {
        self.cpl.finalize(Some(dir)).map_err(cerr)
    }
}

/// Write the same owned-box values into every level of `out`.
fn fill_levels(out: &mut [f64], levels: usize, mut fill: impl FnMut(&mut [f64])) {
    let n = out.len() / levels.max(1);
    for lvl in out.chunks_exact_mut(n) {
        fill(lvl);
    }
}
