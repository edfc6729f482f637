//! The in-situ analysis of issue 16 end to end: ocean-model ×2 and the real ml-server ×1
//! or ×2 on a 32² double gyre for 60 days, coupled every 2 h, with an `[analysis]` table
//! that samples every 2 days — the times of the ocean's own snapshots. numpy then redoes
//! the analysis from `snapshots.nc` (tests/tests/analysis/check.py):
//!
//! - the streaming POD of the vorticity against numpy's batch SVD of the same 30 snapshots
//!   (rank 40 > 30 snapshots: the incremental SVD drops nothing, so it must be exact to
//!   rounding): leading singular values to 1e-5 relative, principal angles of the leading
//!   8 modes under 1e-4 rad, with 1 and with 2 ML ranks (each holding a strip of rows);
//! - the Welford mean and variance maps of u and v equal numpy's to 1e-6 relative;
//! - `analysis.nc` opens in xarray, is CF-1.8 and has the spectra and maps;
//! - a run restarted from the ocean's checkpoint at day 30 reloads the analysis state saved
//!   at day 30 and ends with the analysis of the uninterrupted run;
//! - a bad `[analysis]` table stops the job before the coupled run starts, naming the file
//!   and key with a suggestion;
//! - on a GPU, the analysis of the device tensors equals the CPU's (skipped without one).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use eddylink_tests::{run_mpmd, scratch_dir, skip, workspace_bin, Part};

const N: usize = 32;
const DX: f64 = 1.2e5;
const DAY: f64 = 86_400.0;
const DAYS: f64 = 60.0;

/// The experiment, `analysis` the extra keys of `[analysis]` (or the whole table's text
/// when it starts with `[`), `checkpoint` the ocean's checkpoint interval.
fn experiment(test: &str, analysis: &str, checkpoint: &str) -> (PathBuf, String) {
    let table = if analysis.starts_with('[') {
        analysis.to_string()
    } else {
        format!("[analysis]\ninterval = \"2d\"\ndx = {DX}\ndy = {DX}\npod_rank = 40\n{analysis}\n")
    };
    let mut text = format!(
        "[run]\nname = \"analysis\"\nduration = \"{DAYS}d\"\noutput_dir = \"out\"\n\n\
         [coupling]\ntimeout = \"60s\"\ngrid = [{N}, {N}]\n\n"
    );
    for (from, to, grid, period, halo) in [
        ("ocean.u", "ml.u", "U", "\"2h\"", 1),
        ("ocean.v", "ml.v", "V", "\"2h\"", 1),
        ("ml.sx", "ocean.sx", "U", "\"2h\"", 0),
        ("ml.sy", "ocean.sy", "V", "\"2h\"", 0),
        ("ocean.mask_u", "ml.mask_u", "U", "\"static\"", 1),
        ("ocean.mask_v", "ml.mask_v", "V", "\"static\"", 1),
    ] {
        text += &format!(
            "[[coupling.exchange]]\nfrom = \"{from}\"\nto = \"{to}\"\ngrid = \"{grid}\"\n\
             period = {period}\nhalo = {halo}\n\n"
        );
    }
    text += &format!(
        "[ocean.grid]\nnx = {N}\nny = {N}\nlx = {l}\nly = {l}\n\n\
         [ocean.physics]\nwind = \"double_gyre\"\n\n[ocean.time]\ndt = 600.0\n\n\
         [ocean.output]\nsnapshot_interval = \"2d\"\ndiagnostics_interval = 0\n\
         checkpoint_interval = \"{checkpoint}\"\n\n\
         [ml]\nmodel = \"analytic\"\ndevice = \"cpu\"\n\n\
         [ml.analytic]\nkind = \"backscatter\"\nnu = 200.0\ndx = {DX}\ndy = {DX}\n\n{table}",
        l = DX * N as f64
    );
    let dir = scratch_dir(test);
    let path = dir.join("exp.toml");
    std::fs::write(&path, text).expect("scratch is writable");
    (dir, path.display().to_string())
}

/// Runs ocean-model ×2 : ml-server × `ml_ranks`, `ocean_args` added to the ocean's.
fn run(dir: &Path, cfg: &str, ml_ranks: usize, ocean_args: &[&str]) -> eddylink_tests::Outcome {
    let mut args = vec!["--config", cfg];
    args.extend_from_slice(ocean_args);
    let parts = [
        Part::new(2, workspace_bin("ocean-model"), &args),
        Part::new(ml_ranks, workspace_bin("ml-server"), &["--config", cfg]),
    ];
    run_mpmd(&parts, dir, Duration::from_secs(300))
}

