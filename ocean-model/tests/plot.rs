//! `ocean-model plot`: the figures of a real short run exist, decode, have their size and
//! are not blank; the forcing figure comes only from a coupled run; records a stopped run
//! never reached are skipped; no font means figures without text and one warning; a
//! missing run folder is a usage error that names it.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use common::*;
use eddylink_plot::{RunOutput, FORCING_SIZE, MAP_SIZE, SERIES_SIZE};
use eddylink_tests::OCEAN_ML_HOURLY as COUPLING;
use ocean_model::output::{self, RecordWriter};
use ocean_model::params::Params;

const LIMIT: Duration = Duration::from_secs(90);

const OCEAN: &str = r#"
[ocean.grid]
nx = 32
ny = 32
[ocean.output]
snapshot_interval = "1d"
diagnostics_interval = "1d"
"#;

/// The output folder of one 5-day standalone run, shared by the tests of this file.
fn standalone_run() -> &'static Path {
    static RUN: OnceLock<PathBuf> = OnceLock::new();
    RUN.get_or_init(|| {
        let dir = test_dir("plot_standalone");
        let cfg = write_config(&dir, "5d", OCEAN);
        let out = dir.join("out");
        let run = run_mpi(
            2,
            &[
                "--config",
                cfg.to_str().unwrap(),
                "--output-dir",
                out.to_str().unwrap(),
            ],
            LIMIT,
        );
        assert_success(&run, "standalone run");
        out
    })
}

/// `ocean-model plot run_dir --out out` with extra environment variables.
fn plot(run_dir: &Path, out: &Path, env: &[(&str, &str)]) -> eddylink_tests::Outcome {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ocean-model"));
    cmd.args([
        "plot",
        run_dir.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    cmd.envs(env.iter().copied());
    run_command(cmd, LIMIT)
}

/// An RGB(A) image: width, height, channels and bytes.
struct Image {
    width: u32,
    height: u32,
    channels: usize,
    data: Vec<u8>,
}

fn decode(path: &Path) -> Image {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut reader = png::Decoder::new(file)
        .read_info()
        .unwrap_or_else(|e| panic!("{}: not a PNG: {e}", path.display()));
    let mut data = vec![0; reader.output_buffer_size()];
    let info = reader
        .next_frame(&mut data)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    data.truncate(info.buffer_size());
    Image {
        width: info.width,
        height: info.height,
        channels: info.color_type.samples(),
        data,
    }
}

/// What a figure shows: colour maps side by side, each with a colour bar, or a line.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Maps(usize),
    Series,
}

/// Decode `path` and check its size and that it draws its data: each map panel paints at
/// least 80 % of the pixels inside the frame of its data area, not the white background
/// (a half-cell strip along two walls stays white for staggered fields); a series has a
/// framed data area (its line is checked by [`has_energy_line`]).
fn check_figure(path: &Path, size: (u32, u32), kind: Kind) -> Image {
    let img = decode(path);
    assert_eq!((img.width, img.height), size, "{}", path.display());
    let Kind::Maps(panels) = kind else {
        data_area(&img, 0, kind);
        return img;
    };
    for panel in 0..panels {
        let area = data_area(&img, panel, kind);
        let pixels: Vec<&[u8]> = area.pixels(&img).collect();
        let painted = pixels.iter().filter(|p| p[..3] != [255, 255, 255]).count();
        assert!(
            painted as f64 >= 0.8 * pixels.len() as f64,
            "{} panel {panel}: {painted} of {} pixels of the data area {area:?} painted",
            path.display(),
            pixels.len()
        );
    }
    img
}

/// The pixels strictly inside the black frame around a chart's data area.
#[derive(Debug, Clone, Copy)]
struct DataArea {
    columns: (usize, usize),
    rows: (usize, usize),
}

impl DataArea {
    fn pixels<'a>(&self, img: &'a Image) -> impl Iterator<Item = &'a [u8]> + 'a {
        let (c, (r0, r1), width) = (self.columns, self.rows, img.width as usize);
        (r0..r1).flat_map(move |y| {
            (c.0..c.1).map(move |x| &img.data[(y * width + x) * img.channels..][..img.channels])
        })
    }
}

