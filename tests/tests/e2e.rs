//! The real programs end to end: ocean-model and ml-server in one MPMD launch with the
//! default experiment (shortened), in either launch order, and through a Slurm plan.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use eddylink_tests::{
    output_within, run_mpmd, run_with_limit, scratch_dir, skip, workspace_bin, Outcome, Part,
};

const LIMIT: Duration = Duration::from_secs(240);

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is in the repository")
        .to_path_buf()
}

/// The default experiment, shortened to `duration`, written into a scratch folder.
fn default_experiment(test: &str, duration: &str) -> (PathBuf, String) {
    let text = std::fs::read_to_string(repo().join("configs/double_gyre_64.toml"))
        .expect("the default config exists");
    let line = text
        .lines()
        .find(|l| l.starts_with("duration = "))
        .expect("[run] duration");
    let text = text.replacen(line, &format!("duration = \"{duration}\""), 1);
    let dir = scratch_dir(test);
    let path = dir.join("exp.toml");
    std::fs::write(&path, text).expect("scratch is writable");
    (dir, path.display().to_string())
}

/// Reads `coupler_timing_<component>.json` and returns (field, direction) → exchanges.
fn exchanges(run_dir: &Path, component: &str) -> Vec<(String, String, u64)> {
    let path = run_dir.join(format!("coupler_timing_{component}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let json: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
    json["fields"]
        .as_array()
        .expect("fields")
        .iter()
        .map(|f| {
            let s = |k: &str| f[k].as_str().unwrap_or_default().to_string();
            (
                s("field"),
                s("direction"),
                f["exchanges"].as_u64().unwrap_or(0),
            )
        })
        .collect()
}

fn assert_round_trip(out: &Outcome, dir: &Path, coupling_times: u64) {
    assert!(
        out.succeeded(),
        "the coupled run failed (code {:?}):\n{}",
        out.code,
        out.output()
    );
    let run_dir = dir.join("out/double_gyre_64");
    let ocean = exchanges(&run_dir, "ocean");
    let ml = exchanges(&run_dir, "ml");
    for (field, dir_, n) in [
        ("u", "put", coupling_times),
        ("sx", "get", coupling_times),
        ("mask_u", "put", 1),
    ] {
        assert!(
            ocean.contains(&(field.into(), dir_.into(), n)),
            "ocean {field} {dir_} ≠ {n}: {ocean:?}"
        );
    }
    for (field, dir_, n) in [("u", "get", coupling_times), ("sx", "put", coupling_times)] {
        assert!(
            ml.contains(&(field.into(), dir_.into(), n)),
            "ml {field} {dir_} ≠ {n}: {ml:?}"
        );
    }
    for file in ["snapshots.nc", "diagnostics.nc"] {
        assert!(
            run_dir.join(file).exists(),
            "{file} missing in {}",
            run_dir.display()
        );
    }
}

#[test]
fn ocean_and_ml_server_find_each_other_and_exchange_fields() {
    let (dir, cfg) = default_experiment("skeleton", "1d");
    let parts = [
        Part::new(2, workspace_bin("ocean-model"), &["--config", &cfg]),
        Part::new(1, workspace_bin("ml-server"), &["--config", &cfg]),
    ];
    let out = run_mpmd(&parts, &dir, LIMIT);
    // 1 day of 2-hour coupling: 12 round trips.
    assert_round_trip(&out, &dir, 12);
    check_outputs_open_in_xarray(&dir.join("out/double_gyre_64"));
    check_run_directory(&dir.join("out/double_gyre_64"), &cfg, 300);
}

/// The run directory holds the config used, a log per component and a summary.
fn check_run_directory(run_dir: &Path, config: &str, steps: u64) {
    let read = |f: &str| {
        std::fs::read_to_string(run_dir.join(f))
            .unwrap_or_else(|e| panic!("{f} in {}: {e}", run_dir.display()))
    };
    assert_eq!(
        read("config.toml"),
        std::fs::read_to_string(config).unwrap()
    );
    assert!(
        read("ocean.log").contains("coupled: 64 × 64 cells"),
        "{}",
        read("ocean.log")
    );
    assert!(read("ml.log").contains("ml rank 0/1"), "{}", read("ml.log"));
    let summary: serde_json::Value = serde_json::from_str(&read("summary.json")).unwrap();
    assert_eq!(summary["status"], "completed", "{summary}");
    assert_eq!(summary["steps"].as_u64(), Some(steps), "{summary}");
    assert_eq!(summary["simulated_days"].as_f64(), Some(1.0), "{summary}");
    let (sypd, share) = (
        summary["sypd"].as_f64().unwrap(),
        summary["coupling_share"].as_f64().unwrap(),
    );
    assert!(sypd > 0.0 && (0.0..1.0).contains(&share), "{summary}");
}

/// Opens the run's NetCDF files with xarray, as a user would, and checks what a user relies on.
fn check_outputs_open_in_xarray(run_dir: &Path) {
    // The set-up installs xarray: without it this fails; without the set-up's Python, skips.
    let Some(python) = skip::python_with(&["xarray", "numpy"]) else {
        return;
    };
    let script = r#"
import sys, xarray as xr, numpy as np
run = sys.argv[1]
snap = xr.open_dataset(run + "/snapshots.nc")
diag = xr.open_dataset(run + "/diagnostics.nc")
for name in ["u", "v", "eta", "vorticity"]:
    var = snap[name]
    assert "units" in var.attrs and "long_name" in var.attrs, name
for dim in ["x", "y", "x_u", "y_v"]:
    assert snap[dim].attrs.get("units") == "m", dim
assert snap.sizes["time"] >= 1 and diag.sizes["time"] >= 2
assert np.isfinite(snap["eta"].values).all()
ke = diag["kinetic_energy"].values
assert ke[-1] > ke[0] >= 0.0, ke   # the wind spins the gyres up from rest
print("xarray ok:", dict(snap.sizes), "KE", ke[-1])
"#;
    let mut cmd = Command::new(python);
    cmd.arg("-c").arg(script).arg(run_dir);
    let out = output_within(cmd, Duration::from_secs(120));
    assert!(
        out.succeeded(),
        "xarray could not read the outputs:\n{}",
        out.output()
    );
}

#[test]
fn launch_order_does_not_matter() {
    let (dir, cfg) = default_experiment("skeleton_reversed", "1d");
    let parts = [
        Part::new(1, workspace_bin("ml-server"), &["--config", &cfg]),
        Part::new(2, workspace_bin("ocean-model"), &["--config", &cfg]),
    ];
    let out = run_mpmd(&parts, &dir, LIMIT);
    assert_round_trip(&out, &dir, 12);
}

#[test]
fn a_slurm_plan_runs_locally_through_mpiexec() {
    let (dir, cfg) = default_experiment("slurm_plan", "12h");
    let bin = workspace_bin("ocean-model")
        .parent()
        .expect("bin dir")
        .display()
        .to_string();
    let mut cmd = Command::new(repo().join("jobs/slurm/multiprog.sh"));
    cmd.args([cfg.as_str(), "2", "1", bin.as_str()]);
    let plan = output_within(cmd, Duration::from_secs(30));
    assert!(plan.succeeded(), "{}", plan.output());
    let plan_file = dir.join("plan.conf");
    std::fs::write(&plan_file, &plan.stdout).expect("writable");
    let mut cmd = Command::new(repo().join("jobs/slurm/plan-to-mpiexec.sh"));
    cmd.arg(&plan_file);
    let out = run_with_limit(cmd, &dir, LIMIT);
    assert_round_trip(&out, &dir, 6);
}

#[test]
fn a_coupled_ocean_that_would_stop_early_fails_at_once_instead_of_stranding_the_ml_side() {
    // --steps would end the ocean before [run] duration while ml-server serves the whole
    // run: both components must stop at start-up, well inside the 120 s coupling timeout.
    let (dir, cfg) = default_experiment("steps_in_coupled_run", "1d");
    let parts = [
        Part::new(
            2,
            workspace_bin("ocean-model"),
            &["--config", &cfg, "--steps", "10"],
        ),
        Part::new(1, workspace_bin("ml-server"), &["--config", &cfg]),
    ];
    let out = run_mpmd(&parts, &dir, LIMIT);
    assert!(
        !out.succeeded() && !out.timed_out(),
        "expected a clean failure:\n{}",
        out.output()
    );
    let said = out
        .stderr
        .matches("drop --steps and change [run] duration instead")
        .count();
    assert!(
        said >= 3,
        "every rank of both components gives the reason:\n{}",
        out.output()
    );
    assert!(
        out.elapsed < Duration::from_secs(60),
        "took {:?}",
        out.elapsed
    );
}
