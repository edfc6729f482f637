//! # eddylink-plot
//!
//! PNG figures of an ocean run's NetCDF output, as `ocean-model plot RUN_DIR` draws them
//! (the subcommand calls this crate). Module map: this file reads the run ([`RunOutput`])
//! and names the figures ([`write_plots`]); [`draw`] holds the plotters drawing (colour
//! maps with a colour bar, a time series, the diverging colour map); [`font`] finds the
//! TrueType font of the text at run time; `error` the crate's [`PlotError`].
//!
//! [`RunOutput::read`] reads `snapshots.nc` and `diagnostics.nc` of a run folder and
//! [`write_plots`] draws
//!
//! * `vorticity.png`: relative vorticity ζ / f0 of the last snapshot, axes in km;
//! * `ssh.png`: sea surface height anomaly η of the last snapshot (m);
//! * `kinetic_energy.png`: basin-integrated kinetic energy against time in days;
//! * `ml_forcing.png`, for coupled runs only (snapshots holding sx, sy): the time mean
//!   of the received momentum forcing sx and sy (m s-2) over the snapshot records after
//!   the first, which is written before any exchange.
//!
//! Maps use a diverging colour map with symmetric limits ([`symmetric_limit`]). A stopped
//! run's files hold the records it wrote (their headers count them as they are written);
//! records holding the NetCDF fill value (files of older versions, which reserved every
//! planned record) are skipped, as is any fill value inside a record. Text needs a TrueType font read at run time (see [`font`]);
//! without one the figures are drawn without text.
//!
//! ```no_run
//! use std::path::Path;
//! use eddylink_plot::{write_plots, RunOutput};
//! let run = RunOutput::read(Path::new("out/double_gyre_64"))?;
//! write_plots(&run, Path::new("out/double_gyre_64/plots"))?;
//! # Ok::<(), eddylink_plot::PlotError>(())
//! ```

pub mod draw;
mod error;
pub mod font;

use std::path::{Path, PathBuf};

use netcdf3::{FileReader, NC_FILL_F64};

pub use error::{PlotError, Result};

use error::nc_err;

/// Size in pixels of `vorticity.png` and `ssh.png`.
pub const MAP_SIZE: (u32, u32) = (900, 760);
/// Size in pixels of `kinetic_energy.png`.
pub const SERIES_SIZE: (u32, u32) = (900, 500);
/// Size in pixels of `ml_forcing.png` (two maps side by side).
pub const FORCING_SIZE: (u32, u32) = (1700, 700);

const DAY: f64 = 86_400.0;

/// Earth's rotation rate (s-1), as the ocean model has it.
const EARTH_OMEGA: f64 = 7.292_115e-5;

/// A 2-D field on one kind of C-grid point: `values[j * x.len() + i]` at (x[i], y[j]),
/// coordinates in m, NaN where the file holds no value.
#[derive(Debug, Clone)]
pub struct Field {
    pub x: Vec<f64>,
    pub y: Vec<f64>,
    pub values: Vec<f64>,
}

/// The time mean of the received forcing (m s-2) over snapshot records.
#[derive(Debug, Clone)]
pub struct MeanForcing {
    pub sx: Field,
    pub sy: Field,
    /// First and last model time in the mean (s) and the number of records.
    pub from_s: f64,
    pub to_s: f64,
    pub records: usize,
}

/// What the figures show, read from a run folder.
#[derive(Debug, Clone)]
pub struct RunOutput {
    /// Basin size (m): the positions of the east and north walls.
    pub lx: f64,
    pub ly: f64,
    /// Coriolis parameter at mid-basin (s-1).
    pub f0: f64,
    /// Model time of the last written snapshot (s).
    pub time_s: f64,
    /// Relative vorticity (s-1) and η (m) of the last written snapshot.
    pub vorticity: Field,
    pub eta: Field,
    /// Coupled runs only.
    pub forcing: Option<MeanForcing>,
    /// (time (s), kinetic energy (J)) of every written diagnostics record.
    pub kinetic_energy: Vec<(f64, f64)>,
}

/// Whether a value read from a file stands for "no data": the NetCDF fill value
/// (anything at or beyond half of it, as the NetCDF conventions read it) or non-finite.
pub fn is_missing(x: f64) -> bool {
    !x.is_finite() || x.abs() >= 0.5 * NC_FILL_F64
}

/// The half-width of a symmetric colour range for `values`: the 99.5th percentile of
/// |value| over the present values, so that a few extreme points at the walls do not
/// wash out the interior. `None` when no value is present and non-zero.
pub fn symmetric_limit(values: &[f64]) -> Option<f64> {
    let mut mags: Vec<f64> = values
        .iter()
        .filter(|v| !is_missing(**v))
        .map(|v| v.abs())
        .collect();
    if mags.is_empty() {
        return None;
    }
    mags.sort_by(f64::total_cmp);
    let k = ((0.995 * mags.len() as f64).ceil() as usize).clamp(1, mags.len()) - 1;
    let limit = mags[k];
    if limit > 0.0 {
        Some(limit)
    } else {
        mags.last().copied().filter(|&m| m > 0.0)
    }
}

