//! CF-convention NetCDF output, written by rank 0 of the ocean communicator.
//!
//! * `snapshots.nc`: u (time, y, x_u), v (time, y_v, x), eta (time, y, x) and
//!   relative vorticity (time, y_v, x_u), with staggered coordinates in m, and in
//!   coupled runs the received momentum forcing sx (time, y, x_u) and sy (time, y_v, x);
//!   the global attribute `f0` is the Coriolis parameter at mid-basin (s-1);
//! * `diagnostics.nc`: kinetic and potential energy, volume, max CFL per record.
//!
//! The snapshot variables are stored in the run's precision (`ocean.numerics.precision`),
//! which their attribute `precision` and the global attribute of that name say; the
//! diagnostics, summed in f64, are f64 in either.
//!
//! Time is "seconds since 0001-01-01 00:00:00" in the `noleap` calendar. Variables
//! with a CF standard name carry it ([`STANDARD_NAMES`]). The header's record count is
//! updated after every record ([`RecordWriter`]), as the netCDF library does, so a run
//! stopped at any point leaves files that open up to their last record; a restart
//! continues them ([`RecordWriter::resume`]).

mod records;

use std::path::Path;

use netcdf3::{DataSet, DataType};

use crate::error::OceanError;
use crate::params::Params;

pub use records::{header_records, RecordWriter};

/// Units of every time coordinate.
pub const TIME_UNITS: &str = "seconds since 0001-01-01 00:00:00";

pub(crate) fn nc_err(path: &Path, e: impl std::fmt::Debug) -> OceanError {
    OceanError::NetCdf {
        path: path.to_path_buf(),
        message: format!("{e:?}"),
    }
}

/// CF standard names (CF standard name table v84) of the variables that have one, in
/// every file. `u` and `v` are the layer's velocity components along the basin's x and y
/// axes; η = 0 is the surface of the ocean at rest, which is the geoid by the CF
/// definition, hence `sea_surface_height_above_geoid`. Vorticity, the energies, the CFL
/// number and the received forcing have no CF name and carry a `long_name` only.
pub const STANDARD_NAMES: [(&str, &str); 9] = [
    ("time", "time"),
    ("x", "projection_x_coordinate"),
    ("x_u", "projection_x_coordinate"),
    ("y", "projection_y_coordinate"),
    ("y_v", "projection_y_coordinate"),
    ("u", "sea_water_x_velocity"),
    ("v", "sea_water_y_velocity"),
    ("eta", "sea_surface_height_above_geoid"),
    ("volume", "sea_water_volume"),
];

/// Add a float64 variable with `long_name`, `units` and its CF `standard_name` if it has one.
pub fn add_var(
    ds: &mut DataSet,
    name: &str,
    dims: &[&str],
    long_name: &str,
    units: &str,
) -> std::result::Result<(), netcdf3::InvalidDataSet> {
    add_var_as(ds, name, dims, long_name, units, DataType::F64)
}

/// [`add_var`] with the variable stored as `kind`.
pub fn add_var_as(
    ds: &mut DataSet,
    name: &str,
    dims: &[&str],
    long_name: &str,
    units: &str,
    kind: DataType,
) -> std::result::Result<(), netcdf3::InvalidDataSet> {
    ds.add_var(name, dims, kind)?;
    if let Some((_, standard)) = STANDARD_NAMES.iter().find(|(n, _)| *n == name) {
        ds.add_var_attr_string(name, "standard_name", standard)?;
    }
    ds.add_var_attr_string(name, "long_name", long_name)?;
    ds.add_var_attr_string(name, "units", units)
}

/// Dimensions x, x_u, y, y_v and their coordinate variables.
pub fn add_grid(ds: &mut DataSet, p: &Params) -> std::result::Result<(), netcdf3::InvalidDataSet> {
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

/// The record dimension `time` with room for `records` records, and its coordinate.
pub fn add_time(
    ds: &mut DataSet,
    records: usize,
) -> std::result::Result<(), netcdf3::InvalidDataSet> {
    ds.set_unlimited_dim("time", records)?;
    add_time_coordinate(ds, &["time"])
}

/// The time coordinate variable over `dims` (`[]`: a scalar coordinate, as in checkpoints).
pub(crate) fn add_time_coordinate(
    ds: &mut DataSet,
    dims: &[&str],
) -> std::result::Result<(), netcdf3::InvalidDataSet> {
    add_var(ds, "time", dims, "model time", TIME_UNITS)?;
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
#[rustfmt::skip]
pub const SNAPSHOT_VARS: [(&str, [&str; 3], &str, &str); 4] = [
    ("u", ["time", "y", "x_u"], "zonal velocity on east cell faces", "m s-1"),
    ("v", ["time", "y_v", "x"], "meridional velocity on north cell faces", "m s-1"),
    ("eta", ["time", "y", "x"], "sea surface height anomaly", "m"),
    ("vorticity", ["time", "y_v", "x_u"], "relative vorticity on cell corners", "s-1"),
];

/// Snapshot variables of coupled runs only: the received forcing, level 0.
#[rustfmt::skip]
pub const FORCING_VARS: [(&str, [&str; 3], &str, &str); 2] = [
    ("sx", ["time", "y", "x_u"], "received zonal momentum forcing on east cell faces", "m s-2"),
    ("sy", ["time", "y_v", "x"], "received meridional momentum forcing on north cell faces", "m s-2"),
];

/// The data set of the snapshot file with room for `records` time records; a `coupled` run's
/// file also holds the received forcing ([`FORCING_VARS`]).
pub fn snapshot_dataset(
    p: &Params,
    records: usize,
    coupled: bool,
) -> std::result::Result<DataSet, netcdf3::InvalidDataSet> {
    let mut ds = DataSet::new();
    add_globals(&mut ds, "shallow-water double gyre: snapshots")?;
    ds.add_global_attr_f64("f0", vec![p.f0])?;
    ds.add_global_attr_string("precision", p.precision.name())?;
    add_time(&mut ds, records)?;
    add_grid(&mut ds, p)?;
    let forcing = if coupled { &FORCING_VARS[..] } else { &[] };
    let kind = crate::checkpoint::nc_type(p.precision);
    for (name, dims, long, units) in SNAPSHOT_VARS.iter().chain(forcing) {
        add_var_as(&mut ds, name, dims, long, units, kind.clone())?;
        ds.add_var_attr_string(name, "precision", p.precision.name())?;
    }
    Ok(ds)
}

/// Diagnostics variables: name, long_name, units.
#[rustfmt::skip]
pub const DIAGNOSTIC_VARS: [(&str, &str, &str); 4] = [
    ("kinetic_energy", "basin-integrated kinetic energy", "J"),
    ("potential_energy", "basin-integrated potential energy of eta", "J"),
    ("volume", "total water volume", "m3"),
    ("max_cfl", "maximum CFL number", "1"),
];

/// The data set of the diagnostics file with room for `records` time records.
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
