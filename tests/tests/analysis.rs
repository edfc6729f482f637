//! The in-situ analysis of issue 16 end to end: ocean-model ×2 and the real ml-server ×1
//! or ×2 on a 32² double gyre for 60 days, coupled every 2 h, with an `[analysis]` table
//! that samples every 2 days — the times of the ocean's own snapshots. numpy then redoes
//! the analysis from `snapshots.nc` (tests/tests/analysis/check.py):
//!
//! - the streaming POD of the vorticity against numpy's batch SVD of the same 30 snapshots,
//!   untruncated (rank 40 > 30 snapshots: exact to rounding, leading singular values to
//!   1e-5 relative, principal angles of the leading 8 modes under 1e-4 rad) and truncated
//!   (rank 16 < 30, with 1 and with 2 ML ranks each holding a strip of rows: the leading
//!   modes that the spectrum's gap above the dropped energy holds to the same tolerances);
//! - the Welford mean and variance maps of u and v equal numpy's to 1e-6 relative;
//! - `analysis.nc` opens in xarray, is CF-1.8 and has the spectra and maps;
//! - a run restarted from the ocean's checkpoint at day 30, from the checkpoint SIGTERM
//!   leaves, and from the checkpoint of a handled failure (NaN forcing, the ocean aborts)
//!   reloads the analysis state saved at that time and ends with the analysis of the
//!   uninterrupted run;
//! - a bad `[analysis]` table stops the job before the coupled run starts, naming the file
//!   and key with a suggestion;
//! - in the embedded mode (`[ml] placement = "embedded"`, the 2 ocean ranks analysing their
//!   strips themselves) the analysis equals the server's, and an embedded run stopped by
//!   SIGTERM or by a handled failure restarts and ends with the uninterrupted run's
//!   analysis too;
//! - on a GPU, the analysis of the device tensors equals the CPU's (skipped without one).

mod stopping;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use eddylink_tests::{
    coupling_with_masks, mpiexec, run_mpmd, run_with_limit, scratch_dir, skip, workspace_bin, Part,
};

const N: usize = 32;
const DX: f64 = 1.2e5;
const DAY: f64 = 86_400.0;
const DAYS: f64 = 60.0;
/// The ocean's time step, s.
const DT: f64 = 600.0;

/// Streaming POD ranks: above the 30 snapshots (nothing dropped) and below (truncated).
const UNTRUNCATED: usize = 40;
const TRUNCATED: usize = 16;
/// The restart point of the uninterrupted run's checkpoints: day 30, step 4320 of 600 s.
const CHECKPOINT: &str = "30d";

