//! The coupler under real MPMD launches: toy-ocean puts a known field, toy-ml checks every
//! cell it receives (halo included) and answers, toy-ocean checks the answer. Each job has
//! a wall-clock limit, so a hang fails the test instead of stalling the suite.

use std::path::Path;
use std::time::Duration;

use eddylink_tests::{run_mpmd, scratch_dir, Outcome, Part};

const LIMIT: Duration = Duration::from_secs(90);

/// An experiment file with `u` sent ocean → ml and `sx` back, every `period`.
fn config(u_extra: &str, period: &str, duration: &str, levels: usize) -> String {
    format!(
        r#"
[run]
name = "toy"
duration = "{duration}"
[coupling]
timeout = "30s"
[[coupling.exchange]]
from = "ocean.u"
to = "ml.u"
grid = "U"
period = "{period}"
levels = {levels}
{u_extra}
[[coupling.exchange]]
from = "ml.sx"
to = "ocean.sx"
grid = "U"
period = "{period}"
levels = {levels}
"#
    )
}

fn toy(name: &str) -> std::path::PathBuf {
    match name {
        "ocean" => env!("CARGO_BIN_EXE_toy-ocean").into(),
        _ => env!("CARGO_BIN_EXE_toy-ml").into(),
    }
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("scratch dir is writable");
    path.display().to_string()
}

/// Runs toy-ocean on `ocean` = (ranks, layout) and toy-ml on `ml`, ocean launched first
/// unless `ml_first`.
fn run_pair(
    test: &str,
    text: &str,
    ocean: (usize, &str),
    ml: (usize, &str),
    ml_first: bool,
) -> Outcome {
    run_pair_on(test, text, "24x20", ocean, ml, ml_first)
}

/// Like [`run_pair`] on a global grid `NXxNY`.
fn run_pair_on(
    test: &str,
    text: &str,
    grid: &str,
    ocean: (usize, &str),
    ml: (usize, &str),
    ml_first: bool,
) -> Outcome {
    run_pair_with(test, text, grid, ocean, ml, ml_first, &[])
}

/// Like [`run_pair_on`], with `ml_extra` added to the toy ML's arguments.
fn run_pair_with(
    test: &str,
    text: &str,
    grid: &str,
    ocean: (usize, &str),
    ml: (usize, &str),
    ml_first: bool,
    ml_extra: &[&str],
) -> Outcome {
    let dir = scratch_dir(test);
    let cfg = write(&dir, "exp.toml", text);
    let args =
        |layout: &str| ["--config", &cfg, "--layout", layout, "--grid", grid].map(String::from);
    let o = Part {
        ranks: ocean.0,
        program: toy("ocean"),
        args: args(ocean.1).to_vec(),
    };
    let mut ml_args = args(ml.1).to_vec();
    ml_args.extend(ml_extra.iter().map(|s| s.to_string()));
    let m = Part {
        ranks: ml.0,
        program: toy("ml"),
        args: ml_args,
    };
    let parts = if ml_first { vec![m, o] } else { vec![o, m] };
    run_mpmd(&parts, &dir, LIMIT)
}

/// Asserts success and that every rank of both toys checked data at `times` coupling times.
fn assert_checked(out: &Outcome, ocean_ranks: usize, ml_ranks: usize, times: usize) {
    assert_checked_times(out, (ocean_ranks, times), (ml_ranks, times));
}

fn assert_checked_times(out: &Outcome, ocean: (usize, usize), ml: (usize, usize)) {
    assert!(
        out.succeeded(),
        "the coupled toys failed (code {:?}):\n{}",
        out.code,
        out.output()
    );
    for (who, (n, times)) in [("toy-ocean", ocean), ("toy-ml", ml)] {
        for r in 0..n {
            let line = out
                .stdout
                .lines()
                .find(|l| l.starts_with(&format!("{who} rank {r}: checked ")))
                .unwrap_or_else(|| {
                    panic!("no check report from {who} rank {r}:\n{}", out.output())
                });
            assert!(
                line.ends_with(&format!(" at {times} coupling times")),
                "{line}"
            );
            assert!(!line.contains("checked 0 values"), "{line}");
        }
    }
}

