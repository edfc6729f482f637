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

use netcdf3::{DataSet, FileReader, FileWriter, Version};
use tch::{Kind, Tensor};

use crate::comm::Ranks;
use crate::config::{PodField, FIELDS};
use crate::spectrum::to_host;
use crate::{Analysis, AnalysisError};

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

pub(crate) fn restore(a: &mut Analysis, run_dir: &Path, t: f64) -> Result<(), AnalysisError> {
    let path = state_path(run_dir, t);
    let fail = |message: String| AnalysisError::Restart {
        time_s: t,
        path: path.clone(),
        message,
    };
    if !path.is_file() {
        return Err(fail(
            "no analysis state saved at this time: set [analysis] checkpoint_interval to the \
             ocean's checkpoint_interval so every ocean checkpoint has one"
                .into(),
        ));
    }
    let mut r = FileReader::open(&path).map_err(|e| fail(format!("not readable: {e:?}")))?;
    let g = a.geometry;
    let ds = r.data_set();
    let (nx, ny) = (ds.dim_size("x").unwrap_or(0), ds.dim_size("y").unwrap_or(0));
    if (nx, ny) != (g.nx, g.ny) {
        return Err(fail(format!(
            "grid {nx} × {ny}, but this run's is {} × {}",
            g.nx, g.ny
        )));
    }
    let mut read = |name: &str| {
        r.read_var_f64(name)
            .map_err(|e| fail(format!("variable {name}: {e:?}")))
    };
    let samples = read("samples")?[0];
    let last = read("time")?[0];
    let rows = |global: &[f64]| global[g.j0 * g.nx..(g.j0 + g.nj) * g.nx].to_vec();
    let device = a.device;
    let to_device = |v: &[f64], dims: &[i64]| {
        Tensor::f_from_slice(v)
            .and_then(|t| t.f_view(dims))
            .and_then(|t| t.f_to_device(device))
            .map_err(AnalysisError::torch("restoring"))
    };
    let dims = [g.nj as i64, g.nx as i64];
    if let Some(w) = &mut a.stats {
        let (mut means, mut m2s) = (Vec::new(), Vec::new());
        for &k in &a.config.fields {
            let f = FIELDS[k];
            means.push(to_device(&rows(&read(&format!("{f}_mean"))?), &dims)?);
            let var: Vec<f64> = rows(&read(&format!("{f}_variance"))?)
                .iter()
                .map(|v| v * samples)
                .collect();
            m2s.push(to_device(&var, &dims)?);
        }
        let stack = |t: &[Tensor]| Tensor::f_stack(t, 0).map_err(AnalysisError::torch("restoring"));
        w.mean = stack(&means)?;
        w.m2 = stack(&m2s)?;
        w.count = samples as u64;
    }
    if let Some(s) = &mut a.spectra {
        let shells = s.shells() as i64;
        for (on, name, sum) in [
            (a.config.spectrum, "ke_spectrum", &mut s.ke_sum),
            (a.config.transfer, "transfer_spectrum", &mut s.transfer_sum),
        ] {
            if on {
                let v: Vec<f64> = read(name)?.iter().map(|x| x * samples).collect();
                if v.len() as i64 != shells {
                    return Err(fail(format!(
                        "{name} has {} shells, expected {shells}",
                        v.len()
                    )));
                }
                *sum = to_device(&v, &[shells])?;
            }
        }
        s.count = samples as u64;
    }
    if let (Some(pod), Some(p)) = (&mut a.pod, a.config.pod) {
        pod.count = samples as u64;
        let values = read("singular_values").unwrap_or_default();
        if values.len() > pod.rank {
            return Err(fail(format!(
                "{} POD modes, but pod_rank = {}",
                values.len(),
                pod.rank
            )));
        }
        let names: &[&str] = if p.of == PodField::Velocity {
            &["modes_u", "modes_v"]
        } else {
            &["modes"]
        };
        let cells = g.nx * g.ny;
        let mut columns = Vec::new();
        for name in names {
            let all = if values.is_empty() {
                Vec::new()
            } else {
                read(name)?
            };
            let planes: Vec<Tensor> = (0..values.len())
                .map(|m| {
                    to_device(
                        &rows(&all[m * cells..(m + 1) * cells]),
                        &[(g.nj * g.nx) as i64],
                    )
                })
                .collect::<Result<_, _>>()?;
            columns.push(planes);
        }
        let r = values.len();
        let basis = (0..r)
            .map(|m| Tensor::f_cat(&columns.iter().map(|c| &c[m]).collect::<Vec<_>>(), 0))
            .collect::<Result<Vec<_>, _>>()
            .and_then(|cols| {
                if cols.is_empty() {
                    Ok(pod.basis.shallow_clone())
                } else {
                    Tensor::f_stack(&cols, 1)
                }
            })
            .map_err(AnalysisError::torch("restoring"))?;
        pod.basis = basis
            .f_to_kind(Kind::Double)
            .map_err(AnalysisError::torch("restoring"))?;
        pod.singular_values = values;
    }
    a.samples = samples as u64;
    a.last_sample_s = if samples > 0.0 {
        last
    } else {
        f64::NEG_INFINITY
    };
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::comm::Alone;
    use crate::config::{AnalysisConfig, PodConfig, Window};
    use crate::Geometry;
    use tch::{Device, Kind};

    const G: Geometry = Geometry {
        nx: 24,
        ny: 16,
        j0: 0,
        nj: 16,
        halo: 1,
    };

    fn config() -> AnalysisConfig {
        AnalysisConfig {
            interval_s: 10.0,
            fields: vec![0, 1],
            statistics: true,
            spectrum: true,
            transfer: true,
            window: Window::Hann,
            dx: 1e4,
            dy: 2e4,
            pod: Some(PodConfig {
                rank: 5,
                of: PodField::Vorticity,
            }),
            checkpoint_interval_s: Some(50.0),
        }
    }

    fn sample(k: i64) -> (Tensor, Tensor) {
        let _rng = crate::TORCH_RNG.lock().unwrap_or_else(|e| e.into_inner());
        tch::manual_seed(k);
        let opts = (Kind::Float, Device::Cpu);
        (
            Tensor::randn([1, 2, 18, 26], opts),
            Tensor::randn([1, 2, 16, 24], opts) * 1e-6,
        )
    }

    fn vars(path: &Path) -> Vec<(String, Vec<f64>)> {
        let mut r = FileReader::open(path).unwrap();
        let names = r.data_set().get_var_names();
        names
            .into_iter()
            .map(|n| (n.clone(), r.read_var_f64(&n).unwrap()))
            .collect()
    }

    /// Saved at t = 50 (samples 0..=50), restored and continued: the same file as an
    /// uninterrupted run of samples 0..=110, to the rounding of M2 = variance × n.
    #[test]
    fn a_restored_analysis_ends_where_an_uninterrupted_one_ends() {
        let dir = std::env::temp_dir().join(format!("analysis-restart-{}", std::process::id()));
        let (straight, restarted) = (dir.join("straight"), dir.join("restarted"));
        let mut a = Analysis::new(config(), G, Device::Cpu, false).unwrap();
        for k in 0..12 {
            let (input, forcing) = sample(k);
            assert!(a.update(k as f64 * 10.0, &input, &forcing, &Alone).unwrap());
        }
        a.save(&straight, 120.0, &Alone).unwrap();

        let mut first = Analysis::new(config(), G, Device::Cpu, false).unwrap();
        for k in 0..6 {
            let (input, forcing) = sample(k);
            first
                .update(k as f64 * 10.0, &input, &forcing, &Alone)
                .unwrap();
        }
        first.save(&restarted, 50.0, &Alone).unwrap();
        let mut second = Analysis::new(config(), G, Device::Cpu, false).unwrap();
        second.restore(&restarted, 50.0).unwrap();
        for k in 5..12 {
            let (input, forcing) = sample(k);
            // The sample at t = 50 is in the saved state: skipped.
            assert_eq!(
                second
                    .update(k as f64 * 10.0, &input, &forcing, &Alone)
                    .unwrap(),
                k > 5
            );
        }
        second.save(&restarted, 120.0, &Alone).unwrap();
        let (want, got) = (vars(&straight.join(FILE)), vars(&restarted.join(FILE)));
        assert_eq!(want.len(), got.len());
        for ((name, w), (_, g)) in want.iter().zip(&got) {
            let scale = w.iter().fold(0.0f64, |m, x| m.max(x.abs())).max(1e-300);
            let worst = w
                .iter()
                .zip(g)
                .fold(0.0f64, |m, (a, b)| m.max((a - b).abs()));
            assert!(
                worst <= 1e-12 * scale,
                "{name}: differs by {worst:e} (scale {scale:e})"
            );
        }
        let err = second.restore(&restarted, 70.0).unwrap_err().to_string();
        assert!(
            err.contains("restart at t = 70 s") && err.contains("checkpoint_interval"),
            "{err}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
