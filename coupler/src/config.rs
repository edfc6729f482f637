//! The experiment file: one TOML read by every component, the role of OASIS's namcouple.
//!
//! Configuration is read in two steps. First plain serde structs (`Raw*`, with
//! `deny_unknown_fields`) take the text as written; then one validation pass turns them into
//! ready objects and reports *every* problem it finds, each with the file, the key path, the
//! value and what is allowed, plus a "did you mean" for typos.
//!
//! The file has five top-level tables: `[run]` (name, duration, output folder), `[coupling]`
//! (the exchanges, read here), and `[ocean]` / `[ml]` / `[analysis]` (the ML server's in-situ
//! analysis), which belong to the programs and are read through [`ExperimentFile::section`].

use std::fmt;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// Top-level tables an experiment file may have.
pub const TOP_LEVEL_TABLES: [&str; 5] = ["run", "coupling", "ocean", "ml", "analysis"];

/// Default time a `get` may wait before the job is aborted.
pub const DEFAULT_TIMEOUT_S: f64 = 300.0;

/// One problem found in a configuration: where, and what is wrong.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    /// Dotted key path, e.g. `coupling.exchange[1].period`; empty for the file as a whole.
    pub key: String,
    pub message: String,
}

/// Everything wrong with one experiment file.
#[derive(Debug, Clone, thiserror::Error)]
pub struct ConfigError {
    pub file: PathBuf,
    pub problems: Vec<Problem>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let file = self.file.display();
        match self.problems.as_slice() {
            [one] if one.key.is_empty() => write!(f, "{file}: {}", one.message),
            [one] => write!(f, "{file}: {}: {}", one.key, one.message),
            many => {
                write!(f, "{file}: {} problems", many.len())?;
                for p in many {
                    if p.key.is_empty() {
                        write!(f, "\n  - {}", p.message)?;
                    } else {
                        write!(f, "\n  - {}: {}", p.key, p.message)?;
                    }
                }
                Ok(())
            }
        }
    }
}

impl ConfigError {
    fn one(file: &Path, key: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigError {
            file: file.to_path_buf(),
            problems: vec![Problem {
                key: key.into(),
                message: message.into(),
            }],
        }
    }
}

/// The whole experiment file, parsed as TOML but not yet interpreted.
#[derive(Debug, Clone)]
pub struct ExperimentFile {
    path: PathBuf,
    table: toml::Table,
}

impl ExperimentFile {
    /// Reads and parses `path`; every error names the file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            ConfigError::one(path, "", format!("cannot read the experiment file: {e}"))
        })?;
        Self::parse(&text, path)
    }

    /// Parses TOML text as if read from `path` (which only labels the errors).
    pub fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
            let line = e.span().map(|s| line_of(text, s.start)).unwrap_or(0);
            let key = if line > 0 {
                format!("line {line}")
            } else {
                String::new()
            };
            ConfigError::one(path, key, format!("not valid TOML: {}", e.message()))
        })?;
        let unknown: Vec<Problem> = table
            .keys()
            .filter(|k| !TOP_LEVEL_TABLES.contains(&k.as_str()))
            .map(|k| Problem {
                key: k.clone(),
                message: format!(
                    "unknown top-level table; expected one of {}{}",
                    TOP_LEVEL_TABLES.join(", "),
                    did_you_mean(k, &TOP_LEVEL_TABLES)
                ),
            })
            .collect();
        if !unknown.is_empty() {
            return Err(ConfigError {
                file: path.to_path_buf(),
                problems: unknown,
            });
        }
        Ok(ExperimentFile {
            path: path.to_path_buf(),
            table,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Deserializes the top-level table `name` into `T`, or `None` when the table is absent.
    /// Errors carry the key path (`ocean.grid.nx`) and, for misspelt keys, a suggestion.
    pub fn section<T: DeserializeOwned>(&self, name: &str) -> Result<Option<T>, ConfigError> {
        let Some(value) = self.table.get(name) else {
            return Ok(None);
        };
        deserialize_at(&self.path, name, value.clone()).map(Some)
    }

    /// The `[run]` table, validated.
    pub fn run(&self) -> Result<RunConfig, ConfigError> {
        let raw: RawRun = self.section("run")?.ok_or_else(|| {
            ConfigError::one(
                &self.path,
                "run",
                "missing table [run] (name, duration, output_dir)",
            )
        })?;
        let mut problems = Vec::new();
        let duration_s = check_duration(&raw.duration, "run.duration", &mut problems);
        if matches!(raw.name.as_str(), "" | "." | "..") || raw.name.contains(['/', '\0']) {
            problems.push(Problem {
                key: "run.name".into(),
                message: format!(
                    "{:?} must be a folder name: not empty, \".\" or \"..\", without '/' or NUL",
                    raw.name
                ),
            });
        }
        if let Some(d) = duration_s {
            if d <= 0.0 {
                problems.push(Problem {
                    key: "run.duration".into(),
                    message: format!("{d} s: the run length must be positive"),
                });
            }
        }
        if !problems.is_empty() {
            return Err(ConfigError {
                file: self.path.clone(),
                problems,
            });
        }
        Ok(RunConfig {
            name: raw.name,
            duration_s: duration_s.unwrap_or_default(),
            output_dir: raw.output_dir.unwrap_or_else(|| PathBuf::from("out")),
        })
    }

    /// The `[coupling]` table, validated against the run length, or `None` when absent.
    pub fn coupling(&self) -> Result<Option<CouplingConfig>, ConfigError> {
        let Some(raw) = self.section::<RawCoupling>("coupling")? else {
            return Ok(None);
        };
        let run = self.run()?;
        CouplingConfig::from_raw(raw, run.duration_s)
            .map(Some)
            .map_err(|problems| ConfigError {
                file: self.path.clone(),
                problems,
            })
    }
}

/// Deserializes `value` as `T`, reporting failures with the dotted key path under `prefix`.
pub fn deserialize_at<T: DeserializeOwned>(
    file: &Path,
    prefix: &str,
    value: toml::Value,
) -> Result<T, ConfigError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let inner = e.path().to_string();
        let key = match inner.as_str() {
            "." | "" => prefix.to_string(),
            p => format!("{prefix}.{p}"),
        };
        ConfigError::one(
            file,
            key.replace(".[", "["),
            explain_serde_error(e.inner().message()),
        )
    })
}