/// The experiment, `analysis` the extra keys of `[analysis]` (or the whole table's text
/// when it starts with `[`), `pod_rank` its POD's rank, `checkpoint` the ocean's
/// checkpoint interval.
fn experiment(test: &str, analysis: &str, pod_rank: usize, checkpoint: &str) -> (PathBuf, String) {
    let table = if analysis.starts_with('[') {
        analysis.to_string()
    } else {
        format!(
            "[analysis]\ninterval = \"2d\"\ndx = {DX}\ndy = {DX}\npod_rank = {pod_rank}\n{analysis}\n"
        )
    };
    let mut text = format!(
        "[run]\nname = \"analysis\"\nduration = \"{DAYS}d\"\noutput_dir = \"out\"\n\n{}",
        coupling_with_masks(N, "2h")
    );
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

/// Runs ocean-model ×2 : ml-server × `ml_ranks`, `ocean_args` added to the ocean's; an
/// embedded experiment ([`embedded`]) runs ocean-model ×2 alone, whatever `ml_ranks`.
fn run(dir: &Path, cfg: &str, ml_ranks: usize, ocean_args: &[&str]) -> eddylink_tests::Outcome {
    let mut args = vec!["--config", cfg];
    args.extend_from_slice(ocean_args);
    let ocean = Part::new(2, workspace_bin("ocean-model"), &args);
    let server = Part::new(ml_ranks, workspace_bin("ml-server"), &["--config", cfg]);
    let parts = if is_embedded(cfg) {
        vec![ocean]
    } else {
        vec![ocean, server]
    };
    run_mpmd(&parts, dir, Duration::from_secs(300))
}

/// The experiment `cfg` with `[ml] placement = "embedded"`.
fn embedded((dir, cfg): (PathBuf, String)) -> (PathBuf, String) {
    let text = std::fs::read_to_string(&cfg).expect("the experiment was written");
    let text = text.replace("[ml]\n", "[ml]\nplacement = \"embedded\"\n");
    std::fs::write(&cfg, text).expect("scratch is writable");
    (dir, cfg)
}

fn is_embedded(cfg: &str) -> bool {
    std::fs::read_to_string(cfg).is_ok_and(|t| t.contains("placement = \"embedded\""))
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

/// Runs check.py's `stats` on the run in `run_dir`, whose POD has rank `pod_rank`.
fn check_against_numpy(python: &Path, run_dir: &Path, pod_rank: usize) -> String {
    check(
        python,
        &[
            "stats",
            &run_dir.display().to_string(),
            &DX.to_string(),
            &DX.to_string(),
            &pod_rank.to_string(),
            &(DAYS * DAY).to_string(),
        ],
    )
}

/// Runs check.py's `same`: every variable of the analysis.nc files `a` and `b` agrees to
/// `tol`.
fn check_same(python: &Path, a: &Path, b: &Path, tol: &str) -> String {
    check(
        python,
        &[
            "same",
            &a.display().to_string(),
            &b.display().to_string(),
            tol,
        ],
    )
}

/// The experiment that the restart tests stop and restart: untruncated POD, the ocean's
/// and the analysis's checkpoints every 30 days.
fn restartable(test: &str) -> (PathBuf, String) {
    let keys = format!("checkpoint_interval = \"{CHECKPOINT}\"");
    experiment(test, &keys, UNTRUNCATED, CHECKPOINT)
}

/// The uninterrupted run of [`restartable`], with 1 ML rank, made once and checked against
/// numpy (the untruncated POD is exact to rounding): its scratch folder.
fn reference() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let (dir, cfg) = restartable("analysis-reference");
        let out = run(&dir, &cfg, 1, &[]);
        assert!(
            out.succeeded(),
            "uninterrupted run ({}):\n{}",
            out.ending(),
            out.output()
        );
        if let Some(python) = skip::python_with(&["numpy", "xarray", "scipy"]) {
            let measured = check_against_numpy(&python, &run_dir(&dir), UNTRUNCATED);
            eprintln!("untruncated POD, 1 ML rank: {measured}");
        }
        dir
    })
}

fn run_dir(dir: &Path) -> PathBuf {
    dir.join("out/analysis")
}

/// The name of the analysis state saved for a restart at `t` seconds.
fn state_at(dir: &Path, t: f64) -> PathBuf {
    run_dir(dir).join(format!("analysis_t{:011}s.nc", t as u64))
}

/// Restarts the run in `dir` from the ocean's checkpoint at `step` with `ml_ranks` ML
/// ranks, and checks that the restart reloaded the analysis of `samples` samples and ends
/// with the uninterrupted run's analysis (to `tol`).
fn assert_restart_ends_as_the_reference(
    python: &Path,
    (dir, cfg): (&Path, &str),
    step: u64,
    (ml_ranks, samples): (usize, u64),
    tol: &str,
) -> String {
    let ck = run_dir(dir).join(format!("checkpoint_{step:010}.nc"));
    assert!(ck.is_file(), "no checkpoint {}", ck.display());
    let out = run(
        dir,
        cfg,
        ml_ranks,
        &["--restart", &ck.display().to_string()],
    );
    assert!(
        out.succeeded(),
        "restarted run ({}):\n{}",
        out.ending(),
        out.output()
    );
    let t = step as f64 * DT;
    let said = format!("analysis: continues from {samples} samples saved at t = {t} s");
    assert!(out.output().contains(&said), "{said}:\n{}", out.output());
    let whole = run_dir(reference()).join("analysis.nc");
    check_same(python, &whole, &run_dir(dir).join("analysis.nc"), tol)
}

/// Samples (every 2 days from t = 0) taken before model time `t`.
fn samples_before(t: f64) -> u64 {
    (t / (2.0 * DAY)).ceil() as u64
}

