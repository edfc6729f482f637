//! `ml-server --config` in a real MPMD job against the `fake_ocean` test program: forcing
//! comes back right (strips, levels, halo, masks), and a halo the model cannot use
//! stops the ML side before the coupled run with an error naming the field.

use std::time::Duration;

use eddylink_tests::{mpiexec, run_with_limit, scratch_dir, workspace_bin, Outcome};

fn experiment(kind: &str, halo: usize, ml_ranks_rows: usize) -> String {
    let exchange = |from: &str, to: &str, grid: &str, period: &str, halo: Option<usize>| {
        let halo = halo.map(|h| format!("halo = {h}\n")).unwrap_or_default();
        format!("[[coupling.exchange]]\nfrom = \"{from}\"\nto = \"{to}\"\ngrid = \"{grid}\"\nperiod = \"{period}\"\nlevels = 3\n{halo}\n")
    };
    let mut text = format!("[run]\nname = \"serve-test\"\nduration = \"3h\"\noutput_dir = \"out\"\n\n[coupling]\ntimeout = \"10s\"\ngrid = [11, {ml_ranks_rows}]\n\n");
    text += &exchange("ocean.u", "ml.u", "U", "1h", Some(halo));
    text += &exchange("ocean.v", "ml.v", "V", "1h", Some(halo));
    text += &exchange("ml.sx", "ocean.sx", "U", "1h", None);
    text += &exchange("ml.sy", "ocean.sy", "V", "1h", None);
    text += &exchange("ocean.mask_u", "ml.mask_u", "U", "static", Some(halo));
    text += &exchange("ocean.mask_v", "ml.mask_v", "V", "static", Some(halo));
    text += &format!(
        "[ml]\nmodel = \"analytic\"\ndevice = \"cpu\"\ninput_scale = 10.0\noutput_scale = 1e-3\n\n\
         [ml.analytic]\nkind = \"{kind}\"\na = 2.0\nb = 0.5\nnu = 1.0\n"
    );
    text
}

/// Runs fake_ocean ×1 : ml-server ×`ml_ranks`, killed after 120 s so a hang fails the test.
fn job(name: &str, text: &str, ml_ranks: usize) -> Outcome {
    let ocean = env!("CARGO_BIN_EXE_fake_ocean");
    let dir = scratch_dir(&format!("serve-mpmd-{name}"));
    let cfg = dir.join("exp.toml");
    std::fs::write(&cfg, text).unwrap();
    let cfg = cfg.to_str().unwrap();
    let mut cmd = mpiexec();
    cmd.env("RUST_LOG", "warn")
        .args(["-n", "1"])
        .arg(ocean)
        .arg(cfg)
        .args([
            ":",
            "-n",
            &ml_ranks.to_string(),
            workspace_bin("ml-server").to_str().unwrap(),
            "--config",
            cfg,
        ]);
    let out = run_with_limit(cmd, &dir, Duration::from_secs(120));
    assert!(!out.timed_out(), "the coupled job hung:\n{}", out.output());
    out
}

#[test]
fn forcing_comes_back_right_from_two_ml_ranks() {
    let out = job("serve-ok", &experiment("linear", 2, 10), 2);
    let (stdout, stderr) = (out.stdout.clone(), out.stderr.clone());
    assert!(out.succeeded(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("fake ocean: 3 coupling times checked"),
        "{stdout}\n{stderr}"
    );
}

#[test]
fn a_halo_too_small_for_the_model_stops_the_ml_side_naming_the_field() {
    let out = job("serve-halo", &experiment("backscatter", 0, 10), 1);
    let stderr = &out.stderr;
    assert!(!out.succeeded());
    assert!(
        stderr.contains("field `u`")
            && stderr.contains("halo of 0 cells")
            && stderr.contains("needs 1"),
        "{stderr}"
    );
    // The ocean side stops through the coupler with the ML side's reason, without waiting
    // for the 10 s coupling timeout.
    assert_eq!(
        stderr
            .matches("component 'ml' (world rank 1) could not start")
            .count(),
        2,
        "{stderr}"
    );
    assert!(
        out.elapsed < Duration::from_secs(10),
        "took {:?}",
        out.elapsed
    );
}
