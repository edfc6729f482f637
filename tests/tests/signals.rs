//! SIGTERM, SIGINT and SIGUSR1 (the time limit, `scancel`, Ctrl-C, `--signal`) stop a
//! running job within seconds, after a checkpoint of a step the ocean ranks agree on (in
//! a coupled run a coupling time, so the coupled restart is allowed); every program ends
//! with 128 + the signal number, the files open in xarray, and the restart from that
//! checkpoint continues the run: the joined outputs equal an uninterrupted run's byte for
//! byte. Regression: SIGTERM ended the job in 0.1 s with no checkpoint.

mod stopping;

use std::path::Path;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use stopping::*;

/// The longest a stop may take from the signal to the end of the job.
const STOP_WITHIN: Duration = Duration::from_secs(10);
/// Steps of the 12-day runs (dt = 288 s). Long enough that, on an idle machine, the run is
/// still going when the signal arrives: Open MPI's mpirun takes long enough to forward it
/// that 4-day runs (0.4 s from the 14th record to their end) had finished by then.
const STEPS: u64 = 3600;

/// The files of an uninterrupted 12-day run, standalone or coupled, made once.
fn reference(coupled: bool) -> &'static Path {
    static RUNS: [OnceLock<std::path::PathBuf>; 2] = [OnceLock::new(), OnceLock::new()];
    RUNS[coupled as usize].get_or_init(|| {
        let name = if coupled {
            "signal_ref_coupled"
        } else {
            "signal_ref_alone"
        };
        let (dir, cfg) = experiment(name, "12d", coupled);
        let out = run(&dir, command(&cfg, coupled, &[]));
        assert!(out.succeeded(), "reference run:\n{}", out.output());
        dir
    })
}

/// Starts the 12-day run, sends `signal` once the ocean is past the first daily checkpoint
/// (step 300; the 14th diagnostics record is step 325, so that the stop's checkpoint is
/// not a periodic one), to mpiexec alone or
/// to every process, and checks the stop: exit status, the one line naming the signal
/// and checkpoint, how fast, and that the checkpoint is at an allowed step. Returns the
/// scratch folder, the experiment file and the checkpoint's step.
fn stop_with(
    test: &str,
    coupled: bool,
    signal: i32,
    to_mpiexec_only: bool,
) -> (std::path::PathBuf, String, u64) {
    let (dir, cfg) = experiment(test, "12d", coupled);
    let mut job = Job::spawn(&dir, command(&cfg, coupled, &[]));
    job.wait_for_records(&run_dir(&dir).join("diagnostics.nc"), 14);
    let sent = Instant::now();
    if to_mpiexec_only {
        job.signal_mpiexec(signal);
    } else {
        job.signal_all(signal);
    }
    let (out, took) = job.wait(sent);
    // The figures of docs/reliability.md (cargo test --test signals -- --nocapture).
    eprintln!(
        "{test}: signal {signal} → exit {:?} {:.2} s after the signal",
        out.code,
        took.as_secs_f64()
    );
    assert!(took < STOP_WITHIN, "took {took:?}:\n{}", out.output());
    assert_eq!(out.code, Some(launcher_status(signal)), "{}", out.output());
    let name = match reported_signal(signal) {
        libc::SIGTERM => "SIGTERM",
        libc::SIGINT => "SIGINT",
        _ => "SIGUSR1",
    };
    // Open MPI's mpirun SIGKILLs the programs 1 s after forwarding SIGTERM or SIGINT: what
    // they write after the checkpoint (the final line, summary.json, the ML side's last log
    // line) may be cut there. The line the ocean logs before saving names the step.
    let cut = launcher_drops_last_lines(signal);
    let (said, line) = if cut {
        let log = std::fs::read_to_string(run_dir(&dir).join("ocean.log")).unwrap_or_default();
        (log, format!("{name} received: saving step "))
    } else {
        (out.stderr.clone(), format!("stopped by {name} at step "))
    };
    assert_eq!(said.matches(&line).count(), 1, "{}", out.output());
    let step: u64 = said
        .split(&line)
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
        .expect("the step in the line");
    assert!((325..STEPS).contains(&step), "{step}");
    if coupled {
        assert_eq!(
            step % COUPLING_STEPS,
            0,
            "stopped off a coupling time: {step}"
        );
    }
    assert!(
        checkpoint(&dir, step).exists(),
        "no checkpoint at step {step}"
    );
    if !cut {
        if coupled {
            let ml_log = std::fs::read_to_string(run_dir(&dir).join("ml.log")).unwrap_or_default();
            assert!(
                ml_log.contains("ml-server ends too"),
                "{ml_log}\n{}",
                out.output()
            );
        }
        let named = format!("restart with --restart out/double_gyre_64/checkpoint_{step:010}.nc");
        assert!(said.contains(&named), "{}", out.output());
        let summary = std::fs::read_to_string(run_dir(&dir).join("summary.json")).unwrap();
        assert!(
            summary.contains(&format!("\"stopped by {name}\"")),
            "{summary}"
        );
    }
    if let Some((_, diags)) = open_in_xarray(&run_dir(&dir)) {
        assert_eq!(
            diags as u64,
            step / DIAG_STEPS + 1,
            "diagnostics through step {step}"
        );
    }
    (dir, cfg, step)
}

/// Restarts from the checkpoint at `step` and checks the joined outputs against the
/// uninterrupted run.
fn assert_restart_continues(dir: &Path, cfg: &str, coupled: bool, step: u64) {
    let ck = checkpoint(dir, step).display().to_string();
    let out = run(dir, command(cfg, coupled, &["--restart", &ck]));
    assert!(out.succeeded(), "restart from {ck}:\n{}", out.output());
    let whole = run_dir(reference(coupled));
    for file in [
        "snapshots.nc".to_string(),
        "diagnostics.nc".to_string(),
        format!("checkpoint_{STEPS:010}.nc"),
    ] {
        let (a, b) = (
            std::fs::read(whole.join(&file)),
            std::fs::read(run_dir(dir).join(&file)),
        );
        assert!(
            a.is_ok() && a.ok() == b.ok(),
            "{file}: stopped at step {step} and restarted differs from the uninterrupted run"
        );
    }
}

#[test]
fn sigterm_to_mpiexec_checkpoints_a_coupling_time_and_the_restart_continues_the_run() {
    let (dir, cfg, step) = stop_with("signal_term_coupled", true, libc::SIGTERM, true);
    assert_plots(&run_dir(&dir));
    assert_restart_continues(&dir, &cfg, true, step);
}

#[test]
fn sigusr1_to_every_rank_of_a_standalone_run_checkpoints_and_the_restart_continues() {
    let (dir, cfg, step) = stop_with("signal_usr1_alone", false, libc::SIGUSR1, false);
    assert_restart_continues(&dir, &cfg, false, step);
}

#[test]
fn ctrl_c_on_a_coupled_run_checkpoints_and_stops_every_program() {
    stop_with("signal_int_coupled", true, libc::SIGINT, false);
}
