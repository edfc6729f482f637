//! `closure score` and `closure figures`: coarse runs against the coarse-grained truth.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use closure::dataset::Snapshots;
use closure::samples::CoarseFile;
use ocean_model::params::Params;

use super::params;

#[derive(clap::Args)]
pub struct ScoreArgs {
    /// Coarse-grained truth samples.
    #[arg(long, value_name = "FILE")]
    pub truth: PathBuf,
    /// The period scored, in model days: FIRST:END.
    #[arg(long, value_name = "A:B")]
    pub days: String,
    /// NAME=RUN_DIR of each coarse run (its snapshots*.nc, daily); the first is the
    /// reference of the normalised scores (no closure).
    #[arg(long = "run", value_name = "NAME=DIR", required = true)]
    pub runs: Vec<String>,
    /// The coarse experiment file (grid).
    #[arg(long, value_name = "TOML")]
    pub config: PathBuf,
    /// Write the scores (JSON) here, and a Markdown table beside it.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}

#[derive(clap::Args)]
pub struct FiguresArgs {
    #[arg(long, value_name = "FILE")]
    pub truth: PathBuf,
    #[arg(long, value_name = "A:B")]
    pub days: String,
    #[arg(long = "run", value_name = "NAME=DIR")]
    pub runs: Vec<String>,
    #[arg(long, value_name = "TOML")]
    pub config: PathBuf,
    /// Folder of the PNG files.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// The offline R² map written by `train` (NAME.r2.nc beside the weights).
    #[arg(long, value_name = "FILE")]
    pub r2: Option<PathBuf>,
}

/// One run's (or the truth's) u, v, η over the days [a, b), float64 [N, ny, nx].
fn series_from_snapshots(
    dir: &Path,
    p: &Params,
    days: (f64, f64),
) -> Result<(closure::score::Series, Vec<f64>)> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| dir.display().to_string())?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("snapshots") && n.ends_with(".nc"))
        })
        .collect();
    files.sort();
    let (mut u, mut v, mut eta, mut times) = (vec![], vec![], vec![], vec![]);
    for f in &files {
        let mut snaps = Snapshots::open(f, p)?;
        for k in 0..snaps.times.len() {
            let day = snaps.times[k] / 86_400.0;
            if day >= days.0 && day < days.1 && !times.iter().any(|t: &f64| (t - day).abs() < 1e-6)
            {
                let r = snaps.record(k)?;
                u.extend(r.u.data);
                v.extend(r.v.data);
                eta.extend(r.eta.data);
                times.push(day);
            }
        }
    }
    if times.is_empty() {
        bail!(
            "{}: no snapshot between day {} and {}",
            dir.display(),
            days.0,
            days.1
        );
    }
    let shape = [times.len() as i64, p.ny as i64, p.nx as i64];
    let t = |d: Vec<f64>| tch::Tensor::from_slice(&d).view(shape);
    Ok((
        closure::score::Series {
            u: t(u),
            v: t(v),
            eta: t(eta),
            dx: p.dx(),
        },
        times,
    ))
}

/// `FIRST:END` in days.
fn days(text: &str) -> Result<(f64, f64)> {
    text.split_once(':')
        .and_then(|(x, y)| Some((x.parse::<f64>().ok()?, y.parse::<f64>().ok()?)))
        .with_context(|| format!("--days {text:?}: expected FIRST:END in days"))
}

/// The coarse-grained truth over the days [d0, d1), and each run's `NAME=DIR` series.
fn truth_and_runs(
    truth: &Path,
    runs: &[String],
    p: &Params,
    (d0, d1): (f64, f64),
) -> Result<(
    closure::score::Series,
    Vec<(String, closure::score::Series)>,
)> {
    let file = CoarseFile::read(truth)?;
    let keep: Vec<i64> = (0..file.times.len())
        .filter(|&k| {
            let d = file.times[k] / 86_400.0;
            d >= d0 && d < d1
        })
        .map(|k| k as i64)
        .collect();
    if keep.is_empty() {
        bail!(
            "{}: no truth sample between day {d0} and {d1}",
            truth.display()
        );
    }
    let idx = tch::Tensor::from_slice(&keep);
    let pick = |t: &tch::Tensor| t.index_select(0, &idx).to_kind(tch::Kind::Double);
    let truth_series = closure::score::Series {
        u: pick(&file.velocity.select(1, 0)),
        v: pick(&file.velocity.select(1, 1)),
        eta: pick(&file.eta),
        dx: p.dx(),
    };
    let mut out = Vec::new();
    for spec in runs {
        let (name, dir) = spec
            .split_once('=')
            .with_context(|| format!("--run {spec:?}: expected NAME=DIR"))?;
        let (series, times) = series_from_snapshots(Path::new(dir), p, (d0, d1))?;
        if times.len() != keep.len() {
            eprintln!(
                "closure: warning: {name} has {} daily snapshots in the period, the truth {}",
                times.len(),
                keep.len()
            );
        }
        out.push((name.to_string(), series));
    }
    Ok((truth_series, out))
}

