//! Shared helpers for the integration tests: where the GZ21 weights and Python
//! live, scratch folders, and random inputs.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use eddylink_tests::skip;

use rand::rngs::StdRng;
use rand::SeedableRng;
use rand_distr::{Distribution, Normal};

/// `trained_model.pth` from `$EDDYLINK_GZ21_DIR`, else from the `shared/gz21` folder beside
/// the repository, or None (a visible skip: the weights are shared data, not set-up). The variable serves test binaries run
/// away from their source tree (`scripts/gpu_verify.sh`).
pub fn gz21_weights() -> Option<PathBuf> {
    let dir = std::env::var_os("EDDYLINK_GZ21_DIR").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/gz21"),
        PathBuf::from,
    );
    let p = dir.join("trained_model.pth");
    if p.exists() {
        Some(p)
    } else {
        skip::skip(&format!(
            "GZ21 weights not found at {} (set EDDYLINK_GZ21_DIR)",
            p.display()
        ));
        None
    }
}

/// `$EDDYLINK_PYTHON` if it imports torch and numpy; a visible skip where the set-up used
/// a system libtorch (no torch in `.venv`), a failure where the set-up should have
/// installed them (see [`skip::python_with`]).
pub fn python() -> Option<PathBuf> {
    skip::python_with(&["torch", "numpy"])
}

/// Runs `script` (written to `dir`) with `args`, killed after 10 minutes; panics with its
/// stderr on failure.
pub fn run_python(py: &Path, dir: &Path, script: &str, args: &[&str]) {
    let file = dir.join("script.py");
    std::fs::write(&file, script).unwrap();
    let mut cmd = Command::new(py);
    cmd.arg(&file).args(args);
    let out = eddylink_tests::output_within(cmd, Duration::from_secs(600));
    assert!(
        out.succeeded(),
        "python failed ({}):\n{}",
        out.ending(),
        out.stderr
    );
}

/// A fresh scratch folder for one test.
pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ml-server-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `n` values of N(0, sigma) from `seed`.
pub fn random(n: usize, sigma: f32, seed: u64) -> Vec<f32> {
    let mut rng = StdRng::seed_from_u64(seed);
    let d = Normal::new(0.0, sigma).unwrap();
    (0..n).map(|_| d.sample(&mut rng)).collect()
}

/// Largest |a − b| / max(|b|, floor) over the arrays.
pub fn max_rel_diff(a: &[f32], b: &[f32], floor: f32) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs() / y.abs().max(floor))
        .fold(0.0, f32::max)
}

/// The FullyCNN as GZ21 builds it, with its final transformation: the
/// reference implementation the native one is compared with.
pub const GZ21_PY: &str = r#"
import sys, numpy as np, torch, torch.nn as nn
torch.set_num_threads(2)
spec = [(2,128,5),(128,64,5),(64,32,3),(32,32,3),(32,32,3),(32,32,3),(32,32,3),(32,4,3)]

class FullyCNN(nn.Sequential):
    def __init__(self, mode):
        layers = []
        for k, (i, o, s) in enumerate(spec):
            pad = {"valid": 0, "same": (s - 1) // 2, "init_zeros": 10 if k == 0 else 0}[mode]
            layers.append(nn.Conv2d(i, o, s, padding=pad))
            if k < 7:
                layers.append(nn.ReLU())
        super().__init__(*layers)
        self.min_value = 0.0

    def forward(self, x):
        y = super().forward(x)
        return torch.cat([y[:, :2], nn.functional.softplus(y[:, 2:]) + self.min_value], 1)

def load(weights, mode):
    sd = torch.load(weights, map_location="cpu")
    net = FullyCNN(mode)
    net.min_value = float(sd.pop("final_transformation.min_value"))
    net.load_state_dict(sd)
    return net.eval()
"#;
