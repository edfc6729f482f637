//! The result must not depend on the MPI layout: 1×1, 2×1, 1×2 and 2×2 runs write
//! byte-identical checkpoints. Each mpiexec run has a wall-clock limit.

mod common;

use std::time::Duration;

use common::*;

/// A 32 × 24 basin (not square, so a transposition would show), 40 steps.
const OCEAN: &str = r#"
[ocean.grid]
nx = 32
ny = 24
[ocean.output]
snapshot_interval = 0
diagnostics_interval = 0
"#;

fn run_layout(px: usize, py: usize) -> Vec<u8> {
    let dir = test_dir(&format!("layout_{px}x{py}"));
    let body = format!("{OCEAN}\n[ocean.parallel]\npx = {px}\npy = {py}\n");
    let cfg = write_config(&dir, "1d", &body);
    let out_dir = dir.join("out");
    let args = [
        "--config",
        cfg.to_str().unwrap(),
        "--steps",
        "40",
        "--output-dir",
        out_dir.to_str().unwrap(),
    ];
    let out = run_mpi(px * py, &args, Duration::from_secs(60));
    assert_success(&out, &format!("{px}×{py} run"));
    bytes(&out_dir.join("checkpoint_0000000040.nc"))
}

#[test]
fn layouts_give_bit_identical_checkpoints() {
    let serial = run_layout(1, 1);
    for (px, py) in [(2, 1), (1, 2), (2, 2)] {
        let parallel = run_layout(px, py);
        assert!(serial == parallel, "{px}×{py} differs from 1×1");
    }
}
