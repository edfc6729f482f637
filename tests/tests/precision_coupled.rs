//! An f32 ocean (`[ocean.numerics] precision = "f32"`, issue 15) coupled to ml-server:
//! the default experiment runs through, its forcing arrives, and its snapshots hold
//! u and the received sx as NetCDF floats that say their precision.

use std::path::{Path, PathBuf};
use std::time::Duration;

use eddylink_tests::{run_mpmd, scratch_dir, workspace_bin, Part};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is in the repository")
        .to_path_buf()
}

#[test]
fn an_f32_ocean_runs_coupled_to_ml_server() {
    let text = std::fs::read_to_string(repo().join("configs/double_gyre_64.toml"))
        .expect("the default config exists");
    let mut text = text.replacen("precision = \"f64\"", "precision = \"f32\"", 1);
    let line = text
        .lines()
        .find(|l| l.starts_with("duration = "))
        .expect("[run] duration")
        .to_string();
    text = text.replacen(&line, "duration = \"1d\"", 1);
    // A snapshot at the end too (the one at t = 0 comes before the first forcing).
    let line = text
        .lines()
        .find(|l| l.starts_with("snapshot_interval = "))
        .expect("[ocean.output] snapshot_interval")
        .to_string();
    text = text.replacen(&line, "snapshot_interval = \"1d\"", 1);
    assert!(
        text.contains("precision = \"f32\""),
        "no [ocean.numerics] in the default config"
    );
    let dir = scratch_dir("precision_coupled");
    let cfg = dir.join("exp.toml");
    std::fs::write(&cfg, text).expect("scratch is writable");
    let cfg = cfg.display().to_string();
    let parts = [
        Part::new(2, workspace_bin("ocean-model"), &["--config", &cfg]),
        Part::new(1, workspace_bin("ml-server"), &["--config", &cfg]),
    ];
    let out = run_mpmd(&parts, &dir, Duration::from_secs(240));
    assert!(
        out.succeeded(),
        "the f32 coupled run failed:\n{}",
        out.output()
    );
    let run_dir = dir.join("out/double_gyre_64");
    let log = std::fs::read_to_string(run_dir.join("ocean.log")).expect("ocean.log");
    assert!(log.contains("ranks in f32"), "{log}");
    let mut r = netcdf3::FileReader::open(run_dir.join("snapshots.nc")).expect("snapshots.nc");
    for name in ["u", "sx"] {
        assert_eq!(
            r.data_set().var_data_type(name),
            Some(netcdf3::DataType::F32),
            "{name}"
        );
        assert_eq!(
            r.data_set()
                .get_var_attr_as_string(name, "precision")
                .as_deref(),
            Some("f32")
        );
    }
    let sx = r.read_var_f32("sx").expect("sx");
    assert!(
        sx.iter().any(|&x| x != 0.0),
        "the analytic model's forcing did not arrive in the f32 ocean"
    );
}
