//! The experiment file's `[analysis]` table: a plain serde struct, then one validation
//! pass against `[coupling]` that reports every problem with its key. No table, no analysis.
//!
//! ```toml
//! [analysis]
//! interval = "1d"              # sample every this (a multiple of the ml.u period), from t = 0
//! fields = ["u", "v"]          # received fields whose mean and std maps are kept
//! statistics = true            # Welford mean/variance maps, MKE and EKE
//! spectrum = true              # time-averaged isotropic KE spectrum of u, v
//! transfer = true              # cospectrum of u·S (received velocity × returned forcing)
//! window = "hann"              # hann | none: taper of the spectra on a closed basin
//! dx = 60000.0                 # grid spacing, m (wavenumbers in rad m⁻¹, vorticity in s⁻¹)
//! dy = 60000.0
//! pod_rank = 16                # rank k of the streaming POD (0: no POD)
//! pod_of = "vorticity"         # vorticity | velocity (u and v stacked)
//! checkpoint_interval = "90d"  # = [ocean.output] checkpoint_interval: state kept for restarts
//! ```

use coupler::config::Period;
use coupler::CouplingConfig;
use experiment::{did_you_mean, is_multiple, ConfigError, DurationValue, ExperimentFile, Problem};
use serde::Deserialize;

/// The received fields the analysis can read: the engine's two input channels.
pub const FIELDS: [&str; 2] = ["u", "v"];

/// The `[analysis]` table as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAnalysis {
    interval: Option<DurationValue>,
    fields: Option<Vec<String>>,
    statistics: Option<bool>,
    spectrum: Option<bool>,
    transfer: Option<bool>,
    window: Option<Window>,
    dx: f64,
    dy: f64,
    pod_rank: Option<usize>,
    pod_of: Option<PodField>,
    checkpoint_interval: Option<DurationValue>,
}

/// The taper applied before the spectra's FFT.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Window {
    /// Separable 2-D Hann taper after removing the basin mean: the walls' jump in the
    /// tangential velocity would otherwise leak a k⁻² tail into every wavenumber.
    Hann,
    /// No taper (periodic fields).
    None,
}

/// What one POD snapshot holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PodField {
    /// ζ = ∂v/∂x − ∂u/∂y at the cell corners, from the received u, v and their halo.
    Vorticity,
    /// u and v stacked.
    Velocity,
}

/// The streaming POD's settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PodConfig {
    pub rank: usize,
    pub of: PodField,
}

/// The validated `[analysis]` table.
#[derive(Debug, Clone, PartialEq)]
pub struct AnalysisConfig {
    /// Seconds between samples; the samples are the coupling times that are multiples of it.
    pub interval_s: f64,
    /// Indices into [`FIELDS`] of the fields with mean and std maps.
    pub fields: Vec<usize>,
    pub statistics: bool,
    pub spectrum: bool,
    pub transfer: bool,
    pub window: Window,
    /// Grid spacings, m.
    pub dx: f64,
    pub dy: f64,
    pub pod: Option<PodConfig>,
    /// Seconds between saved states (restart points); `None`: at the end only.
    pub checkpoint_interval_s: Option<f64>,
}

/// The largest POD rank: the small factors are `(k+1)²` and all-reduced every sample.
pub const MAX_POD_RANK: usize = 256;

impl AnalysisConfig {
    /// Reads `[analysis]` of `exp` and checks it against `coupling`; `Ok(None)` when absent.
    pub fn from_experiment(
        exp: &ExperimentFile,
        coupling: &CouplingConfig,
    ) -> Result<Option<Self>, ConfigError> {
        let Some(raw) = exp.section::<RawAnalysis>("analysis")? else {
            return Ok(None);
        };
        let mut problems = Vec::new();
        let config = validate(raw, coupling, &mut problems);
        if problems.is_empty() {
            Ok(Some(config))
        } else {
            Err(ConfigError {
                file: exp.path().to_path_buf(),
                problems,
            })
        }
    }

    /// Whether a sample is taken at coupling time `t`.
    pub fn samples_at(&self, t: f64) -> bool {
        is_multiple(t, self.interval_s)
    }

