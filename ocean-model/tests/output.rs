//! The NetCDF output: CF metadata, staggered coordinates, records on schedule, and a
//! diagnostics series whose volume stays constant.

mod common;

use std::time::Duration;

use common::*;

#[test]
fn snapshots_and_diagnostics_are_cf_files_on_schedule() {
    let dir = test_dir("output");
    let ocean = "[ocean.grid]\nnx = 16\nny = 12\n[ocean.time]\ndt = 600\n[ocean.output]\nsnapshot_interval = \"1h\"\ndiagnostics_interval = \"30min\"\n";
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

    let snaps = out_dir.join("snapshots.nc");
    let reader = netcdf3::FileReader::open(&snaps).expect("open snapshots");
    let ds = reader.data_set();
    assert_eq!(ds.num_records(), Some(4), "t = 0, 1, 2, 3 h");
    assert_eq!(
        ds.get_var_attr_as_string("time", "units").as_deref(),
        Some("seconds since 0001-01-01 00:00:00")
    );
    assert_eq!(
        ds.get_var_attr_as_string("time", "calendar").as_deref(),
        Some("noleap")
    );
    for (var, units) in [
        ("u", "m s-1"),
        ("v", "m s-1"),
        ("eta", "m"),
        ("vorticity", "s-1"),
        ("x_u", "m"),
        ("y_v", "m"),
    ] {
        assert_eq!(
            ds.get_var_attr_as_string(var, "units").as_deref(),
            Some(units),
            "{var}"
        );
        assert!(
            ds.get_var_attr_as_string(var, "long_name").is_some(),
            "{var}"
        );
    }
    let dims: Vec<String> = ds.get_var("u").expect("u").dim_names();
    assert_eq!(dims, ["time", "y", "x_u"]);
    assert_eq!(read_var(&snaps, "time"), [0.0, 3600.0, 7200.0, 10800.0]);
    let x_u = read_var(&snaps, "x_u");
    assert_eq!(x_u[15], 3.84e6, "the last u column is the east wall");
    let u = read_var(&snaps, "u");
    assert!(
        u[16 * 12..].iter().any(|&x| x != 0.0),
        "the wind moves the water"
    );
    assert!(
        (0..12).all(|j| u[3 * 192 + j * 16 + 15] == 0.0),
        "no flow through the east wall"
    );

    let diags = out_dir.join("diagnostics.nc");
    let volume = read_var(&diags, "volume");
    assert_eq!(volume.len(), 7);
    assert!(
        volume.iter().all(|v| (v / volume[0] - 1.0).abs() < 1e-13),
        "{volume:?}"
    );
    let ke = read_var(&diags, "kinetic_energy");
    assert!(ke[0] == 0.0 && ke[6] > 0.0, "{ke:?}");
    assert!(read_var(&diags, "max_cfl")
        .iter()
        .all(|&c| c > 0.0 && c < 1.0));
}
