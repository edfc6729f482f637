//! CF-convention NetCDF output, written by rank 0 of the ocean communicator.
//!
//! * `snapshots.nc`: u (time, y, x_u), v (time, y_v, x), eta (time, y, x) and
//!   relative vorticity (time, y_v, x_u), with staggered coordinates in m, and in
//!   coupled runs the received momentum forcing sx (time, y, x_u) and sy (time, y_v, x);
//!   the global attribute `f0` is the Coriolis parameter at mid-basin (s-1);
//! * `diagnostics.nc`: kinetic and potential energy, volume, max CFL per record.
//!
//! Time is "seconds since 0001-01-01 00:00:00" in the `noleap` calendar. NetCDF-3
//! files fix their record count when created, so the count comes from the output
//! plan; records a stopped run never reached hold the NetCDF fill value.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use netcdf3::{DataSet, FileWriter, Version};

use crate::error::{OceanError, Result};
use crate::params::Params;

/// Units of every time coordinate.
pub const TIME_UNITS: &str = "seconds since 0001-01-01 00:00:00";

pub(crate) fn nc_err(path: &Path, e: impl std::fmt::Debug) -> OceanError {
    OceanError::NetCdf {
        path: path.to_path_buf(),
        message: format!("{e:?}"),
    }
}

/// Add a variable with `long_name` and `units`.
pub(crate) fn add_var(
    ds: &mut DataSet,
    name: &str,
    dims: &[&str],
    long_name: &str,
    units: &str,
) -> std::result::Result<(), netcdf3::InvalidDataSet> {
    ds.add_var_f64(name, dims)?;
    ds.add_var_attr_string(name, "long_name", long_name)?;
    ds.add_var_attr_string(name, "units", units)
}

/// Dimensions x, x_u, y, y_v and their coordinate variables.
pub(crate) fn add_grid(
    ds: &mut DataSet,
    p: &Params,
) -> std::result::Result<(), netcdf3::InvalidDataSet> {
    ds.add_fixed_dim("x", p.nx)?;
    ds.add_fixed_dim("x_u", p.nx)?;
    ds.add_fixed_dim("y", p.ny)?;
    ds.add_fixed_dim("y_v", p.ny)?;
    for (name, long, axis) in [
        ("x", "x of cell centres", "X"),
        ("x_u", "x of east cell faces (u points)", "X"),
        ("y", "y of cell centres", "Y"),
        ("y_v", "y of north cell faces (v points)", "Y"),
    ] {
        add_var(ds, name, &[name], long, "m")?;
        ds.add_var_attr_string(name, "axis", axis)?;
    }
    Ok(())
}

