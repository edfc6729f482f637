//! All model parameters in one plain struct, with units, defaults and one validation pass.
//!
//! Derived quantities (grid spacing, default time step, default viscosity) are
//! computed here too, so the physics modules only read numbers.

use serde::Deserialize;

use crate::error::{OceanError, Result};
use crate::real::Precision;

/// Earth's rotation rate (s⁻¹).
pub const EARTH_OMEGA: f64 = 7.292_115e-5;

/// Which discretisation of the potential-vorticity flux q·(hv), −q·(hu) to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PvScheme {
    /// Energy- and enstrophy-conserving scheme of Arakawa & Lamb (1981).
    ArakawaLamb,
    /// Energy-conserving scheme of Sadourny (1975).
    Sadourny,
}

/// Lateral momentum closure.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Viscosity {
    /// D = −ν₄ ∇⁴u, ν₄ in m⁴ s⁻¹.
    Biharmonic { nu4: f64 },
    /// D = ν₂ ∇²u, ν₂ in m² s⁻¹.
    Laplacian { nu2: f64 },
}

/// The operator of the lateral closure, as `ocean.physics.viscosity` names it; its
/// coefficient makes it a [`Viscosity`] ([`Params::viscosity_of`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ViscosityOperator {
    /// −ν₄ ∇⁴u.
    Biharmonic,
    /// ν₂ ∇²u.
    Laplacian,
}

/// Tangential velocity condition at the closed walls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WallCondition {
    /// Zero tangential stress: relative vorticity vanishes on the wall.
    FreeSlip,
    /// Zero tangential velocity on the wall.
    NoSlip,
}

/// Meridional profile of the zonal wind stress τx(y).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WindProfile {
    /// τx = τ0 [cos(2π(y−Ly/2)/Ly) + 2 sin(π(y−Ly/2)/Ly)]: subtropical and subpolar gyres.
    DoubleGyre,
    /// τx = −τ0 cos(π y/Ly): a single gyre (used by the Sverdrup/Munk tests).
    SingleGyre,
    /// No wind.
    None,
}

/// Physical and numerical parameters of one run. Units in the doc comments.
#[derive(Debug, Clone, PartialEq)]
pub struct Params {
    /// Number of tracer cells in x (–).
    pub nx: usize,
    /// Number of tracer cells in y (–).
    pub ny: usize,
    /// Vertical levels carried by the state and the coupling fields (–); the physics has one layer.
    pub levels: usize,
    /// Basin length in x (m).
    pub lx: f64,
    /// Basin length in y (m).
    pub ly: f64,
    /// Resting layer depth H (m).
    pub depth: f64,
    /// Gravitational acceleration g (m s⁻²).
    pub gravity: f64,
    /// Coriolis parameter at mid-basin f0 (s⁻¹).
    pub f0: f64,
    /// Meridional gradient of f, β (m⁻¹ s⁻¹).
    pub beta: f64,
    /// Wind-stress amplitude τ0 (Pa = N m⁻²).
    pub tau0: f64,
    /// Wind-stress profile.
    pub wind: WindProfile,
    /// Reference density ρ0 (kg m⁻³).
    pub rho0: f64,
    /// Quadratic bottom-drag coefficient c_D in −c_D |u| u / h (–).
    pub bottom_drag: f64,
    /// Lateral viscosity.
    pub viscosity: Viscosity,
    /// PV-flux scheme.
    pub pv_scheme: PvScheme,
    /// Wall condition for the tangential velocity.
    pub walls: WallCondition,
    /// Time step (s).
    pub dt: f64,
    /// Factor applied to the external (coupled) momentum forcing Sx, Sy (–).
    pub forcing_factor: f64,
    /// The float type the model steps in (`ocean.numerics.precision`).
    pub precision: Precision,
}

impl Default for Params {
    /// The double gyre at 128 × 128.
    fn default() -> Self {
        Params::for_grid(128, 128)
    }
}

/// Velocity scale U in the grid-scaled viscosities ν₄ = U Δ³, ν₂ = U Δ (m s⁻¹).
pub const DEFAULT_VISCOUS_VELOCITY: f64 = 0.03;
/// Safety factor applied to the gravity-wave CFL limit for the default time step (–).
pub const DEFAULT_CFL_SAFETY: f64 = 0.7;

