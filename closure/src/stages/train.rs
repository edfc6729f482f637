//! `closure train`: the FullyCNN trained on coarse samples, with its model card.

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use closure::card::{DataCard, ModelCard};
use closure::network::{Loss, Network};
use closure::samples::{rms, CoarseFile};
use closure::split::{Period, TRUTH};
use closure::train::Settings;

#[derive(clap::Args)]
pub struct TrainArgs {
    /// Coarse sample files (`coarse-grain` output); their samples are split by time.
    #[arg(long = "data", value_name = "FILE", required = true)]
    pub data: Vec<PathBuf>,
    /// The weights to write (.safetensors); the model card goes beside them (.json, .md).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    #[arg(long, default_value_t = 20)]
    pub epochs: usize,
    #[arg(long, default_value_t = 8)]
    pub batch: usize,
    #[arg(long, default_value_t = 5e-4)]
    pub lr: f64,
    /// Epochs after which the learning rate drops ×0.1 (GZ21: 10, 20 of 100).
    #[arg(long, value_delimiter = ',', default_value = "12,17")]
    pub decay_at: Vec<usize>,
    #[arg(long, default_value_t = 0)]
    pub seed: i64,
    #[arg(long, value_enum, default_value_t = Loss::Gaussian)]
    pub loss: Loss,
    /// CPU threads for libtorch (results are reproducible for a fixed count).
    #[arg(long, default_value_t = 2)]
    pub threads: i32,
    /// auto (a GPU when one is usable) | cpu | cuda.
    #[arg(long, default_value = "auto")]
    pub device: String,
    /// Folder of the resumable per-epoch checkpoint [default: OUT without extension + .ckpt].
    #[arg(long, value_name = "DIR")]
    pub checkpoints: Option<PathBuf>,
    /// Train, validation and test periods in days [default: closure::split::TRUTH].
    #[arg(long, value_name = "A:B,C:D,E:F", value_parser = closure::split::Split::parse)]
    pub split: Option<closure::split::Split>,
    /// Only this many training samples (evenly spaced; for quick tests).
    #[arg(long)]
    pub max_train: Option<usize>,
}

/// `closure train`: trains, checkpoints every epoch, and writes the weights and model card.
pub(crate) fn train(a: &TrainArgs) -> Result<()> {
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

/// The offline R² map of the test period, as NetCDF (`NAME.r2.nc` beside the weights).
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
