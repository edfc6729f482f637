//! The `[coupling]` table of the experiment file, the role of OASIS's namcouple: the
//! exchanges every component reads alike.
//!
//! Configuration is read in two steps. First plain serde structs (`Raw*`, with
//! `deny_unknown_fields`) take the text as written ([`CouplingTable`]); then one validation
//! pass turns them into a ready [`CouplingConfig`] and reports *every* problem it finds, each
//! with the file, the key path, the value and what is allowed, plus a "did you mean" for
//! typos. The coupler reads only this table: the experiment file as a whole, and its other
//! tables, belong to the `experiment` crate and the programs.
//!
//! | module | its job |
//! |---|---|
//! | this one | [`CouplingConfig`]: timeout, grid, the exchanges |
//! | `exchange` | one [`Exchange`]: its ends, grid point, period, lag, operation, halo |
//! | `duration` | [`DurationValue`], [`parse_duration`], [`is_multiple`] |
//! | `diagnostics` | [`ConfigError`], [`Problem`], [`did_you_mean`], [`deserialize_at`] |

mod diagnostics;
mod duration;
mod exchange;

use std::path::Path;

use serde::{Deserialize, Serialize};

pub use diagnostics::{deserialize_at, did_you_mean, ConfigError, Problem};
pub use duration::{check_duration, is_multiple, parse_duration, DurationValue};
use exchange::{check_unique_endpoints, validate_exchange, RawExchange};
pub use exchange::{Boundary, Endpoint, Exchange, GridPoint, Period, TimeOp};

/// Default time a `get` may wait before the job is aborted.
pub const DEFAULT_TIMEOUT_S: f64 = 300.0;

/// The validated `[coupling]` table, identical on every component.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CouplingConfig {
    /// Seconds a `get` (or a send) may wait before the job is aborted.
    pub timeout_s: f64,
    /// Run length, in seconds (the experiment's): coupling times are `0 <= t < run_duration_s`.
    pub run_duration_s: f64,
    /// The global grid `(nx, ny)` of the coupled fields, when the table states it: the
    /// boxes must then tile exactly this grid, and a component with no grid of its own
    /// (the ML server) can split it among its ranks.
    pub grid: Option<(usize, usize)>,
    pub exchanges: Vec<Exchange>,
}

/// The `[coupling]` table as written, before validation.
#[derive(Debug)]
pub struct CouplingTable(RawCoupling);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCoupling {
    timeout: Option<DurationValue>,
    grid: Option<[usize; 2]>,
    #[serde(default)]
    exchange: Vec<RawExchange>,
}

impl CouplingTable {
    /// Takes the `[coupling]` table of `file` as written; errors name the key path.
    pub fn from_value(file: &Path, value: toml::Value) -> Result<Self, ConfigError> {
        deserialize_at(file, "coupling", value).map(CouplingTable)
    }

    /// Checks the table against the run length: every problem is reported at once.
    pub fn validate(self, file: &Path, run_duration_s: f64) -> Result<CouplingConfig, ConfigError> {
        CouplingConfig::from_raw(self.0, run_duration_s).map_err(|problems| ConfigError {
            file: file.to_path_buf(),
            problems,
        })
    }
}

impl CouplingConfig {
    /// Builds a coupling configuration from TOML text holding only the `[coupling]` table's
    /// contents (handy for tests and toy programs).
    pub fn from_toml(text: &str, run_duration_s: f64) -> Result<Self, ConfigError> {
        let file = Path::new("<coupling>");
        let value: toml::Value = text
            .parse::<toml::Table>()
            .map(toml::Value::Table)
            .map_err(|e| ConfigError::one(file, "", format!("not valid TOML: {}", e.message())))?;
        CouplingTable::from_value(file, value)?.validate(file, run_duration_s)
    }

    fn from_raw(raw: RawCoupling, run_duration_s: f64) -> Result<Self, Vec<Problem>> {
        let mut problems = Vec::new();
        let timeout_s = match &raw.timeout {
            Some(t) => check_duration(t, "coupling.timeout", &mut problems).unwrap_or(1.0),
            None => DEFAULT_TIMEOUT_S,
        };
        if timeout_s <= 0.0 {
            problems.push(Problem {
                key: "coupling.timeout".into(),
                message: format!("{timeout_s} s: the timeout must be positive"),
            });
        }
        if raw.exchange.is_empty() {
            problems.push(Problem {
                key: "coupling.exchange".into(),
                message: "no [[coupling.exchange]] entries: add one per field sent".into(),
            });
        }
        let exchanges: Vec<Exchange> = raw
            .exchange
            .into_iter()
            .enumerate()
            .filter_map(|(i, ex)| validate_exchange(i, ex, run_duration_s, &mut problems))
            .collect();
        check_unique_endpoints(&exchanges, &mut problems);
        let grid = raw.grid.map(|[nx, ny]| (nx, ny));
        if let Some((nx, ny)) = grid {
            if nx == 0 || ny == 0 || nx > 1 << 20 || ny > 1 << 20 {
                problems.push(Problem {
                    key: "coupling.grid".into(),
                    message: format!("[{nx}, {ny}]: expected [nx, ny], each between 1 and 1048576"),
                });
            }
        }
        if problems.is_empty() {
            Ok(CouplingConfig {
                timeout_s,
                run_duration_s,
                grid,
                exchanges,
            })
        } else {
            Err(problems)
        }
    }