impl Params {
    /// Defaults on an `nx × ny` grid, with the grid-scaled viscosity and the CFL time step.
    pub fn for_grid(nx: usize, ny: usize) -> Self {
        let mut p = Params {
            nx,
            ny,
            levels: 1,
            lx: 3.84e6,
            ly: 3.84e6,
            depth: 500.0,
            gravity: 10.0,
            f0: 2.0 * EARTH_OMEGA * 30f64.to_radians().sin(),
            beta: 1.98e-11,
            tau0: 0.12,
            wind: WindProfile::DoubleGyre,
            rho0: 1000.0,
            bottom_drag: 1e-5,
            viscosity: Viscosity::Biharmonic { nu4: 0.0 },
            pv_scheme: PvScheme::ArakawaLamb,
            walls: WallCondition::FreeSlip,
            dt: 0.0,
            forcing_factor: 1.0,
            precision: Precision::F64,
        };
        p.viscosity = Viscosity::Biharmonic {
            nu4: p.default_nu4(DEFAULT_VISCOUS_VELOCITY),
        };
        p.dt = p.default_dt(DEFAULT_CFL_SAFETY);
        p
    }

    /// Grid spacing in x (m).
    pub fn dx(&self) -> f64 {
        self.lx / self.nx as f64
    }
    /// Grid spacing in y (m).
    pub fn dy(&self) -> f64 {
        self.ly / self.ny as f64
    }
    /// Gravity-wave speed √(gH) (m s⁻¹).
    pub fn wave_speed(&self) -> f64 {
        (self.gravity * self.depth).sqrt()
    }
    /// Coriolis parameter at y (m): f0 + β (y − Ly/2) (s⁻¹).
    pub fn coriolis(&self, y: f64) -> f64 {
        self.f0 + self.beta * (y - 0.5 * self.ly)
    }
    /// Biharmonic viscosity scaled with the grid: ν₄ = U Δ³ (m⁴ s⁻¹).
    pub fn default_nu4(&self, velocity: f64) -> f64 {
        velocity * self.dx().min(self.dy()).powi(3)
    }
    /// Laplacian viscosity scaled with the grid: ν₂ = U Δ (m² s⁻¹).
    pub fn default_nu2(&self, velocity: f64) -> f64 {
        velocity * self.dx().min(self.dy())
    }

    /// The viscosity of `operator` with `coefficient` (ν₄ in m⁴ s⁻¹ or ν₂ in m² s⁻¹), or
    /// the grid-scaled one of velocity scale `velocity` (m s⁻¹) when it is `None`.
    pub fn viscosity_of(
        &self,
        operator: ViscosityOperator,
        coefficient: Option<f64>,
        velocity: f64,
    ) -> Viscosity {
        match operator {
            ViscosityOperator::Biharmonic => Viscosity::Biharmonic {
                nu4: coefficient.unwrap_or_else(|| self.default_nu4(velocity)),
            },
            ViscosityOperator::Laplacian => Viscosity::Laplacian {
                nu2: coefficient.unwrap_or_else(|| self.default_nu2(velocity)),
            },
        }
    }

    /// Time step from the gravity-wave CFL condition c dt (1/dx + 1/dy) ≤ safety (s). A limit
    /// of 1 s or more is rounded down to a whole number of seconds that divides one day, so
    /// hourly and daily output fall on steps; a limit below 1 s is used as it is.
    /// At most one day, so a zero wave speed (an infinite CFL step) still gives a number
    /// at once; `validate` then names the bad parameter.
    pub fn default_dt(&self, safety: f64) -> f64 {
        let raw = safety / (self.wave_speed() * (1.0 / self.dx() + 1.0 / self.dy()));
        if raw < 1.0 {
            return raw;
        }
        let day = 86_400u64;
        let longest = if raw >= day as f64 { day } else { raw as u64 };
        (1..=longest).rev().find(|d| day % d == 0).unwrap_or(1) as f64
    }

    /// Number of grid cells (–).
    pub fn cells(&self) -> usize {
        self.nx * self.ny
    }

