//! The `[ocean]` table of the experiment file, in two steps: plain serde structs
//! (`deny_unknown_fields`, read through `coupler::config::ExperimentFile::section`,
//! which reports key paths and "did you mean"), then [`OceanConfig::resolve`], which
//! checks everything at once and returns ready [`Params`] and an [`OutputPlan`].
//!
//! ```toml
//! [ocean.grid]      # nx, ny, lx, ly, levels
//! [ocean.physics]   # depth, gravity, f0, beta, rho0, tau0, wind, bottom_drag, viscosity, ...
//! [ocean.time]      # dt, cfl_safety
//! [ocean.parallel]  # px, py
//! [ocean.output]    # snapshot_interval, diagnostics_interval, checkpoint_interval, ...
//! [ocean.forcing]   # check, max_abs: what to do with bad ML forcing
//! ```

use std::path::PathBuf;

use coupler::config::{is_multiple, parse_duration, CouplingConfig, DurationValue, Period};
use serde::Deserialize;

use crate::coupled::{COMPONENT, RECEIVES, SENDS};
use crate::error::{OceanError, Result};
use crate::params::{
    Params, PvScheme, Viscosity, WallCondition, WindProfile, DEFAULT_CFL_SAFETY,
    DEFAULT_VISCOUS_VELOCITY,
};

/// `[ocean]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OceanConfig {
    pub grid: GridConfig,
    pub physics: PhysicsConfig,
    pub time: TimeConfig,
    pub parallel: ParallelConfig,
    pub output: OutputConfig,
    pub forcing: ForcingConfig,
}

/// `[ocean.forcing]`: the check of the forcing received from the coupler.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ForcingConfig {
    /// What to do with NaN, Inf or |S| > max_abs (default abort).
    pub check: Option<BadForcing>,
    /// Largest plausible |sx|, |sy|, m s⁻² (default 1e-4, about 400 times the wind forcing).
    pub max_abs: Option<f64>,
}

/// The policy for received forcing values that are not finite or larger than the bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BadForcing {
    /// Stop the run (after a checkpoint of the last completed step).
    Abort,
    /// Replace each bad value by 0.
    Zero,
    /// NaN → 0, ±Inf and values beyond the bound → ±max_abs.
    Clip,
}

/// [`ForcingConfig`], resolved.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ForcingCheck {
    pub policy: BadForcing,
    pub max_abs: f64,
}

