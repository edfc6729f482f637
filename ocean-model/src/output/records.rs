//! Record-by-record writing of a NetCDF-3 file whose header always counts the records
//! that are in it.
//!
//! A NetCDF-3 header holds the number of records (`numrecs`, bytes 4..8 of the file).
//! The netCDF library rewrites it as records are added; here it is rewritten after each
//! record, once the record's bytes have left the process (so a run killed by any signal
//! leaves a file that opens up to its last complete record). The data set passed in says
//! how many records the file may hold at most; only the records written count.

use std::cell::RefCell;
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Cursor, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::rc::Rc;

use netcdf3::{DataSet, FileReader, FileWriter, Version};

use super::nc_err;
use crate::error::{OceanError, Result};

/// Offset of `numrecs` in a NetCDF-3 file (after "CDF" and the version byte).
const NUMRECS_AT: u64 = 4;

/// One stream shared by the netcdf3 writer and this module (which flushes it and
/// rewrites the record count).
struct Shared<W>(Rc<RefCell<W>>);

impl<W> Clone for Shared<W> {
    fn clone(&self) -> Self {
        Shared(Rc::clone(&self.0))
    }
}

impl<W: Write> Write for Shared<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.0.borrow_mut().flush()
    }
}

impl<W: Seek> Seek for Shared<W> {
    fn seek(&mut self, pos: SeekFrom) -> std::io::Result<u64> {
        self.0.borrow_mut().seek(pos)
    }
}

/// A record-by-record writer of a data set made by [`super`].
pub struct RecordWriter<'a> {
    path: PathBuf,
    writer: FileWriter<'a>,
    file: Shared<BufWriter<File>>,
    next: usize,
    capacity: usize,
    /// A record of an f32 variable on its way out.
    single: Vec<f32>,
}

impl<'a> RecordWriter<'a> {
    /// Create `path` (overwriting it) for `ds`, with no record yet; writes `fixed`
    /// (coordinate variables) at once.
    pub fn create(path: PathBuf, ds: &'a DataSet, fixed: &[(&str, Vec<f64>)]) -> Result<Self> {
        let file = File::create(&path).map_err(|source| OceanError::Io {
            path: path.clone(),
            source,
        })?;
        Self::start(path, file, ds, fixed, 0)
    }

    /// Continue the file at `path`, written earlier for the same `ds` by the run this one
    /// restarts: keep its first `kept_times.len()` records, which must hold these times
    /// (s), and write on after them (records beyond, from a run that went on past its
    /// checkpoint, are overwritten). Refused, with the reason, when the file was written
    /// for another grid, variable set or version, or does not hold those records.
    pub fn resume(
        path: PathBuf,
        ds: &'a DataSet,
        fixed: &[(&str, Vec<f64>)],
        kept_times: &[f64],
    ) -> Result<Self> {
        let refuse = |why: String| {
            nc_err(
                &path,
                format!(
                    "cannot continue it: {why}; move it away or restart with another --output-dir"
                ),
            )
        };
        let ours = header_bytes(ds).map_err(|e| nc_err(&path, e))?;
        let mut theirs = vec![0u8; ours.len()];
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .map_err(|source| OceanError::Io {
                path: path.clone(),
                source,
            })?;
        file.read_exact(&mut theirs)
            .map_err(|e| refuse(format!("its header is unreadable ({e})")))?;
        let layout = |h: &[u8]| [&h[..4], &h[8..]].concat();
        if layout(&theirs) != layout(&ours) {
            return Err(refuse(
                "it was written for another grid, variable set or program version".into(),
            ));
        }
        let times = FileReader::open(&path)
            .and_then(|mut r| r.read_var_f64("time"))
            .map_err(|e| refuse(format!("its time axis is unreadable ({e:?})")))?;
        if times.len() < kept_times.len() {
            return Err(refuse(format!(
                "it holds {} records, the restart needs the first {} (to t = {} s)",
                times.len(),
                kept_times.len(),
                kept_times.last().copied().unwrap_or(0.0)
            )));
        }
        if let Some(k) = (0..kept_times.len()).find(|&k| times[k] != kept_times[k]) {
            return Err(refuse(format!(
                "record {k} is at t = {} s, the output schedule puts it at t = {} s",
                times[k], kept_times[k]
            )));
        }
        Self::start(path, file, ds, fixed, kept_times.len())
    }

