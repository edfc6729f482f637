//! NetCDF files of the pipeline: the fine snapshots it reads (the ocean's `snapshots.nc`)
//! and the coarse samples it writes (`coarse.nc`: u, v, η and the subgrid forcing sx, sy
//! in float32, CF-1.8, on the coarse C-grid with the ocean's coordinate names).

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use netcdf3::{DataSet, DataType, FileReader, FileWriter, Version};
use ocean_model::output::{add_grid, add_time, add_var_as, grid_coordinates};
use ocean_model::params::Params;

use crate::target::{Fields, Sample};

#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("{path}: {message}")]
    File { path: PathBuf, message: String },
}

fn err(path: &Path, e: impl std::fmt::Debug) -> DataError {
    DataError::File {
        path: path.to_path_buf(),
        message: format!("{e:?}"),
    }
}

/// A fill value or anything beyond it marks a record the writer never reached.
const UNWRITTEN: f64 = 1e30;

/// The ocean's snapshot file, read one record at a time.
pub struct Snapshots {
    path: PathBuf,
    reader: FileReader,
    p: Params,
    /// Model time of each written record (s).
    pub times: Vec<f64>,
}

impl Snapshots {
    /// Open `path`, written by a run on the grid of `p`.
    pub fn open(path: &Path, p: &Params) -> Result<Self, DataError> {
        let mut reader = FileReader::open(path).map_err(|e| err(path, e))?;
        let ds = reader.data_set();
        let (nx, ny) = (ds.dim_size("x").unwrap_or(0), ds.dim_size("y").unwrap_or(0));
        if (nx, ny) != (p.nx, p.ny) {
            return Err(DataError::File {
                path: path.into(),
                message: format!("grid {nx} × {ny}, expected {} × {}", p.nx, p.ny),
            });
        }
        let times = reader.read_var_f64("time").map_err(|e| err(path, e))?;
        let written = times.iter().take_while(|t| t.abs() < UNWRITTEN).count();
        Ok(Snapshots {
            path: path.to_path_buf(),
            reader,
            p: p.clone(),
            times: times[..written].to_vec(),
        })
    }

    /// u, v, η of record `r`.
    pub fn record(&mut self, r: usize) -> Result<Fields, DataError> {
        let mut read = |name: &str| {
            self.reader
                .read_record_f64(name, r)
                .map_err(|e| err(&self.path, e))
        };
        Ok(Fields::new(&self.p, read("u")?, read("v")?, read("eta")?))
    }
}

/// Variables of `coarse.nc`: name, dims, long_name, units.
#[rustfmt::skip]
pub const VARS: [(&str, [&str; 3], &str, &str); 5] = [
    ("u", ["time", "y", "x_u"], "coarse-grained zonal velocity on east faces", "m s-1"),
    ("v", ["time", "y_v", "x"], "coarse-grained meridional velocity on north faces", "m s-1"),
    ("eta", ["time", "y", "x"], "coarse-grained sea surface height anomaly", "m"),
    ("sx", ["time", "y", "x_u"], "zonal subgrid momentum forcing, added to the coarse du/dt", "m s-2"),
    ("sy", ["time", "y_v", "x"], "meridional subgrid momentum forcing, added to the coarse dv/dt", "m s-2"),
];

/// What the file says about how it was made (global attributes).
pub struct Provenance<'a> {
    pub source: &'a str,
    pub factor: usize,
    pub filter_sigma: f64,
    pub target: &'a str,
}

/// The data set of `coarse.nc` with `records` samples on the coarse grid of `p`.
pub fn coarse_dataset(
    path: &Path,
    p: &Params,
    records: usize,
    how: &Provenance,
) -> Result<DataSet, DataError> {
    let build = || -> Result<DataSet, netcdf3::InvalidDataSet> {
        let mut ds = DataSet::new();
        ds.add_global_attr_string("Conventions", "CF-1.8")?;
        ds.add_global_attr_string(
            "title",
            "coarse-grained double gyre and its subgrid momentum forcing",
        )?;
        ds.add_global_attr_string("source", how.source)?;
        ds.add_global_attr_string("forcing_form", how.target)?;
        ds.add_global_attr_f64("coarsening_factor", vec![how.factor as f64])?;
        ds.add_global_attr_f64("filter_sigma_fine_cells", vec![how.filter_sigma])?;
        add_time(&mut ds, records)?;
        add_grid(&mut ds, p)?;
        for (name, dims, long, units) in VARS {
            add_var_as(&mut ds, name, &dims, long, units, DataType::F32)?;
        }
        Ok(ds)
    };
    build().map_err(|e| err(path, e))
}

/// Writes coarse samples record by record.
pub struct CoarseWriter<'a> {
    path: PathBuf,
    writer: FileWriter<'a>,
    next: usize,
}

impl<'a> CoarseWriter<'a> {
    /// Create `path` for the data set `ds` made by [`coarse_dataset`] for the grid of `p`.
    pub fn create(path: &Path, p: &Params, ds: &'a DataSet) -> Result<Self, DataError> {
        let file = File::create(path).map_err(|e| err(path, e))?;
        let mut writer = FileWriter::open_seek_write(
            &path.display().to_string(),
            Box::new(BufWriter::new(file)),
        )
        .map_err(|e| err(path, e))?;
        writer
            .set_def(ds, Version::Offset64Bit, 0)
            .map_err(|e| err(path, e))?;
        for (name, values) in grid_coordinates(p) {
            writer
                .write_var_f64(name, &values)
                .map_err(|e| err(path, e))?;
        }
        Ok(CoarseWriter {
            path: path.to_path_buf(),
            writer,
            next: 0,
        })
    }

    /// Append one sample at model time `time_s`.
    pub fn push(&mut self, time_s: f64, s: &Sample) -> Result<(), DataError> {
        let r = self.next;
        let w = &mut self.writer;
        let path = &self.path;
        w.write_record_f64("time", r, &[time_s])
            .map_err(|e| err(path, e))?;
        let arrays = [
            &s.coarse.u,
            &s.coarse.v,
            &s.coarse.eta,
            &s.forcing.u,
            &s.forcing.v,
        ];
        for ((name, ..), a) in VARS.iter().zip(arrays) {
            let single: Vec<f32> = a.data.iter().map(|&x| x as f32).collect();
            w.write_record_f32(name, r, &single)
                .map_err(|e| err(path, e))?;
        }
        self.next += 1;
        Ok(())
    }

    pub fn close(self) -> Result<(), DataError> {
        self.writer.close().map_err(|e| err(&self.path, e))
    }
}
