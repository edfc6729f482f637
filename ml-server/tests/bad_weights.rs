//! Broken weight files fail with errors naming the file and the key.

mod common;

use std::path::Path;

use common::*;
use ml_server::config::Padding;
use ml_server::models::{FullyCnn, Model};
use tch::{Device, Kind, Tensor};

fn load(file: &Path) -> Result<FullyCnn, String> {
    FullyCnn::load(file, Padding::Valid, false, Device::Cpu, Kind::Float, false)
        .map_err(|e| e.to_string())
}

#[test]
fn truncated_pth_is_reported_with_its_path() {
    let Some(weights) = gz21_weights() else {
        return;
    };
    let dir = scratch("truncated");
    let bytes = std::fs::read(&weights).unwrap();
    for keep in [bytes.len() / 2, bytes.len() - 30, 100] {
        let file = dir.join(format!("cut-{keep}.pth"));
        std::fs::write(&file, &bytes[..keep]).unwrap();
        let e = load(&file).err().expect("truncated file must fail");
        println!("{e}");
        assert!(
            e.contains(file.to_str().unwrap()) && e.contains("truncated"),
            "{e}"
        );
    }
}

#[test]
fn truncated_storage_names_the_key() {
    let Some(weights) = gz21_weights() else {
        return;
    };
    let dir = scratch("short-storage");
    let mut bytes = std::fs::read(&weights).unwrap();
    // Shrink the recorded size of the storage `data/2` (2.weight) in the central directory.
    let name = b"trained_model/data/2";
    let cd = bytes
        .windows(4)
        .rposition(|w| w == [0x50, 0x4b, 0x05, 0x06])
        .unwrap();
    let cd_start = u32::from_le_bytes(bytes[cd + 16..cd + 20].try_into().unwrap()) as usize;
    let at = cd_start
        + bytes[cd_start..]
            .windows(name.len() + 1)
            .position(|w| &w[..name.len()] == name && w[name.len()] != b'0')
            .unwrap()
        - 46;
    bytes[at + 20..at + 24].copy_from_slice(&1000u32.to_le_bytes());
    let file = dir.join("short.pth");
    std::fs::write(&file, &bytes).unwrap();
    let e = load(&file).err().expect("short storage must fail");
    println!("{e}");
    assert!(
        e.contains("short.pth") && e.contains("`2.weight`") && e.contains("truncated"),
        "{e}"
    );
}

#[test]
fn not_a_weight_file_is_reported() {
    let dir = scratch("garbage");
    let file = dir.join("garbage.pth");
    std::fs::write(&file, vec![7u8; 5000]).unwrap();
    let e = load(&file).err().unwrap();
    assert!(
        e.contains("garbage.pth") && e.contains("not a readable torch.save archive"),
        "{e}"
    );
    let e = load(&dir.join("absent.pth")).err().unwrap();
    assert!(e.contains("absent.pth") && e.contains("cannot read"), "{e}");
}

fn state_dict(weights: &Path) -> Vec<(String, Tensor)> {
    ml_server::pth::read_state_dict(weights).unwrap()
}

#[test]
fn missing_key_and_wrong_shape_are_named() {
    let Some(weights) = gz21_weights() else {
        return;
    };
    let dir = scratch("keys");
    let mut sd = state_dict(&weights);
    sd.retain(|(k, _)| k != "14.bias");
    let file = dir.join("missing.safetensors");
    Tensor::write_safetensors(&sd, &file).unwrap();
    let e = load(&file).err().unwrap();
    println!("{e}");
    assert!(
        e.contains("missing.safetensors") && e.contains("missing key `14.bias`"),
        "{e}"
    );

    let mut sd = state_dict(&weights);
    sd[0].1 = sd[0].1.transpose(0, 1).contiguous();
    let file = dir.join("shape.safetensors");
    Tensor::write_safetensors(&sd, &file).unwrap();
    let e = load(&file).err().unwrap();
    println!("{e}");
    assert!(
        e.contains("`0.weight`") && e.contains("[2, 128, 5, 5]") && e.contains("[128, 2, 5, 5]"),
        "{e}"
    );

    let e = FullyCnn::load(
        &weights,
        Padding::Valid,
        true,
        Device::Cpu,
        Kind::Float,
        false,
    )
    .err()
    .unwrap()
    .to_string();
    println!("{e}");
    assert!(e.contains("trained_model.pth"), "{e}");
}

#[test]
fn safetensors_copy_gives_the_same_forcing() {
    let Some(weights) = gz21_weights() else {
        return;
    };
    let dir = scratch("safetensors");
    let file = dir.join("gz21.safetensors");
    Tensor::write_safetensors(&state_dict(&weights), &file).unwrap();
    let a = load(&weights).unwrap();
    let b = load(&file).unwrap();
    let x = Tensor::from_slice(&random(2 * 30 * 30, 1.0, 1)).view([1, 2, 30, 30]);
    let diff = (a.forward(&x).unwrap() - b.forward(&x).unwrap())
        .abs()
        .max()
        .double_value(&[]);
    assert_eq!(diff, 0.0);
}
