//! Reading `analysis_t…s.nc` back into the running statistics at a restart: every rank
//! reads the whole file and takes its own rows.

use std::path::Path;

use netcdf3::FileReader;
use tch::{Kind, Tensor};

use super::state_path;
use crate::config::{PodField, FIELDS};
use crate::{Analysis, AnalysisError};

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
