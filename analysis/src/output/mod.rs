//! `analysis.nc`: the analysis as a CF-1.8 NetCDF-3 file that opens in xarray, and the
//! same file as the state a restart reloads.
//!
//! | variable | dims | units |
//! |---|---|---|
//! | `time` | – | time of the last sample |
//! | `samples` | – | number of samples |
//! | `u_mean`, `u_std`, `u_variance` (and v) | y, x | m s-1, m2 s-2 |
//! | `mke`, `eke` | y, x | m2 s-2: ½(ū² + v̄²), ½(var u + var v) |
//! | `wavenumber` | wavenumber | rad m-1 |
//! | `ke_spectrum`, `transfer_spectrum` | wavenumber | m3 s-2, m3 s-3 |
//! | `singular_values` | mode | largest first |
//! | `modes` (vorticity) or `modes_u`, `modes_v` (velocity) | mode, y, x | unit norm |
//!
//! Every array is float64 and global: rank 0 gathers the strips and writes; a restart
//! reads the file on every rank and takes its own rows, so it may use another number of
//! ML ranks. The Welford M2 is restored as variance × samples, the spectral sums as
//! mean × samples (one rounding each).

use std::path::{Path, PathBuf};

use netcdf3::{DataSet, FileWriter, Version};
use tch::Tensor;

use crate::comm::Ranks;
use crate::config::{PodField, FIELDS};
use crate::spectrum::to_host;
use crate::{Analysis, AnalysisError};

mod restore;
#[cfg(test)]
mod tests;

pub(crate) use restore::restore;

/// The file name of the analysis in a run folder (the latest save).
pub const FILE: &str = "analysis.nc";

/// CF units of the time coordinate (the ocean's).
const TIME_UNITS: &str = "seconds since 0001-01-01 00:00:00";

/// The saved state a run restarted at model time `t` reloads.
pub fn state_path(run_dir: &Path, t: f64) -> PathBuf {
    run_dir.join(format!("analysis_t{:011.0}s.nc", t))
}

/// One variable to write.
struct Var {
    name: String,
    dims: &'static [&'static str],
    long_name: String,
    units: &'static str,
    data: Vec<f64>,
}

/// Gathers the strips `[planes, nj, nx]` of `t` (row-major on the host) into global planes.
fn gather_planes(local: &[f64], planes: usize, ranks: &dyn Ranks) -> Vec<Option<Vec<f64>>> {
    let n = local.len() / planes.max(1);
    (0..planes)
        .map(|p| ranks.gather(&local[p * n..(p + 1) * n]))
        .collect()
}