/// Values of the coordinate variables added by [`add_grid`].
pub fn grid_coordinates(p: &Params) -> [(&'static str, Vec<f64>); 4] {
    let (dx, dy) = (p.dx(), p.dy());
    [
        ("x", (0..p.nx).map(|i| (i as f64 + 0.5) * dx).collect()),
        ("x_u", (0..p.nx).map(|i| (i as f64 + 1.0) * dx).collect()),
        ("y", (0..p.ny).map(|j| (j as f64 + 0.5) * dy).collect()),
        ("y_v", (0..p.ny).map(|j| (j as f64 + 1.0) * dy).collect()),
    ]
}

fn add_time(ds: &mut DataSet, records: usize) -> std::result::Result<(), netcdf3::InvalidDataSet> {
    ds.set_unlimited_dim("time", records)?;
    add_var(ds, "time", &["time"], "model time", TIME_UNITS)?;
    ds.add_var_attr_string("time", "calendar", "noleap")?;
    ds.add_var_attr_string("time", "axis", "T")
}

/// Global attributes common to every file.
pub(crate) fn add_globals(
    ds: &mut DataSet,
    title: &str,
) -> std::result::Result<(), netcdf3::InvalidDataSet> {
    ds.add_global_attr_string("Conventions", "CF-1.8")?;
    ds.add_global_attr_string("title", title)?;
    ds.add_global_attr_string(
        "source",
        concat!("eddylink ocean-model ", env!("CARGO_PKG_VERSION")),
    )
}

/// Snapshot variables: name, dims, long_name, units.
pub const SNAPSHOT_VARS: [(&str, [&str; 3], &str, &str); 4] = [
    (
        "u",
        ["time", "y", "x_u"],
        "zonal velocity on east cell faces",
        "m s-1",
    ),
    (
        "v",
        ["time", "y_v", "x"],
        "meridional velocity on north cell faces",
        "m s-1",
    ),
    ("eta", ["time", "y", "x"], "sea surface height anomaly", "m"),
    (
        "vorticity",
        ["time", "y_v", "x_u"],
        "relative vorticity on cell corners",
        "s-1",
    ),
];

/// Snapshot variables of coupled runs only: the received forcing, level 0.
pub const FORCING_VARS: [(&str, [&str; 3], &str, &str); 2] = [
    (
        "sx",
        ["time", "y", "x_u"],
        "received zonal momentum forcing on east cell faces",
        "m s-2",
    ),
    (
        "sy",
        ["time", "y_v", "x"],
        "received meridional momentum forcing on north cell faces",
        "m s-2",
    ),
];

/// The data set of the snapshot file with `records` time records; a `coupled` run's
/// file also holds the received forcing ([`FORCING_VARS`]).
pub fn snapshot_dataset(
    p: &Params,
    records: usize,
    coupled: bool,
) -> std::result::Result<DataSet, netcdf3::InvalidDataSet> {
    let mut ds = DataSet::new();
    add_globals(&mut ds, "shallow-water double gyre: snapshots")?;
    ds.add_global_attr_f64("f0", vec![p.f0])?;
    add_time(&mut ds, records)?;
    add_grid(&mut ds, p)?;
    let forcing = if coupled { &FORCING_VARS[..] } else { &[] };
    for (name, dims, long, units) in SNAPSHOT_VARS.iter().chain(forcing) {
        add_var(&mut ds, name, dims, long, units)?;
    }
    Ok(ds)
}

/// Diagnostics variables: name, long_name, units.
pub const DIAGNOSTIC_VARS: [(&str, &str, &str); 4] = [
    ("kinetic_energy", "basin-integrated kinetic energy", "J"),
    (
        "potential_energy",
        "basin-integrated potential energy of eta",
        "J",
    ),
    ("volume", "total water volume", "m3"),
    ("max_cfl", "maximum CFL number", "1"),
];

/// The data set of the diagnostics file with `records` time records.
pub fn diagnostics_dataset(
    records: usize,
) -> std::result::Result<DataSet, netcdf3::InvalidDataSet> {
    let mut ds = DataSet::new();
    add_globals(&mut ds, "shallow-water double gyre: diagnostics")?;
    add_time(&mut ds, records)?;
    for (name, long, units) in DIAGNOSTIC_VARS {
        add_var(&mut ds, name, &["time"], long, units)?;
    }
    Ok(ds)
}

/// A record-by-record writer of a data set made by this module.
pub struct RecordWriter<'a> {
    path: PathBuf,
    writer: FileWriter<'a>,
    next: usize,
    records: usize,
}

impl<'a> RecordWriter<'a> {
    /// Create `path` (overwriting it) for `ds`; writes `fixed` (coordinate variables) at once.
    pub fn create(path: PathBuf, ds: &'a DataSet, fixed: &[(&str, Vec<f64>)]) -> Result<Self> {
        let file = File::create(&path).map_err(|source| OceanError::Io {
            path: path.clone(),
            source,
        })?;
        let name = path.display().to_string();
        let mut writer = FileWriter::open_seek_write(&name, Box::new(BufWriter::new(file)))
            .map_err(|e| nc_err(&path, e))?;
        writer
            .set_def(ds, Version::Classic, 0)
            .map_err(|e| nc_err(&path, e))?;
        for (name, values) in fixed {
            writer
                .write_var_f64(name, values)
                .map_err(|e| nc_err(&path, e))?;
        }
        let records = ds.num_records().unwrap_or(0);
        Ok(RecordWriter {
            path,
            writer,
            next: 0,
            records,
        })
    }

    /// Whether every record has been written.
    pub fn is_full(&self) -> bool {
        self.next >= self.records
    }

    /// Write the next record: time (s) and one slice per variable, in the given order.
    pub fn write(&mut self, time_s: f64, vars: &[(&str, &[f64])]) -> Result<()> {
        let k = self.next;
        let path = &self.path;
        self.writer
            .write_record_f64("time", k, &[time_s])
            .map_err(|e| nc_err(path, e))?;
        for (name, data) in vars {
            self.writer
                .write_record_f64(name, k, data)
                .map_err(|e| nc_err(path, e))?;
        }
        self.next += 1;
        Ok(())
    }

    /// Fill the records never written and close the file.
    pub fn close(self) -> Result<()> {
        let path = self.path;
        self.writer.close().map_err(|e| nc_err(&path, e))
    }
}