/// Finds the frame of the data area of panel `panel` of a figure of `kind`: the columns
/// and rows with long runs of black pixels (text and ticks have short ones). A map
/// panel's colour bar (its rightmost 120 pixels) is left out.
fn data_area(img: &Image, panel: usize, kind: Kind) -> DataArea {
    let (w, h) = (img.width as usize, img.height as usize);
    let black = |x: usize, y: usize| img.data[(y * w + x) * img.channels..][..3] == [0, 0, 0];
    let (panel_width, bar) = match kind {
        Kind::Maps(n) => (w / n, 120),
        Kind::Series => (w, 0),
    };
    let x0 = panel * panel_width;
    let x1 = x0 + panel_width - bar;
    let long = |counts: Vec<(usize, usize)>| -> (usize, usize) {
        let most = counts.iter().map(|c| c.1).max().unwrap_or(0);
        let edges: Vec<usize> = counts
            .iter()
            .filter(|c| most > 0 && c.1 * 2 > most)
            .map(|c| c.0)
            .collect();
        (
            edges.first().copied().unwrap_or(0),
            edges.last().copied().unwrap_or(0),
        )
    };
    let (left, right) = long(
        (x0..x1)
            .map(|x| (x, (0..h).filter(|&y| black(x, y)).count()))
            .collect(),
    );
    let (top, bottom) = long(
        (0..h)
            .map(|y| (y, (left..=right).filter(|&x| black(x, y)).count()))
            .collect(),
    );
    assert!(
        right > left + 100 && bottom > top + 100,
        "no frame around the data area of panel {panel}: columns {left}..{right}, rows {top}..{bottom}"
    );
    DataArea {
        columns: (left + 2, right - 1),
        rows: (top + 2, bottom - 1),
    }
}

/// The number of different colours, greys left out, in the data area of a one-map figure.
fn map_colours(img: &Image) -> usize {
    let mut colours: Vec<&[u8]> = data_area(img, 0, Kind::Maps(1))
        .pixels(img)
        .map(|p| &p[..3])
        .filter(|p| p[0] != p[1] || p[1] != p[2])
        .collect();
    colours.sort_unstable();
    colours.dedup();
    colours.len()
}

/// Whether the data area of a one-map figure has clearly red and clearly blue pixels
/// (both signs of the field).
fn has_both_signs(img: &Image) -> bool {
    let (mut red, mut blue) = (false, false);
    for p in data_area(img, 0, Kind::Maps(1)).pixels(img) {
        let (r, g, b) = (p[0] as i32, p[1] as i32, p[2] as i32);
        red |= r > b + 40 && r > g + 40;
        blue |= b > r + 40;
    }
    red && blue
}

/// Whether the data area of the kinetic-energy figure shows its line (drawn in RdBu blue).
fn has_energy_line(img: &Image) -> bool {
    let line = data_area(img, 0, Kind::Series)
        .pixels(img)
        .filter(|p| p[..3] == [33, 102, 172])
        .count();
    line > 100
}

#[test]
fn standalone_run_gives_maps_and_energy_but_no_forcing_figure() {
    let run_dir = standalone_run();
    let out = test_dir("plot_figures");
    let done = plot(run_dir, &out, &[]);
    assert_success(&done, "plot");

    let vorticity = check_figure(&out.join("vorticity.png"), MAP_SIZE, Kind::Maps(1));
    assert!(
        map_colours(&vorticity) > 20,
        "the vorticity map shows a varying field"
    );
    let ssh = check_figure(&out.join("ssh.png"), MAP_SIZE, Kind::Maps(1));
    assert!(has_both_signs(&ssh), "η rises and falls in a double gyre");
    let energy = check_figure(&out.join("kinetic_energy.png"), SERIES_SIZE, Kind::Series);
    assert!(has_energy_line(&energy), "no energy line drawn");
    assert!(
        !out.join("ml_forcing.png").exists(),
        "a standalone run has no ML forcing to plot"
    );
}

