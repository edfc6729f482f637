//! `closure`: the stages of the learned-closure pipeline.
//!
//! ```text
//! closure regrid --checkpoint C.nc --from coarse.toml --to fine.toml --out F.nc
//! closure coarse-grain --fine fine.toml --coarse coarse.toml --snapshots S.nc --out coarse.nc
//! closure train --data coarse_a.nc [--data coarse_b.nc] --out weights.safetensors [--epochs N …]
//! ```

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use closure::card::{DataCard, ModelCard};
use closure::dataset::{coarse_dataset, CoarseWriter, Provenance, Snapshots};
use closure::filter::Coarsening;
use closure::network::{Loss, Network};
use closure::regrid::refine;
use closure::samples::{rms, CoarseFile};
use closure::split::{Period, TRUTH};
use closure::stagger::{Axis, Global};
use closure::target::SubgridForcing;
use closure::train::Settings;
use experiment::ExperimentFile;
use ocean_model::checkpoint;
use ocean_model::config::OceanConfig;
use ocean_model::field::Stagger;
use ocean_model::params::Params;

#[derive(Parser)]
#[command(
    name = "closure",
    version,
    about = "eddylink's learned-closure pipeline"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Interpolate a checkpoint onto a finer grid of the same basin (the truth run's start).
    Regrid {
        /// Checkpoint of a run of the `--from` experiment.
        #[arg(long, value_name = "FILE")]
        checkpoint: PathBuf,
        /// The coarse experiment file.
        #[arg(long, value_name = "TOML")]
        from: PathBuf,
        /// The fine experiment file (its grid must be a whole multiple of the coarse one).
        #[arg(long, value_name = "TOML")]
        to: PathBuf,
        /// The checkpoint to write (step 0, time 0, the fine time step).
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Filter and coarsen fine snapshots; compute the subgrid forcing of each.
    CoarseGrain {
        /// The fine (truth) experiment file.
        #[arg(long, value_name = "TOML")]
        fine: PathBuf,
        /// The coarse experiment file.
        #[arg(long, value_name = "TOML")]
        coarse: PathBuf,
        /// The truth run's snapshots.nc.
        #[arg(long, value_name = "FILE")]
        snapshots: PathBuf,
        /// The coarse samples to write (NetCDF).
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Write a coarse checkpoint from one coarse-grained truth sample (an online run's start).
    Init {
        /// Coarse samples (`coarse-grain` output).
        #[arg(long, value_name = "FILE")]
        data: PathBuf,
        /// Model day of the sample to start from.
        #[arg(long)]
        day: f64,
        /// The coarse experiment file (grid and time step).
        #[arg(long, value_name = "TOML")]
        config: PathBuf,
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Score coarse runs against the coarse-grained truth over a period (Ross et al. metrics).
    Score(ScoreArgs),
    /// Draw the evaluation's figures (KE series, spectra, maps, offline R² map).
    Figures(FiguresArgs),
    /// Train the FullyCNN on coarse samples (split by time as closure::split::TRUTH says).
    Train(TrainArgs),
}

#[derive(clap::Args)]
struct ScoreArgs {
    /// Coarse-grained truth samples.
    #[arg(long, value_name = "FILE")]
    truth: PathBuf,
    /// The period scored, in model days: FIRST:END.
    #[arg(long, value_name = "A:B")]
    days: String,
    /// NAME=RUN_DIR of each coarse run (its snapshots*.nc, daily); the first is the
    /// reference of the normalised scores (no closure).
    #[arg(long = "run", value_name = "NAME=DIR", required = true)]
    runs: Vec<String>,
    /// The coarse experiment file (grid).
    #[arg(long, value_name = "TOML")]
    config: PathBuf,
    /// Write the scores (JSON) here, and a Markdown table beside it.
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
}

#[derive(clap::Args)]
struct FiguresArgs {
    #[arg(long, value_name = "FILE")]
    truth: PathBuf,
    #[arg(long, value_name = "A:B")]
    days: String,
    #[arg(long = "run", value_name = "NAME=DIR")]
    runs: Vec<String>,
    #[arg(long, value_name = "TOML")]
    config: PathBuf,
    /// Folder of the PNG files.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// The offline R² map written by `train` (NAME.r2.nc beside the weights).
    #[arg(long, value_name = "FILE")]
    r2: Option<PathBuf>,
}

#[derive(clap::Args)]
struct TrainArgs {
    /// Coarse sample files (`coarse-grain` output); their samples are split by time.
    #[arg(long = "data", value_name = "FILE", required = true)]
    data: Vec<PathBuf>,
    /// The weights to write (.safetensors); the model card goes beside them (.json, .md).
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    #[arg(long, default_value_t = 20)]
    epochs: usize,
    #[arg(long, default_value_t = 8)]
    batch: usize,
    #[arg(long, default_value_t = 5e-4)]
    lr: f64,
    /// Epochs after which the learning rate drops ×0.1 (GZ21: 10, 20 of 100).
    #[arg(long, value_delimiter = ',', default_value = "12,17")]
    decay_at: Vec<usize>,
    #[arg(long, default_value_t = 0)]
    seed: i64,
    #[arg(long, value_enum, default_value_t = Loss::Gaussian)]
    loss: Loss,
    /// CPU threads for libtorch (results are reproducible for a fixed count).
    #[arg(long, default_value_t = 2)]
    threads: i32,
    /// auto (a GPU when one is usable) | cpu | cuda.
    #[arg(long, default_value = "auto")]
    device: String,
    /// Folder of the resumable per-epoch checkpoint [default: OUT without extension + .ckpt].
    #[arg(long, value_name = "DIR")]
    checkpoints: Option<PathBuf>,
    /// Train, validation and test periods in days [default: closure::split::TRUTH].
    #[arg(long, value_name = "A:B,C:D,E:F", value_parser = closure::split::Split::parse)]
    split: Option<closure::split::Split>,
    /// Only this many training samples (evenly spaced; for quick tests).
    #[arg(long)]
    max_train: Option<usize>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Regrid {
            checkpoint,
            from,
            to,
            out,
        } => regrid(&checkpoint, &from, &to, &out),
        Command::CoarseGrain {
            fine,
            coarse,
            snapshots,
            out,
        } => coarse_grain(&fine, &coarse, &snapshots, &out),
        Command::Train(args) => train(&args),
        Command::Init {
            data,
            day,
            config,
            out,
        } => init(&data, day, &config, &out),
        Command::Score(args) => score(&args),
        Command::Figures(args) => figures(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("closure: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The model parameters an experiment file resolves to.
fn params(path: &Path) -> Result<Params> {
    let exp = ExperimentFile::load(path)?;
    let run = exp.run()?;
    let ocean: OceanConfig = exp.section("ocean")?.unwrap_or_default();
    let setup = ocean
        .resolve(run.duration_s, PathBuf::new())
        .with_context(|| path.display().to_string())?;
    Ok(setup.params)
}

/// The whole-multiple factor between two grids of one basin.
fn factor(fine: &Params, coarse: &Params) -> Result<usize> {
    let r = fine.nx / coarse.nx;
    if r < 1
        || fine.nx != r * coarse.nx
        || fine.ny != r * coarse.ny
        || fine.lx != coarse.lx
        || fine.ly != coarse.ly
    {
        bail!(
            "the fine grid ({} × {}, {} × {} m) is not a whole multiple of the coarse one ({} × {}, {} × {} m) over the same basin",
            fine.nx, fine.ny, fine.lx, fine.ly, coarse.nx, coarse.ny, coarse.lx, coarse.ly
        );
    }
    Ok(r)
}

fn regrid(ckpt: &Path, from: &Path, to: &Path, out: &Path) -> Result<()> {
    let (coarse, fine) = (params(from)?, params(to)?);
    let r = factor(&fine, &coarse)?;
    let ck = checkpoint::read(ckpt, &coarse)?;
    let staggers = [Stagger::U, Stagger::V, Stagger::T, Stagger::U, Stagger::V];
    let arrays: Vec<Vec<f64>> = ck
        .arrays
        .iter()
        .zip(staggers)
        .enumerate()
        .map(|(k, (a, s))| {
            if k >= 3 {
                // No forcing was received yet on the new grid.
                return vec![0.0; fine.cells()];
            }
            let g = Global::new(coarse.nx, coarse.ny, Axis::of(s, coarse.walls), a.clone());
            refine(&g, r).data
        })
        .collect();
    let refs = [
        &arrays[0][..],
        &arrays[1],
        &arrays[2],
        &arrays[3],
        &arrays[4],
    ];
    checkpoint::write(out, &fine, 0, 0.0, refs)?;
    println!(
        "closure regrid: {} (day {:.0} of a {} × {} run) → {} ({} × {}, dt = {} s)",
        ckpt.display(),
        ck.time_s / 86_400.0,
        coarse.nx,
        coarse.ny,
        out.display(),
        fine.nx,
        fine.ny,
        fine.dt
    );
    Ok(())
}

fn coarse_grain(fine_toml: &Path, coarse_toml: &Path, snapshots: &Path, out: &Path) -> Result<()> {
    let (fine, coarse) = (params(fine_toml)?, params(coarse_toml)?);
    let r = factor(&fine, &coarse)?;
    let mut snaps = Snapshots::open(snapshots, &fine)?;
    let n = snaps.times.len();
    let coarsening = Coarsening::gz21(r);
    let how = Provenance {
        source: &format!(
            "eddylink closure {} coarse-grain of {} ({} × {}) onto {} × {}",
            env!("CARGO_PKG_VERSION"),
            snapshots.display(),
            fine.nx,
            fine.ny,
            coarse.nx,
            coarse.ny
        ),
        factor: r,
        filter_sigma: r as f64 / 2.0,
        target: "total: S = C(RHS_fine(u, v, eta)) - RHS_coarse(C(u), C(v), C(eta)), added to the coarse tendency",
    };
    let ds = coarse_dataset(out, &coarse, n, &how)?;
    let mut writer = CoarseWriter::create(out, &coarse, &ds)?;
    let mut forcing = SubgridForcing::new(&fine, &coarse, coarsening);
    for k in 0..n {
        let sample = forcing.sample(&snaps.record(k)?);
        writer.push(snaps.times[k], &sample)?;
        if (k + 1) % 50 == 0 || k + 1 == n {
            eprintln!("closure coarse-grain: {}/{n} samples", k + 1);
        }
    }
    writer.close()?;
    println!("closure coarse-grain: {n} samples → {}", out.display());
    Ok(())
}

fn train(a: &TrainArgs) -> Result<()> {
    tch::set_num_threads(a.threads);
    let device = match a.device.as_str() {
        "auto" => ml_server::device::select(ml_server::config::DeviceRequest::Auto, 0)?,
        "cpu" => tch::Device::Cpu,
        "cuda" => ml_server::device::select(ml_server::config::DeviceRequest::Cuda(None), 0)?,
        other => bail!("--device {other}: use auto, cpu or cuda"),
    };
    let files = a
        .data
        .iter()
        .map(|p| CoarseFile::read(p))
        .collect::<Result<Vec<_>>>()?;
    let (nx, ny) = (files[0].nx, files[0].ny);
    if files.iter().any(|f| (f.nx, f.ny) != (nx, ny)) {
        bail!("the --data files are on different grids");
    }
    // One table of samples: (file, record) in time order, split by time.
    let mut all: Vec<(usize, usize, f64)> = files
        .iter()
        .enumerate()
        .flat_map(|(f, file)| file.times.iter().enumerate().map(move |(k, &t)| (f, k, t)))
        .collect();
    all.sort_by(|x, y| x.2.total_cmp(&y.2));
    all.dedup_by(|x, y| x.2 == y.2);
    let times: Vec<f64> = all.iter().map(|s| s.2).collect();
    let split = a.split.clone().unwrap_or(TRUTH);
    let of = |p: Period| {
        split
            .indices(&times, p)
            .into_iter()
            .map(|k| all[k])
            .collect::<Vec<_>>()
    };
    let (mut train_set, val_set, test_set) =
        (of(Period::Train), of(Period::Validation), of(Period::Test));
    if let Some(m) = a.max_train.filter(|&m| m < train_set.len()) {
        let n = train_set.len();
        train_set = (0..m).map(|k| train_set[k * n / m]).collect();
    }
    if train_set.is_empty() || val_set.is_empty() {
        bail!(
            "no training or validation samples in the data ({} samples, days {:.0}–{:.0}); the split wants train {:?}, validation {:?} (days)",
            times.len(),
            times.first().map_or(0.0, |t| t / 86_400.0),
            times.last().map_or(0.0, |t| t / 86_400.0),
            split.train,
            split.validation
        );
    }
    // Samples of one period as tensors (files are concatenated in the order given).
    let gather = |set: &[(usize, usize, f64)], ins: f64, outs: f64| {
        let parts: Vec<closure::samples::Samples> = files
            .iter()
            .enumerate()
            .filter_map(|(f, file)| {
                let idx: Vec<usize> = set.iter().filter(|s| s.0 == f).map(|s| s.1).collect();
                (!idx.is_empty()).then(|| file.select(&idx, ins, outs))
            })
            .collect();
        closure::samples::Samples {
            x: tch::Tensor::cat(
                &parts
                    .iter()
                    .map(|p| p.x.shallow_clone())
                    .collect::<Vec<_>>(),
                0,
            ),
            y: tch::Tensor::cat(
                &parts
                    .iter()
                    .map(|p| p.y.shallow_clone())
                    .collect::<Vec<_>>(),
                0,
            ),
            times: parts.iter().flat_map(|p| p.times.clone()).collect(),
        }
    };
    // Scales from the training period only: inputs and targets of unit RMS.
    let raw = gather(&train_set, 1.0, 1.0);
    let input_scale = round2(1.0 / rms(&raw.x.narrow(2, 10, ny as i64).narrow(3, 10, nx as i64)));
    let output_scale = round2(rms(&raw.y));
    drop(raw);
    let train_data = gather(&train_set, input_scale, output_scale);
    let val_data = gather(&val_set, input_scale, output_scale);
    let test_data = (!test_set.is_empty()).then(|| gather(&test_set, input_scale, output_scale));
    eprintln!(
        "closure train: {} training, {} validation, {} test samples on {nx} × {ny}; input_scale {input_scale}, output_scale {output_scale:e}; {device:?}",
        train_data.len(),
        val_data.len(),
        test_data.as_ref().map_or(0, |t| t.len())
    );
    let mask = files[0].mask(device);
    let settings = Settings {
        epochs: a.epochs,
        batch: a.batch,
        learning_rate: a.lr,
        decay_at: a.decay_at.clone(),
        seed: a.seed,
        loss: a.loss,
        clip_norm: 1.0,
    };
    tch::manual_seed(a.seed);
    let mut net = Network::new(device);
    let ckpt = a
        .checkpoints
        .clone()
        .unwrap_or_else(|| a.out.with_extension("ckpt"));
    let history_for_card = closure::train::train(
        &mut net,
        &train_data,
        &val_data,
        &mask,
        &settings,
        Some(&ckpt),
    )?;
    if let Some(dir) = a.out.parent() {
        std::fs::create_dir_all(dir)?;
    }
    net.vs.save(&a.out)?;
    let cpu_mask = mask.to_device(tch::Device::Cpu);
    let skill_of = |d: &closure::samples::Samples| {
        let mean = closure::offline::predict_mean(&net, d, settings.batch);
        closure::offline::skill(&mean, &d.y, &cpu_mask)
    };
    let span = |set: &[(usize, usize, f64)]| {
        (
            set[0].2 / 86_400.0,
            set[set.len() - 1].2 / 86_400.0,
            set.len(),
        )
    };
    let card = ModelCard {
        model: "GZ21 FullyCNN (valid padding) trained on eddylink's double gyre".into(),
        weights: a.out.display().to_string(),
        made_by: std::env::args().collect::<Vec<_>>().join(" "),
        data: DataCard {
            files: a.data.iter().map(|p| p.display().to_string()).collect(),
            fine_grid: "15 km (256 × 256) standalone truth, configs/closure/truth_256.toml".into(),
            coarse_grid: format!("60 km ({nx} × {ny}) C-grid"),
            filter: "Gaussian σ = 2 fine cells, then face/cell averages (closure::filter)".into(),
            forcing_form:
                "total: S = C(RHS_fine) − RHS_coarse(C(u), C(v), C(η)), added to du/dt, dv/dt"
                    .into(),
            boundary: "zeros (the coupler's boundary = \"closed\"), 10-cell halo".into(),
            train: span(&train_set),
            validation: span(&val_set),
            test: (!test_set.is_empty()).then(|| span(&test_set)),
        },
        input_scale,
        output_scale,
        settings: settings.clone(),
        training_s: history_seconds(&history_for_card, train_data.len()),
        history: history_for_card,
        min_value: net.min_value(),
        parameters: net.vs.trainable_variables().iter().map(|t| t.numel()).sum(),
        device: format!("{device:?}"),
        threads: a.threads,
        validation_skill: skill_of(&val_data),
        test_skill: test_data.as_ref().map(skill_of),
    };
    card.write(&a.out.with_extension("json"), &a.out.with_extension("md"))?;
    let held_out = test_data.as_ref().unwrap_or(&val_data);
    let mean = closure::offline::predict_mean(&net, held_out, settings.batch);
    let map = closure::offline::r2_map(&mean, &held_out.y);
    write_r2_map(&a.out.with_extension("r2.nc"), &map, nx, ny)?;
    println!(
        "closure train: {} (card: {}); validation R² sx {:.3} sy {:.3}",
        a.out.display(),
        a.out.with_extension("md").display(),
        card.validation_skill.r2[0],
        card.validation_skill.r2[1]
    );
    if let Some(t) = &card.test_skill {
        println!(
            "closure train: test R² sx {:.3} sy {:.3}, correlation {:.3} {:.3}",
            t.r2[0], t.r2[1], t.correlation[0], t.correlation[1]
        );
    }
    Ok(())
}

/// Seconds spent in the epochs of `h`, each `n` samples at its measured rate.
fn history_seconds(h: &closure::train::History, n: usize) -> f64 {
    h.samples_per_s.iter().map(|r| n as f64 / r).sum()
}

/// `x` to two significant digits (scales that read well in a config).
fn round2(x: f64) -> f64 {
    format!("{x:.1e}").parse().unwrap_or(x)
}

fn init(data: &Path, day: f64, config: &Path, out: &Path) -> Result<()> {
    let p = params(config)?;
    let file = CoarseFile::read(data)?;
    let k = file
        .times
        .iter()
        .position(|t| (t / 86_400.0 - day).abs() < 1e-6)
        .with_context(|| format!("{}: no sample at day {day}", data.display()))?;
    if (file.nx, file.ny) != (p.nx, p.ny) {
        bail!(
            "{}: grid {} × {} is not that of {}",
            data.display(),
            file.nx,
            file.ny,
            config.display()
        );
    }
    let take = |t: &tch::Tensor| -> Vec<f64> {
        Vec::<f64>::try_from(t.get(k as i64).to_kind(tch::Kind::Double).flatten(0, -1))
            .unwrap_or_default()
    };
    let (u, v) = (
        take(&file.velocity.select(1, 0)),
        take(&file.velocity.select(1, 1)),
    );
    let eta = take(&file.eta);
    let zeros = vec![0.0; p.cells()];
    let time_s = file.times[k];
    let step = (time_s / p.dt).round() as u64;
    checkpoint::write(out, &p, step, time_s, [&u, &v, &eta, &zeros, &zeros])?;
    println!(
        "closure init: day {day} of {} → {} (step {step})",
        data.display(),
        out.display()
    );
    Ok(())
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

fn score(a: &ScoreArgs) -> Result<()> {
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

fn write_r2_map(path: &Path, map: &tch::Tensor, nx: usize, ny: usize) -> Result<()> {
    let mut ds = netcdf3::DataSet::new();
    let add = |ds: &mut netcdf3::DataSet| -> std::result::Result<(), netcdf3::InvalidDataSet> {
        ds.add_global_attr_string("Conventions", "CF-1.8")?;
        ds.add_global_attr_string(
            "title",
            "offline R² of the learned closure's mean forcing, per point, on held-out days",
        )?;
        ds.add_fixed_dim("y", ny)?;
        ds.add_fixed_dim("x", nx)?;
        for (name, long) in [
            ("r2_sx", "R² of sx on east faces"),
            ("r2_sy", "R² of sy on north faces"),
        ] {
            ds.add_var_f64(name, &["y", "x"])?;
            ds.add_var_attr_string(name, "long_name", long)?;
            ds.add_var_attr_string(name, "units", "1")?;
        }
        Ok(())
    };
    add(&mut ds).map_err(|e| anyhow::anyhow!("{}: {e:?}", path.display()))?;
    let mut w = netcdf3::FileWriter::open(path)
        .map_err(|e| anyhow::anyhow!("{}: {e:?}", path.display()))?;
    w.set_def(&ds, netcdf3::Version::Classic, 0)
        .map_err(|e| anyhow::anyhow!("{}: {e:?}", path.display()))?;
    for (c, name) in ["r2_sx", "r2_sy"].iter().enumerate() {
        let v: Vec<f64> = Vec::<f64>::try_from(map.get(c as i64).flatten(0, -1))?;
        w.write_var_f64(name, &v)
            .map_err(|e| anyhow::anyhow!("{}: {e:?}", path.display()))?;
    }
    w.close()
        .map_err(|e| anyhow::anyhow!("{}: {e:?}", path.display()))?;
    Ok(())
}

fn figures(a: &FiguresArgs) -> Result<()> {
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
