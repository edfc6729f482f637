//! The time axis of an exchange: which model times send and receive data (period, lag,
//! restart time, end of the run), and the message tag of each coupling time.

use crate::config::{is_multiple, Exchange, Period};

/// Message tags cycle through this many values (far below any MPI_TAG_UB).
const TAG_CYCLE: u64 = 30_000;

/// The time axis of an exchange: which model times move data, and their message tags.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Clock {
    pub period: Period,
    pub lag_s: f64,
    pub run_s: f64,
    /// Model time the run starts at (0, or the time of the restart).
    pub start_s: f64,
}

impl Clock {
    pub fn of(ex: &Exchange, run_s: f64, start_s: f64) -> Self {
        Clock {
            period: ex.period,
            lag_s: ex.lag_s,
            run_s,
            start_s,
        }
    }

    /// The coupling time that data put at `t` is delivered for, if `t` sends.
    pub fn send_label(&self, t: f64) -> Option<f64> {
        self.label(t + self.lag_s)
    }

    /// `t` itself when it is a coupling time that receives data.
    pub fn recv_label(&self, t: f64) -> Option<f64> {
        self.label(t)
            .filter(|&l| l >= self.first_recv() - self.tol())
    }

    fn label(&self, t: f64) -> Option<f64> {
        let Period::Every(p) = self.period else {
            return None;
        };
        let on_time =
            is_multiple(t, p) && t > self.start_s - self.tol() && t < self.run_s - self.tol();
        on_time.then(|| (t / p).round() * p)
    }

    /// The first coupling time with data: the start, or a period later with a lag.
    pub fn first_recv(&self) -> f64 {
        match self.period {
            Period::Static => self.start_s,
            Period::Every(p) => self.start_s + (self.lag_s / p).ceil() * p,
        }
    }

    /// The coupling time after `t`, if within the run.
    pub fn next(&self, t: f64) -> Option<f64> {
        match self.period {
            Period::Static => None,
            Period::Every(p) => Some(t + p).filter(|&n| n < self.run_s - self.tol()),
        }
    }

    /// The message tag for coupling time `label`.
    pub fn tag(&self, label: f64) -> i32 {
        match self.period {
            Period::Static => 0,
            Period::Every(p) => ((label / p).round() as u64 % TAG_CYCLE) as i32,
        }
    }

    fn tol(&self) -> f64 {
        1e-9 * self.run_s.max(1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clock(period: f64, lag_s: f64) -> Clock {
        Clock {
            period: Period::Every(period),
            lag_s,
            run_s: 10.0 * period,
            start_s: 0.0,
        }
    }

    #[test]
    fn a_lag_of_one_period_uses_each_coupling_times_data_at_the_next() {
        let c = clock(144.0, 144.0);
        assert_eq!(c.send_label(0.0), Some(144.0));
        assert_eq!(c.first_recv(), 144.0);
        assert_eq!(c.recv_label(0.0), None, "nothing arrives at the start");
        assert_eq!(
            c.send_label(9.0 * 144.0),
            None,
            "the last put would arrive after the run"
        );
    }

    #[test]
    fn a_restarted_run_couples_from_its_start_time_on() {
        let c = Clock {
            start_s: 3.0 * 3600.0,
            ..clock(3600.0, 0.0)
        };
        assert_eq!(c.first_recv(), 10800.0);
        assert_eq!(c.recv_label(7200.0), None, "before the restart");
        assert_eq!(c.recv_label(10800.0), Some(10800.0));
        assert_eq!(c.send_label(10800.0), Some(10800.0));
        assert_eq!(c.next(10800.0), Some(14400.0));
    }

    #[test]
    fn coupling_times_are_multiples_of_the_period_within_the_run() {
        let c = clock(3600.0, 0.0);
        assert_eq!(c.send_label(0.0), Some(0.0));
        assert_eq!(c.send_label(1800.0), None);
        assert_eq!(c.send_label(7200.0), Some(7200.0));
        assert_eq!(
            c.send_label(36000.0),
            None,
            "the end of the run is not a coupling time"
        );
        assert_eq!(
            c.recv_label(3600.0 * (1.0 + 1e-13)),
            Some(3600.0),
            "round-off is forgiven"
        );
        assert_eq!(c.next(32400.0), None);
        assert_eq!(c.tag(7200.0), 2);
    }

    #[test]
    fn a_lag_shifts_the_send_and_delays_the_first_receive() {
        let c = clock(3600.0, 600.0);
        assert_eq!(c.send_label(0.0), None);
        assert_eq!(c.send_label(3000.0), Some(3600.0));
        assert_eq!(c.first_recv(), 3600.0);
        assert_eq!(c.recv_label(0.0), None, "no data before the lag has passed");
        assert_eq!(c.recv_label(3600.0), Some(3600.0));
    }
}
