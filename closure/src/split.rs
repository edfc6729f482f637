//! The split of the truth run by time, written once: training, validation and test periods
//! never overlap, and gaps of three days between them keep the daily samples of one period
//! from being near-copies of the next one's (the eddies decorrelate over days to weeks).

use std::ops::Range;

/// Periods in model days since the start of the experiment.
#[derive(Debug, Clone, PartialEq)]
pub struct Split {
    pub train: Range<f64>,
    pub validation: Range<f64>,
    pub test: Range<f64>,
}

/// The split of `configs/closure/truth_256.toml` (days 150–330 of the 15 km truth).
pub const TRUTH: Split = Split {
    train: 150.0..250.0,
    validation: 253.0..263.0,
    test: 266.0..330.0,
};

/// Which period a sample belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    Train,
    Validation,
    Test,
}

impl Split {
    /// `TRAIN,VALIDATION,TEST` periods as `first:end` days, e.g. `150:250,253:263,266:330`.
    pub fn parse(text: &str) -> Result<Split, String> {
        let bad = || {
            format!("--split {text:?}: expected three periods first:end in days, e.g. 150:250,253:263,266:330")
        };
        let periods: Vec<std::ops::Range<f64>> = text
            .split(',')
            .map(|p| {
                let (a, b) = p.split_once(':').ok_or_else(bad)?;
                let (a, b): (f64, f64) = (
                    a.trim().parse().map_err(|_| bad())?,
                    b.trim().parse().map_err(|_| bad())?,
                );
                if a < b {
                    Ok(a..b)
                } else {
                    Err(bad())
                }
            })
            .collect::<Result<_, _>>()?;
        let [train, validation, test]: [std::ops::Range<f64>; 3] =
            periods.try_into().map_err(|_| bad())?;
        if train.end > validation.start || validation.end > test.start {
            return Err(format!(
                "--split {text:?}: the periods must be in time order and must not overlap"
            ));
        }
        Ok(Split {
            train,
            validation,
            test,
        })
    }

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
        assert_eq!((tr.len(), va.len(), te.len()), (100, 10, 64));
        assert!(tr.last() < va.first() && va.last() < te.first());
    }
}