#[test]
fn one_to_one() {
    let out = run_pair(
        "one_to_one",
        &config("", "3h", "12h", 1),
        (1, "1x1"),
        (1, "1x1"),
        false,
    );
    assert_checked(&out, 1, 1, 4);
}

#[test]
fn two_to_one_with_levels() {
    let out = run_pair(
        "two_to_one",
        &config("", "3h", "12h", 3),
        (2, "2x1"),
        (1, "1x1"),
        false,
    );
    assert_checked(&out, 2, 1, 4);
}

#[test]
fn three_to_two_with_different_box_shapes_launched_ml_first() {
    // Ocean in three column strips, ML in two row strips: every ML box draws on every ocean rank.
    let out = run_pair(
        "three_to_two",
        &config("halo = 1", "3h", "9h", 2),
        (3, "3x1"),
        (2, "1x2"),
        true,
    );
    assert_checked(&out, 3, 2, 3);
}

#[test]
fn put_sync_sends_each_piece_straight_from_the_callers_array() {
    // ML in two row strips sending to the ocean's three column strips: every message is
    // gathered from partial rows of toy-ml's f32 array by an MPI datatype.
    let out = run_pair_with(
        "put_sync",
        &config("halo = 1", "3h", "9h", 2),
        "24x20",
        (3, "3x1"),
        (2, "1x2"),
        true,
        &["--put-sync"],
    );
    assert_checked(&out, 3, 2, 3);
}

#[test]
fn large_fields_are_received_straight_into_the_callers_array() {
    // 288×240 with a halo is over the coupler's direct-receive threshold (65,536 values per
    // message): toy-ml's f32 receive lands in its array through an MPI datatype, toy-ocean's
    // f64 receive goes through a buffer posted at get time.
    let extra = "halo = 2\nboundary = [\"cyclic\", \"closed\"]";
    let out = run_pair_on(
        "direct",
        &config(extra, "3h", "6h", 1),
        "288x240",
        (1, "1x1"),
        (1, "1x1"),
        false,
    );
    assert_checked(&out, 1, 1, 2);
}

#[test]
fn static_fields_are_sent_once_at_the_start() {
    let text = config("", "3h", "6h", 1)
        + "[[coupling.exchange]]\nfrom = \"ocean.mask\"\nto = \"ml.mask\"\ngrid = \"T\"\nperiod = \"static\"\nhalo = 1\n";
    let out = run_pair("static", &text, (2, "1x2"), (2, "2x1"), false);
    assert_checked(&out, 2, 2, 2);
    for r in 0..2 {
        assert!(
            out.stdout
                .contains(&format!("toy-ml rank {r}: static mask checked")),
            "{}",
            out.output()
        );
    }
}

#[test]
fn halo_with_closed_edges() {
    // toy-ml answers with centred differences over its halo; zero beyond the walls.
    let extra = "halo = 3\nboundary = [\"closed\", \"closed\"]";
    let out = run_pair(
        "halo_closed",
        &config(extra, "3h", "6h", 1),
        (2, "1x2"),
        (2, "2x1"),
        false,
    );
    assert_checked(&out, 2, 2, 2);
}

#[test]
fn halo_with_cyclic_edges() {
    let extra = "halo = 3\nboundary = [\"cyclic\", \"cyclic\"]";
    let out = run_pair(
        "halo_cyclic",
        &config(extra, "3h", "6h", 1),
        (2, "1x2"),
        (2, "2x1"),
        false,
    );
    assert_checked(&out, 2, 2, 2);
}

#[test]
fn average_over_the_period() {
    // 1-hour ocean steps, 3-hour period: each coupling time sends the mean of its puts.
    let out = run_pair(
        "average",
        &config("op = \"average\"", "3h", "12h", 1),
        (2, "2x1"),
        (1, "1x1"),
        false,
    );
    assert_checked(&out, 2, 1, 4);
}

#[test]
fn accumulate_over_the_period() {
    let out = run_pair(
        "accumulate",
        &config("op = \"accumulate\"", "3h", "12h", 1),
        (1, "1x1"),
        (2, "1x2"),
        false,
    );
    assert_checked(&out, 1, 2, 4);
}