/// The `[run]` table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunConfig {
    /// Name of the run: outputs go to `output_dir/name/`.
    pub name: String,
    /// Simulated time, in seconds.
    pub duration_s: f64,
    pub output_dir: PathBuf,
}

impl RunConfig {
    /// The run directory, `output_dir/name`.
    pub fn run_dir(&self) -> PathBuf {
        self.output_dir.join(&self.name)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRun {
    name: String,
    duration: DurationValue,
    output_dir: Option<PathBuf>,
}

/// A duration as written: a number of seconds, or a string such as "90s", "30min", "6h", "1d".
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum DurationValue {
    Seconds(f64),
    Text(String),
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
                did_you_mean(other, &["s", "min", "h", "d"])
            ))
        }
    };
    let seconds = value * scale;
    if !seconds.is_finite() {
        return Err(format!("{text:?} is not a finite duration"));
    }
    Ok(seconds)
}

fn check_duration(v: &DurationValue, key: &str, problems: &mut Vec<Problem>) -> Option<f64> {
    let parsed = match v {
        DurationValue::Seconds(s) if s.is_finite() => Ok(*s),
        DurationValue::Seconds(s) => Err(format!("{s} is not a finite number of seconds")),
        DurationValue::Text(t) => parse_duration(t),
    };
    parsed
        .map_err(|message| {
            problems.push(Problem {
                key: key.into(),
                message,
            })
        })
        .ok()
}

/// Where a coupled field lives on the Arakawa C-grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum GridPoint {
    /// Cell centres (tracers, sea-surface height).
    T,
    /// East faces (zonal velocity).
    U,
    /// North faces (meridional velocity).
    V,
}

/// What the source sends at a coupling time, from the puts made since the last one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TimeOp {
    /// The value put at the coupling time itself.
    Instant,
    /// The mean of the puts of the period.
    Average,
    /// The sum of the puts of the period.
    Accumulate,
    Min,
    Max,
}

/// How the destination's halo is filled beyond an edge of the global grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Boundary {
    /// A wall: halo cells outside the grid are zero.
    Closed,
    /// Periodic: halo cells wrap around to the other side.
    Cyclic,
}

/// How often an exchange moves data.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Period {
    /// Once, at the start (masks, metrics).
    Static,
    /// Every so many seconds of model time.
    Every(f64),
}

impl Serialize for Period {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Period::Static => s.serialize_str("static"),
            Period::Every(p) => s.serialize_f64(*p),
        }
    }
}

/// One component's end of an exchange, written `component.field`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Endpoint {
    pub component: String,
    pub field: String,
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.component, self.field)
    }
}

