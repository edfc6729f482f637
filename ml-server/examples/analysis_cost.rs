//! The in-situ analysis's cost per coupling call against inference, on one ML rank, at
//! 128² and 512²: the FullyCNN of configs/double_gyre_64_learned.toml (halo 10) and the
//! analysis of configs/double_gyre_64_analysis.toml (rank-16 POD of the vorticity,
//! spectra, Welford maps), each part alone and all together.
//!
//! ```sh
//! cargo run -p ml-server --example analysis_cost -- [REPEATS] [DEVICE: cpu | cuda]
//! ```

use std::path::Path;
use std::time::Instant;

use analysis::comm::Alone;
use analysis::config::AnalysisConfig;
use analysis::{Analysis, Geometry};
use anyhow::Context;
use experiment::ExperimentFile;
use ml_server::config::MlConfig;
use ml_server::engine::{BatchShape, Engine};
use tch::Device;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let repeats: usize = args.next().map_or(Ok(5), |a| a.parse())?;
    let device = match args.next().as_deref() {
        Some("cuda") => Device::Cuda(0),
        _ => Device::Cpu,
    };
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let ml = MlConfig::load(&repo.join("configs/double_gyre_64_learned.toml"))?;
    let exp = ExperimentFile::load(&repo.join("configs/double_gyre_64_analysis.toml"))?;
    let coupling = exp.coupling()?.context("[coupling]")?;
    let all = AnalysisConfig::from_experiment(&exp, &coupling)?.context("[analysis]")?;
    let parts = [
        (
            "Welford maps",
            AnalysisConfig {
                spectrum: false,
                transfer: false,
                pod: None,
                ..all.clone()
            },
        ),
        (
            "spectra (KE + u·S)",
            AnalysisConfig {
                statistics: false,
                pod: None,
                ..all.clone()
            },
        ),
        (
            "POD rank 16",
            AnalysisConfig {
                statistics: false,
                spectrum: false,
                transfer: false,
                ..all.clone()
            },
        ),
        ("all", all.clone()),
    ];
    println!("| grid | FullyCNN inference (ms) | analysis part | ms per call | / inference |");
    println!("|---|---|---|---|---|");
    for n in [128usize, 512] {
        let shape = BatchShape {
            levels: 1,
            ny: n,
            nx: n,
            halo: 10,
        };
        let mut engine = Engine::new(&ml, device, shape, 0)?;
        let w = shape.width();
        for (k, x) in engine.input_mut()?.iter_mut().enumerate() {
            let (i, j) = ((k % w) as f32, (k / w % w) as f32);
            *x = 0.1 * (0.07 * i).sin() * (0.05 * j).cos() + 0.01 * (0.9 * i + 0.4 * j).sin();
        }
        engine.run()?;
        let clock = Instant::now();
        for _ in 0..repeats {
            engine.run()?;
        }
        let inference = clock.elapsed().as_secs_f64() / repeats as f64;
        let geometry = Geometry {
            nx: n,
            ny: n,
            j0: 0,
            nj: n,
            halo: 10,
        };
        for (name, config) in &parts {
            let mut a = Analysis::new(config.clone(), geometry, device, false)?;
            let step = |a: &mut Analysis, t: f64| -> anyhow::Result<()> {
                engine.with_tensors(|input, forcing| a.update(t, input, forcing, &Alone))??;
                Ok(())
            };
            step(&mut a, 0.0)?;
            let clock = Instant::now();
            for k in 1..=repeats {
                step(&mut a, k as f64 * config.interval_s)?;
            }
            let cost = clock.elapsed().as_secs_f64() / repeats as f64;
            println!(
                "| {n}² | {:.2} | {name} | {:.2} | {:.3} |",
                1e3 * inference,
                1e3 * cost,
                cost / inference
            );
        }
    }
    Ok(())
}