#[test]
fn lag_delivers_the_previous_steps_put() {
    // With a one-step lag the data for t = 3h is the ocean's put at 2h; nothing arrives at t = 0.
    // The ML side still answers at t = 0 (from zeros), so the ocean checks 4 answers.
    let out = run_pair(
        "lag",
        &config("lag = \"1h\"\nop = \"average\"", "3h", "12h", 1),
        (2, "1x2"),
        (1, "1x1"),
        false,
    );
    assert_checked_times(&out, (2, 4), (1, 3));
}

#[test]
fn mismatched_configs_stop_both_components_with_the_difference() {
    let dir = scratch_dir("mismatch");
    let a = write(&dir, "a.toml", &config("", "3h", "12h", 1));
    let b = write(&dir, "b.toml", &config("", "6h", "12h", 1));
    let parts = [
        Part::new(1, toy("ocean"), &["--config", &a]),
        Part::new(1, toy("ml"), &["--config", &b]),
    ];
    let out = run_mpmd(&parts, &dir, LIMIT);
    let difference = "coupling.exchange[0].period is 10800.0 for 'ocean' but 21600.0 for 'ml'";
    out.assert_stopped_with(difference, 2, Duration::from_secs(20));
    for who in ["toy-ocean: error:", "toy-ml: error:"] {
        assert!(
            out.stderr.contains(who),
            "no `{who}` line:\n{}",
            out.output()
        );
    }
}

#[test]
fn a_missing_component_is_an_error_on_every_rank_not_a_hang() {
    let dir = scratch_dir("missing");
    let cfg = write(&dir, "exp.toml", &config("", "3h", "12h", 1));
    let ocean_alone = [Part::new(
        2,
        toy("ocean"),
        &["--config", &cfg, "--layout", "2x1"],
    )];
    let out = run_mpmd(&ocean_alone, &dir, LIMIT);
    let missing = "component 'ml' is named in [coupling] but was not launched";
    out.assert_stopped_with(missing, 2, Duration::from_secs(20));
}

#[test]
fn a_component_that_cannot_start_stops_every_rank_at_once_with_its_reason() {
    let dir = scratch_dir("abandon");
    let cfg = write(&dir, "exp.toml", &config("", "3h", "12h", 1));
    let reason = "weights file w.pth is truncated";
    let parts = [
        Part::new(2, toy("ocean"), &["--config", &cfg, "--layout", "2x1"]),
        Part::new(
            1,
            toy("ml"),
            &["--config", &cfg, "--fail-before-enddef", reason],
        ),
    ];
    let out = run_mpmd(&parts, &dir, LIMIT);
    // Both ocean ranks and the ML rank give the reason, with no wait for the 30 s timeout.
    let said = format!("component 'ml' (world rank 2) could not start: {reason}");
    out.assert_stopped_with(&said, 3, Duration::from_secs(20));
}

#[test]
fn a_silent_peer_ends_the_job_by_the_timeout_with_the_field_and_time() {
    let dir = scratch_dir("silent");
    let text = config("", "3h", "12h", 1).replace("timeout = \"30s\"", "timeout = \"3s\"");
    let cfg = write(&dir, "exp.toml", &text);
    let parts = [
        Part::new(2, toy("ocean"), &["--config", &cfg, "--layout", "2x1"]),
        Part::new(1, toy("ml"), &["--config", &cfg, "--hang-after", "1"]),
    ];
    let out = run_mpmd(&parts, &dir, LIMIT);
    // The 3 s timeout, plus start-up and MPI_Abort's clean-up: far below the 600 s the peer
    // sleeps. The first ocean rank to time out aborts the job, so one report is certain.
    let waited = "for 'sx' from ml at model time 10800 s";
    assert!(
        out.stderr.contains("coupler timeout: component 'ocean'"),
        "{}",
        out.output()
    );
    assert!(out.stderr.matches(waited).count() >= 1, "{}", out.output());
    assert!(
        !out.succeeded() && !out.timed_out(),
        "expected the coupler to end the job:\n{}",
        out.output()
    );
    assert!(
        out.elapsed < Duration::from_secs(30),
        "took {:?}",
        out.elapsed
    );
}