/// Runs check.py with `args`; panics with its output when it fails.
fn check(python: &Path, args: &[&str]) -> String {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/analysis/check.py");
    let out = Command::new(python)
        .arg(&script)
        .args(args)
        .output()
        .expect("python runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "check.py {args:?}:\n{text}");
    text
}

fn streaming_pod_and_statistics_match_numpy(ml_ranks: usize) {
    let Some(python) = skip::python_with(&["numpy", "xarray", "scipy"]) else {
        return;
    };
    let test = format!("analysis-numpy-{ml_ranks}");
    let (dir, cfg) = experiment(&test, "", "60d");
    let out = run(&dir, &cfg, ml_ranks, &[]);
    assert!(
        out.succeeded(),
        "coupled run ({}):\n{}",
        out.ending(),
        out.output()
    );
    let run_dir = dir.join("out/analysis");
    let duration = (DAYS * DAY).to_string();
    let dx = DX.to_string();
    let measured = check(
        &python,
        &[
            "stats",
            &run_dir.display().to_string(),
            &dx,
            &dx,
            "40",
            &duration,
        ],
    );
    eprintln!("{ml_ranks} ML rank(s): {measured}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn streaming_pod_and_statistics_match_numpy_with_one_ml_rank() {
    streaming_pod_and_statistics_match_numpy(1);
}

#[test]
fn streaming_pod_and_statistics_match_numpy_with_two_ml_ranks() {
    streaming_pod_and_statistics_match_numpy(2);
}

#[test]
fn a_restarted_run_continues_the_analysis_and_ends_where_an_uninterrupted_one_ends() {
    let Some(python) = skip::python_with(&["numpy", "xarray", "scipy"]) else {
        return;
    };
    let (dir, cfg) = experiment("analysis-restart", "checkpoint_interval = \"30d\"", "30d");
    let out = run(&dir, &cfg, 1, &[]);
    assert!(
        out.succeeded(),
        "uninterrupted run ({}):\n{}",
        out.ending(),
        out.output()
    );
    let run_dir = dir.join("out/analysis");
    let straight = dir.join("straight.nc");
    std::fs::copy(run_dir.join("analysis.nc"), &straight).expect("analysis.nc written");
    assert!(
        run_dir.join("analysis_t00002592000s.nc").is_file(),
        "state saved at day 30"
    );
    // Day 30 = step 4320 of 600 s.
    let ck = run_dir.join("checkpoint_0000004320.nc");
    let out = run(&dir, &cfg, 1, &["--restart", &ck.display().to_string()]);
    assert!(
        out.succeeded(),
        "restarted run ({}):\n{}",
        out.ending(),
        out.output()
    );
    assert!(
        out.output()
            .contains("analysis: continues from 16 samples saved at t = 2592000 s"),
        "{}",
        out.output()
    );
    let restarted = run_dir.join("analysis.nc").display().to_string();
    let measured = check(
        &python,
        &["same", &straight.display().to_string(), &restarted, "1e-10"],
    );
    eprintln!("restart: {measured}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_bad_analysis_table_stops_the_job_before_the_coupled_run_starts() {
    let bad = format!("[analysis]\nintervall = \"2d\"\ndx = {DX}\ndy = {DX}\n");
    let (dir, cfg) = experiment("analysis-bad", &bad, "60d");
    let out = run(&dir, &cfg, 1, &[]);
    assert!(!out.succeeded(), "a bad [analysis] table must stop the job");
    assert!(
        out.elapsed < Duration::from_secs(60),
        "stopped after {:?}",
        out.elapsed
    );
    let text = out.output();
    assert!(
        text.contains("exp.toml")
            && text.contains("analysis.intervall")
            && text.contains("did you mean `interval`?"),
        "{text}"
    );
    let snapshots = dir.join("out/analysis/snapshots.nc");
    assert!(
        !snapshots.exists(),
        "the ocean ran: {}",
        snapshots.display()
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// The same samples analysed from CUDA tensors and from CPU tensors agree to fp32 rounding.
#[test]
fn the_analysis_on_the_gpu_equals_the_cpu_one() {
    if !tch::Cuda::is_available() {
        skip::skip(
            "no CUDA device: the analysis of device tensors was not compared with the CPU's",
        );
        return;
    }
    let Some(python) = skip::python_with(&["numpy", "xarray"]) else {
        return;
    };
    use analysis::comm::Alone;
    use analysis::config::{AnalysisConfig, PodConfig, PodField, Window};
    use analysis::{Analysis, Geometry};
    use tch::{Device, Kind, Tensor};
    let config = AnalysisConfig {
        interval_s: 1.0,
        fields: vec![0, 1],
        statistics: true,
        spectrum: true,
        transfer: true,
        window: Window::Hann,
        dx: DX,
        dy: DX,
        pod: Some(PodConfig {
            rank: 8,
            of: PodField::Vorticity,
        }),
        checkpoint_interval_s: None,
    };
    let g = Geometry {
        nx: 128,
        ny: 96,
        j0: 0,
        nj: 96,
        halo: 1,
    };
    let dir = scratch_dir("analysis-gpu");
    for (device, name) in [(Device::Cpu, "cpu"), (Device::Cuda(0), "cuda")] {
        let mut a = Analysis::new(config.clone(), g, device, false).expect("analysis");
        for k in 0..20 {
            tch::manual_seed(k);
            let input =
                Tensor::randn([1, 2, 98, 130], (Kind::Float, Device::Cpu)).to_device(device);
            let forcing =
                Tensor::randn([1, 2, 96, 128], (Kind::Float, Device::Cpu)).to_device(device);
            a.update(k as f64, &input, &forcing, &Alone)
                .expect("update");
        }
        a.save(&dir.join(name), 20.0, &Alone).expect("save");
    }
    let (cpu, cuda) = (dir.join("cpu/analysis.nc"), dir.join("cuda/analysis.nc"));
    let measured = check(
        &python,
        &[
            "same",
            &cpu.display().to_string(),
            &cuda.display().to_string(),
            "1e-6",
        ],
    );
    eprintln!("GPU vs CPU: {measured}");
}
