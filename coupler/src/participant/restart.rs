//! The restart time: a component that restarts from a checkpoint asks for its start time
//! before enddef; at enddef every rank learns what every other asked for, and all agree on
//! one time that is a coupling time of every exchange, or all stop with the same message.

use super::{Coupler, State};
use crate::config::Period;
use crate::error::CouplerError;

/// `start_s` of a rank that did not set one, in the enddef gather.
const NO_START: i64 = i64::MIN;

/// A rank's requested start time as one value of the enddef gather.
pub(super) fn encode_start(start_s: Option<f64>) -> i64 {
    start_s.map_or(NO_START, |t| t.to_bits() as i64)
}

/// The inverse of [`encode_start`].
pub(super) fn decode_start(value: i64) -> Option<f64> {
    (value != NO_START).then(|| f64::from_bits(value as u64))
}

impl Coupler {
    /// Starts the coupled run at model time `t` instead of 0: a restart from a checkpoint.
    /// Call before `enddef()` on the ranks that know the time (the ocean); the other
    /// components adopt it at enddef (see [`Coupler::start_time`]). `t` must be a coupling
    /// time of every periodic exchange, and exchanges with a lag cannot restart.
    pub fn set_start_time(&mut self, t: f64) -> Result<(), CouplerError> {
        self.require(
            State::Defining,
            "set_start_time",
            "the start time is set before enddef()",
        )?;
        if !(t.is_finite() && t >= 0.0) {
            return Err(CouplerError::Setup {
                component: self.component.clone(),
                message: format!("start time {t} s: expected a finite time >= 0"),
            });
        }
        self.start_s = Some(t);
        Ok(())
    }

    /// The model time the coupled run starts at (agreed at enddef; 0 unless restarted).
    pub fn start_time(&self) -> f64 {
        self.start_s.unwrap_or(0.0)
    }

    /// The start time every rank agrees on: the one the ranks that set one asked for (all
    /// alike), else 0. Problems go to `problems`.
    pub(super) fn agree_on_start(&self, starts: &[Option<f64>], problems: &mut Vec<String>) -> f64 {
        let asked: Vec<(usize, f64)> = starts
            .iter()
            .enumerate()
            .filter_map(|(r, s)| s.map(|s| (r, s)))
            .collect();
        let Some(&(first, start)) = asked.first() else {
            return 0.0;
        };
        if let Some(&(r, other)) = asked.iter().find(|(_, s)| *s != start) {
            problems.push(format!(
                "component '{}' (world rank {first}) starts at t = {start} s but '{}' (world rank {r}) at t = {other} s: restart every component from the same time",
                self.component_of(first as i32),
                self.component_of(r as i32)
            ));
        }
        let run_s = self.config.run_duration_s;
        if start >= run_s {
            problems.push(format!(
                "the run starts at t = {start} s, at or after its end run.duration = {run_s} s: nothing is left to run"
            ));
        }
        for ex in &self.config.exchanges {
            if let (Period::Every(p), true) = (ex.period, start > 0.0) {
                if !crate::config::is_multiple(start, p) {
                    problems.push(format!(
                        "{} ({} → {}): the restart time t = {start} s is not a coupling time (period {p} s): restart from a checkpoint written at a multiple of every coupling period",
                        ex.key(),
                        ex.src,
                        ex.dst
                    ));
                } else if ex.lag_s > 0.0 {
                    problems.push(format!(
                        "{} ({} → {}): a restart (t = {start} s) of an exchange with a lag ({} s) is not supported: the lagged data was sent before the restart",
                        ex.key(),
                        ex.src,
                        ex.dst,
                        ex.lag_s
                    ));
                }
            }
        }
        start
    }
}