fn streaming_pod_and_statistics_match_numpy(ml_ranks: usize) {
    let Some(python) = skip::python_with(&["numpy", "xarray", "scipy"]) else {
        return;
    };
    let test = format!("analysis-numpy-{ml_ranks}");
    let (dir, cfg) = experiment(&test, "", TRUNCATED, "60d");
    let out = run(&dir, &cfg, ml_ranks, &[]);
    assert!(
        out.succeeded(),
        "coupled run ({}):\n{}",
        out.ending(),
        out.output()
    );
    let measured = check_against_numpy(&python, &run_dir(&dir), TRUNCATED);
    eprintln!("truncated POD, {ml_ranks} ML rank(s): {measured}");
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
    let (dir, cfg) = restartable("analysis-restart");
    // The first part is the reference run: its files, as they were at its end.
    let from = run_dir(reference());
    let to = run_dir(&dir);
    std::fs::create_dir_all(&to).expect("scratch is writable");
    for entry in std::fs::read_dir(&from).expect("the reference's run folder") {
        let path = entry.expect("a readable entry").path();
        if path.is_file() {
            std::fs::copy(&path, to.join(path.file_name().expect("a file name"))).expect("copied");
        }
    }
    let day30 = 30.0 * DAY;
    assert!(state_at(&dir, day30).is_file(), "state saved at day 30");
    let measured = assert_restart_ends_as_the_reference(
        &python,
        (&dir, &cfg),
        (day30 / DT) as u64,
        (1, 16),
        "1e-10",
    );
    eprintln!("restart at day 30: {measured}");
    std::fs::remove_dir_all(&dir).ok();
}

/// SIGTERM to mpiexec (a batch system's time limit): the ocean checkpoints a coupling time
/// T, the ML server saves the analysis for a restart at T, and the restart from that
/// checkpoint ends with the analysis of the uninterrupted run.
#[test]
fn sigterm_saves_the_analysis_with_the_checkpoint_and_the_restart_continues_it() {
    sigterm_then_restart(restartable("analysis-sigterm"), "1e-10");
}

/// The same in the embedded mode: the ocean ranks save their analysis with the checkpoint.
/// Two strips against the reference's one ML rank: sums in another order, hence 1e-9.
#[test]
fn an_embedded_run_stopped_by_sigterm_saves_the_analysis_and_the_restart_continues_it() {
    sigterm_then_restart(embedded(restartable("analysis-embedded-sigterm")), "1e-9");
}

/// The embedded mode's analysis (2 ocean ranks, each analysing its strip) equals the
/// server's (1 ML rank) to the rounding of sums taken over 2 strips instead of 1.
#[test]
fn the_embedded_analysis_equals_the_server_one() {
    let Some(python) = skip::python_with(&["numpy", "xarray", "scipy"]) else {
        return;
    };
    let whole = run_dir(reference()).join("analysis.nc");
    let (dir, cfg) = embedded(restartable("analysis-embedded"));
    let out = run(&dir, &cfg, 0, &[]);
    assert!(
        out.succeeded(),
        "embedded run ({}):\n{}",
        out.ending(),
        out.output()
    );
    assert!(
        !out.output().contains("ml-server"),
        "an embedded run launches no ml-server:\n{}",
        out.output()
    );
    let measured = check_same(&python, &whole, &run_dir(&dir).join("analysis.nc"), "1e-9");
    eprintln!("embedded against server: {measured}");
    std::fs::remove_dir_all(&dir).ok();
}

