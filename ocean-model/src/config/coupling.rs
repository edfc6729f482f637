//! The ocean's side of `[coupling]`, checked against the resolved `[ocean]` table before
//! the coupler starts.

use coupler::config::{is_multiple, CouplingConfig, Endpoint, Exchange, Period};

use super::Setup;
use crate::coupled::{COMPONENT, RECEIVES, SENDS};
use crate::error::{OceanError, Result};

/// The exchanges the ocean takes part in, each with the ocean's end and whether the ocean
/// sends it.
pub fn ocean_ends(coupling: &CouplingConfig) -> impl Iterator<Item = (&Exchange, &Endpoint, bool)> {
    coupling.exchanges.iter().filter_map(|e| {
        if e.src.component == COMPONENT {
            Some((e, &e.src, true))
        } else if e.dst.component == COMPONENT {
            Some((e, &e.dst, false))
        } else {
            None
        }
    })
}

impl Setup {
    /// Checks the `[coupling]` exchanges the ocean takes part in against this set-up, before
    /// the coupler starts: their fields are ones the ocean has, their levels are
    /// `ocean.grid.levels`, their periods whole numbers of time steps, and `coupling.grid`,
    /// when given, is the ocean's grid.
    pub fn check_coupling(&self, coupling: &CouplingConfig) -> Result<()> {
        let p = &self.params;
        let mut bad = Vec::new();
        if let Some((nx, ny)) = coupling.grid {
            if (nx, ny) != (p.nx, p.ny) {
                bad.push(format!(
                    "coupling.grid = [{nx}, {ny}]: must be the ocean's grid, ocean.grid nx, ny = [{}, {}]",
                    p.nx, p.ny
                ));
            }
        }
        for (e, end, sends) in ocean_ends(coupling) {
            let (known, role) = if sends {
                (&SENDS[..], "sends")
            } else {
                (&RECEIVES[..], "receives")
            };
            if !known.contains(&end.field.as_str()) {
                bad.push(format!(
                    "{} ({} → {}): the ocean {role} only {}, not '{}'",
                    e.key(),
                    e.src,
                    e.dst,
                    known.join(", "),
                    end.field
                ));
            }
            if e.levels != p.levels {
                bad.push(format!(
                    "{}.levels = {} ({} → {}): must be the ocean's ocean.grid.levels = {}",
                    e.key(),
                    e.levels,
                    e.src,
                    e.dst,
                    p.levels
                ));
            }
            if let Period::Every(period) = e.period {
                if period < p.dt || !is_multiple(period, p.dt) {
                    bad.push(format!(
                        "{}.period = {period} s ({} → {}): must be a whole number of ocean time steps dt = {} s",
                        e.key(),
                        e.src,
                        e.dst,
                        p.dt
                    ));
                }
            }
        }
        if bad.is_empty() {
            Ok(())
        } else {
            Err(OceanError::InvalidParams(bad))
        }
    }
}
