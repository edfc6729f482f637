//! `[ml] placement = "embedded"`: ocean-model runs the model in each of its ranks, alone
//! in the launch, and gives the ocean the server mode gives it.
//!
//! - the analytic backscatter model with its masks (halo 1): the same files, byte for
//!   byte, as ocean-model + ml-server, on 1 and 2 ocean ranks, and with u, v averaged over
//!   the period and the forcing lagged by one period;
//! - the shipped FullyCNN (halo 10): the same ocean to float32 rounding after a day;
//! - an embedded restart continues bit for bit, and so does the restart of a run stopped by
//!   SIGTERM (the checkpoint it wrote, its files readable);
//! - bad forcing or a panic inside one rank's model ends every rank, within the limit;
//! - ml-server given an embedded experiment says to launch ocean-model alone;
//! - a start-up error is printed once, not once per rank.

mod stopping;

use std::path::{Path, PathBuf};
use std::time::Duration;

use eddylink_tests::{
    coupling_with_masks, mpiexec, run_mpmd, run_with_limit, scratch_dir, workspace_bin, Part,
};

const N: usize = 32;
const DX: f64 = 1.2e5;

/// Writes the experiment: `coupling` the `[coupling]` table, `ml` extra `[ml]` keys,
/// `output` extra `[ocean.output]` keys, `days` its length.
fn experiment(dir: &Path, coupling: &str, ml: &str, output: &str, days: f64) -> String {
    let text = format!(
        "[run]\nname = \"emb\"\nduration = \"{days}d\"\noutput_dir = \"out\"\n\n{coupling}\
         [ocean.grid]\nnx = {N}\nny = {N}\nlx = {l}\nly = {l}\n\n\
         [ocean.physics]\nwind = \"double_gyre\"\n\n[ocean.time]\ndt = 600.0\n\n\
         [ocean.output]\nsnapshot_interval = \"1d\"\ndiagnostics_interval = \"6h\"\n{output}\n\n\
         [ml]\nmodel = \"analytic\"\ndevice = \"cpu\"\n{ml}\n\n\
         [ml.analytic]\nkind = \"backscatter\"\nnu = 2000.0\ndx = {DX}\ndy = {DX}\n",
        l = DX * N as f64
    );
    let path = dir.join("exp.toml");
    std::fs::write(&path, text).expect("scratch is writable");
    path.display().to_string()
}

/// u, v averaged over the 2 h period, the forcing delivered one period later.
fn averaged_and_lagged(text: String) -> String {
    let mut text = text
        .replace("to = \"ml.u\"\n", "to = \"ml.u\"\nop = \"average\"\n")
        .replace("to = \"ml.v\"\n", "to = \"ml.v\"\nop = \"average\"\n")
        .replace("to = \"ocean.sx\"\n", "to = \"ocean.sx\"\nlag = \"2h\"\n")
        .replace("to = \"ocean.sy\"\n", "to = \"ocean.sy\"\nlag = \"2h\"\n");
    assert_eq!(
        text.matches("op = ").count() + text.matches("lag = ").count(),
        4
    );
    text.push('\n');
    text
}

/// Runs `parts` in `dir`; the run folder.
fn launch(dir: &Path, parts: &[Part], what: &str) -> PathBuf {
    let out = run_mpmd(parts, dir, Duration::from_secs(300));
    assert!(
        out.succeeded(),
        "{what} ({}):\n{}",
        out.ending(),
        out.output()
    );
    dir.join("out/emb")
}

fn ocean(ranks: usize, cfg: &str, extra: &[&str]) -> Part {
    let mut args = vec!["--config", cfg];
    args.extend_from_slice(extra);
    Part::new(ranks, workspace_bin("ocean-model"), &args)
}

fn ml_server(cfg: &str) -> Part {
    Part::new(1, workspace_bin("ml-server"), &["--config", cfg])
}

/// The files a run writes that must agree byte for byte between the two modes.
const OUTPUTS: [&str; 2] = ["diagnostics.nc", "snapshots.nc"];

