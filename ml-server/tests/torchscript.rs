//! TorchScript modules exported from Python load, map channels and match the native model.

mod common;

use std::path::Path;

use common::*;
use ml_server::config::{Padding, TorchScriptConfig};
use ml_server::models::{FullyCnn, Model, TorchScript};
use tch::{Device, Kind, Tensor};

const EXPORT: &str = r#"
import sys, torch, torch.nn as nn
weights, folder = sys.argv[1:3]
net = load(weights, "valid")
x = torch.zeros(1, 2, 32, 32)
torch.jit.trace(net, x).save(folder + "/gz21.pt")

class Reordered(nn.Module):
    def __init__(self, net):
        super().__init__()
        self.net = net
    def forward(self, x):
        y = self.net(torch.flip(x, [1]))   # takes [v, u]
        return torch.cat([y[:, 2:], y[:, :2]], 1)   # gives precisions first
torch.jit.trace(Reordered(net), x).save(folder + "/reordered.pt")

class TwoInputs(nn.Module):
    def forward(self, u, v):
        return torch.cat([u, v, u, v], 1)
torch.jit.trace(TwoInputs(), (torch.zeros(1, 1, 8, 8), torch.zeros(1, 1, 8, 8))).save(folder + "/two_inputs.pt")
"#;

fn config(file: &Path, inputs: &[&str], outputs: &[&str], trim: usize) -> TorchScriptConfig {
    TorchScriptConfig {
        file: file.to_path_buf(),
        inputs: inputs.iter().map(|s| s.to_string()).collect(),
        outputs: outputs.iter().map(|s| s.to_string()).collect(),
        trim,
        receptive_radius: trim,
    }
}

fn values(t: &Tensor) -> Vec<f32> {
    Vec::<f32>::try_from(t.flatten(0, -1)).unwrap()
}

#[test]
fn exported_gz21_matches_native_and_channel_maps_apply() {
    let (Some(weights), Some(py)) = (gz21_weights(), python()) else {
        return;
    };
    let dir = scratch("torchscript");
    run_python(
        &py,
        &dir,
        &format!("{GZ21_PY}\n{EXPORT}"),
        &[weights.to_str().unwrap(), dir.to_str().unwrap()],
    );

    let native = FullyCnn::load(
        &weights,
        Padding::Valid,
        false,
        Device::Cpu,
        Kind::Float,
        false,
    )
    .unwrap();
    let x = Tensor::from_slice(&random(2 * 2 * 36 * 40, 1.0, 3)).view([2, 2, 36, 40]);
    let expected = values(&native.forward(&x).unwrap());

    let plain = config(
        &dir.join("gz21.pt"),
        &["u", "v"],
        &["sx", "sy", "sx_precision", "sy_precision"],
        10,
    );
    let ts = TorchScript::load(&plain, Device::Cpu, Kind::Float).unwrap();
    assert_eq!(ts.info().trim, 10);
    assert!(ts.info().has_precision);
    let got = values(&ts.forward(&x).unwrap());
    let rel = max_rel_diff(&got, &expected, 1e-6);
    assert!(rel < 1e-5, "TorchScript vs native: {rel:e}");

    let swapped = config(
        &dir.join("reordered.pt"),
        &["v", "u"],
        &["sx_precision", "sy_precision", "sx", "sy"],
        10,
    );
    let ts = TorchScript::load(&swapped, Device::Cpu, Kind::Float).unwrap();
    let got = values(&ts.forward(&x).unwrap());
    let rel = max_rel_diff(&got, &expected, 1e-6);
    assert!(rel < 1e-5, "channel maps: {rel:e}");

    let two = config(
        &dir.join("two_inputs.pt"),
        &["u", "v"],
        &["sx", "sy", "ignore", "ignore"],
        0,
    );
    let err = TorchScript::load(&two, Device::Cpu, Kind::Float)
        .err()
        .expect("two-input module must be refused");
    let text = err.to_string();
    println!("{text}");
    assert!(
        text.contains("two_inputs.pt") && text.contains("single"),
        "{text}"
    );

    let wrong_channels = config(&dir.join("gz21.pt"), &["u", "v"], &["sx", "sy"], 10);
    let text = TorchScript::load(&wrong_channels, Device::Cpu, Kind::Float)
        .err()
        .unwrap()
        .to_string();
    println!("{text}");
    assert!(
        text.contains("gz21.pt") && text.contains("outputs"),
        "{text}"
    );
}

#[test]
fn a_file_that_is_not_torchscript_is_named() {
    let dir = scratch("not-torchscript");
    let file = dir.join("model.pt");
    std::fs::write(&file, b"not a model").unwrap();
    let cfg = config(&file, &["u", "v"], &["sx", "sy"], 0);
    let text = TorchScript::load(&cfg, Device::Cpu, Kind::Float)
        .err()
        .unwrap()
        .to_string();
    assert!(
        text.contains("model.pt") && text.contains("not a TorchScript module"),
        "{text}"
    );
}