/// Default of `ocean.forcing.max_abs`, m s⁻².
pub const DEFAULT_MAX_FORCING: f64 = 1e-4;

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
    pub wind: Option<WindKind>,
    pub bottom_drag: Option<f64>,
    pub viscosity: Option<ViscosityKind>,
    /// ν₄ (m⁴ s⁻¹) or ν₂ (m² s⁻¹); default from `viscosity_velocity_scale`.
    pub viscosity_coefficient: Option<f64>,
    /// U in ν₄ = U Δ³ or ν₂ = U Δ, m s⁻¹ (default 0.03).
    pub viscosity_velocity_scale: Option<f64>,
    pub pv_scheme: Option<PvSchemeKind>,
    pub walls: Option<WallKind>,
    pub forcing_factor: Option<f64>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WindKind {
    DoubleGyre,
    SingleGyre,
    None,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ViscosityKind {
    Biharmonic,
    Laplacian,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PvSchemeKind {
    ArakawaLamb,
    Sadourny,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WallKind {
    FreeSlip,
    NoSlip,
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

/// `[ocean.parallel]`; both absent: automatic layout over the ocean communicator.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ParallelConfig {
    pub px: Option<usize>,
    pub py: Option<usize>,
}

/// `[ocean.output]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OutputConfig {
    /// Snapshot interval of u, v, eta, vorticity (default "1d"; 0 = none).
    pub snapshot_interval: Option<DurationValue>,
    /// Diagnostics interval (default: every snapshot_interval, or "1d").
    pub diagnostics_interval: Option<DurationValue>,
    /// Checkpoint interval (default: none; a checkpoint is always written at the end).
    pub checkpoint_interval: Option<DurationValue>,
    /// Steps between NaN/CFL checks (default 1).
    pub check_every_steps: Option<u64>,
    /// Wall-clock seconds between progress lines (default 10).
    pub progress_interval_s: Option<f64>,
    /// Checkpoint file to start from.
    pub restart: Option<PathBuf>,
}

/// When output happens, in steps, and where it goes.
#[derive(Debug, Clone, PartialEq)]
pub struct OutputPlan {
    /// Steps of this run.
    pub steps: u64,
    /// Steps between snapshots (0 = none).
    pub snapshot_every: u64,
    /// Steps between diagnostics records (0 = none).
    pub diagnostics_every: u64,
    /// Steps between checkpoints (0 = only at the end).
    pub checkpoint_every: u64,
    /// Steps between NaN/CFL checks.
    pub check_every: u64,
    /// Wall-clock seconds between progress lines.
    pub progress_interval_s: f64,
    /// Folder of all output files.
    pub run_dir: PathBuf,
    /// Checkpoint to start from.
    pub restart: Option<PathBuf>,
}

/// Everything a run needs, checked.
#[derive(Debug, Clone)]
pub struct Setup {
    pub params: Params,
    pub plan: OutputPlan,
    /// Explicit px × py, or automatic.
    pub layout: Option<(usize, usize)>,
    /// The check of received forcing.
    pub forcing: ForcingCheck,
}

impl OceanConfig {
    /// Check every key and build the run set-up. `duration_s` is the run length;
    /// errors list each bad key as `ocean.<table>.<key> = value: allowed ...`.
    pub fn resolve(&self, duration_s: f64, run_dir: PathBuf) -> Result<Setup> {
        let mut bad = Vec::new();
        let d = Params::default();
        let (g, ph, t, o) = (&self.grid, &self.physics, &self.time, &self.output);
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
            wind: match ph.wind.unwrap_or(WindKind::DoubleGyre) {
                WindKind::DoubleGyre => WindProfile::DoubleGyre,
                WindKind::SingleGyre => WindProfile::SingleGyre,
                WindKind::None => WindProfile::None,
            },
            rho0: ph.rho0.unwrap_or(d.rho0),
            bottom_drag: ph.bottom_drag.unwrap_or(d.bottom_drag),
            viscosity: d.viscosity,
            pv_scheme: match ph.pv_scheme.unwrap_or(PvSchemeKind::ArakawaLamb) {
                PvSchemeKind::ArakawaLamb => PvScheme::ArakawaLamb,
                PvSchemeKind::Sadourny => PvScheme::Sadourny,
            },
            walls: match ph.walls.unwrap_or(WallKind::FreeSlip) {
                WallKind::FreeSlip => WallCondition::FreeSlip,
                WallKind::NoSlip => WallCondition::NoSlip,
            },
            dt: 0.0,
            forcing_factor: ph.forcing_factor.unwrap_or(1.0),
        };
        let scale = ph
            .viscosity_velocity_scale
            .unwrap_or(DEFAULT_VISCOUS_VELOCITY);
        p.viscosity = match ph.viscosity.unwrap_or(ViscosityKind::Biharmonic) {
            ViscosityKind::Biharmonic => Viscosity::Biharmonic {
                nu4: ph
                    .viscosity_coefficient
                    .unwrap_or_else(|| p.default_nu4(scale)),
            },
            ViscosityKind::Laplacian => Viscosity::Laplacian {
                nu2: ph
                    .viscosity_coefficient
                    .unwrap_or_else(|| p.default_nu2(scale)),
            },
        };
        let safety = t.cfl_safety.unwrap_or(DEFAULT_CFL_SAFETY);
        if !(safety > 0.0 && safety <= 2.0) {
            bad.push(format!(
                "ocean.time.cfl_safety = {safety}: allowed range (0, 2]"
            ));
        }
        p.dt = match &t.dt {
            Some(v) => seconds(v, "ocean.time.dt", &mut bad).unwrap_or(1.0),
            None if p.nx > 0 && p.ny > 0 => p.default_dt(safety),
            None => 1.0,
        };
        if let Err(OceanError::InvalidParams(list)) = p.validate() {
            bad.extend(list.into_iter().map(|m| match m.split_once(" = ") {
                Some((param, rest)) => format!("{} = {rest}", key_of(param, ph)),
                None => format!("ocean: {m}"),
            }));
        }
        let dt = p.dt;
        let mut every = |key: &str, v: &Option<DurationValue>, default_s: f64| -> u64 {
            let s = v
                .as_ref()
                .map_or(Some(default_s), |v| seconds(v, key, &mut bad))
                .unwrap_or(0.0);
            if !(s.is_finite() && s >= 0.0) {
                bad.push(format!("{key} = {s} s: must be finite and >= 0"));
                return 0;
            }
            let steps = (s / dt).round();
            if s > 0.0 && (steps < 1.0 || (steps * dt - s).abs() > 1e-9 * s) {
                bad.push(format!(
                    "{key} = {s} s: must be a positive multiple of the time step dt = {dt} s"
                ));
            } else if steps > MAX_STEPS {
                bad.push(format!(
                    "{key} = {s:e} s: {steps:e} steps of dt = {dt} s; at most 2^53 steps"
                ));
                return 0;
            }
            steps as u64
        };
        let snapshot_every = every(
            "ocean.output.snapshot_interval",
            &o.snapshot_interval,
            86_400.0,
        );
        let diag_default = if snapshot_every > 0 {
            snapshot_every as f64 * dt
        } else {
            86_400.0
        };
        let diagnostics_every = every(
            "ocean.output.diagnostics_interval",
            &o.diagnostics_interval,
            diag_default,
        );
        let checkpoint_every = every(
            "ocean.output.checkpoint_interval",
            &o.checkpoint_interval,
            0.0,
        );
        let steps = (duration_s / dt).round();
        if !(steps >= 1.0 && (steps * dt - duration_s).abs() <= 1e-9 * duration_s) {
            bad.push(format!(
                "run.duration = {duration_s} s: must be a positive multiple of the time step dt = {dt} s"
            ));
        } else if steps > MAX_STEPS {
            bad.push(format!(
                "run.duration = {duration_s:e} s: {steps:e} steps of dt = {dt} s; at most 2^53 steps (step counts and times stay exact below)"
            ));
        }
        let check_every = o.check_every_steps.unwrap_or(1);
        if check_every == 0 {
            bad.push("ocean.output.check_every_steps = 0: must be >= 1".into());
        }
        let progress_interval_s = o.progress_interval_s.unwrap_or(10.0);
        if progress_interval_s.is_nan() || progress_interval_s <= 0.0 {
            bad.push(format!(
                "ocean.output.progress_interval_s = {progress_interval_s}: must be > 0"
            ));
        }
        let layout = match (self.parallel.px, self.parallel.py) {
            (Some(px), Some(py)) if px > 0 && py > 0 => Some((px, py)),
            (None, None) => None,
            (px, py) => {
                bad.push(format!(
                    "ocean.parallel: px = {px:?}, py = {py:?}: give both (each >= 1) or neither (automatic)"
                ));
                None
            }
        };
        let forcing = ForcingCheck {
            policy: self.forcing.check.unwrap_or(BadForcing::Abort),
            max_abs: self.forcing.max_abs.unwrap_or(DEFAULT_MAX_FORCING),
        };
        if !(forcing.max_abs > 0.0 && forcing.max_abs.is_finite()) {
            bad.push(format!(
                "ocean.forcing.max_abs = {}: must be a finite value > 0 (m s⁻²)",
                forcing.max_abs
            ));
        }
        // First: the grid that does not fit is the problem to fix before any other.
        if let Err(m) = crate::startup::check_memory(p.nx, p.ny, crate::startup::job_memory()) {
            bad.insert(0, format!("ocean.grid: {m}"));
        }
        if !bad.is_empty() {
            return Err(OceanError::InvalidParams(bad));
        }
        Ok(Setup {
            params: p,
            plan: OutputPlan {
                steps: steps as u64,
                snapshot_every,
                diagnostics_every,
                checkpoint_every,
                check_every,
                progress_interval_s,
                run_dir,
                restart: o.restart.clone(),
            },
            layout,
            forcing,
        })
    }
}

fn seconds(v: &DurationValue, key: &str, bad: &mut Vec<String>) -> Option<f64> {
    let s = match v {
        DurationValue::Seconds(s) => Ok(*s),
        DurationValue::Text(t) => parse_duration(t),
    };
    s.map_err(|m| bad.push(format!("{key}: {m}"))).ok()
}

/// Most time steps a run may have: 2^53, below which every step count is exact as an f64.
const MAX_STEPS: f64 = 9_007_199_254_740_992.0;

/// The `[ocean]` key behind a parameter that [`Params::validate`] names.
fn key_of(param: &str, physics: &PhysicsConfig) -> String {
    match param {
        "nx" | "ny" | "lx" | "ly" | "levels" => format!("ocean.grid.{param}"),
        "dt" => "ocean.time.dt".into(),
        "viscosity" if physics.viscosity_coefficient.is_none() => {
            "ocean.physics.viscosity_coefficient (from viscosity_velocity_scale and the grid)"
                .into()
        }
        "viscosity" => "ocean.physics.viscosity_coefficient".into(),
        _ => format!("ocean.physics.{param}"),
    }
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
        let ours = coupling
            .exchanges
            .iter()
            .filter(|e| e.src.component == COMPONENT || e.dst.component == COMPONENT);
        for e in ours {
            let (end, known, role) = if e.src.component == COMPONENT {
                (&e.src, &SENDS[..], "sends")
            } else {
                (&e.dst, &RECEIVES[..], "receives")
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

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> std::result::Result<OceanConfig, coupler::config::ConfigError> {
        let exp = experiment::ExperimentFile::parse(text, "test.toml".as_ref())?;
        Ok(exp.section("ocean")?.unwrap_or_default())
    }

    #[test]
    fn defaults_resolve_to_daily_output() {
        let setup = parse("[ocean]\n")
            .unwrap()
            .resolve(10.0 * 86_400.0, "out".into())
            .unwrap();
        assert_eq!(setup.params, Params::default());
        assert_eq!(setup.plan.snapshot_every as f64 * setup.params.dt, 86_400.0);
        assert_eq!(setup.plan.checkpoint_every, 0);
    }

    /// Regression: NaN and infinite output intervals passed as "no output" and u64::MAX steps.
    #[test]
    fn output_intervals_must_be_finite() {
        for value in ["nan", "inf"] {
            let text = format!("[ocean.output]\nsnapshot_interval = {value}\n");
            let err = parse(&text)
                .unwrap()
                .resolve(86_400.0, "out".into())
                .unwrap_err()
                .to_string();
            assert!(
                err.contains(&format!(
                    "ocean.output.snapshot_interval = {} s: must be finite and >= 0",
                    value.replace("nan", "NaN")
                )),
                "{err}"
            );
        }
    }

    /// Regression: a run or an output interval of 1e308 s passed, its step count silently
    /// saturated at u64::MAX (the interval found by the config fuzz).
    #[test]
    fn a_run_or_interval_has_at_most_2_pow_53_steps() {
        let err = parse("[ocean]\n")
            .unwrap()
            .resolve(1e308, "out".into())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("run.duration = 1e308 s:") && err.contains("at most 2^53 steps"),
            "{err}"
        );
        let err = parse("[ocean.output]\ncheckpoint_interval = 1e308\n")
            .unwrap()
            .resolve(86_400.0, "out".into())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("ocean.output.checkpoint_interval = 1e308 s:")
                && err.contains("at most 2^53 steps"),
            "{err}"
        );
    }

    /// Regression: parameter errors named `depth`, not the key `ocean.physics.depth`.
    #[test]
    fn parameter_errors_name_their_key() {
        let text = "[ocean.grid]\nnx = 4\nlevels = 0\n[ocean.physics]\ndepth = -5.0\n\
                    viscosity_coefficient = -1.0\n[ocean.time]\ndt = -3\n";
        let err = parse(text)
            .unwrap()
            .resolve(86_400.0, "out".into())
            .unwrap_err()
            .to_string();
        for expected in [
            "ocean.grid.nx = 4: allowed range 8..=32768",
            "ocean.grid.levels = 0: the shallow-water physics has exactly 1 level",
            "ocean.physics.depth = -5 m: must be finite and > 0",
            "ocean.physics.viscosity_coefficient = -1 m4 s-1: must be finite and >= 0",
            "ocean.time.dt = -3 s: must be finite and > 0",
        ] {
            assert!(err.contains(expected), "{expected:?} not in {err}");
        }
    }

    /// Regression: an exchange with 2 levels for the 1-level ocean passed every check before
    /// enddef, which then stopped without naming the experiment file.
    #[test]
    fn coupled_fields_match_the_ocean() {
        let text = "[ocean.grid]\nnx = 64\n";
        let setup = parse(text)
            .unwrap()
            .resolve(86_400.0, "out".into())
            .unwrap();
        let coupling = |levels: usize, period: &str| {
            coupler::config::CouplingConfig::from_toml(
                &format!(
                    "grid = [64, 48]\n[[exchange]]\nfrom = \"ocean.u\"\nto = \"ml.u\"\n\
                     grid = \"U\"\nperiod = \"{period}\"\nlevels = {levels}\n"
                ),
                86_400.0,
            )
            .unwrap()
        };
        let err = setup
            .check_coupling(&coupling(2, "100s"))
            .unwrap_err()
            .to_string();
        for expected in [
            "coupling.grid = [64, 48]: must be the ocean's grid, ocean.grid nx, ny = [64, 64]",
            "coupling.exchange[0].levels = 2 (ocean.u → ml.u): must be the ocean's ocean.grid.levels = 1",
            "coupling.exchange[0].period = 100 s (ocean.u → ml.u): must be a whole number of ocean time steps dt = 288 s",
        ] {
            assert!(err.contains(expected), "{expected:?} not in {err}");
        }
        let fine = coupling(1, "2h");
        let fine = coupler::config::CouplingConfig {
            grid: Some((64, 64)),
            ..fine
        };
        setup.check_coupling(&fine).unwrap();
    }

    #[test]
    fn typos_get_a_suggestion_and_bad_values_their_range() {
        let err = parse("[ocean.grid]\nnxx = 64\n").unwrap_err().to_string();
        assert!(err.contains("ocean.grid") && err.contains("nx"), "{err}");
        let cfg =
            parse("[ocean.grid]\nnx = 4\n[ocean.output]\nsnapshot_interval = \"7s\"\n").unwrap();
        let err = cfg.resolve(86_400.0, "out".into()).unwrap_err().to_string();
        assert!(err.contains("nx = 4: allowed range"), "{err}");
        assert!(
            err.contains("snapshot_interval = 7 s: must be a positive multiple"),
            "{err}"
        );
    }
}