pub(crate) fn save(
    a: &Analysis,
    run_dir: &Path,
    t: f64,
    ranks: &dyn Ranks,
) -> Result<(), AnalysisError> {
    let torch = AnalysisError::torch("saving");
    let mut vars = Vec::new();
    if let Some(w) = &a.stats {
        let mean = to_host(&w.mean).map_err(torch)?;
        let var = w
            .variance()
            .and_then(|v| to_host(&v))
            .map_err(AnalysisError::torch("saving"))?;
        let planes = a.config.fields.len();
        let (means, variances) = (
            gather_planes(&mean, planes, ranks),
            gather_planes(&var, planes, ranks),
        );
        let mut global = Vec::new();
        for ((&k, m), v) in a.config.fields.iter().zip(means).zip(variances) {
            let (Some(m), Some(v)) = (m, v) else { continue };
            global.push((k, m, v));
        }
        if let [(0, um, uv), (1, vm, vv)] | [(1, vm, vv), (0, um, uv)] = global.as_slice() {
            let mke = um
                .iter()
                .zip(vm)
                .map(|(a, b)| 0.5 * (a * a + b * b))
                .collect();
            let eke = uv.iter().zip(vv).map(|(a, b)| 0.5 * (a + b)).collect();
            vars.push(map(
                "mke",
                "mean kinetic energy ½(ū² + v̄²)".into(),
                "m2 s-2",
                mke,
            ));
            vars.push(map(
                "eke",
                "eddy kinetic energy ½(var u + var v)".into(),
                "m2 s-2",
                eke,
            ));
        }
        for (k, m, v) in global {
            let f = FIELDS[k];
            let std: Vec<f64> = v.iter().map(|x| x.sqrt()).collect();
            vars.push(map(
                &format!("{f}_mean"),
                format!("time mean of {f}"),
                "m s-1",
                m,
            ));
            vars.push(map(
                &format!("{f}_variance"),
                format!("time variance of {f}"),
                "m2 s-2",
                v,
            ));
            vars.push(map(
                &format!("{f}_std"),
                format!("standard deviation in time of {f}"),
                "m s-1",
                std,
            ));
        }
    }
    if let Some(s) = &a.spectra {
        let n = s.count.max(1) as f64;
        let shells = s.shells();
        let k = (0..shells).map(|i| i as f64 * s.dk).collect();
        let spectrum =
            |sum: &Tensor| to_host(sum).map(|v| v.iter().map(|x| x / n).collect::<Vec<f64>>());
        vars.push(Var {
            name: "wavenumber".into(),
            dims: &["wavenumber"],
            long_name: "isotropic wavenumber |k| (shell centre)".into(),
            units: "rad m-1",
            data: k,
        });
        if a.config.spectrum {
            vars.push(Var {
                name: "ke_spectrum".into(),
                dims: &["wavenumber"],
                long_name: "time-mean isotropic kinetic energy spectrum of u, v".into(),
                units: "m3 s-2",
                data: spectrum(&s.ke_sum).map_err(AnalysisError::torch("saving"))?,
            });
        }
        if a.config.transfer {
            vars.push(Var {
                name: "transfer_spectrum".into(),
                dims: &["wavenumber"],
                long_name: "time-mean cospectrum of u·S: > 0 backscatter, < 0 dissipation".into(),
                units: "m3 s-3",
                data: spectrum(&s.transfer_sum).map_err(AnalysisError::torch("saving"))?,
            });
        }
    }
    if let (Some(pod), Some(p)) = (&a.pod, a.config.pod) {
        let r = pod.singular_values.len();
        if r > 0 {
            let basis = to_host(&pod.basis).map_err(AnalysisError::torch("saving"))?;
            let planes = if p.of == PodField::Velocity { 2 } else { 1 };
            let names: &[&str] = if planes == 2 {
                &["modes_u", "modes_v"]
            } else {
                &["modes"]
            };
            let mut modes = vec![Vec::new(); planes];
            for m in 0..r {
                let column: Vec<f64> = basis.iter().skip(m).step_by(r).copied().collect();
                for (plane, g) in gather_planes(&column, planes, ranks)
                    .into_iter()
                    .enumerate()
                {
                    if let Some(g) = g {
                        modes[plane].extend(g);
                    }
                }
            }
            if ranks.rank() == 0 {
                vars.push(Var {
                    name: "singular_values".into(),
                    dims: &["mode"],
                    long_name: "singular values of the snapshot matrix, largest first".into(),
                    units: "1",
                    data: pod.singular_values.clone(),
                });
                for (name, data) in names.iter().zip(modes) {
                    vars.push(Var {
                        name: name.to_string(),
                        dims: &["mode", "y", "x"],
                        long_name: format!(
                            "POD mode (left singular vector) of the {:?} snapshots",
                            p.of
                        )
                        .to_lowercase(),
                        units: "1",
                        data,
                    });
                }
            }
        }
    }
    if ranks.rank() != 0 {
        return Ok(());
    }
    std::fs::create_dir_all(run_dir).map_err(|e| AnalysisError::file(run_dir, e))?;
    let state = state_path(run_dir, t);
    write(a, &state, t, &vars)?;
    let latest = run_dir.join(FILE);
    std::fs::copy(&state, &latest).map_err(|e| AnalysisError::file(&latest, e))?;
    Ok(())
}