fn same_bytes(a: &Path, b: &Path, what: &str) {
    for name in OUTPUTS {
        let (x, y) = (a.join(name), b.join(name));
        let (x, y) = (std::fs::read(&x), std::fs::read(&y));
        let (Ok(x), Ok(y)) = (x, y) else {
            panic!(
                "{what}: {name} missing in {} or {}",
                a.display(),
                b.display()
            );
        };
        assert!(
            x == y,
            "{what}: {name} differs between {} and {}",
            a.display(),
            b.display()
        );
    }
}

/// The analytic model in both modes, on `ranks` ocean ranks, `lagged` or not.
fn embedded_equals_server(test: &str, ranks: usize, lagged: bool) {
    let mut coupling = coupling_with_masks(N, "2h");
    if lagged {
        coupling = averaged_and_lagged(coupling);
    }
    let server_dir = scratch_dir(&format!("{test}-server"));
    let cfg = experiment(&server_dir, &coupling, "", "", 6.0);
    let served = launch(
        &server_dir,
        &[ocean(ranks, &cfg, &[]), ml_server(&cfg)],
        "server",
    );
    let embedded_dir = scratch_dir(&format!("{test}-embedded"));
    let cfg = experiment(
        &embedded_dir,
        &coupling,
        "placement = \"embedded\"",
        "",
        6.0,
    );
    let embedded = launch(&embedded_dir, &[ocean(ranks, &cfg, &[])], "embedded");
    same_bytes(&served, &embedded, test);
    let summary = std::fs::read_to_string(embedded.join("summary.json")).unwrap_or_default();
    assert!(summary.contains("\"mode\": \"embedded\""), "{summary}");
    let log = std::fs::read_to_string(embedded.join("ocean.log")).unwrap_or_default();
    assert!(
        log.contains("model (ml engine)"),
        "no engine row in ocean.log:\n{log}"
    );
    std::fs::remove_dir_all(&server_dir).ok();
    std::fs::remove_dir_all(&embedded_dir).ok();
}

#[test]
fn the_analytic_model_gives_the_same_files_embedded_on_one_ocean_rank() {
    embedded_equals_server("emb-1", 1, false);
}

#[test]
fn the_analytic_model_gives_the_same_files_embedded_on_two_ocean_ranks() {
    embedded_equals_server("emb-2", 2, false);
}

#[test]
fn averaging_and_lag_mean_the_same_embedded() {
    embedded_equals_server("emb-lag", 2, true);
}

/// Writes the shipped FullyCNN experiment for one day into `dir`, `embedded` or not, its
/// weights the shipped ones or `weights`; the experiment file.
fn learned_experiment(dir: &Path, embedded: bool, weights: Option<&Path>) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let shipped = std::fs::read_to_string(root.join("configs/double_gyre_64_learned.toml"))
        .expect("the shipped config");
    let shipped_weights = root
        .join("weights/double_gyre_64_fullycnn.safetensors")
        .canonicalize()
        .expect("the shipped weights");
    let weights = weights.unwrap_or(&shipped_weights);
    let mut text = shipped.replace("duration = \"180d\"", "duration = \"1d\"");
    let line = text
        .lines()
        .find(|l| l.starts_with("weights = \"../weights"))
        .expect("the weights line")
        .to_string();
    text = text.replace(&line, &format!("weights = \"{}\"", weights.display()));
    if embedded {
        text = text.replacen("[ml]\n", "[ml]\nplacement = \"embedded\"\n", 1);
    }
    assert!(text.contains("duration = \"1d\"") && !text.contains("\"../weights"));
    let cfg = dir.join("exp.toml");
    std::fs::write(&cfg, text).expect("scratch is writable");
    cfg.display().to_string()
}