/// Per point, the mean of the present values of `records` (NaN where none is present).
pub fn mean_of_present(records: &[Vec<f64>]) -> Vec<f64> {
    let n = records.first().map_or(0, Vec::len);
    (0..n)
        .map(|p| {
            let (sum, count) = records
                .iter()
                .map(|r| r[p])
                .filter(|v| !is_missing(*v))
                .fold((0.0, 0usize), |(s, c), v| (s + v, c + 1));
            if count > 0 {
                sum / count as f64
            } else {
                f64::NAN
            }
        })
        .collect()
}

/// A NetCDF file being read, with its path for the error messages.
struct NcFile {
    path: PathBuf,
    reader: FileReader,
}

impl NcFile {
    fn open(path: PathBuf) -> Result<Self> {
        std::fs::metadata(&path).map_err(|source| PlotError::Io {
            path: path.clone(),
            source,
        })?;
        let reader = FileReader::open(&path).map_err(|e| nc_err(&path, e))?;
        Ok(NcFile { path, reader })
    }

    /// Whether `name` is stored in single precision (an f32 run's snapshots).
    fn is_f32(&self, name: &str) -> bool {
        self.reader.data_set().var_data_type(name) == Some(netcdf3::DataType::F32)
    }

    /// A whole variable (f64 or f32), missing values as NaN.
    fn var(&mut self, name: &str) -> Result<Vec<f64>> {
        let v = match self.is_f32(name) {
            true => self.reader.read_var_f32(name).map(widen),
            false => self.reader.read_var_f64(name),
        };
        let v = v.map_err(|e| nc_err(&self.path, format!("{name}: {e:?}")))?;
        Ok(v.into_iter().map(nan_if_missing).collect())
    }

    /// One record of a variable (f64 or f32), missing values as NaN.
    fn record(&mut self, name: &str, k: usize) -> Result<Vec<f64>> {
        let v = match self.is_f32(name) {
            true => self.reader.read_record_f32(name, k).map(widen),
            false => self.reader.read_record_f64(name, k),
        };
        let v = v.map_err(|e| nc_err(&self.path, format!("{name}[{k}]: {e:?}")))?;
        Ok(v.into_iter().map(nan_if_missing).collect())
    }

    fn has_var(&self, name: &str) -> bool {
        self.reader.data_set().has_var(name)
    }

    /// The records that were written, with their times (s).
    fn written_records(&mut self) -> Result<Vec<(usize, f64)>> {
        let time = self.var("time")?;
        Ok(time
            .into_iter()
            .enumerate()
            .filter(|(_, t)| t.is_finite())
            .collect())
    }
}

/// f32 values as f64 (exact).
fn widen(v: Vec<f32>) -> Vec<f64> {
    v.into_iter().map(f64::from).collect()
}

fn nan_if_missing(x: f64) -> f64 {
    if is_missing(x) {
        f64::NAN
    } else {
        x
    }
}

impl RunOutput {
    /// Read `run_dir/snapshots.nc` and `run_dir/diagnostics.nc`; errors name the file.
    pub fn read(run_dir: &Path) -> Result<Self> {
        std::fs::read_dir(run_dir).map_err(|source| PlotError::Io {
            path: run_dir.to_path_buf(),
            source,
        })?;
        let mut snaps = NcFile::open(run_dir.join("snapshots.nc"))?;
        let written = snaps.written_records()?;
        let Some(&(last, time_s)) = written.last() else {
            return Err(nc_err(&snaps.path, "no snapshot record was written"));
        };
        let [x, x_u, y, y_v] = ["x", "x_u", "y", "y_v"].map(|c| snaps.var(c));
        let (x, x_u, y, y_v) = (x?, x_u?, y?, y_v?);
        let f0 = snaps
            .reader
            .data_set()
            .get_global_attr_f64("f0")
            .and_then(|a| a.first().copied())
            // Files without the attribute: the ocean model's default, 2Ω sin 30°.
            .unwrap_or(2.0 * EARTH_OMEGA * 30f64.to_radians().sin());
        let vorticity = Field {
            x: x_u.clone(),
            y: y_v.clone(),
            values: snaps.record("vorticity", last)?,
        };
        let eta = Field {
            x: x.clone(),
            y: y.clone(),
            values: snaps.record("eta", last)?,
        };
        let forcing = if snaps.has_var("sx") && snaps.has_var("sy") {
            // The first record of a run is written before the first exchange: leave it out.
            let used = if written.len() > 1 {
                &written[1..]
            } else {
                &written[..]
            };
            let mut mean = |name: &str| -> Result<Vec<f64>> {
                let records = used
                    .iter()
                    .map(|&(k, _)| snaps.record(name, k))
                    .collect::<Result<Vec<_>>>()?;
                Ok(mean_of_present(&records))
            };
            Some(MeanForcing {
                sx: Field {
                    x: x_u.clone(),
                    y: y.clone(),
                    values: mean("sx")?,
                },
                sy: Field {
                    x: x.clone(),
                    y: y_v.clone(),
                    values: mean("sy")?,
                },
                from_s: used[0].1,
                to_s: time_s,
                records: used.len(),
            })
        } else {
            None
        };

        let mut diags = NcFile::open(run_dir.join("diagnostics.nc"))?;
        let times = diags.var("time")?;
        let ke = diags.var("kinetic_energy")?;
        let kinetic_energy = times
            .into_iter()
            .zip(ke)
            .filter(|(t, e)| t.is_finite() && e.is_finite())
            .collect();

        Ok(RunOutput {
            lx: x_u.last().copied().unwrap_or(0.0),
            ly: y_v.last().copied().unwrap_or(0.0),
            f0,
            time_s,
            vorticity,
            eta,
            forcing,
            kinetic_energy,
        })
    }
}

