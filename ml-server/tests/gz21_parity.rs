//! The native FullyCNN with the GZ21 weights gives PyTorch's numbers.

mod common;

use common::*;
use ml_server::config::Padding;
use ml_server::models::{FullyCnn, Model};
use tch::{Device, Kind, Tensor};

const REFERENCE: &str = r#"
import sys, numpy as np, torch
weights, mode, inp, out = sys.argv[1:5]
net = load(weights, mode)
with torch.no_grad():
    y = net(torch.from_numpy(np.load(inp)))
np.save(out, y.numpy())
"#;

fn compare(mode: &str, padding: Padding) {
    let (Some(weights), Some(py)) = (gz21_weights(), python()) else {
        return;
    };
    let dir = scratch(&format!("parity-{mode}"));
    let (levels, h, w) = (3usize, 44usize, 52usize);
    let x = random(levels * 2 * h * w, 1.0, 7);
    ml_server::npy::write(&dir.join("in.npy"), &[levels, 2, h, w], &x).unwrap();
    let script = format!("{GZ21_PY}\n{REFERENCE}");
    let (inp, out) = (dir.join("in.npy"), dir.join("out.npy"));
    run_python(
        &py,
        &dir,
        &script,
        &[
            weights.to_str().unwrap(),
            mode,
            inp.to_str().unwrap(),
            out.to_str().unwrap(),
        ],
    );
    let expected: ndarray::ArrayD<f32> = ndarray_npy::read_npy(&out).unwrap();

    let model = FullyCnn::load(&weights, padding, false, Device::Cpu, Kind::Float, false).unwrap();
    let input = Tensor::from_slice(&x).view([levels as i64, 2, h as i64, w as i64]);
    let y = model.forward(&input).unwrap();
    assert_eq!(
        y.size(),
        expected
            .shape()
            .iter()
            .map(|&d| d as i64)
            .collect::<Vec<_>>()
    );
    let got = Vec::<f32>::try_from(y.flatten(0, -1)).unwrap();
    let rel = max_rel_diff(&got, expected.as_slice().unwrap(), 1e-2);
    println!(
        "{mode}: max relative difference {rel:e}, min_value {}",
        model.min_value()
    );
    assert!(rel < 1e-5, "{mode}: max relative difference {rel:e}");
}

#[test]
fn valid_padding_matches_pytorch() {
    compare("valid", Padding::Valid);
}

#[test]
fn init_zeros_padding_matches_pytorch() {
    compare("init_zeros", Padding::InitZeros);
}

#[test]
fn same_padding_matches_pytorch() {
    compare("same", Padding::Same);
}
