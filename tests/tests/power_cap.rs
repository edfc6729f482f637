//! `[ml] max_net_power` end to end: ocean-model ×2 and the real ml-server ×1 or ×2 on a 32²
//! double gyre for 10 days, coupled every 2 h, with the analytic backscatter (a negative
//! viscosity, so a net source of energy: about 2e-10 m² s⁻³ per cell here) capped at 1e-10.
//!
//! - Each ML rank holds a strip of rows; the cap sums the power over all of them, so the
//!   ocean of a run with 2 ML ranks equals that of 1 ML rank to float32 rounding (a cap
//!   taken strip by strip would differ by orders of magnitude more);
//! - the ml log says how often the cap acted, and the capped ocean differs from the free one;
//! - both ways of applying the cap (scaling, drag).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use eddylink_tests::{coupling_with_masks, run_mpmd, scratch_dir, skip, workspace_bin, Part};

const N: usize = 32;
const DX: f64 = 1.2e5;

/// The experiment with `ml_keys` added to `[ml]`.
fn experiment(test: &str, ml_keys: &str) -> (PathBuf, String) {
    let mut text = format!(
        "[run]\nname = \"cap\"\nduration = \"10d\"\noutput_dir = \"out\"\n\n{}",
        coupling_with_masks(N, "2h")
    );
    text += &format!(
        "[ocean.grid]\nnx = {N}\nny = {N}\nlx = {l}\nly = {l}\n\n\
         [ocean.physics]\nwind = \"double_gyre\"\n\n[ocean.time]\ndt = 600.0\n\n\
         [ocean.output]\nsnapshot_interval = 0\ndiagnostics_interval = \"6h\"\n\
         checkpoint_interval = 0\n\n\
         [ml]\nmodel = \"analytic\"\ndevice = \"cpu\"\n{ml_keys}\n\n\
         [ml.analytic]\nkind = \"backscatter\"\nnu = 2000.0\ndx = {DX}\ndy = {DX}\n",
        l = DX * N as f64
    );
    let dir = scratch_dir(test);
    let path = dir.join("exp.toml");
    std::fs::write(&path, text).expect("scratch is writable");
    (dir, path.display().to_string())
}

/// The basin KE series of a 10-day run with `ml_ranks` ML ranks, and the ml log.
fn run(python: &Path, test: &str, ml_keys: &str, ml_ranks: usize) -> (Vec<f64>, String) {
    let (dir, cfg) = experiment(test, ml_keys);
    let parts = [
        Part::new(2, workspace_bin("ocean-model"), &["--config", &cfg]),
        Part::new(ml_ranks, workspace_bin("ml-server"), &["--config", &cfg]),
    ];
    let out = run_mpmd(&parts, &dir, Duration::from_secs(300));
    assert!(
        out.succeeded(),
        "{test} ({}):\n{}",
        out.ending(),
        out.output()
    );
    let run_dir = dir.join("out/cap");
    let read = Command::new(python)
        .args([
            "-c",
            "import sys, xarray as xr; d = xr.open_dataset(sys.argv[1], decode_times=False); \
             print(' '.join(repr(float(x)) for x in d['kinetic_energy'].values))",
        ])
        .arg(run_dir.join("diagnostics.nc"))
        .output()
        .expect("python runs");
    assert!(
        read.status.success(),
        "{}",
        String::from_utf8_lossy(&read.stderr)
    );
    let ke = String::from_utf8_lossy(&read.stdout)
        .split_whitespace()
        .map(|x| x.parse().expect("a number"))
        .collect();
    let log = std::fs::read_to_string(run_dir.join("ml.log")).unwrap_or_default();
    std::fs::remove_dir_all(&dir).ok();
    (ke, log)
}

fn largest_relative_difference(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs() / x.abs().max(y.abs()).max(f64::MIN_POSITIVE))
        .fold(0.0, f64::max)
}

fn the_cap_does_not_depend_on_the_ml_rank_count(by: &str) {
    let Some(python) = skip::python_with(&["xarray", "scipy"]) else {
        return;
    };
    let keys = format!("max_net_power = 1e-10\npower_cap_by = \"{by}\"");
    let (free, _) = run(&python, &format!("cap-free-{by}"), "", 1);
    let (one, log) = run(&python, &format!("cap-{by}-1"), &keys, 1);
    let (two, _) = run(&python, &format!("cap-{by}-2"), &keys, 2);
    assert!(free.len() >= 40, "{} diagnostics records", free.len());
    let acted = log
        .lines()
        .find(|l| l.contains("exceeded the cap at"))
        .unwrap_or_else(|| panic!("no cap line in ml.log:\n{log}"));
    assert!(!acted.contains("at 0 of"), "the cap never acted: {acted}");
    let ranks = largest_relative_difference(&one, &two);
    let cap = largest_relative_difference(&free, &one);
    eprintln!("{by}: KE 1 vs 2 ML ranks {ranks:.2e}, free vs capped {cap:.2e}; {acted}");
    // float32 forcing, sums in float64 in another order: rounding, far below the cap's effect
    assert!(ranks < 1e-5, "1 and 2 ML ranks differ by {ranks:.2e}");
    assert!(cap > 1e-3, "the capped run is the free one ({cap:.2e})");
}

#[test]
fn a_cap_by_scaling_is_the_same_on_one_and_two_ml_ranks() {
    the_cap_does_not_depend_on_the_ml_rank_count("scaling");
}

#[test]
fn a_cap_by_drag_is_the_same_on_one_and_two_ml_ranks() {
    the_cap_does_not_depend_on_the_ml_rank_count("drag");
}