fn map(name: &str, long_name: String, units: &'static str, data: Vec<f64>) -> Var {
    Var {
        name: name.into(),
        dims: &["y", "x"],
        long_name,
        units,
        data,
    }
}

fn write(a: &Analysis, path: &Path, t: f64, vars: &[Var]) -> Result<(), AnalysisError> {
    let g = a.geometry;
    let c = &a.config;
    let coords = [
        ("x", g.nx, c.dx, "X", "projection_x_coordinate"),
        ("y", g.ny, c.dy, "Y", "projection_y_coordinate"),
    ];
    let modes = vars
        .iter()
        .find(|v| v.name == "singular_values")
        .map(|v| v.data.len());
    let shells = vars
        .iter()
        .find(|v| v.name == "wavenumber")
        .map(|v| v.data.len());
    let build = || -> Result<DataSet, netcdf3::InvalidDataSet> {
        let mut ds = DataSet::new();
        ds.add_global_attr_string("Conventions", "CF-1.8")?;
        ds.add_global_attr_string(
            "title",
            "eddylink in-situ analysis of the fields received by ml-server",
        )?;
        ds.add_global_attr_string(
            "source",
            concat!("eddylink analysis ", env!("CARGO_PKG_VERSION")),
        )?;
        ds.add_global_attr_string("window", format!("{:?}", c.window).to_lowercase())?;
        ds.add_global_attr_f64("interval_s", vec![c.interval_s])?;
        ds.add_global_attr_f64("saved_at_s", vec![t])?;
        for (name, n, ..) in coords {
            ds.add_fixed_dim(name, n)?;
        }
        if let Some(n) = shells {
            ds.add_fixed_dim("wavenumber", n)?;
        }
        if let Some(n) = modes {
            ds.add_fixed_dim("mode", n)?;
        }
        for (name, _, _, axis, standard) in coords {
            ds.add_var_f64(name, &[name])?;
            ds.add_var_attr_string(name, "units", "m")?;
            ds.add_var_attr_string(name, "axis", axis)?;
            ds.add_var_attr_string(name, "standard_name", standard)?;
        }
        ds.add_var_f64::<&str>("time", &[])?;
        ds.add_var_attr_string("time", "units", TIME_UNITS)?;
        ds.add_var_attr_string("time", "calendar", "noleap")?;
        ds.add_var_attr_string("time", "long_name", "model time of the last sample")?;
        ds.add_var_f64::<&str>("samples", &[])?;
        ds.add_var_attr_string("samples", "long_name", "number of samples")?;
        ds.add_var_attr_string("samples", "units", "1")?;
        for v in vars {
            ds.add_var_f64(&v.name, v.dims)?;
            ds.add_var_attr_string(&v.name, "long_name", &v.long_name)?;
            ds.add_var_attr_string(&v.name, "units", v.units)?;
        }
        Ok(ds)
    };
    let ds = build().map_err(|e| AnalysisError::file(path, e))?;
    let err = |e| AnalysisError::file(path, e);
    let mut w = FileWriter::open(path).map_err(err)?;
    w.set_def(&ds, Version::Classic, 0).map_err(err)?;
    for (name, n, d, ..) in coords {
        let centres: Vec<f64> = (0..n).map(|i| (i as f64 + 0.5) * d).collect();
        w.write_var_f64(name, &centres).map_err(err)?;
    }
    let last = if a.last_sample_s.is_finite() {
        a.last_sample_s
    } else {
        0.0
    };
    w.write_var_f64("time", &[last]).map_err(err)?;
    w.write_var_f64("samples", &[a.samples as f64])
        .map_err(err)?;
    for v in vars {
        w.write_var_f64(&v.name, &v.data).map_err(err)?;
    }
    w.close().map_err(err)
}