    /// Check every parameter; the error lists each problem with its value and allowed range.
    pub fn validate(&self) -> Result<()> {
        let mut bad = Vec::new();
        let mut positive = |name: &str, value: f64, unit: &str| {
            if !(value.is_finite() && value > 0.0) {
                bad.push(format!("{name} = {value} {unit}: must be finite and > 0"));
            }
        };
        positive("lx", self.lx, "m");
        positive("ly", self.ly, "m");
        positive("depth", self.depth, "m");
        positive("gravity", self.gravity, "m s-2");
        positive("rho0", self.rho0, "kg m-3");
        positive("dt", self.dt, "s");
        let mut non_negative = |name: &str, value: f64, unit: &str| {
            if !(value.is_finite() && value >= 0.0) {
                bad.push(format!("{name} = {value} {unit}: must be finite and >= 0"));
            }
        };
        non_negative("tau0", self.tau0, "Pa");
        non_negative("bottom_drag", self.bottom_drag, "");
        match self.viscosity {
            Viscosity::Biharmonic { nu4 } => non_negative("viscosity", nu4, "m4 s-1"),
            Viscosity::Laplacian { nu2 } => non_negative("viscosity", nu2, "m2 s-1"),
        }
        for (name, value) in [
            ("f0", self.f0),
            ("beta", self.beta),
            ("forcing_factor", self.forcing_factor),
        ] {
            if !value.is_finite() {
                bad.push(format!("{name} = {value}: must be finite"));
            }
        }
        for (name, n) in [("nx", self.nx), ("ny", self.ny)] {
            if !(8..=1 << 15).contains(&n) {
                bad.push(format!("{name} = {n}: allowed range 8..=32768"));
            }
        }
        if self.levels != 1 {
            bad.push(format!(
                "levels = {}: the shallow-water physics has exactly 1 level",
                self.levels
            ));
        }
        if bad.is_empty() && self.dt > 0.0 {
            let limit = 2.0 * std::f64::consts::SQRT_2
                / (self.wave_speed() * (1.0 / self.dx() + 1.0 / self.dy()));
            if self.dt > limit {
                bad.push(format!(
                    "dt = {} s: exceeds the RK4 gravity-wave stability limit {limit:.1} s for dx = {:.0} m",
                    self.dt,
                    self.dx()
                ));
            }
        }
        if bad.is_empty() {
            Ok(())
        } else {
            Err(OceanError::InvalidParams(bad))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_validate_and_dt_divides_a_day() {
        let p = Params::default();
        p.validate().expect("defaults are valid");
        assert_eq!(86_400.0 % p.dt, 0.0);
        assert!(p.dt > 100.0 && p.dt < 200.0, "dt = {}", p.dt);
    }

    /// Regression: a zero depth or gravity made the CFL step infinite, and the search for a
    /// divisor of one day below it looped for ever, hanging start-up before any message.
    #[test]
    fn default_dt_returns_at_once_for_a_zero_wave_speed() {
        // The deadline turns a return of the hang into a failure instead of a stuck run.
        eddylink_tests::within(std::time::Duration::from_secs(10), zero_wave_speeds);
    }

    fn zero_wave_speeds() {
        for p in [
            Params {
                depth: 0.0,
                ..Params::default()
            },
            Params {
                gravity: 0.0,
                ..Params::default()
            },
            Params {
                lx: 1e300,
                ly: 1e300,
                ..Params::default()
            },
        ] {
            assert_eq!(p.default_dt(DEFAULT_CFL_SAFETY), 86_400.0);
        }
        let nan_speed = Params {
            depth: -1.0,
            ..Params::default()
        };
        assert_eq!(nan_speed.default_dt(DEFAULT_CFL_SAFETY), 1.0);
        let msg = Params {
            depth: 0.0,
            dt: 86_400.0,
            ..Params::default()
        }
        .validate()
        .unwrap_err()
        .to_string();
        assert!(msg.contains("depth = 0 m: must be finite and > 0"), "{msg}");
    }

    #[test]
    fn validation_lists_every_problem_with_value() {
        let p = Params {
            depth: -1.0,
            nx: 3,
            ..Params::default()
        };
        let msg = p.validate().unwrap_err().to_string();
        assert!(msg.contains("depth = -1"), "{msg}");
        assert!(msg.contains("nx = 3: allowed range 8..=32768"), "{msg}");
    }
}