#[test]
fn plots_go_to_run_dir_plots_by_default() {
    let run_dir = standalone_run();
    let copy = test_dir("plot_default_out");
    for name in ["snapshots.nc", "diagnostics.nc"] {
        std::fs::copy(run_dir.join(name), copy.join(name)).expect("copy run output");
    }
    let done = run_plain(&["plot", copy.to_str().unwrap()], LIMIT);
    assert_success(&done, "plot");
    check_figure(
        &copy.join("plots").join("vorticity.png"),
        MAP_SIZE,
        Kind::Maps(1),
    );
}

#[test]
fn without_a_font_figures_are_drawn_without_text_and_one_warning() {
    let run_dir = standalone_run();
    let out = test_dir("plot_no_font");
    let done = plot(run_dir, &out, &[("EDDYLINK_FONT", "/nonexistent/font.ttf")]);
    assert_success(&done, "plot without a font");
    let warnings: Vec<&str> = done.stderr.lines().filter(|l| l.contains("WARN")).collect();
    assert_eq!(warnings.len(), 1, "{}", done.stderr);
    assert!(
        warnings[0].contains("EDDYLINK_FONT") && warnings[0].contains("/nonexistent/font.ttf"),
        "{}",
        done.stderr
    );
    let vorticity = check_figure(&out.join("vorticity.png"), MAP_SIZE, Kind::Maps(1));
    assert!(
        map_colours(&vorticity) > 20,
        "no field drawn without a font"
    );
    check_figure(&out.join("ssh.png"), MAP_SIZE, Kind::Maps(1));
    let energy = check_figure(&out.join("kinetic_energy.png"), SERIES_SIZE, Kind::Series);
    assert!(
        has_energy_line(&energy),
        "no energy line drawn without a font"
    );
}

#[test]
fn missing_run_dir_is_a_usage_error_naming_it() {
    let done = run_plain(&["plot", "/nonexistent/run"], LIMIT);
    assert_eq!(done.code, Some(2), "{}", done.stderr);
    assert!(done.stderr.contains("/nonexistent/run"), "{}", done.stderr);
    assert!(!done.stderr.contains("panicked"), "{}", done.stderr);

    // A run folder without diagnostics.nc names that file.
    let dir = test_dir("plot_no_diagnostics");
    std::fs::copy(
        standalone_run().join("snapshots.nc"),
        dir.join("snapshots.nc"),
    )
    .expect("copy snapshots");
    let done = run_plain(&["plot", dir.to_str().unwrap()], LIMIT);
    assert_eq!(done.code, Some(2), "{}", done.stderr);
    assert!(done.stderr.contains("diagnostics.nc"), "{}", done.stderr);
}

/// Regression guard: records a stopped run never reached hold the fill value; the last
/// *written* snapshot is plotted and unwritten diagnostics are left out.
#[test]
fn records_a_stopped_run_never_reached_are_skipped() {
    let dir = test_dir("plot_stopped");
    let p = Params::for_grid(8, 6);
    let snap_ds = output::snapshot_dataset(&p, 4, false).expect("snapshot data set");
    let coords = output::grid_coordinates(&p);
    let mut snaps =
        RecordWriter::create(dir.join("snapshots.nc"), &snap_ds, &coords).expect("create");
    let field = |k: f64| -> Vec<f64> { (0..48).map(|n| k * (n as f64 - 20.0)).collect() };
    for k in 0..2 {
        let (a, b) = (field(k as f64), field(1e-7 * k as f64));
        let vars = [("u", &a[..]), ("v", &a), ("eta", &a), ("vorticity", &b)];
        snaps.write(k as f64 * 86_400.0, &vars).expect("write");
    }
    snaps.close().expect("close");
    let diag_ds = output::diagnostics_dataset(6).expect("diagnostics data set");
    let mut diags =
        RecordWriter::create(dir.join("diagnostics.nc"), &diag_ds, &[]).expect("create");
    for k in 0..3 {
        let e = [1e12 * k as f64];
        let vars = [
            ("kinetic_energy", &e[..]),
            ("potential_energy", &e),
            ("volume", &e),
            ("max_cfl", &e),
        ];
        diags.write(k as f64 * 86_400.0, &vars).expect("write");
    }
    diags.close().expect("close");

    let run = RunOutput::read(&dir).expect("read the stopped run");
    assert_eq!(run.time_s, 86_400.0, "the last written snapshot is day 1");
    assert_eq!(run.vorticity.values, field(1e-7));
    assert_eq!(run.eta.values, field(1.0));
    assert_eq!(
        run.kinetic_energy,
        [(0.0, 0.0), (86_400.0, 1e12), (172_800.0, 2e12)]
    );
    assert!(run.forcing.is_none());
    assert_eq!(run.f0, p.f0);

    let out = dir.join("plots");
    let done = plot(&dir, &out, &[]);
    assert_success(&done, "plot of a stopped run");
    let vorticity = check_figure(&out.join("vorticity.png"), MAP_SIZE, Kind::Maps(1));
    assert!(has_both_signs(&vorticity));
}

