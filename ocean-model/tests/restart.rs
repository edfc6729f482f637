//! 2N steps in one run equal N steps plus a restart for N more, bit for bit.

mod common;

use std::time::Duration;

use common::*;

const OCEAN: &str = r#"
[ocean.grid]
nx = 24
[ocean.output]
snapshot_interval = "1d"
"#;

#[test]
fn restart_reproduces_uninterrupted_run() {
    let dir = test_dir("restart");
    let cfg = write_config(&dir, "2d", OCEAN);
    let cfg = cfg.to_str().unwrap();
    let (full, half) = (dir.join("full"), dir.join("half"));
    // 24 × 24: dt = 1152 s? whatever the default, use steps explicitly.
    let out = run_mpi(
        2,
        &[
            "--config",
            cfg,
            "--steps",
            "60",
            "--output-dir",
            full.to_str().unwrap(),
        ],
        Duration::from_secs(60),
    );
    assert_success(&out, "uninterrupted run");
    let out = run_mpi(
        1,
        &[
            "--config",
            cfg,
            "--steps",
            "30",
            "--output-dir",
            half.to_str().unwrap(),
        ],
        Duration::from_secs(60),
    );
    assert_success(&out, "first half");
    let ck = half.join("checkpoint_0000000030.nc");
    let out = run_mpi(
        2,
        &[
            "--config",
            cfg,
            "--steps",
            "30",
            "--output-dir",
            half.to_str().unwrap(),
            "--restart",
            ck.to_str().unwrap(),
        ],
        Duration::from_secs(60),
    );
    assert_success(&out, "restarted half");
    let a = bytes(&full.join("checkpoint_0000000060.nc"));
    let b = bytes(&half.join("checkpoint_0000000060.nc"));
    assert!(a == b, "restarted run differs from the uninterrupted one");
    // The restart continues the first part's snapshots.nc: the state, hence the
    // snapshots, do not depend on the decomposition.
    assert!(
        bytes(&full.join("snapshots.nc")) == bytes(&half.join("snapshots.nc")),
        "the joined snapshots differ from the uninterrupted run's"
    );
}
