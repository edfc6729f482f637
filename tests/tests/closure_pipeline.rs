//! The learned-closure pipeline in miniature, end to end with the real programs: a 20 km
//! truth (64²) → coarse-graining onto 80 km (16²) → two epochs of training → the weights in
//! ml-server (`check`, then a coupled run whose ocean receives a finite, non-zero forcing).

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use eddylink_tests::{run_mpmd, run_with_limit, scratch_dir, workspace_bin, Part};

const LIMIT: Duration = Duration::from_secs(240);

/// A 1280 km basin of nx² cells with time step dt (s).
fn grid(nx: usize, dt: f64) -> String {
    format!(
        "[ocean.grid]\nnx = {nx}\nny = {nx}\nlx = 1.28e6\nly = 1.28e6\n\n[ocean.time]\ndt = {dt}\n"
    )
}

fn run(dir: &Path, program: &str, args: &[&str]) -> String {
    let mut cmd = Command::new(workspace_bin(program));
    cmd.args(args);
    let out = run_with_limit(cmd, dir, LIMIT);
    assert!(
        out.succeeded(),
        "{program} {args:?} failed:\n{}",
        out.output()
    );
    out.stdout + &out.stderr
}

#[test]
fn truth_to_coarse_grain_to_training_to_a_coupled_run() {
    let dir = scratch_dir("closure_pipeline");
    let fine = format!(
        "[run]\nname = \"fine\"\nduration = \"12d\"\n\n{}\n[ocean.output]\nsnapshot_interval = \"1d\"\ncheckpoint_interval = \"12d\"\n",
        grid(64, 96.0)
    );
    let coarse = format!(
        "[run]\nname = \"coarse\"\nduration = \"12d\"\n\n{}",
        grid(16, 360.0)
    );
    std::fs::write(dir.join("fine.toml"), fine).unwrap();
    std::fs::write(dir.join("coarse.toml"), &coarse).unwrap();

    run(
        &dir,
        "ocean-model",
        &["--config", "fine.toml", "--output-dir", "fine"],
    );
    let said = run(
        &dir,
        "closure",
        &[
            "coarse-grain",
            "--fine",
            "fine.toml",
            "--coarse",
            "coarse.toml",
            "--snapshots",
            "fine/snapshots.nc",
            "--out",
            "coarse.nc",
        ],
    );
    assert!(said.contains("13 samples"), "{said}");
    run(
        &dir,
        "closure",
        &[
            "train",
            "--data",
            "coarse.nc",
            "--out",
            "w/mini.safetensors",
            "--epochs",
            "2",
            "--batch",
            "4",
            "--split",
            "0:8,8:10,10:13",
            "--threads",
            "1",
            "--device",
            "cpu",
        ],
    );
    let card: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("w/mini.json")).unwrap()).unwrap();
    let loss: Vec<f64> = card["history"]["train_loss"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect();
    assert!(
        loss.len() == 2 && loss[1] < loss[0],
        "the training loss falls: {loss:?}"
    );
    assert!(card["test_skill"]["samples"].as_u64() == Some(3));
    let (ins, outs) = (
        card["input_scale"].as_f64().unwrap(),
        card["output_scale"].as_f64().unwrap(),
    );

    // The coarse model coupled to ml-server serving the trained weights.
    let coupled = format!(
        "{coarse}\n[ocean.output]\nsnapshot_interval = \"6h\"\n\n[coupling]\ntimeout = \"60s\"\ngrid = [16, 16]\n\n\
         [[coupling.exchange]]\nfrom = \"ocean.u\"\nto = \"ml.u\"\ngrid = \"U\"\nperiod = \"2h\"\nhalo = 10\n\n\
         [[coupling.exchange]]\nfrom = \"ocean.v\"\nto = \"ml.v\"\ngrid = \"V\"\nperiod = \"2h\"\nhalo = 10\n\n\
         [[coupling.exchange]]\nfrom = \"ml.sx\"\nto = \"ocean.sx\"\ngrid = \"U\"\nperiod = \"2h\"\n\n\
         [[coupling.exchange]]\nfrom = \"ml.sy\"\nto = \"ocean.sy\"\ngrid = \"V\"\nperiod = \"2h\"\n\n\
         [ml]\nmodel = \"fullycnn\"\ndevice = \"cpu\"\ninput_scale = {ins}\noutput_scale = {outs}\n\n\
         [ml.fullycnn]\nweights = \"w/mini.safetensors\"\npadding = \"valid\"\n"
    )
    .replace("duration = \"12d\"", "duration = \"1d\"");
    std::fs::write(dir.join("coupled.toml"), coupled).unwrap();
    let check = run(&dir, "ml-server", &["check", "--config", "coupled.toml"]);
    assert!(check.contains("10"), "check reports the halo:\n{check}");
    let out = run_mpmd(
        &[
            Part::new(
                1,
                workspace_bin("ocean-model"),
                &["--config", "coupled.toml", "--output-dir", "coupled"],
            ),
            Part::new(1, workspace_bin("ml-server"), &["--config", "coupled.toml"]),
        ],
        &dir,
        LIMIT,
    );
    assert!(out.succeeded(), "the coupled run failed:\n{}", out.output());
    let py = std::env::var("EDDYLINK_PYTHON").unwrap_or_else(|_| "python3".into());
    let script = "import sys, xarray as xr, numpy as np\n\
                  d = xr.open_dataset(sys.argv[1], decode_times=False)\n\
                  sx = d.sx.values[1:]\n\
                  assert np.isfinite(sx).all(), 'non-finite forcing'\n\
                  assert np.abs(sx).max() > 0, 'the forcing is all zero'\n\
                  print('max |sx|', np.abs(sx).max())\n";
    let mut cmd = Command::new(py);
    cmd.args(["-c", script, "coupled/snapshots.nc"]);
    let checked = run_with_limit(cmd, &dir, LIMIT);
    assert!(
        checked.succeeded(),
        "the received forcing:\n{}",
        checked.output()
    );
}
