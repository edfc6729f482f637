//! `[ocean.forcing]`: what the ocean does with received forcing values that are not
//! finite or implausibly large.

use serde::Deserialize;

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

impl ForcingConfig {
    /// The check, with defaults; a bad bound goes to `bad`.
    pub(super) fn check(&self, bad: &mut Vec<String>) -> ForcingCheck {
        let forcing = ForcingCheck {
            policy: self.check.unwrap_or(BadForcing::Abort),
            max_abs: self.max_abs.unwrap_or(DEFAULT_MAX_FORCING),
        };
        if !(forcing.max_abs > 0.0 && forcing.max_abs.is_finite()) {
            bad.push(format!(
                "ocean.forcing.max_abs = {}: must be a finite value > 0 (m s⁻²)",
                forcing.max_abs
            ));
        }
        forcing
    }
}