/// The shipped FullyCNN experiment for one day (12 model calls), `embedded` or not, on
/// two ocean ranks: the final u, v, η.
fn learned_day(test: &str, embedded: bool) -> Vec<Vec<f64>> {
    let dir = scratch_dir(test);
    let cfg = learned_experiment(&dir, embedded, None);
    let mut parts = vec![ocean(2, &cfg, &[])];
    if !embedded {
        parts.push(ml_server(&cfg));
    }
    let out = run_mpmd(&parts, &dir, Duration::from_secs(300));
    assert!(
        out.succeeded(),
        "{test} ({}):\n{}",
        out.ending(),
        out.output()
    );
    let run = dir.join("out/double_gyre_64_learned");
    let checkpoint = std::fs::read_dir(&run)
        .expect("the run folder")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("checkpoint_"))
        })
        .expect("a final checkpoint");
    let mut r = netcdf3::FileReader::open(&checkpoint).expect("the checkpoint opens");
    let fields = ["u", "v", "eta"].map(|v| r.read_var_f64(v).expect("the variable"));
    std::fs::remove_dir_all(&dir).ok();
    fields.to_vec()
}

#[test]
fn the_fullycnn_gives_the_same_ocean_embedded_to_float32_rounding() {
    let served = learned_day("emb-cnn-server", false);
    let embedded = learned_day("emb-cnn-embedded", true);
    for ((name, a), b) in ["u", "v", "eta"].iter().zip(&served).zip(&embedded) {
        let scale = a.iter().fold(0.0f64, |m, x| m.max(x.abs()));
        let worst = a
            .iter()
            .zip(b)
            .fold(0.0f64, |m, (x, y)| m.max((x - y).abs()));
        eprintln!("{name}: largest difference {worst:.3e} of {scale:.3e}");
        // The model sees each rank's strip instead of the whole basin: convolutions of
        // other sizes, float32 sums in another order, and a day of the ocean after them
        // (on this project's CPUs the two came out identical).
        assert!(worst <= 1e-5 * scale, "{name}: {worst:e} of {scale:e}");
        assert!(scale > 0.0, "{name} is zero");
    }
}

#[test]
fn an_embedded_restart_continues_bit_for_bit() {
    let coupling = coupling_with_masks(N, "2h");
    let whole_dir = scratch_dir("emb-whole");
    let keys = "checkpoint_interval = \"2d\"";
    let cfg = experiment(&whole_dir, &coupling, "placement = \"embedded\"", keys, 4.0);
    let whole = launch(&whole_dir, &[ocean(2, &cfg, &[])], "uninterrupted");
    let part_dir = scratch_dir("emb-part");
    let cfg = experiment(&part_dir, &coupling, "placement = \"embedded\"", keys, 4.0);
    // 2 days of 600 s: the first half, then the restart from its checkpoint.
    let first = launch(
        &part_dir,
        &[ocean(2, &cfg, &["--steps", "288"])],
        "first half",
    );
    let checkpoint = first.join("checkpoint_0000000288.nc");
    assert!(checkpoint.is_file(), "no {}", checkpoint.display());
    let restart = checkpoint.display().to_string();
    let resumed = launch(
        &part_dir,
        &[ocean(2, &cfg, &["--restart", &restart])],
        "restart",
    );
    let last = "checkpoint_0000000576.nc";
    let (a, b) = (
        std::fs::read(whole.join(last)),
        std::fs::read(resumed.join(last)),
    );
    assert!(
        matches!((&a, &b), (Ok(a), Ok(b)) if a == b),
        "the restarted run's {last} differs from the uninterrupted one's"
    );
    std::fs::remove_dir_all(&whole_dir).ok();
    std::fs::remove_dir_all(&part_dir).ok();
}