/// `closure figures`: KE series, spectra, maps and the offline R² map as PNG files.
pub(crate) fn figures(a: &FiguresArgs) -> Result<()> {
    use closure::figures::{lines, map_grid, Map};
    use tch::Kind;
    let p = params(&a.config)?;
    let (d0, d1) = days(&a.days)?;
    let (truth, runs) = truth_and_runs(&a.truth, &a.runs, &p, (d0, d1))?;
    std::fs::create_dir_all(&a.out)?;
    let all: Vec<(String, &closure::score::Series)> =
        std::iter::once(("truth".to_string(), &truth))
            .chain(runs.iter().map(|(n, s)| (n.clone(), s)))
            .collect();
    let to_vec = |t: tch::Tensor| {
        Vec::<f64>::try_from(t.to_kind(Kind::Double).flatten(0, -1)).unwrap_or_default()
    };
    // Basin-mean KE per day.
    let ke: Vec<(String, Vec<(f64, f64)>)> = all
        .iter()
        .map(|(n, s)| {
            let series = to_vec(s.ke().mean_dim(&[1i64, 2][..], false, Kind::Double));
            (
                n.clone(),
                series
                    .iter()
                    .enumerate()
                    .map(|(k, &e)| (d0 + k as f64, e))
                    .collect(),
            )
        })
        .collect();
    lines(
        &a.out.join("closure_ke.png"),
        "basin-mean kinetic energy of the 60 km runs and the truth",
        ("model day", "KE (m² s⁻²)"),
        &ke,
        false,
    )?;
    let spectra: Vec<(String, Vec<(f64, f64)>)> = all
        .iter()
        .map(|(n, s)| {
            let (k, e) = s.spectrum();
            (n.clone(), k.iter().map(|k| k * 1e3).zip(e).collect())
        })
        .collect();
    lines(
        &a.out.join("closure_spectra.png"),
        "time-mean isotropic KE spectrum",
        ("k (rad km⁻¹)", "E(k) (m³ s⁻²)"),
        &spectra,
        true,
    )?;
    let mean_ke: Vec<Vec<f64>> = all
        .iter()
        .map(|(_, s)| to_vec(s.ke().mean_dim(0, false, Kind::Double)))
        .collect();
    let std_eta: Vec<Vec<f64>> = all
        .iter()
        .map(|(_, s)| to_vec(s.eta.std_dim(0, false, false)))
        .collect();
    let hi = |v: &[Vec<f64>]| v[0].iter().copied().fold(0.0, f64::max);
    fn row<'a>(v: &'a [Vec<f64>], names: &[String], what: &str, p: &Params) -> Vec<Map<'a>> {
        v.iter()
            .zip(names)
            .map(|(values, n)| Map {
                title: format!("{what}: {n}"),
                nx: p.nx,
                ny: p.ny,
                values,
            })
            .collect()
    }
    let names: Vec<String> = all.iter().map(|(n, _)| n.clone()).collect();
    map_grid(
        &a.out.join("closure_maps.png"),
        "time-mean KE (top) and η std (bottom)",
        &[
            (row(&mean_ke, &names, "KE", &p), 0.0, hi(&mean_ke), false),
            (row(&std_eta, &names, "η std", &p), 0.0, hi(&std_eta), false),
        ],
    )?;
    if let Some(r2) = &a.r2 {
        let mut r = netcdf3::FileReader::open(r2)
            .map_err(|e| anyhow::anyhow!("{}: {e:?}", r2.display()))?;
        let sx = r
            .read_var_f64("r2_sx")
            .map_err(|e| anyhow::anyhow!("{}: {e:?}", r2.display()))?;
        let sy = r
            .read_var_f64("r2_sy")
            .map_err(|e| anyhow::anyhow!("{}: {e:?}", r2.display()))?;
        let maps = vec![
            Map {
                title: "R² of sx".into(),
                nx: p.nx,
                ny: p.ny,
                values: &sx,
            },
            Map {
                title: "R² of sy".into(),
                nx: p.nx,
                ny: p.ny,
                values: &sy,
            },
        ];
        map_grid(
            &a.out.join("closure_r2.png"),
            "offline R² of the mean forcing (−1 blue, 0 white, 1 red)",
            &[(maps, -1.0, 1.0, true)],
        )?;
    }
    println!(
        "closure figures: {}/closure_{{ke,spectra,maps,r2}}.png",
        a.out.display()
    );
    Ok(())
}

/// `closure score`: the Ross et al. metrics of each run against the truth, as JSON and a
/// Markdown table.
pub(crate) fn score(a: &ScoreArgs) -> Result<()> {
    let p = params(&a.config)?;
    let (d0, d1) = days(&a.days)?;
    let (truth, runs) = truth_and_runs(&a.truth, &a.runs, &p, (d0, d1))?;
    let reference = runs[0].0.clone();
    let scores = closure::score::score_all(&runs, &truth, &reference);
    std::fs::write(
        &a.out,
        serde_json::to_string_pretty(&serde_json::json!({
            "truth": a.truth.display().to_string(),
            "days": [d0, d1],
            "reference": reference,
            "metrics": closure::score::METRICS,
            "runs": scores,
        }))? + "\n",
    )?;
    let mut md = format!(
        "| run | {} | median |\n|---|{}---|\n",
        closure::score::METRICS.join(" | "),
        "---|".repeat(closure::score::METRICS.len())
    );
    for s in &scores {
        let cells: Vec<String> = s.scores.iter().map(|x| format!("{x:.2}")).collect();
        md += &format!(
            "| {} | {} | {:.2} |\n",
            s.run,
            cells.join(" | "),
            s.median_score
        );
    }
    std::fs::write(a.out.with_extension("md"), &md)?;
    print!("{md}");
    Ok(())
}
