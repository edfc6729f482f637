//! Durations as an experiment file writes them: a number of seconds, or a string with a
//! unit ("90s", "30min", "6h", "1d").

use serde::Deserialize;

use super::Problem;

/// A duration as written: a number of seconds, or a string such as "90s", "30min", "6h", "1d".
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum DurationValue {
    Seconds(f64),
    Text(String),
}

impl DurationValue {
    /// The duration in seconds, or why the text is not a duration. A number is taken as
    /// written, NaN and infinities included: each key's own check says what it allows.
    pub fn seconds(&self) -> Result<f64, String> {
        match self {
            DurationValue::Seconds(s) => Ok(*s),
            DurationValue::Text(t) => parse_duration(t),
        }
    }
}

/// Parses "90", "90s", "30min", "6h", "1d" (also "2 days", "1.5h") into seconds.
pub fn parse_duration(text: &str) -> Result<f64, String> {
    let t = text.trim();
    let split = t.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let value: f64 = number.trim().parse().map_err(|_| {
        format!("{text:?} is not a duration; write seconds as a number, or a string like \"90s\", \"30min\", \"6h\", \"1d\"")
    })?;
    let scale = match unit.trim() {
        "" | "s" | "sec" | "secs" | "second" | "seconds" => 1.0,
        "min" | "mins" | "minute" | "minutes" => 60.0,
        "h" | "hr" | "hour" | "hours" => 3600.0,
        "d" | "day" | "days" => 86400.0,
        other => {
            return Err(format!(
                "{text:?}: unknown unit {other:?}; use s, min, h or d{}",
                super::did_you_mean(other, &["s", "min", "h", "d"])
            ))
        }
    };
    let seconds = value * scale;
    if !seconds.is_finite() {
        return Err(format!("{text:?} is not a finite duration"));
    }
    Ok(seconds)
}

/// The seconds of `v`, or `None` after adding a problem at `key` when it is not a finite
/// duration.
pub fn check_duration(v: &DurationValue, key: &str, problems: &mut Vec<Problem>) -> Option<f64> {
    v.seconds()
        .and_then(|s| {
            s.is_finite()
                .then_some(s)
                .ok_or_else(|| format!("{s} is not a finite number of seconds"))
        })
        .map_err(|message| {
            problems.push(Problem {
                key: key.into(),
                message,
            })
        })
        .ok()
}

/// Whether `a` is a whole multiple of `b` (to a relative tolerance of 1e-9).
pub fn is_multiple(a: f64, b: f64) -> bool {
    let k = (a / b).round();
    (a - k * b).abs() <= 1e-9 * a.abs().max(b.abs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_accept_numbers_and_units() {
        assert_eq!(parse_duration("90").unwrap(), 90.0);
        assert_eq!(parse_duration("30min").unwrap(), 1800.0);
        assert_eq!(parse_duration("6h").unwrap(), 21600.0);
        assert_eq!(parse_duration("1.5 h").unwrap(), 5400.0);
        assert_eq!(parse_duration("2 days").unwrap(), 172800.0);
        assert!(parse_duration("6 parsecs")
            .unwrap_err()
            .contains("unknown unit"));
        assert!(parse_duration("soon").is_err());
    }

    #[test]
    fn a_bad_duration_is_a_problem_at_its_key() {
        let mut problems = Vec::new();
        let v = DurationValue::Seconds(f64::INFINITY);
        assert_eq!(check_duration(&v, "run.duration", &mut problems), None);
        assert_eq!(problems[0].key, "run.duration");
        assert!(is_multiple(86400.0, 3600.0) && !is_multiple(86400.0, 7.0 * 3600.0));
    }
}
