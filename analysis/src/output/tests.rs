//! A save and a restore give the statistics an uninterrupted run gives.

use netcdf3::FileReader;

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