/// One validated exchange: a source field sent to a destination field.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Exchange {
    /// Position in `[[coupling.exchange]]`, for messages.
    pub index: usize,
    pub src: Endpoint,
    pub dst: Endpoint,
    pub point: GridPoint,
    pub period: Period,
    /// Seconds added to the source's put time to give the time the data is delivered for.
    pub lag_s: f64,
    pub op: TimeOp,
    /// Length of the vertical (or batch) axis bundled in the exchange.
    pub levels: usize,
    /// Halo width, in cells, that the destination receives around its box.
    pub halo: usize,
    /// Boundary of the global grid along x, then y.
    pub boundary: [Boundary; 2],
}

impl Exchange {
    /// The key path of this exchange in the file, for messages.
    pub fn key(&self) -> String {
        format!("coupling.exchange[{}]", self.index)
    }
}

/// The validated `[coupling]` table, identical on every component.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CouplingConfig {
    /// Seconds a `get` (or a send) may wait before the job is aborted.
    pub timeout_s: f64,
    /// Run length, in seconds (from `[run]`): coupling times are `0 <= t < run_duration_s`.
    pub run_duration_s: f64,
    /// The global grid `(nx, ny)` of the coupled fields, when the table states it: the
    /// boxes must then tile exactly this grid, and a component with no grid of its own
    /// (the ML server) can split it among its ranks.
    pub grid: Option<(usize, usize)>,
    pub exchanges: Vec<Exchange>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCoupling {
    timeout: Option<DurationValue>,
    grid: Option<[usize; 2]>,
    #[serde(default)]
    exchange: Vec<RawExchange>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExchange {
    from: String,
    to: String,
    grid: GridPoint,
    period: DurationValue,
    lag: Option<DurationValue>,
    op: Option<TimeOp>,
    levels: Option<usize>,
    halo: Option<usize>,
    boundary: Option<[Boundary; 2]>,
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
        let raw: RawCoupling = deserialize_at(file, "coupling", value)?;
        Self::from_raw(raw, run_duration_s).map_err(|problems| ConfigError {
            file: file.to_path_buf(),
            problems,
        })
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

fn validate_exchange(
    i: usize,
    ex: RawExchange,
    run_duration_s: f64,
    problems: &mut Vec<Problem>,
) -> Option<Exchange> {
    let key = |k: &str| format!("coupling.exchange[{i}].{k}");
    let before = problems.len();
    let src = parse_endpoint(&ex.from, &key("from"), problems);
    let dst = parse_endpoint(&ex.to, &key("to"), problems);
    if let (Some(s), Some(d)) = (&src, &dst) {
        if s.component == d.component {
            problems.push(Problem {
                key: key("to"),
                message: format!("{d} is in the same component as the source {s}: an exchange joins two components"),
            });
        }
    }
    let period = match &ex.period {
        DurationValue::Text(t) if t.trim() == "static" => Some(Period::Static),
        v => check_duration(v, &key("period"), problems).map(Period::Every),
    };
    let lag_s = match &ex.lag {
        Some(v) => check_duration(v, &key("lag"), problems).unwrap_or(0.0),
        None => 0.0,
    };
    if let Some(Period::Every(p)) = period {
        if p <= 0.0 {
            problems.push(Problem {
                key: key("period"),
                message: format!("{p} s: a period must be positive (or \"static\")"),
            });
        } else if !is_multiple(run_duration_s, p) {
            problems.push(Problem {
                key: key("period"),
                message: format!(
                    "{p} s does not divide the run length run.duration = {run_duration_s} s \
                     ({:.3} periods); choose a period that does, or change the run length",
                    run_duration_s / p
                ),
            });
        }
        if lag_s < 0.0 {
            problems.push(Problem {
                key: key("lag"),
                message: format!("{lag_s} s: a lag is a delay, zero or positive"),
            });
        } else if lag_s > p && p > 0.0 {
            // A lag of one period (the source's time step, when it couples every step) is
            // OASIS's usual LAG: the data of one coupling time is used at the next.
            problems.push(Problem {
                key: key("lag"),
                message: format!("{lag_s} s: the lag can be at most the period ({p} s)"),
            });
        }
    }
    let op = ex.op.unwrap_or(TimeOp::Instant);
    if period == Some(Period::Static) && (op != TimeOp::Instant || lag_s != 0.0) {
        problems.push(Problem {
            key: key("op"),
            message: "a static exchange is sent once: it takes no time operation and no lag".into(),
        });
    }
    let levels = ex.levels.unwrap_or(1);
    if levels == 0 || levels > 100_000 {
        problems.push(Problem {
            key: key("levels"),
            message: format!("{levels}: expected between 1 and 100000"),
        });
    }
    let halo = ex.halo.unwrap_or(0);
    if halo > 1000 {
        problems.push(Problem {
            key: key("halo"),
            message: format!("{halo}: expected at most 1000 cells"),
        });
    }
    if problems.len() > before {
        return None;
    }
    Some(Exchange {
        index: i,
        src: src?,
        dst: dst?,
        point: ex.grid,
        period: period?,
        lag_s,
        op,
        levels,
        halo,
        boundary: ex.boundary.unwrap_or([Boundary::Closed, Boundary::Closed]),
    })
}

fn check_unique_endpoints(exchanges: &[Exchange], problems: &mut Vec<Problem>) {
    for (a, ea) in exchanges.iter().enumerate() {
        if let Some(eb) = exchanges[..a].iter().find(|eb| eb.dst == ea.dst) {
            problems.push(Problem {
                key: format!("{}.to", ea.key()),
                message: format!(
                    "{} is already the destination of {}: a field is received from one exchange only",
                    ea.dst,
                    eb.key()
                ),
            });
        }
    }
}

fn parse_endpoint(text: &str, key: &str, problems: &mut Vec<Problem>) -> Option<Endpoint> {
    let valid = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    };
    match text.split_once('.') {
        Some((c, f)) if valid(c) && valid(f) => Some(Endpoint {
            component: c.to_string(),
            field: f.to_string(),
        }),
        _ => {
            problems.push(Problem {
                key: key.to_string(),
                message: format!("{text:?}: expected \"component.field\", e.g. \"ocean.u\""),
            });
            None
        }
    }
}

/// Whether `a` is a whole multiple of `b` (to a relative tolerance of 1e-9).
pub fn is_multiple(a: f64, b: f64) -> bool {
    let k = (a / b).round();
    (a - k * b).abs() <= 1e-9 * a.abs().max(b.abs())
}

/// " (did you mean `x`?)" when one candidate is close to `word`, else "".
pub fn did_you_mean(word: &str, candidates: &[&str]) -> String {
    candidates
        .iter()
        .map(|c| (strsim::normalized_damerau_levenshtein(word, c), c))
        .filter(|(score, _)| *score >= 0.5)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| format!(" (did you mean `{c}`?)"))
        .unwrap_or_default()
}

