//! The CF points that matter to a user's tools, checked in every file a run writes
//! (snapshots, diagnostics, checkpoint). The reference CF checker (cfchecker) needs the
//! UDUNITS-2 C library, which this set-up does not install, so these are the checks of
//! the CF-1.8 conformance document that apply to these files:
//!
//! * `Conventions = "CF-1.8"` (§2.6.1);
//! * every variable has `units` (§3.1) and a `long_name` or `standard_name` (§3.2);
//! * a `standard_name` is in the CF standard name table, with units that convert to its
//!   canonical units (§3.3; the table rows are copied below from version 84);
//! * every dimension of a data variable has a coordinate variable, strictly monotonic
//!   (§1.3, §5), with `axis` X, Y or T;
//! * time: units "<unit> since <date>" and a calendar CF knows (§4.4); a checkpoint's
//!   time is a scalar coordinate named by each variable's `coordinates` (§5.7), at the
//!   checkpoint's step × dt.

mod common;

use std::path::Path;
use std::time::Duration;

use common::*;
use netcdf3::{DataSet, FileReader};

/// Standard names used by the model and their canonical units (CF table v84), and the
/// units the model writes them in, which must be the same unit.
const CF_TABLE: [(&str, &str); 7] = [
    ("time", "s"),
    ("projection_x_coordinate", "m"),
    ("projection_y_coordinate", "m"),
    ("sea_water_x_velocity", "m s-1"),
    ("sea_water_y_velocity", "m s-1"),
    ("sea_surface_height_above_geoid", "m"),
    ("sea_water_volume", "m3"),
];
const CALENDARS: [&str; 8] = [
    "standard",
    "gregorian",
    "proleptic_gregorian",
    "noleap",
    "365_day",
    "all_leap",
    "366_day",
    "360_day",
];

/// Every CF problem of the file at `path`, one line each.
fn cf_problems(path: &Path) -> Vec<String> {
    let reader = FileReader::open(path).unwrap_or_else(|e| panic!("{}: {e:?}", path.display()));
    let ds = reader.data_set();
    let mut bad = Vec::new();
    if ds.get_global_attr_as_string("Conventions").as_deref() != Some("CF-1.8") {
        bad.push("Conventions is not CF-1.8".to_string());
    }
    for var in ds.get_vars() {
        let name = var.name();
        let attr = |a: &str| ds.get_var_attr_as_string(name, a);
        let Some(units) = attr("units") else {
            bad.push(format!("{name}: no units"));
            continue;
        };
        if attr("long_name").is_none() && attr("standard_name").is_none() {
            bad.push(format!("{name}: neither long_name nor standard_name"));
        }
        if let Some(standard) = attr("standard_name") {
            match CF_TABLE.iter().find(|(n, _)| *n == standard) {
                None => bad.push(format!(
                    "{name}: {standard} is not in CF_TABLE (CF table v84)"
                )),
                Some((_, canonical)) => {
                    let base = units.split(" since ").next().unwrap_or("");
                    let same = base == *canonical || (*canonical == "s" && base == "seconds");
                    if !same {
                        bad.push(format!("{name}: units {units} are not {canonical}"));
                    }
                }
            }
        }
        if name == "time" {
            bad.extend(time_problems(ds, &units));
        }
        for dim in var.dim_names() {
            bad.extend(coordinate_problems(path, ds, &dim));
        }
    }
    bad
}

fn time_problems(ds: &DataSet, units: &str) -> Vec<String> {
    let mut bad = Vec::new();
    let since = units.split_once(" since ");
    if !since.is_some_and(|(u, date)| u == "seconds" && date.starts_with("0001-01-01")) {
        bad.push(format!(
            "time: units {units} are not \"seconds since <date>\""
        ));
    }
    let calendar = ds.get_var_attr_as_string("time", "calendar");
    if !calendar.as_deref().is_some_and(|c| CALENDARS.contains(&c)) {
        bad.push(format!("time: calendar {calendar:?} is not a CF calendar"));
    }
    bad
}

fn coordinate_problems(path: &Path, ds: &DataSet, dim: &str) -> Vec<String> {
    if !ds.has_var(dim) {
        return vec![format!("dimension {dim} has no coordinate variable")];
    }
    let mut bad = Vec::new();
    let axis = ds.get_var_attr_as_string(dim, "axis");
    if !matches!(axis.as_deref(), Some("X" | "Y" | "T")) {
        bad.push(format!("{dim}: axis {axis:?}"));
    }
    let values = read_var(path, dim);
    if !values.windows(2).all(|w| w[0] < w[1]) {
        bad.push(format!("{dim}: not strictly increasing"));
    }
    bad
}

#[test]
fn every_file_of_a_run_meets_the_cf_points_that_matter() {
    let dir = test_dir("cf_metadata");
    let ocean = "[ocean.grid]\nnx = 16\nny = 12\n[ocean.time]\ndt = 600\n[ocean.output]\nsnapshot_interval = \"1h\"\ndiagnostics_interval = \"30min\"\ncheckpoint_interval = \"2h\"\n";
    let cfg = write_config(&dir, "3h", ocean);
    let out_dir = dir.join("out");
    let out = run_mpi(
        2,
        &[
            "--config",
            cfg.to_str().unwrap(),
            "--output-dir",
            out_dir.to_str().unwrap(),
        ],
        Duration::from_secs(60),
    );
    assert_success(&out, "run");
    let ck = out_dir.join("checkpoint_0000000012.nc");
    for file in [
        out_dir.join("snapshots.nc"),
        out_dir.join("diagnostics.nc"),
        ck.clone(),
    ] {
        let problems = cf_problems(&file);
        assert!(
            problems.is_empty(),
            "{}:\n  {}",
            file.display(),
            problems.join("\n  ")
        );
    }

    let snaps = FileReader::open(out_dir.join("snapshots.nc")).unwrap();
    for (var, standard) in [
        ("u", "sea_water_x_velocity"),
        ("v", "sea_water_y_velocity"),
        ("eta", "sea_surface_height_above_geoid"),
    ] {
        let got = snaps
            .data_set()
            .get_var_attr_as_string(var, "standard_name");
        assert_eq!(got.as_deref(), Some(standard), "{var}");
    }

    // The checkpoint's scalar time coordinate, named by each variable.
    let reader = FileReader::open(&ck).unwrap();
    let ds = reader.data_set();
    assert!(ds.get_var("time").is_some_and(|t| t.dim_names().is_empty()));
    for var in ["u", "v", "eta", "sx", "sy"] {
        assert_eq!(
            ds.get_var_attr_as_string(var, "coordinates").as_deref(),
            Some("time")
        );
    }
    assert_eq!(read_var(&ck, "time"), [12.0 * 600.0]);
    if let Some(python) = std::env::var_os("EDDYLINK_PYTHON") {
        let script = "import sys, xarray as xr\nds = xr.open_dataset(sys.argv[1])\nprint(ds['u'].coords['time'].dt.strftime('%Y-%m-%d %H:%M').item())";
        let out = std::process::Command::new(python)
            .args(["-c", script])
            .arg(&ck)
            .output()
            .expect("python runs");
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            text.trim(),
            "0001-01-01 02:00",
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    } else {
        eprintln!("SKIPPED the xarray check: EDDYLINK_PYTHON is not set (run `make setup`)");
    }
}