    /// A canonical text of the configuration, identical wherever the same file was read.
    pub fn canonical(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Components named by the exchanges, in order of first appearance.
    pub fn components(&self) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        for ex in &self.exchanges {
            for c in [&ex.src.component, &ex.dst.component] {
                if !names.contains(c) {
                    names.push(c.clone());
                }
            }
        }
        names
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
        [coupling]
        timeout = "30s"
        grid = [64, 48]
        [[coupling.exchange]]
        from = "ocean.u"
        to = "ml.u"
        grid = "U"
        period = "6h"
        halo = 10
        levels = 2
        boundary = ["cyclic", "closed"]
        [[coupling.exchange]]
        from = "ml.sx"
        to = "ocean.sx"
        grid = "U"
        period = 21600
        op = "average"
    "#;

    /// The `[coupling]` table of `text`, validated against a run of one day, as if read from
    /// `exp.toml` (the `experiment` crate reads whole files the same way).
    fn parse(text: &str) -> Result<Option<CouplingConfig>, ConfigError> {
        let mut table: toml::Table = text.parse().unwrap();
        let file = Path::new("exp.toml");
        let value = table.remove("coupling").unwrap();
        CouplingTable::from_value(file, value)?
            .validate(file, 86400.0)
            .map(Some)
    }

    #[test]
    fn a_good_file_gives_every_field() {
        let c = parse(GOOD).unwrap().unwrap();
        assert_eq!(c.timeout_s, 30.0);
        assert_eq!(c.grid, Some((64, 48)));
        assert_eq!(c.run_duration_s, 86400.0);
        let ex = &c.exchanges[0];
        assert_eq!(
            ex.src,
            Endpoint {
                component: "ocean".into(),
                field: "u".into()
            }
        );
        assert_eq!(ex.period, Period::Every(21600.0));
        assert_eq!((ex.levels, ex.halo), (2, 10));
        assert_eq!(ex.boundary, [Boundary::Cyclic, Boundary::Closed]);
        assert_eq!(c.exchanges[1].op, TimeOp::Average);
        assert_eq!(c.components(), vec!["ocean", "ml"]);
    }

    #[test]
    fn typos_get_a_key_path_and_a_suggestion() {
        let text = GOOD.replace("period = \"6h\"", "perod = \"6h\"");
        let err = parse(&text).unwrap_err().to_string();
        assert!(err.starts_with("exp.toml: coupling.exchange[0]"), "{err}");
        assert!(err.contains("did you mean `period`?"), "{err}");

        let text = GOOD.replace("op = \"average\"", "op = \"avrage\"");
        let err = parse(&text).unwrap_err().to_string();
        assert!(err.contains("coupling.exchange[1].op"), "{err}");
        assert!(err.contains("did you mean `average`?"), "{err}");
    }

    /// Regression: `timeout = true` said "data did not match any variant of untagged enum
    /// DurationValue"; it now says which forms a duration takes.
    #[test]
    fn a_duration_of_the_wrong_type_says_what_is_allowed() {
        let text = GOOD.replace("timeout = \"30s\"", "timeout = true");
        let err = parse(&text).unwrap_err().to_string();
        assert!(
            err.contains("coupling.timeout: expected a duration: a number of seconds (120) or a string such as \"90s\"")
                && !err.contains("untagged"),
            "{err}"
        );
    }

    /// Regression: toml's error text ends in "\nin `exchange`\n", which left the suggestion
    /// on a line of its own; the message is one line, after the whole key path.
    #[test]
    fn an_unknown_key_is_one_line_with_its_path() {
        let text = GOOD.replace("period = \"6h\"", "perod = \"6h\"");
        let err = parse(&text).unwrap_err().to_string();
        assert_eq!(
            err,
            "exp.toml: coupling.exchange[0].perod: unknown field `perod`, expected one of \
             `from`, `to`, `grid`, `period`, `lag`, `op`, `levels`, `halo`, `boundary` \
             (did you mean `period`?)"
        );
    }

    #[test]
    fn periods_must_divide_the_run() {
        let text = GOOD.replace("period = \"6h\"", "period = \"7h\"");
        let err = parse(&text).unwrap_err().to_string();
        assert!(err.contains("coupling.exchange[0].period"), "{err}");
        assert!(err.contains("does not divide the run length"), "{err}");
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let text = GOOD
            .replace("from = \"ocean.u\"", "from = \"oceanu\"")
            .replace("levels = 2", "levels = 0")
            .replace("timeout = \"30s\"", "timeout = \"-1s\"");
        let err = parse(&text).unwrap_err();
        let keys: Vec<&str> = err.problems.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "coupling.timeout",
                "coupling.exchange[0].from",
                "coupling.exchange[0].levels"
            ]
        );
    }

    #[test]
    fn a_field_has_one_source() {
        let text = GOOD
            .replace("to = \"ocean.sx\"", "to = \"ml.u\"")
            .replace("from = \"ml.sx\"", "from = \"ocean.v\"");
        let err = parse(&text).unwrap_err().to_string();
        assert!(
            err.contains("already the destination of coupling.exchange[0]"),
            "{err}"
        );
    }

    #[test]
    fn wrong_types_name_the_key() {
        let text = GOOD.replace("halo = 10", "halo = \"ten\"");
        let err = parse(&text).unwrap_err().to_string();
        assert!(err.contains("coupling.exchange[0].halo"), "{err}");
    }
}