/// Stops the run of `(dir, cfg)` by SIGTERM to mpiexec near day 10, checks the analysis
/// state saved with the checkpoint, and that the restart ends with the reference's
/// analysis to `tol`.
fn sigterm_then_restart((dir, cfg): (PathBuf, String), tol: &str) {
    let Some(python) = skip::python_with(&["numpy", "xarray", "scipy"]) else {
        return;
    };
    reference();
    let mut cmd = mpiexec();
    cmd.args(["-n", "2"])
        .arg(workspace_bin("ocean-model"))
        .args(["--config", &cfg]);
    if !is_embedded(&cfg) {
        cmd.args([":", "-n", "1"])
            .arg(workspace_bin("ml-server"))
            .args(["--config", &cfg]);
    }
    cmd.env_remove("EDDYLINK_FAULT");
    let mut job = stopping::Job::spawn(&dir, cmd);
    // The 6th snapshot is day 10, well before the periodic checkpoint of day 30.
    job.wait_for_records(&run_dir(&dir).join("snapshots.nc"), 6);
    job.signal_mpiexec(libc::SIGTERM);
    let (out, took) = job.wait(Instant::now());
    assert!(
        !out.succeeded(),
        "a stopped run is no success:\n{}",
        out.output()
    );
    let log = std::fs::read_to_string(run_dir(&dir).join("ocean.log")).unwrap_or_default();
    let step: u64 = log
        .split("SIGTERM received: saving step ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("no stop line in ocean.log:\n{log}\n{}", out.output()));
    let t = step as f64 * DT;
    assert!(
        t < 30.0 * DAY,
        "stopped at t = {t} s, after the periodic checkpoint"
    );
    assert!(
        state_at(&dir, t).is_file(),
        "no analysis state for the stop at t = {t} s:\n{}",
        out.output()
    );
    let measured = assert_restart_ends_as_the_reference(
        &python,
        (&dir, &cfg),
        step,
        (1, samples_before(t)),
        tol,
    );
    eprintln!("SIGTERM at step {step} (stopped in {took:?}), restarted: {measured}");
    std::fs::remove_dir_all(&dir).ok();
}

/// A handled failure — NaN forcing at day 20, which the ocean's check aborts on after a
/// checkpoint of that step — with 2 ML ranks: both save the analysis for a restart at day
/// 20, and the restart ends with the analysis of the uninterrupted run.
#[test]
fn a_handled_failure_saves_the_analysis_with_the_checkpoint_and_the_restart_continues_it() {
    nan_at_day_20_then_restart(restartable("analysis-failure"), "ml: analysis saved");
}

/// The same in the embedded mode: the NaN forcing comes from the model inside the ocean
/// ranks (their 2 strips play the 2 ML ranks), and every rank's check aborts.
#[test]
fn an_embedded_handled_failure_saves_the_analysis_and_the_restart_continues_it() {
    nan_at_day_20_then_restart(
        embedded(restartable("analysis-embedded-failure")),
        "embedded ML: analysis saved",
    );
}

/// Runs `(dir, cfg)` (2 ML ranks in server mode) with NaN forcing from the model at day 20,
/// checks that the log says `saved` "for a restart at t = …" and that the state is there,
/// then that the restart ends with the reference's analysis.
fn nan_at_day_20_then_restart((dir, cfg): (PathBuf, String), saved: &str) {
    let Some(python) = skip::python_with(&["numpy", "xarray", "scipy"]) else {
        return;
    };
    reference();
    let day20 = 20.0 * DAY;
    // Coupling call n is at t = (n - 1) × 2 h.
    let call = (day20 / (2.0 * 3600.0)) as u64 + 1;
    let mut cmd = mpiexec();
    cmd.args(["-n", "2"])
        .arg(workspace_bin("ocean-model"))
        .args(["--config", &cfg]);
    if !is_embedded(&cfg) {
        cmd.args([":", "-n", "2"])
            .arg(workspace_bin("ml-server"))
            .args(["--config", &cfg]);
    }
    cmd.env("EDDYLINK_FAULT", format!("ml:nan@{call}"));
    let out = run_with_limit(cmd, &dir, Duration::from_secs(300));
    assert!(!out.succeeded() && !out.timed_out(), "{}", out.output());
    let text = out.output();
    assert!(text.contains("bad ML forcing"), "{text}");
    let said = format!("{saved} for a restart at t = {day20} s");
    assert!(text.contains(&said), "{said}:\n{text}");
    assert!(state_at(&dir, day20).is_file(), "{text}");
    // The state holds the sample of day 20: the ocean failed after that time's forcing.
    let measured = assert_restart_ends_as_the_reference(
        &python,
        (&dir, &cfg),
        (day20 / DT) as u64,
        (2, samples_before(day20) + 1),
        "1e-9",
    );
    eprintln!("NaN forcing at day 20 ({cfg}), restarted: {measured}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_bad_analysis_table_stops_the_job_before_the_coupled_run_starts() {
    let bad = format!("[analysis]\nintervall = \"2d\"\ndx = {DX}\ndy = {DX}\n");
    let (dir, cfg) = experiment("analysis-bad", &bad, UNTRUNCATED, "60d");
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
