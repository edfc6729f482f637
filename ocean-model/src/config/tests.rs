//! The `[ocean]` table: defaults, and the messages of bad values.

use super::*;

fn parse(text: &str) -> std::result::Result<OceanConfig, coupler::config::ConfigError> {
    let exp = experiment::ExperimentFile::parse(text, "test.toml".as_ref())?;
    Ok(exp.section("ocean")?.unwrap_or_default())
}

#[test]
fn defaults_resolve_to_daily_output() {
    let setup = parse("[ocean]\n")
        .unwrap()
        .resolve(10.0 * 86_400.0, "out".into())
        .unwrap();
    assert_eq!(setup.params, Params::default());
    assert_eq!(setup.plan.snapshot_every as f64 * setup.params.dt, 86_400.0);
    assert_eq!(setup.plan.checkpoint_every, 0);
}

/// Regression: NaN and infinite output intervals passed as "no output" and u64::MAX steps.
#[test]
fn output_intervals_must_be_finite() {
    for value in ["nan", "inf"] {
        let text = format!("[ocean.output]\nsnapshot_interval = {value}\n");
        let err = parse(&text)
            .unwrap()
            .resolve(86_400.0, "out".into())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(&format!(
                "ocean.output.snapshot_interval = {} s: must be finite and >= 0",
                value.replace("nan", "NaN")
            )),
            "{err}"
        );
    }
}

/// Regression: a run or an output interval of 1e308 s passed, its step count silently
/// saturated at u64::MAX (the interval found by the config fuzz).
#[test]
fn a_run_or_interval_has_at_most_2_pow_53_steps() {
    let err = parse("[ocean]\n")
        .unwrap()
        .resolve(1e308, "out".into())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("run.duration = 1e308 s:") && err.contains("at most 2^53 steps"),
        "{err}"
    );
    let err = parse("[ocean.output]\ncheckpoint_interval = 1e308\n")
        .unwrap()
        .resolve(86_400.0, "out".into())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("ocean.output.checkpoint_interval = 1e308 s:")
            && err.contains("at most 2^53 steps"),
        "{err}"
    );
}

/// Regression: parameter errors named `depth`, not the key `ocean.physics.depth`.
#[test]
fn parameter_errors_name_their_key() {
    let text = "[ocean.grid]\nnx = 4\nlevels = 0\n[ocean.physics]\ndepth = -5.0\n\
                viscosity_coefficient = -1.0\n[ocean.time]\ndt = -3\n";
    let err = parse(text)
        .unwrap()
        .resolve(86_400.0, "out".into())
        .unwrap_err()
        .to_string();
    for expected in [
        "ocean.grid.nx = 4: allowed range 8..=32768",
        "ocean.grid.levels = 0: the shallow-water physics has exactly 1 level",
        "ocean.physics.depth = -5 m: must be finite and > 0",
        "ocean.physics.viscosity_coefficient = -1 m4 s-1: must be finite and >= 0",
        "ocean.time.dt = -3 s: must be finite and > 0",
    ] {
        assert!(err.contains(expected), "{expected:?} not in {err}");
    }
}

/// Regression: an exchange with 2 levels for the 1-level ocean passed every check before
/// enddef, which then stopped without naming the experiment file.
#[test]
fn coupled_fields_match_the_ocean() {
    let text = "[ocean.grid]\nnx = 64\n";
    let setup = parse(text)
        .unwrap()
        .resolve(86_400.0, "out".into())
        .unwrap();
    let coupling = |levels: usize, period: &str| {
        coupler::config::CouplingConfig::from_toml(
            &format!(
                "grid = [64, 48]\n[[exchange]]\nfrom = \"ocean.u\"\nto = \"ml.u\"\n\
                 grid = \"U\"\nperiod = \"{period}\"\nlevels = {levels}\n"
            ),
            86_400.0,
        )
        .unwrap()
    };
    let err = setup
        .check_coupling(&coupling(2, "100s"))
        .unwrap_err()
        .to_string();
    for expected in [
        "coupling.grid = [64, 48]: must be the ocean's grid, ocean.grid nx, ny = [64, 64]",
        "coupling.exchange[0].levels = 2 (ocean.u → ml.u): must be the ocean's ocean.grid.levels = 1",
        "coupling.exchange[0].period = 100 s (ocean.u → ml.u): must be a whole number of ocean time steps dt = 288 s",
    ] {
        assert!(err.contains(expected), "{expected:?} not in {err}");
    }
    let fine = coupling(1, "2h");
    let fine = coupler::config::CouplingConfig {
        grid: Some((64, 64)),
        ..fine
    };
    setup.check_coupling(&fine).unwrap();
}

#[test]
fn typos_get_a_suggestion_and_bad_values_their_range() {
    let err = parse("[ocean.grid]\nnxx = 64\n").unwrap_err().to_string();
    assert!(err.contains("ocean.grid") && err.contains("nx"), "{err}");
    let cfg = parse("[ocean.grid]\nnx = 4\n[ocean.output]\nsnapshot_interval = \"7s\"\n").unwrap();
    let err = cfg.resolve(86_400.0, "out".into()).unwrap_err().to_string();
    assert!(err.contains("nx = 4: allowed range"), "{err}");
    assert!(
        err.contains("snapshot_interval = 7 s: must be a positive multiple"),
        "{err}"
    );
}

#[test]
fn precision_defaults_to_f64_and_takes_f32() {
    let resolve = |text: &str| parse(text).unwrap().resolve(86_400.0, "out".into());
    let default = resolve("[ocean]\n").unwrap().params.precision;
    let f32 = resolve("[ocean.numerics]\nprecision = \"f32\"\n").unwrap();
    assert_eq!(
        (default, f32.params.precision),
        (Precision::F64, Precision::F32)
    );
}

#[test]
fn a_bad_precision_is_refused_naming_the_key_and_the_choices() {
    let err = parse("[ocean.numerics]\nprecision = \"f16\"\n")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("ocean.numerics.precision") && err.contains("f16"),
        "{err}"
    );
    assert!(err.contains("f64") && err.contains("f32"), "{err}");
}
