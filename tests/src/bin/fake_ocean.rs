//! Test program: a stand-in ocean for trying `ml-server` in a coupled run without the
//! ocean model (the `serve_mpmd` tests run it).
//!
//! One rank owns the whole grid. It sends known u, v fields (and static land
//! masks when the experiment exchanges them) at every coupling period, receives
//! sx, sy back and, when the `[ml]` table asks for the linear analytic forcing,
//! checks them: S = output_scale · mask · (a · input_scale · u + b).
//!
//! ```text
//! mpiexec -n 1 target/debug/fake_ocean exp.toml : -n 2 target/debug/ml-server --config exp.toml
//! ```

use std::process::ExitCode;

use anyhow::{bail, Context};
use coupler::{Coupler, Region};
use experiment::ExperimentFile;
use ml_server::config::{AnalyticKind, MlConfig, ModelKind};

fn velocity(c: usize, l: usize, j: usize, i: usize, step: usize) -> f32 {
    (c + 1) as f32 * 0.01 * (l + 1) as f32 + 0.001 * j as f32 - 0.0005 * i as f32
        + 0.0001 * step as f32
}

fn land(i: usize, j: usize) -> bool {
    i == 3 && j % 2 == 0
}

fn run() -> anyhow::Result<usize> {
    let file = std::env::args()
        .nth(1)
        .context("usage: fake_ocean EXPERIMENT.toml")?;
    let universe = mpi::initialize().context("MPI initialisation")?;
    let exp = ExperimentFile::load(file.as_ref())?;
    let ml = MlConfig::from_experiment(&exp)?;
    let coupling = exp.coupling()?.context("no [coupling] table")?;
    let Some((nx, ny)) = coupling.grid else {
        bail!("the fake ocean needs [coupling] grid = [nx, ny]");
    };
    // Only the linear analytic forcing is checked; other models are just exercised.
    let linear = ml
        .analytic
        .as_ref()
        .filter(|a| ml.model == ModelKind::Analytic && a.kind == AnalyticKind::Linear);
    let levels = coupling
        .exchanges
        .iter()
        .find(|e| e.src.field == "u")
        .map_or(1, |e| e.levels);
    let masks = coupling.exchanges.iter().any(|e| e.src.field == "mask_u");
    let mut cpl = Coupler::init(&universe.world(), "ocean", &coupling)?;
    let region = Region {
        i0: 0,
        j0: 0,
        ni: nx,
        nj: ny,
    };
    cpl.define_fields(region)?;
    cpl.enddef()?;
    let n = levels * nx * ny;
    let index = |l: usize, j: usize, i: usize| (l * ny + j) * nx + i;
    if masks {
        let mask: Vec<f32> = (0..n)
            .map(|k| {
                if land(k % nx, (k / nx) % ny) {
                    0.0
                } else {
                    1.0
                }
            })
            .collect();
        cpl.put("mask_u", 0.0, &mask)?;
        cpl.put("mask_v", 0.0, &mask)?;
    }
    let times = cpl.coupling_times("sx")?;
    let (mut sx, mut sy) = (vec![0.0f32; n], vec![0.0f32; n]);
    let mut checked = 0;
    for (step, &t) in times.iter().enumerate() {
        for (c, name) in ["u", "v"].into_iter().enumerate() {
            let field: Vec<f32> = (0..n)
                .map(|k| velocity(c, k / (nx * ny), (k / nx) % ny, k % nx, step))
                .collect();
            cpl.put(name, t, &field)?;
        }
        if !(cpl.get("sx", t, &mut sx)? && cpl.get("sy", t, &mut sy)?) {
            continue;
        }
        let Some(a) = linear else {
            checked += 1;
            continue;
        };
        for l in 0..levels {
            for j in 0..ny {
                for i in 0..nx {
                    for (c, s) in [&sx, &sy].into_iter().enumerate() {
                        let wet = if masks && land(i, j) { 0.0 } else { 1.0 };
                        let u = f64::from(velocity(c, l, j, i, step));
                        let expected = wet * ml.output_scale * (a.a * ml.input_scale * u + a.b);
                        let got = f64::from(s[index(l, j, i)]);
                        if (got - expected).abs() > 1e-5 * expected.abs().max(1e-6) {
                            bail!("t = {t}: component {c} at (level {l}, j {j}, i {i}): got {got}, expected {expected}");
                        }
                    }
                }
            }
        }
        checked += 1;
    }
    cpl.finalize(None)?;
    Ok(checked)
}

fn main() -> ExitCode {
    match run() {
        Ok(n) => {
            println!("fake ocean: {n} coupling times checked");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("fake ocean: {e:#}");
            ExitCode::FAILURE
        }
    }
}
