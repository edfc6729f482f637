//! Checkpoints: the global u, v, eta and the last received forcing (sx, sy) in the run's
//! precision (`ocean.numerics.precision`, also the global attribute `precision`), plus
//! step, time and dt, in a NetCDF-3 file written by rank 0. The model time is also
//! a CF scalar time coordinate (`time`, named by each variable's `coordinates`). A restart reads the
//! file on every rank and takes its own box, so it may use another decomposition.
//! Restarting reproduces an uninterrupted run bit for bit: the state, the forcing
//! and the step counter are all RK4 carries from one step to the next. A checkpoint of
//! the other precision is refused, naming the file and both precisions (f64 → f32 would
//! round the state, f32 → f64 would not be the f64 run it claims to continue).

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use netcdf3::{DataSet, FileReader, FileWriter, Version};

use crate::error::{OceanError, Result};
use crate::grid::RankBox;
use crate::output::{
    add_globals, add_grid, add_time_coordinate, add_var_as, grid_coordinates, nc_err,
};
use crate::params::Params;
use crate::real::{Precision, Real};

/// The NetCDF type of a variable in `precision`.
pub(crate) fn nc_type(precision: Precision) -> netcdf3::DataType {
    match precision {
        Precision::F64 => f64::NC_TYPE,
        Precision::F32 => f32::NC_TYPE,
    }
}

/// Names, dims and units of the checkpointed arrays.
#[rustfmt::skip]
const VARS: [(&str, [&str; 2], &str, &str); 5] = [
    ("u", ["y", "x_u"], "zonal velocity on east cell faces", "m s-1"),
    ("v", ["y_v", "x"], "meridional velocity on north cell faces", "m s-1"),
    ("eta", ["y", "x"], "sea surface height anomaly", "m"),
    ("sx", ["y", "x_u"], "last received zonal momentum forcing", "m s-2"),
    ("sy", ["y_v", "x"], "last received meridional momentum forcing", "m s-2"),
];

/// Global arrays of a checkpoint, [j][i].
#[derive(Debug, Clone, PartialEq)]
pub struct Checkpoint {
    pub step: u64,
    pub time_s: f64,
    pub dt: f64,
    pub nx: usize,
    pub ny: usize,
    /// u, v, eta, sx, sy in the order of the file.
    pub arrays: [Vec<f64>; 5],
}

/// The file name of the checkpoint at `step` in `dir`.
pub fn path_for(dir: &Path, step: u64) -> PathBuf {
    dir.join(format!("checkpoint_{step:010}.nc"))
}

/// Write global arrays (rank 0 only).
pub fn write(path: &Path, p: &Params, step: u64, time_s: f64, arrays: [&[f64]; 5]) -> Result<()> {
    let build = || -> std::result::Result<DataSet, netcdf3::InvalidDataSet> {
        let mut ds = DataSet::new();
        add_globals(&mut ds, "shallow-water double gyre: checkpoint")?;
        ds.add_global_attr_f64("step", vec![step as f64])?;
        ds.add_global_attr_f64("time_s", vec![time_s])?;
        ds.add_global_attr_f64("dt", vec![p.dt])?;
        ds.add_global_attr_string("precision", p.precision.name())?;
        add_time_coordinate(&mut ds, &[])?;
        add_grid(&mut ds, p)?;
        for (name, dims, long, units) in VARS {
            add_var_as(&mut ds, name, &dims, long, units, nc_type(p.precision))?;
            ds.add_var_attr_string(name, "coordinates", "time")?;
            ds.add_var_attr_string(name, "precision", p.precision.name())?;
        }
        Ok(ds)
    };
    let ds = build().map_err(|e| nc_err(path, e))?;
    let file = File::create(path).map_err(|source| OceanError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let name = path.display().to_string();
    let mut w = FileWriter::open_seek_write(&name, Box::new(BufWriter::new(file)))
        .map_err(|e| nc_err(path, e))?;
    w.set_def(&ds, Version::Classic, 0)
        .map_err(|e| nc_err(path, e))?;
    w.write_var_f64("time", &[time_s])
        .map_err(|e| nc_err(path, e))?;
    for (name, values) in grid_coordinates(p) {
        w.write_var_f64(name, &values)
            .map_err(|e| nc_err(path, e))?;
    }
    for ((name, ..), data) in VARS.iter().zip(arrays) {
        let written = match p.precision {
            Precision::F64 => w.write_var_f64(name, data),
            Precision::F32 => {
                w.write_var_f32(name, &data.iter().map(|&x| x as f32).collect::<Vec<_>>())
            }
        };
        written.map_err(|e| nc_err(path, e))?;
    }
    w.close().map_err(|e| nc_err(path, e))
}

/// Read a checkpoint and check it fits the grid and time step of `p`.
pub fn read(path: &Path, p: &Params) -> Result<Checkpoint> {
    let restart_err = |message: String| OceanError::Restart {
        path: path.to_path_buf(),
        message,
    };
    // Opened by hand first: netcdf3 reports only the kind of an I/O error, not the error.
    File::open(path).map_err(|e| restart_err(format!("cannot open it: {e}")))?;
    let mut r = FileReader::open(path)
        .map_err(|e| restart_err(format!("not a readable NetCDF-3 checkpoint: {e:?}")))?;
    let ds = r.data_set();
    let attr = |name: &str| {
        ds.get_global_attr_f64(name)
            .and_then(|v| v.first().copied())
    };
    let (Some(step), Some(time_s), Some(dt)) = (attr("step"), attr("time_s"), attr("dt")) else {
        return Err(restart_err(
            "missing global attribute step, time_s or dt".into(),
        ));
    };
    let (nx, ny) = (ds.dim_size("x").unwrap_or(0), ds.dim_size("y").unwrap_or(0));
    if (nx, ny) != (p.nx, p.ny) {
        return Err(restart_err(format!(
            "grid {nx} × {ny} does not match the configured {} × {}",
            p.nx, p.ny
        )));
    }
    if dt != p.dt {
        return Err(restart_err(format!(
            "dt = {dt} s does not match the configured dt = {} s",
            p.dt
        )));
    }
    let theirs = ds.var_data_type("u").and_then(Precision::of_nc_type);
    if theirs != Some(p.precision) {
        return Err(restart_err(format!(
            "it holds the state in {}, the run is configured for ocean.numerics.precision = \"{}\": restart with precision = \"{}\", or from a checkpoint of an {} run",
            theirs.map_or("no float type", Precision::name),
            p.precision,
            theirs.map_or("f64", Precision::name),
            p.precision
        )));
    }
    let mut read = |name: &str| {
        let values = match p.precision {
            Precision::F64 => r.read_var_f64(name),
            Precision::F32 => r
                .read_var_f32(name)
                .map(|v| v.into_iter().map(f64::from).collect()),
        };
        values.map_err(|e| restart_err(format!("variable {name}: {e:?}")))
    };
    let arrays = [
        read("u")?,
        read("v")?,
        read("eta")?,
        read("sx")?,
        read("sy")?,
    ];
    Ok(Checkpoint {
        step: step as u64,
        time_s,
        dt,
        nx,
        ny,
        arrays,
    })
}

/// Copy the box `b` out of a global [j][i] array into `out` ([j][i], no halo).
pub fn extract_box<T: Real>(global: &[f64], nx: usize, b: RankBox, out: &mut [T]) {
    for (j, row) in out.chunks_exact_mut(b.ni).enumerate() {
        let start = (b.j0 + j) * nx + b.i0;
        for (o, &x) in row.iter_mut().zip(&global[start..start + b.ni]) {
            *o = T::from_f64(x);
        }
    }
}
