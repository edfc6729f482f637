//! `[ocean.grid]`, `[ocean.physics]` and `[ocean.time]`: the model's [`Params`], with the
//! grid-scaled defaults and the CFL time step, checked by [`Params::validate`] with each
//! message naming its key.

use coupler::config::DurationValue;
use serde::Deserialize;

use super::output::seconds;
use crate::error::OceanError;
use crate::params::{
    Params, PvScheme, ViscosityOperator, WallCondition, WindProfile, DEFAULT_CFL_SAFETY,
    DEFAULT_VISCOUS_VELOCITY,
};

/// `[ocean.grid]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GridConfig {
    /// Cells in x (default 128).
    pub nx: Option<usize>,
    /// Cells in y (default: nx).
    pub ny: Option<usize>,
    /// Basin size in x, m (default 3.84e6).
    pub lx: Option<f64>,
    /// Basin size in y, m (default 3.84e6).
    pub ly: Option<f64>,
    /// Levels of the coupled fields (default 1).
    pub levels: Option<usize>,
}

/// `[ocean.physics]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PhysicsConfig {
    pub depth: Option<f64>,
    pub gravity: Option<f64>,
    pub f0: Option<f64>,
    pub beta: Option<f64>,
    pub rho0: Option<f64>,
    pub tau0: Option<f64>,
    pub wind: Option<WindProfile>,
    pub bottom_drag: Option<f64>,
    pub viscosity: Option<ViscosityOperator>,
    /// ν₄ (m⁴ s⁻¹) or ν₂ (m² s⁻¹); default from `viscosity_velocity_scale`.
    pub viscosity_coefficient: Option<f64>,
    /// U in ν₄ = U Δ³ or ν₂ = U Δ, m s⁻¹ (default 0.03).
    pub viscosity_velocity_scale: Option<f64>,
    pub pv_scheme: Option<PvScheme>,
    pub walls: Option<WallCondition>,
    pub forcing_factor: Option<f64>,
}

/// `[ocean.time]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TimeConfig {
    /// Time step; default from the gravity-wave CFL condition.
    pub dt: Option<DurationValue>,
    /// Safety factor of the default time step (default 0.7).
    pub cfl_safety: Option<f64>,
}

/// The parameters the three tables give (defaults for what they leave out); every
/// problem goes to `bad`, named by its key.
pub(super) fn params(
    g: &GridConfig,
    ph: &PhysicsConfig,
    t: &TimeConfig,
    bad: &mut Vec<String>,
) -> Params {
    let d = Params::default();
    let nx = g.nx.unwrap_or(d.nx);
    let mut p = Params {
        nx,
        ny: g.ny.unwrap_or(nx),
        levels: g.levels.unwrap_or(1),
        lx: g.lx.unwrap_or(d.lx),
        ly: g.ly.unwrap_or(d.ly),
        depth: ph.depth.unwrap_or(d.depth),
        gravity: ph.gravity.unwrap_or(d.gravity),
        f0: ph.f0.unwrap_or(d.f0),
        beta: ph.beta.unwrap_or(d.beta),
        tau0: ph.tau0.unwrap_or(d.tau0),
        wind: ph.wind.unwrap_or(d.wind),
        rho0: ph.rho0.unwrap_or(d.rho0),
        bottom_drag: ph.bottom_drag.unwrap_or(d.bottom_drag),
        viscosity: d.viscosity,
        pv_scheme: ph.pv_scheme.unwrap_or(d.pv_scheme),
        walls: ph.walls.unwrap_or(d.walls),
        dt: 0.0,
        forcing_factor: ph.forcing_factor.unwrap_or(d.forcing_factor),
        precision: d.precision,
    };
    p.viscosity = p.viscosity_of(
        ph.viscosity.unwrap_or(ViscosityOperator::Biharmonic),
        ph.viscosity_coefficient,
        ph.viscosity_velocity_scale
            .unwrap_or(DEFAULT_VISCOUS_VELOCITY),
    );
    p.dt = t.dt(&p, bad);
    if let Err(OceanError::InvalidParams(list)) = p.validate() {
        bad.extend(list.into_iter().map(|m| match m.split_once(" = ") {
            Some((param, rest)) => format!("{} = {rest}", ph.key_of(param)),
            None => format!("ocean: {m}"),
        }));
    }
    p
}

impl TimeConfig {
    /// `dt`, or the CFL time step of `p`'s grid and waves.
    fn dt(&self, p: &Params, bad: &mut Vec<String>) -> f64 {
        let safety = self.cfl_safety.unwrap_or(DEFAULT_CFL_SAFETY);
        if !(safety > 0.0 && safety <= 2.0) {
            bad.push(format!(
                "ocean.time.cfl_safety = {safety}: allowed range (0, 2]"
            ));
        }
        match &self.dt {
            Some(v) => seconds(v, "ocean.time.dt", bad).unwrap_or(1.0),
            None if p.nx > 0 && p.ny > 0 => p.default_dt(safety),
            None => 1.0,
        }
    }
}

impl PhysicsConfig {
    /// The `[ocean]` key behind a parameter that [`Params::validate`] names.
    fn key_of(&self, param: &str) -> String {
        match param {
            "nx" | "ny" | "lx" | "ly" | "levels" => format!("ocean.grid.{param}"),
            "dt" => "ocean.time.dt".into(),
            "viscosity" if self.viscosity_coefficient.is_none() => {
                "ocean.physics.viscosity_coefficient (from viscosity_velocity_scale and the grid)"
                    .into()
            }
            "viscosity" => "ocean.physics.viscosity_coefficient".into(),
            _ => format!("ocean.physics.{param}"),
        }
    }
}
