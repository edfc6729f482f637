//! One exchange of the `[[coupling.exchange]]` list: its two ends, grid point, period, lag,
//! time operation, levels, halo and boundary, and the checks each entry passes.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::{check_duration, is_multiple, DurationValue, Problem};

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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawExchange {
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

pub(super) fn validate_exchange(
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

pub(super) fn check_unique_endpoints(exchanges: &[Exchange], problems: &mut Vec<Problem>) {
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
