//! Command-line behaviour: usage errors exit with code 2 and one line; a run that
//! blows up stops with the step, time and location, after a last good checkpoint.

mod common;

use std::time::Duration;

use common::*;

const LIMIT: Duration = Duration::from_secs(30);

fn stderr_of(out: &eddylink_tests::Outcome) -> String {
    out.stderr.clone()
}

#[test]
fn missing_config_is_a_one_line_error_with_code_2() {
    let out = run_plain(&["--config", "/nonexistent/experiment.toml"], LIMIT);
    let err = stderr_of(&out);
    assert_eq!(out.code, Some(2), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("/nonexistent/experiment.toml"), "{err}");
    assert!(
        !err.contains("panicked") && !err.contains("backtrace"),
        "{err}"
    );
}

#[test]
fn unknown_flag_is_a_one_line_error_with_code_2() {
    let out = run_plain(&["--config", "x.toml", "--stpes", "3"], LIMIT);
    let err = stderr_of(&out);
    assert_eq!(out.code, Some(2), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("--stpes"), "{err}");
}

#[test]
fn misspelt_ocean_key_names_the_key_and_suggests() {
    let dir = test_dir("misspelt");
    let cfg = write_config(&dir, "1d", "[ocean.grid]\nnxx = 32\n");
    let out = run_plain(&["--config", cfg.to_str().unwrap()], LIMIT);
    let err = stderr_of(&out);
    assert_eq!(out.code, Some(2), "{err}");
    // The typo alone is echoed back; the suggestion is the known key it is close to.
    assert!(
        err.contains("ocean.grid") && err.contains("nxx") && err.contains("did you mean `nx`?"),
        "{err}"
    );
}

#[test]
fn blow_up_reports_step_time_location_and_keeps_last_good_state() {
    let dir = test_dir("blowup");
    // An absurd wind stress makes the flow exceed CFL 1 within a few steps.
    let cfg = write_config(
        &dir,
        "1d",
        "[ocean.grid]\nnx = 16\n[ocean.physics]\ntau0 = 1e5\n",
    );
    let out_dir = dir.join("out");
    let out = run_mpi(
        2,
        &[
            "--config",
            cfg.to_str().unwrap(),
            "--output-dir",
            out_dir.to_str().unwrap(),
        ],
        LIMIT,
    );
    let err = stderr_of(&out);
    assert_eq!(out.code, Some(1), "{err}");
    assert!(
        err.contains("blew up at step") && err.contains("global cell (i = "),
        "{err}"
    );
    // The last good state is the step before the blow-up (NaN/CFL checks every step):
    // that checkpoint, named in the message, holds finite fields within CFL 1.
    let step: u64 = err
        .split("blew up at step ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no step in {err}"));
    let good = out_dir.join(format!("checkpoint_{:010}.nc", step - 1));
    assert!(
        err.contains(&format!("Last good state written to {}", good.display())),
        "{err}"
    );
    let mut ck = netcdf3::FileReader::open(&good).unwrap_or_else(|e| panic!("{good:?}: {e:?}"));
    let attr = |name: &str| ck.data_set().get_global_attr_f64(name).map(|v| v[0]);
    let (saved_step, dt) = (attr("step"), attr("dt").expect("dt attribute"));
    assert_eq!(saved_step, Some((step - 1) as f64), "{}", good.display());
    let dx = 3.84e6 / 16.0;
    for name in ["u", "v", "eta"] {
        let values = ck.read_var_f64(name).expect(name);
        assert!(values.iter().all(|x| x.is_finite()), "{name} not finite");
        if name != "eta" {
            let cfl = values.iter().fold(0.0f64, |m, x| m.max(x.abs())) * dt / dx;
            assert!(cfl < 1.0, "{name}: CFL {cfl} in the last good state");
        }
    }
    let later: Vec<_> = std::fs::read_dir(&out_dir)
        .expect("output dir")
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .filter(|n| {
            n.starts_with("checkpoint_") && n.as_str() > good.file_name().unwrap().to_str().unwrap()
        })
        .collect();
    assert!(
        later.is_empty(),
        "checkpoints of the blown-up state: {later:?}"
    );
}

#[test]
fn every_standalone_config_in_configs_runs() {
    let configs = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs");
    let mut ran = Vec::new();
    for entry in std::fs::read_dir(&configs).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "toml") {
            continue; // configs/closure/ holds the closure pipeline's long runs
        }
        let text = std::fs::read_to_string(&path).unwrap();
        if text.lines().any(|l| l.starts_with("[coupling]")) {
            continue; // coupled configs run in tests/tests/e2e.rs
        }
        let dir = test_dir(&format!(
            "config-{}",
            path.file_stem().unwrap().to_string_lossy()
        ));
        let out = run_plain(
            &[
                "--config",
                path.to_str().unwrap(),
                "--steps",
                "2",
                "--output-dir",
                dir.to_str().unwrap(),
            ],
            Duration::from_secs(60),
        );
        assert_eq!(out.code, Some(0), "{}:\n{}", path.display(), out.stderr);
        assert!(dir.join("summary.json").exists(), "{}", path.display());
        ran.push(path);
    }
    assert!(
        ran.len() >= 2,
        "the reference and uncoupled configs: {ran:?}"
    );
}