/// Write the figures of `run` into `out` (created if needed); returns their paths.
pub fn write_plots(run: &RunOutput, out: &Path) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(out).map_err(|source| PlotError::Io {
        path: out.to_path_buf(),
        source,
    })?;
    let text = font::text_available();
    let extent = (run.lx, run.ly);
    let day = run.time_s / DAY;
    let mut written = Vec::new();

    let zeta_over_f0 = Field {
        values: run.vorticity.values.iter().map(|z| z / run.f0).collect(),
        ..run.vorticity.clone()
    };
    let maps = [
        (
            "vorticity.png",
            &zeta_over_f0,
            format!("relative vorticity ζ / f0, day {}", days(day)),
        ),
        (
            "ssh.png",
            &run.eta,
            format!("sea surface height η (m), day {}", days(day)),
        ),
    ];
    for (name, field, title) in maps {
        let path = out.join(name);
        draw::maps(&path, MAP_SIZE, text, extent, &[(field, &title)])?;
        written.push(path);
    }

    let path = out.join("kinetic_energy.png");
    let series: Vec<(f64, f64)> = run
        .kinetic_energy
        .iter()
        .map(|&(t, e)| (t / DAY, e))
        .collect();
    draw::series(&path, SERIES_SIZE, text, &series, "basin kinetic energy")?;
    written.push(path);

    if let Some(f) = &run.forcing {
        let when = format!(
            "mean of {} records, days {}–{}",
            f.records,
            days(f.from_s / DAY),
            days(f.to_s / DAY)
        );
        let path = out.join("ml_forcing.png");
        draw::maps(
            &path,
            FORCING_SIZE,
            text,
            extent,
            &[
                (&f.sx, &format!("ML forcing sx (m s-2), {when}")),
                (&f.sy, &format!("ML forcing sy (m s-2), {when}")),
            ],
        )?;
        written.push(path);
    }
    Ok(written)
}

/// A model day for a title: whole days without decimals.
fn days(d: f64) -> String {
    if (d - d.round()).abs() < 1e-9 {
        format!("{d:.0}")
    } else {
        format!("{d:.2}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fill_values_and_nan_are_missing_but_large_values_are_not() {
        assert!(is_missing(NC_FILL_F64));
        assert!(is_missing(-NC_FILL_F64));
        assert!(is_missing(f64::NAN) && is_missing(f64::INFINITY));
        assert!(!is_missing(1e30) && !is_missing(0.0) && !is_missing(-3e-7));
    }

    #[test]
    fn colour_limit_is_symmetric_and_skips_fill_values() {
        let v = [0.5, -2.0, NC_FILL_F64, f64::NAN, 1.0];
        assert_eq!(symmetric_limit(&v), Some(2.0), "|-2| beats 1 and 0.5");
        assert_eq!(symmetric_limit(&[NC_FILL_F64, f64::NAN]), None);
        assert_eq!(symmetric_limit(&[0.0, 0.0]), None);
        assert_eq!(symmetric_limit(&[]), None);
    }

    #[test]
    fn colour_limit_ignores_the_most_extreme_half_percent() {
        // 999 values of magnitude 1 and one wall spike of 1000.
        let mut v = vec![-1.0; 999];
        v.push(1000.0);
        assert_eq!(symmetric_limit(&v), Some(1.0));
        // A field that is zero but for a few points still gets their range.
        let mut sparse = vec![0.0; 1000];
        sparse[3] = -4.0;
        assert_eq!(symmetric_limit(&sparse), Some(4.0));
    }

    #[test]
    fn time_mean_skips_missing_records_per_point() {
        let records = vec![
            vec![1.0, f64::NAN, NC_FILL_F64],
            vec![3.0, 2.0, NC_FILL_F64],
        ];
        let m = mean_of_present(&records);
        assert_eq!(m[..2], [2.0, 2.0]);
        assert!(m[2].is_nan());
    }

    #[test]
    fn whole_days_print_without_decimals() {
        assert_eq!(days(360.0), "360");
        assert_eq!(days(0.5), "0.50");
    }
}