    /// Whether the state is saved (a restart point) at model time `t`.
    pub fn saves_at(&self, t: f64) -> bool {
        self.checkpoint_interval_s
            .is_some_and(|c| t > 0.0 && is_multiple(t, c))
    }
}

fn problem(problems: &mut Vec<Problem>, key: &str, message: String) {
    problems.push(Problem {
        key: if key.is_empty() {
            "analysis".into()
        } else {
            format!("analysis.{key}")
        },
        message,
    });
}

fn seconds(v: &DurationValue, key: &str, problems: &mut Vec<Problem>) -> Option<f64> {
    match v.seconds() {
        Ok(s) if s.is_finite() && s > 0.0 => Some(s),
        Ok(s) => {
            problem(
                problems,
                key,
                format!("{s} s: expected a positive duration"),
            );
            None
        }
        Err(message) => {
            problem(problems, key, message);
            None
        }
    }
}

fn validate(
    raw: RawAnalysis,
    coupling: &CouplingConfig,
    problems: &mut Vec<Problem>,
) -> AnalysisConfig {
    let received = |field: &str| {
        coupling
            .exchanges
            .iter()
            .find(|e| e.dst.component == "ml" && e.dst.field == field)
    };
    let (u, v) = (received("u"), received("v"));
    let period = match u.map(|e| e.period) {
        Some(Period::Every(p)) => Some(p),
        _ => {
            problem(
                problems,
                "",
                "the analysis reads ml.u and ml.v, but no periodic exchange sends ml.u".into(),
            );
            None
        }
    };
    let interval_s = match &raw.interval {
        Some(i) => seconds(i, "interval", problems),
        None => period,
    };
    if let (Some(i), Some(p)) = (interval_s, period) {
        if !is_multiple(i, p) || i < p {
            problem(
                problems,
                "interval",
                format!("{i} s is not a multiple of the ml.u coupling period ({p} s): samples are coupling times"),
            );
        }
    }
    let checkpoint_interval_s = raw
        .checkpoint_interval
        .as_ref()
        .and_then(|c| seconds(c, "checkpoint_interval", problems));
    if let (Some(c), Some(i)) = (checkpoint_interval_s, interval_s) {
        if !is_multiple(c, i) || c < i {
            problem(
                problems,
                "checkpoint_interval",
                format!("{c} s is not a multiple of the interval ({i} s)"),
            );
        }
    }
    let mut fields = Vec::new();
    for (n, name) in raw
        .fields
        .unwrap_or_else(|| FIELDS.map(String::from).to_vec())
        .iter()
        .enumerate()
    {
        match FIELDS.iter().position(|f| f == name) {
            Some(k) if !fields.contains(&k) => fields.push(k),
            Some(_) => problem(problems, &format!("fields[{n}]"), format!("{name:?} is listed twice")),
            None => problem(
                problems,
                &format!("fields[{n}]"),
                format!(
                    "{name:?} is not a field the ML server receives into its model input; expected one of {}{}",
                    FIELDS.join(", "),
                    did_you_mean(name, &FIELDS)
                ),
            ),
        }
    }
    for (key, d) in [("dx", raw.dx), ("dy", raw.dy)] {
        if !(d.is_finite() && d > 0.0) {
            problem(
                problems,
                key,
                format!("{d}: expected a grid spacing > 0 in metres"),
            );
        }
    }
    let rank = raw.pod_rank.unwrap_or(16);
    let of = raw.pod_of.unwrap_or(PodField::Vorticity);
    let cells = coupling.grid.map_or(usize::MAX, |(nx, ny)| nx * ny);
    if rank > MAX_POD_RANK.min(cells) {
        problem(
            problems,
            "pod_rank",
            format!("{rank}: expected 0 (no POD) to {}", MAX_POD_RANK.min(cells)),
        );
    }
    for e in [u, v].into_iter().flatten() {
        if e.levels != 1 {
            problem(
                problems,
                "",
                format!(
                    "{} ({}) has {} levels: the analysis reads one level",
                    e.key(),
                    e.dst,
                    e.levels
                ),
            );
        }
        if rank > 0 && of == PodField::Vorticity && e.halo == 0 {
            problem(
                problems,
                "pod_of",
                format!(
                    "\"vorticity\" needs a halo of 1 on {} ({}), which has halo = 0; or use pod_of = \"velocity\"",
                    e.dst,
                    e.key()
                ),
            );
        }
    }
    if v.is_none() {
        problem(
            problems,
            "",
            "the analysis reads ml.u and ml.v, but no exchange sends ml.v".into(),
        );
    }
    AnalysisConfig {
        interval_s: interval_s.unwrap_or(1.0),
        fields,
        statistics: raw.statistics.unwrap_or(true),
        spectrum: raw.spectrum.unwrap_or(true),
        transfer: raw.transfer.unwrap_or(true),
        window: raw.window.unwrap_or(Window::Hann),
        dx: raw.dx,
        dy: raw.dy,
        pod: (rank > 0).then_some(PodConfig { rank, of }),
        checkpoint_interval_s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    const COUPLING: &str = r#"
        [run]
        name = "t"
        duration = "10d"
        [coupling]
        grid = [32, 24]
        [[coupling.exchange]]
        from = "ocean.u"
        to = "ml.u"
        grid = "U"
        period = "2h"
        halo = 1
        [[coupling.exchange]]
        from = "ocean.v"
        to = "ml.v"
        grid = "V"
        period = "2h"
        halo = 1
    "#;

    fn parse(analysis: &str) -> Result<Option<AnalysisConfig>, String> {
        let text = format!("{COUPLING}\n{analysis}");
        let exp = ExperimentFile::parse(&text, Path::new("exp.toml")).map_err(|e| e.to_string())?;
        let coupling = exp
            .coupling()
            .map_err(|e| e.to_string())?
            .expect("coupling");
        AnalysisConfig::from_experiment(&exp, &coupling).map_err(|e| e.to_string())
    }

    #[test]
    fn no_table_is_no_analysis() {
        assert_eq!(parse(""), Ok(None));
    }

    #[test]
    fn defaults_sample_every_coupling_time() {
        let c = parse("[analysis]\ndx = 1e4\ndy = 1e4\n").unwrap().unwrap();
        assert_eq!(c.interval_s, 7200.0);
        assert_eq!(c.fields, vec![0, 1]);
        assert_eq!(
            c.pod,
            Some(PodConfig {
                rank: 16,
                of: PodField::Vorticity
            })
        );
        assert!(c.samples_at(14400.0) && !c.samples_at(3600.0));
        assert!(!c.saves_at(7200.0));
    }

    #[test]
    fn typos_name_the_file_the_key_and_a_suggestion() {
        let err = parse("[analysis]\ndx = 1e4\ndy = 1e4\nintervall = \"1d\"\n").unwrap_err();
        assert!(
            err.contains("exp.toml") && err.contains("did you mean `interval`?"),
            "{err}"
        );
        let err = parse("[analysis]\ndx = 1e4\ndy = 1e4\nfields = [\"uu\"]\n").unwrap_err();
        assert!(
            err.contains("analysis.fields[0]") && err.contains("did you mean `u`?"),
            "{err}"
        );
        let err = parse("[analysis]\ndx = 1e4\ndy = 1e4\nwindow = \"han\"\n").unwrap_err();
        assert!(
            err.contains("analysis.window") && err.contains("did you mean `hann`?"),
            "{err}"
        );
    }

    #[test]
    fn every_problem_is_reported_with_its_key() {
        let err = parse(
            "[analysis]\ndx = -1.0\ndy = 1e4\ninterval = \"3h\"\npod_rank = 100000\ncheckpoint_interval = \"5h\"\n",
        )
        .unwrap_err();
        for key in [
            "analysis.dx",
            "analysis.interval: 10800 s is not a multiple",
            "analysis.pod_rank",
            "analysis.checkpoint_interval",
        ] {
            assert!(err.contains(key), "{key} missing from: {err}");
        }
    }

    #[test]
    fn vorticity_needs_a_halo() {
        let text = COUPLING.replace("halo = 1", "halo = 0");
        let exp = ExperimentFile::parse(
            &format!("{text}\n[analysis]\ndx = 1.0\ndy = 1.0\n"),
            Path::new("e.toml"),
        )
        .unwrap();
        let coupling = exp.coupling().unwrap().unwrap();
        let err = AnalysisConfig::from_experiment(&exp, &coupling)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("analysis.pod_of") && err.contains("halo = 0"),
            "{err}"
        );
    }
}
