//! Progress reports: model date, speed, SYPD and time left, every so often.
//! An indicatif bar when stderr is a terminal, plain `tracing` lines otherwise.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

/// Model date "YYYY-MM-DD hh:mm" of `t` seconds since 0001-01-01 in the noleap calendar.
pub fn model_date(t: f64) -> String {
    const MONTH_DAYS: [u64; 12] = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    let secs = t.max(0.0) as u64;
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (year, mut doy) = (1 + days / 365, days % 365);
    let mut month = 0;
    while doy >= MONTH_DAYS[month] {
        doy -= MONTH_DAYS[month];
        month += 1;
    }
    format!(
        "{year:04}-{:02}-{:02} {:02}:{:02}",
        month + 1,
        doy + 1,
        rem / 3600,
        (rem % 3600) / 60
    )
}

/// Throughput of a run segment.
#[derive(Debug, Clone, Copy)]
pub struct Speed {
    pub steps_per_s: f64,
    /// Simulated years per wall-clock day.
    pub sypd: f64,
}

/// Speed from `steps` of `dt` seconds done in `wall` seconds.
pub fn speed(steps: u64, dt: f64, wall: f64) -> Speed {
    let steps_per_s = steps as f64 / wall.max(1e-12);
    Speed {
        steps_per_s,
        sypd: steps_per_s * dt / (365.0 * 86_400.0) * 86_400.0,
    }
}

/// Rank 0's progress reporter (silent on other ranks).
pub struct Progress {
    active: bool,
    bar: Option<ProgressBar>,
    interval: Duration,
    started: Instant,
    last: Instant,
    first_step: u64,
    total: u64,
    dt: f64,
}

impl Progress {
    pub fn new(active: bool, first_step: u64, steps: u64, dt: f64, interval_s: f64) -> Self {
        let bar = (active && std::io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::new(steps);
            if let Ok(style) = ProgressStyle::with_template("{bar:40} {pos}/{len} steps {msg}") {
                bar.set_style(style);
            }
            bar
        });
        let now = Instant::now();
        Progress {
            active,
            bar,
            interval: Duration::from_secs_f64(interval_s),
            started: now,
            last: now,
            first_step,
            total: steps,
            dt,
        }
    }

    /// Call after every step; reports when the interval has passed.
    pub fn tick(&mut self, step: u64) {
        if !self.active {
            return;
        }
        let done = step - self.first_step;
        if let Some(bar) = &self.bar {
            bar.set_position(done);
        }
        if self.last.elapsed() < self.interval {
            return;
        }
        self.last = Instant::now();
        let s = speed(done, self.dt, self.started.elapsed().as_secs_f64());
        let left = (self.total - done) as f64 / s.steps_per_s.max(1e-12);
        let date = model_date(step as f64 * self.dt);
        let line = format!(
            "{date}  step {done}/{}  {:.1} steps/s  {:.2} SYPD  {:.0} s left",
            self.total, s.steps_per_s, s.sypd, left
        );
        match &self.bar {
            Some(bar) => bar.set_message(line),
            None => tracing::info!("{line}"),
        }
    }

    /// Final summary line; returns the speed of the whole run.
    pub fn finish(&self, step: u64) -> Speed {
        let s = speed(
            step - self.first_step,
            self.dt,
            self.started.elapsed().as_secs_f64(),
        );
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
        if self.active {
            tracing::info!(
                "done at {}: {} steps, {:.1} steps/s, {:.2} SYPD",
                model_date(step as f64 * self.dt),
                step - self.first_step,
                s.steps_per_s,
                s.sypd
            );
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn noleap_dates() {
        assert_eq!(model_date(0.0), "0001-01-01 00:00");
        assert_eq!(model_date(59.0 * 86_400.0 + 3_660.0), "0001-03-01 01:01");
        assert_eq!(model_date(365.0 * 86_400.0), "0002-01-01 00:00");
    }
}
