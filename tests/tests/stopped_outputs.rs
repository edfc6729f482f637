//! A stopped run's `snapshots.nc` and `diagnostics.nc` open in xarray up to their last
//! record, and `ocean-model plot` draws them, however the run stopped (regression: the
//! header declared the planned record count, so xarray failed with "When changing to a
//! larger dtype…" and `plot` with `UnexpectedEof`). Real coupled jobs: the default 64²
//! experiment, 2 ocean ranks + 1 ML rank, diagnostics every 2 h, snapshots every 6 h.
//! The SIGTERM case is in signals.rs.

mod stopping;

use std::time::Instant;

use stopping::*;

#[test]
fn after_a_handled_failure_the_files_hold_every_record_up_to_the_failure() {
    let (dir, cfg) = experiment("stopped_panic", "1d", true);
    let mut cmd = command(&cfg, true, &[]);
    // Coupling call 9 is t = 16 h = step 200: the ocean's last completed step.
    cmd.env("EDDYLINK_FAULT", "ml:panic@9");
    let out = run(&dir, cmd);
    assert!(!out.succeeded(), "{}", out.output());
    let run = run_dir(&dir);
    let records = ocean_model::output::header_records(&run.join("diagnostics.nc"));
    assert_eq!(records.ok(), Some(9), "diagnostics at steps 0, 25, …, 200");
    if let Some((snaps, diags)) = open_in_xarray(&run) {
        assert_eq!((snaps, diags), (3, 9), "snapshots at 0, 75, 150");
    }
    assert_plots(&run);
}

#[test]
fn after_kill_9_of_the_whole_job_the_files_hold_every_complete_record() {
    let (dir, cfg) = experiment("stopped_kill9", "4d", true);
    let mut job = Job::spawn(&dir, command(&cfg, true, &[]));
    let run = run_dir(&dir);
    job.wait_for_records(&run.join("diagnostics.nc"), 12);
    job.signal_all(libc::SIGKILL);
    let (out, _) = job.wait(Instant::now());
    assert!(!out.succeeded(), "{}", out.output());
    let diags = ocean_model::output::header_records(&run.join("diagnostics.nc")).unwrap();
    assert!((12..48).contains(&diags), "killed mid-run: {diags} records");
    if let Some((snaps, diags_seen)) = open_in_xarray(&run) {
        assert_eq!(diags_seen, diags as usize);
        assert!(
            snaps >= 4,
            "{snaps} snapshots for {diags} diagnostics records"
        );
    }
    assert_plots(&run);
}
