//! The split of the truth run by time, written once: training, validation and test periods
//! never overlap, and gaps of five days between them keep the daily samples of one period
//! from being near-copies of the next one's (the eddies decorrelate over days to weeks).

use std::ops::Range;

/// Periods in model days since the start of the experiment.
#[derive(Debug, Clone, PartialEq)]
pub struct Split {
    pub train: Range<f64>,
    pub validation: Range<f64>,
    pub test: Range<f64>,
}

/// The split of `configs/closure/truth_256.toml` (days 365–913 of the 15 km truth).
pub const TRUTH: Split = Split {
    train: 365.0..660.0,
    validation: 665.0..725.0,
    test: 730.0..914.0,
};

/// Which period a sample belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    Train,
    Validation,
    Test,
}

impl Split {
    /// The period of a sample at `time_s`, or `None` in a gap or outside the run.
    pub fn period(&self, time_s: f64) -> Option<Period> {
        let day = time_s / 86_400.0;
        if self.train.contains(&day) {
            Some(Period::Train)
        } else if self.validation.contains(&day) {
            Some(Period::Validation)
        } else if self.test.contains(&day) {
            Some(Period::Test)
        } else {
            None
        }
    }

    /// Indices of the `times` (s) in `period`.
    pub fn indices(&self, times: &[f64], period: Period) -> Vec<usize> {
        (0..times.len())
            .filter(|&k| self.period(times[k]) == Some(period))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_periods_are_disjoint_and_ordered() {
        let s = &TRUTH;
        assert!(s.train.end < s.validation.start && s.validation.end < s.test.start);
        let times: Vec<f64> = (0..1000).map(|d| d as f64 * 86_400.0).collect();
        let (tr, va, te) = (
            s.indices(&times, Period::Train),
            s.indices(&times, Period::Validation),
            s.indices(&times, Period::Test),
        );
        assert_eq!((tr.len(), va.len(), te.len()), (295, 60, 184));
        assert!(tr.last() < va.first() && va.last() < te.first());
    }
}