/// Adds a "did you mean" to serde's "unknown field `x`, expected one of `a`, `b`" messages.
fn explain_serde_error(message: &str) -> String {
    if message.contains("untagged enum DurationValue") {
        return "expected a duration: a number of seconds (120) or a string such as \"90s\", \"30min\", \"6h\", \"1d\"".into();
    }
    let is_unknown = message.starts_with("unknown field") || message.starts_with("unknown variant");
    if !is_unknown {
        return message.to_string();
    }
    let quoted: Vec<&str> = message.split('`').skip(1).step_by(2).collect();
    match quoted.split_first() {
        Some((word, candidates)) => format!("{message}{}", did_you_mean(word, candidates)),
        None => message.to_string(),
    }
}

fn line_of(text: &str, byte: usize) -> usize {
    text[..byte.min(text.len())].matches('\n').count() + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
        [run]
        name = "t"
        duration = "1d"
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

    fn parse(text: &str) -> Result<Option<CouplingConfig>, ConfigError> {
        ExperimentFile::parse(text, Path::new("exp.toml"))?.coupling()
    }

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

        let err = ExperimentFile::parse("[ocaen]\nx=1", Path::new("e.toml")).unwrap_err();
        assert!(err.to_string().contains("did you mean `ocean`?"), "{err}");
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

    /// Regression: name = ".." passed, and the run directory output_dir/.. was the folder
    /// above the output folder.
    #[test]
    fn the_run_name_is_one_folder() {
        for name in ["", ".", "..", "a/b", "a\\u0000b"] {
            let text = format!("[run]\nname = \"{name}\"\nduration = 10\n");
            let err = ExperimentFile::parse(&text, Path::new("e.toml"))
                .unwrap()
                .run()
                .unwrap_err()
                .to_string();
            assert!(err.starts_with("e.toml: run.name: "), "{err}");
            assert!(err.contains("must be a folder name"), "{err}");
        }
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

    #[test]
    fn bad_toml_names_the_line() {
        let err = ExperimentFile::parse("[run]\nname = \n", Path::new("e.toml")).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("e.toml: line 2: not valid TOML"),
            "{err}"
        );
    }

    #[test]
    fn no_coupling_table_means_standalone() {
        let text = "[run]\nname = \"a\"\nduration = 10\n";
        assert!(parse(text).unwrap().is_none());
    }
}