#[test]
fn coupled_run_snapshots_carry_the_forcing_and_get_a_forcing_figure() {
    let dir = test_dir("plot_coupled");
    let ocean = "[ocean.grid]\nnx = 16\nny = 12\n[ocean.time]\ndt = 600\n[ocean.output]\nsnapshot_interval = \"6h\"\ndiagnostics_interval = \"6h\"\n";
    let cfg = write_config(&dir, "1d", &format!("{ocean}{COUPLING}"));
    let run_dir = dir.join("out");
    let mut cmd = eddylink_tests::mpiexec();
    cmd.args(["-n", "2", env!("CARGO_BIN_EXE_ocean-model")])
        .args(["--config", cfg.to_str().unwrap()])
        .args(["--output-dir", run_dir.to_str().unwrap()])
        .args([":", "-n", "1"])
        .arg(eddylink_tests::workspace_bin("zero-forcing-partner"))
        .arg(cfg.to_str().unwrap());
    let done = run_command(cmd, LIMIT);
    assert_success(&done, "coupled run");

    let snaps = run_dir.join("snapshots.nc");
    let reader = netcdf3::FileReader::open(&snaps).expect("open snapshots");
    let ds = reader.data_set();
    for (var, dims) in [("sx", ["time", "y", "x_u"]), ("sy", ["time", "y_v", "x"])] {
        assert_eq!(ds.get_var(var).expect(var).dim_names(), dims);
        assert_eq!(
            ds.get_var_attr_as_string(var, "units").as_deref(),
            Some("m s-2")
        );
        assert!(ds.get_var_attr_as_string(var, "long_name").is_some());
    }
    assert_eq!(
        read_var(&snaps, "sx").len(),
        5 * 16 * 12,
        "t = 0, 6, 12, 18, 24 h"
    );

    let out = dir.join("plots");
    let done = plot(&run_dir, &out, &[]);
    assert_success(&done, "plot");
    check_figure(&out.join("ml_forcing.png"), FORCING_SIZE, Kind::Maps(2));
    check_figure(&out.join("vorticity.png"), MAP_SIZE, Kind::Maps(1));
}

#[test]
fn the_experiment_file_finds_its_run_directory() {
    // `make run` plots through the config: [run] output_dir/name.
    let dir = test_dir("plot_from_config");
    let cfg = write_config(&dir, "5d", OCEAN);
    let run_dir = dir.join("out").join("test");
    std::fs::create_dir_all(&run_dir).unwrap();
    for name in ["snapshots.nc", "diagnostics.nc"] {
        std::fs::copy(standalone_run().join(name), run_dir.join(name)).expect("copy run output");
    }
    let done = run_plain(&["plot", cfg.to_str().unwrap()], LIMIT);
    assert_success(&done, "plot CONFIG");
    check_figure(
        &run_dir.join("plots").join("ssh.png"),
        MAP_SIZE,
        Kind::Maps(1),
    );
}