/// EDDYLINK_FAULT inside ocean rank 1's model: every rank ends, with the reason, in time.
fn a_fault_in_one_ranks_model(test: &str, fault: &str, expect: &[&str]) {
    let dir = scratch_dir(test);
    let cfg = experiment(
        &dir,
        &coupling_with_masks(N, "2h"),
        "placement = \"embedded\"",
        "",
        6.0,
    );
    let mut cmd = mpiexec();
    cmd.args(["-n", "2"])
        .arg(workspace_bin("ocean-model"))
        .args(["--config", &cfg])
        .env("EDDYLINK_FAULT", fault);
    let out = run_with_limit(cmd, &dir, Duration::from_secs(120));
    assert!(!out.timed_out(), "{test}: hung:\n{}", out.output());
    assert!(!out.succeeded(), "{test}: the fault did not end the run");
    for text in expect {
        assert!(
            out.output().contains(text),
            "{test}: no '{text}' in:\n{}",
            out.output()
        );
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn bad_forcing_from_one_ranks_model_ends_every_rank_with_the_reason() {
    a_fault_in_one_ranks_model(
        "emb-nan",
        "ml/1:nan@3",
        &[
            "received sx has",
            "another ocean rank received forcing it cannot use",
        ],
    );
}

#[test]
fn a_panic_in_one_ranks_model_ends_the_job() {
    a_fault_in_one_ranks_model("emb-panic", "ml/1:panic@3", &["panicked"]);
}

#[test]
fn ml_server_refuses_an_embedded_experiment_and_says_why() {
    let dir = scratch_dir("emb-refuse");
    let cfg = experiment(
        &dir,
        &coupling_with_masks(N, "2h"),
        "placement = \"embedded\"",
        "",
        1.0,
    );
    let out = run_mpmd(&[ml_server(&cfg)], &dir, Duration::from_secs(60));
    assert!(!out.succeeded());
    assert!(
        out.output().contains("launch ocean-model alone"),
        "{}",
        out.output()
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// Runs ocean-model alone on 2 ranks with `cfg` in `dir`; it must fail at start-up.
fn failed_start(dir: &Path, cfg: &str) -> eddylink_tests::Outcome {
    let mut cmd = mpiexec();
    cmd.args(["-n", "2"])
        .arg(workspace_bin("ocean-model"))
        .args(["--config", cfg])
        .env_remove("EDDYLINK_FAULT");
    let out = run_with_limit(cmd, dir, Duration::from_secs(120));
    assert!(!out.timed_out(), "hung:\n{}", out.output());
    out
}

#[test]
fn a_weights_file_that_is_no_model_is_reported_once_not_once_per_rank() {
    let dir = scratch_dir("emb-bad-weights");
    let weights = dir.join("not-a-model.safetensors");
    std::fs::write(&weights, "not a model\n").expect("scratch is writable");
    let cfg = learned_experiment(&dir, true, Some(&weights));
    let out = failed_start(&dir, &cfg);
    out.assert_stopped_with("loading the model", 1, Duration::from_secs(120));
    assert_eq!(out.stderr.matches("error:").count(), 1, "{}", out.output());
    std::fs::remove_dir_all(&dir).ok();
}

/// Regression (issue 17): a problem the exchanges' set-up finds (here a halo wider than the
/// cyclic grid, which the config check lets through) was printed by every ocean rank.
#[test]
fn a_problem_of_the_exchanges_set_up_is_reported_once_not_once_per_rank() {
    let dir = scratch_dir("emb-setup-once");
    let coupling = coupling_with_masks(N, "2h").replace(
        "halo = 1\n",
        &format!("halo = {}\nboundary = [\"cyclic\", \"closed\"]\n", N + 8),
    );
    let cfg = experiment(&dir, &coupling, "placement = \"embedded\"", "", 1.0);
    let out = failed_start(&dir, &cfg);
    out.assert_stopped_with("coupler set-up failed", 1, Duration::from_secs(120));
    assert!(
        out.stderr
            .contains("wider than the 32-cell grid along the cyclic x axis"),
        "{}",
        out.output()
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// The default experiment over `duration` (the stopped-run tests' outputs) with
/// `[ml] placement = "embedded"`: the scratch folder and the experiment file.
fn embedded_default(test: &str, duration: &str) -> (PathBuf, String) {
    let (dir, cfg) = stopping::experiment(test, duration, true);
    let text = std::fs::read_to_string(&cfg).expect("the experiment");
    let text = text.replacen("[ml]\n", "[ml]\nplacement = \"embedded\"\n", 1);
    assert!(text.contains("placement = \"embedded\""), "{text}");
    std::fs::write(&cfg, text).expect("scratch is writable");
    (dir, cfg)
}

/// SIGTERM to mpiexec (the time limit, `scancel`) in the middle of a 12-day embedded run:
/// the job ends within seconds with a checkpoint of a coupling time, its files open, and
/// the restart from that checkpoint ends with the uninterrupted run's files, byte for byte.
#[test]
fn sigterm_to_an_embedded_run_checkpoints_and_the_restart_continues_the_run() {
    use stopping::{checkpoint, run_dir, COUPLING_STEPS, DIAG_STEPS};
    const STEPS: u64 = 3600;
    let (whole, cfg) = embedded_default("emb-term-whole", "12d");
    let out = stopping::run(&whole, stopping::command(&cfg, false, &[]));
    assert!(out.succeeded(), "uninterrupted:\n{}", out.output());

    let (dir, cfg) = embedded_default("emb-term", "12d");
    let mut job = stopping::Job::spawn(&dir, stopping::command(&cfg, false, &[]));
    // past the first daily checkpoint (step 300), so that the stop's is not a periodic one
    job.wait_for_records(&run_dir(&dir).join("diagnostics.nc"), 14);
    let sent = std::time::Instant::now();
    job.signal_mpiexec(libc::SIGTERM);
    let (out, took) = job.wait(sent);
    eprintln!(
        "embedded SIGTERM: exit {:?} {took:.2?} after the signal",
        out.code
    );
    assert!(
        took < Duration::from_secs(10),
        "took {took:?}:\n{}",
        out.output()
    );
    let status = stopping::launcher_status(libc::SIGTERM);
    assert_eq!(out.code, Some(status), "{}", out.output());
    // The line logged before the save (Open MPI's mpirun may cut what comes after it).
    let log = std::fs::read_to_string(run_dir(&dir).join("ocean.log")).unwrap_or_default();
    let line = "SIGTERM received: saving step ";
    assert_eq!(log.matches(line).count(), 1, "{log}\n{}", out.output());
    let step: u64 = log
        .split(line)
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
        .expect("the step in the line");
    assert!((325..STEPS).contains(&step), "{step}");
    assert_eq!(
        step % COUPLING_STEPS,
        0,
        "stopped off a coupling time: {step}"
    );
    let ck = checkpoint(&dir, step);
    assert!(
        ck.exists(),
        "no checkpoint at step {step}:\n{}",
        out.output()
    );
    if !stopping::launcher_drops_last_lines(libc::SIGTERM) {
        let summary = std::fs::read_to_string(run_dir(&dir).join("summary.json")).unwrap();
        assert!(summary.contains("\"stopped by SIGTERM\""), "{summary}");
        assert!(summary.contains("\"mode\": \"embedded\""), "{summary}");
    }
    if let Some((_, diags)) = stopping::open_in_xarray(&run_dir(&dir)) {
        assert_eq!(
            diags as u64,
            step / DIAG_STEPS + 1,
            "diagnostics through {step}"
        );
    }

    let restart = ck.display().to_string();
    let out = stopping::run(
        &dir,
        stopping::command(&cfg, false, &["--restart", &restart]),
    );
    assert!(out.succeeded(), "restart from {restart}:\n{}", out.output());
    for file in [
        "snapshots.nc".to_string(),
        "diagnostics.nc".to_string(),
        format!("checkpoint_{STEPS:010}.nc"),
    ] {
        let (a, b) = (
            std::fs::read(run_dir(&whole).join(&file)),
            std::fs::read(run_dir(&dir).join(&file)),
        );
        assert!(
            a.is_ok() && a.ok() == b.ok(),
            "{file}: stopped at step {step} and restarted differs from the uninterrupted run"
        );
    }
    std::fs::remove_dir_all(&whole).ok();
    std::fs::remove_dir_all(&dir).ok();
}