    /// Write the header and `fixed`, and count `records` records.
    fn start(
        path: PathBuf,
        file: File,
        ds: &'a DataSet,
        fixed: &[(&str, Vec<f64>)],
        records: usize,
    ) -> Result<Self> {
        let file = Shared(Rc::new(RefCell::new(BufWriter::new(file))));
        let name = path.display().to_string();
        let mut writer = FileWriter::open_seek_write(&name, Box::new(file.clone()))
            .map_err(|e| nc_err(&path, e))?;
        writer
            .set_def(ds, Version::Classic, 0)
            .map_err(|e| nc_err(&path, e))?;
        for (name, values) in fixed {
            writer
                .write_var_f64(name, values)
                .map_err(|e| nc_err(&path, e))?;
        }
        let mut w = RecordWriter {
            path,
            writer,
            file,
            next: records,
            capacity: ds.num_records().unwrap_or(0),
            single: Vec::new(),
        };
        w.commit()?;
        Ok(w)
    }

    /// Records in the file.
    pub fn records(&self) -> usize {
        self.next
    }

    /// Whether the file holds as many records as its data set has room for.
    pub fn is_full(&self) -> bool {
        self.next >= self.capacity
    }

    /// Write the next record: time (s) and one slice per variable, in the given order
    /// (each stored as its variable's type, f64 or f32); the header counts it once its
    /// bytes are out of the process.
    pub fn write(&mut self, time_s: f64, vars: &[(&str, &[f64])]) -> Result<()> {
        let k = self.next;
        let path = &self.path;
        self.writer
            .write_record_f64("time", k, &[time_s])
            .map_err(|e| nc_err(path, e))?;
        for (name, data) in vars {
            let single = self.writer.data_set().and_then(|ds| ds.var_data_type(name))
                == Some(netcdf3::DataType::F32);
            let written = if single {
                self.single.clear();
                self.single.extend(data.iter().map(|&x| x as f32));
                self.writer.write_record_f32(name, k, &self.single)
            } else {
                self.writer.write_record_f64(name, k, data)
            };
            written.map_err(|e| nc_err(path, e))?;
        }
        self.next += 1;
        self.commit()
    }

    /// Flush the data written so far, then set the header's record count to it.
    fn commit(&mut self) -> Result<()> {
        let io = |source| OceanError::Io {
            path: self.path.clone(),
            source,
        };
        let count = u32::try_from(self.next).unwrap_or(u32::MAX).to_be_bytes();
        let mut f = self.file.0.borrow_mut();
        f.flush().map_err(io)?;
        f.seek(SeekFrom::Start(NUMRECS_AT)).map_err(io)?;
        f.write_all(&count).map_err(io)?;
        f.flush().map_err(io)
    }

    /// Close the file (every record is already counted).
    pub fn close(mut self) -> Result<()> {
        self.commit()
    }
}

/// The header netcdf3 writes for `ds` (the record count included).
fn header_bytes(ds: &DataSet) -> std::result::Result<Vec<u8>, netcdf3::WriteError> {
    let buf = Shared(Rc::new(RefCell::new(Cursor::new(Vec::new()))));
    let mut w = FileWriter::open_seek_write("header", Box::new(buf.clone()))?;
    w.set_def(ds, Version::Classic, 0)?;
    drop(w);
    let bytes = buf.0.borrow().get_ref().clone();
    Ok(bytes)
}

/// The record count in the header of the NetCDF-3 file at `path`.
pub fn header_records(path: &Path) -> Result<u32> {
    let mut head = [0u8; 8];
    File::open(path)
        .and_then(|mut f| f.read_exact(&mut head))
        .map_err(|source| OceanError::Io {
            path: path.to_path_buf(),
            source,
        })?;
    Ok(u32::from_be_bytes([head[4], head[5], head[6], head[7]]))
}
