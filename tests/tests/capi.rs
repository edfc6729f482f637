//! The C ABI and the Fortran module under real MPMD launches: the C toy ocean
//! (tests/capi/toy_ocean.c, compiled with the set-up's mpicc against eddylink.h) and the
//! Fortran toy ocean (tests/capi/toy_ocean.f90 over coupler-capi/fortran/eddylink.f90,
//! compiled with gfortran) run against the real ml-server with the analytic model
//! `linear` (sx = A u + B, sy = A v + B) on M×N decompositions, and check every forcing
//! value exactly. Then the failure paths: a Fortran `eddylink_abort` ends ml-server with
//! its reason; a silent or killed ml-server ends the Fortran toy within the timeout, with
//! the library's message; a missing experiment file stops every component at once.
//!
//! The toys link `target/<profile>/libeddylink.so` (`cargo build -p coupler-capi`;
//! `cargo test --workspace` builds it). Without a Fortran compiler the Fortran tests skip,
//! saying so.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use eddylink_tests::{
    mpiexec, output_within, run_with_limit, scratch_dir, skip, target_bin_dir, workspace_bin,
    Outcome,
};

/// Wall-clock limit of one job: a hang fails the test.
const LIMIT: Duration = Duration::from_secs(120);
/// The analytic model's rule: sx = A u + B, exact in f32 for the toys' integer fields.
const A: &str = "2.0";
const B: &str = "0.5";
const DT: f64 = 3600.0;
const STEPS: usize = 4;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is in the repository")
        .to_path_buf()
}

/// The folder holding libeddylink.so, which the toys link.
fn lib_dir() -> PathBuf {
    let dir = target_bin_dir();
    assert!(
        dir.join("libeddylink.so").exists(),
        "{} has no libeddylink.so: run `cargo build -p coupler-capi` first",
        dir.display()
    );
    dir
}

/// Runs a compiler command, failing the test with its output if it does not succeed.
fn compile(mut cmd: Command, what: &str) {
    cmd.arg(format!("-L{}", lib_dir().display()))
        .arg("-leddylink")
        .arg(format!("-Wl,-rpath,{}", lib_dir().display()));
    let shown = format!("{cmd:?}");
    let out = output_within(cmd, Duration::from_secs(300));
    assert!(
        out.succeeded(),
        "compiling the {what}: {shown}\n{}",
        out.output()
    );
}

/// The C toy, compiled once per test binary with `$MPICC` (the set-up's), else `cc`.
fn c_toy() -> &'static Path {
    static TOY: OnceLock<PathBuf> = OnceLock::new();
    TOY.get_or_init(|| {
        let dir = scratch_dir("capi-build-c");
        let exe = dir.join("toy_ocean_c");
        let mut cmd = Command::new(std::env::var("MPICC").unwrap_or_else(|_| "cc".into()));
        cmd.args(["-std=c11", "-O1", "-Wall", "-Wextra", "-Werror", "-I"])
            .arg(repo().join("coupler-capi/include"))
            .arg(repo().join("tests/capi/toy_ocean.c"))
            .arg("-o")
            .arg(&exe);
        compile(cmd, "C toy ocean");
        exe
    })
}

/// A Fortran compiler: `$FC`, else gfortran, else a versioned gfortran-N on PATH.
fn fortran_compiler() -> Option<PathBuf> {
    let on_path = |name: &str| {
        std::env::var_os("PATH").and_then(|path| {
            std::env::split_paths(&path)
                .map(|d| d.join(name))
                .find(|p| p.is_file())
        })
    };
    if let Some(fc) = std::env::var_os("FC").filter(|f| !f.is_empty()) {
        let fc = PathBuf::from(fc);
        return if fc.is_absolute() {
            Some(fc)
        } else {
            on_path(&fc.to_string_lossy())
        };
    }
    std::iter::once("gfortran".to_string())
        .chain((9..=15).rev().map(|v| format!("gfortran-{v}")))
        .find_map(|name| on_path(&name))
}

/// The Fortran toy, compiled once per test binary; `None` (the test skips, saying why)
/// where no Fortran compiler exists.
fn fortran_toy() -> Option<&'static Path> {
    static TOY: OnceLock<Option<PathBuf>> = OnceLock::new();
    let toy = TOY.get_or_init(|| {
        let fc = fortran_compiler()?;
        let dir = scratch_dir("capi-build-fortran");
        let exe = dir.join("toy_ocean_f");
        let mut cmd = Command::new(&fc);
        cmd.current_dir(&dir)
            .args(["-std=f2008", "-Wall", "-Werror", "-J"])
            .arg(&dir)
            .arg(repo().join("coupler-capi/fortran/eddylink.f90"))
            .arg(repo().join("tests/capi/toy_ocean.f90"))
            .arg("-o")
            .arg(&exe);
        compile(cmd, "Fortran toy ocean");
        Some(exe)
    });
    if toy.is_none() {
        skip::skip(
            "no Fortran compiler ($FC, gfortran or gfortran-N on PATH): the Fortran toy ocean \
             is not built (Debian: apt-get install gfortran; scripts/setup.sh does as root)",
        );
    }
    toy.as_deref()
}

/// A scratch folder with `exp.toml`: u, v ocean → ml and sx, sy back every DT on an `nx × ny` grid with
/// `levels`, the analytic `linear` model, `[coupling] timeout` `timeout_s`.
fn experiment(test: &str, (nx, ny): (usize, usize), levels: usize, timeout_s: u64) -> PathBuf {
    let mut text = format!(
        "[run]\nname = \"capi\"\nduration = \"{}s\"\noutput_dir = \"out\"\n\n\
         [coupling]\ntimeout = \"{timeout_s}s\"\ngrid = [{nx}, {ny}]\n\n",
        STEPS as f64 * DT
    );
    for (from, to, grid) in [
        ("ocean.u", "ml.u", "U"),
        ("ocean.v", "ml.v", "V"),
        ("ml.sx", "ocean.sx", "U"),
        ("ml.sy", "ocean.sy", "V"),
    ] {
        text += &format!(
            "[[coupling.exchange]]\nfrom = \"{from}\"\nto = \"{to}\"\ngrid = \"{grid}\"\n\
             period = \"{DT}s\"\nlevels = {levels}\n\n"
        );
    }
    text += &format!(
        "[ml]\nmodel = \"analytic\"\ndevice = \"cpu\"\n\n[ml.analytic]\nkind = \"linear\"\na = {A}\nb = {B}\n"
    );
    let dir = scratch_dir(test);
    std::fs::write(dir.join("exp.toml"), text).expect("scratch is writable");
    dir
}

/// Runs `toy DIR/exp.toml PX PY STEPS DT A b extra…` on `px × py` ranks against ml-server on `ml`
/// ranks, with `fault` as `EDDYLINK_FAULT`.
fn launch(
    toy: &Path,
    dir: &Path,
    (px, py): (usize, usize),
    ml: usize,
    b: &str,
    extra: &[&str],
    fault: Option<&str>,
) -> Outcome {
    let cfg = dir.join("exp.toml");
    let mut cmd = mpiexec();
    cmd.arg("-n")
        .arg((px * py).to_string())
        .arg(toy)
        .arg(&cfg)
        .args([
            px.to_string(),
            py.to_string(),
            STEPS.to_string(),
            DT.to_string(),
        ])
        .args([A, b])
        .args(extra)
        .args([":", "-n", &ml.to_string()])
        .arg(workspace_bin("ml-server"))
        .arg("--config")
        .arg(&cfg);
    match fault {
        Some(f) => cmd.env("EDDYLINK_FAULT", f),
        None => cmd.env_remove("EDDYLINK_FAULT"),
    };
    let out = run_with_limit(cmd, dir, LIMIT);
    assert!(!out.timed_out(), "the job hung:\n{}", out.output());
    // The figures of docs/reliability.md (cargo test --test capi -- --nocapture).
    eprintln!(
        "{} {px}×{py} : ml ×{ml} {}: {} after {:.1} s",
        toy.display(),
        fault.unwrap_or("(no fault)"),
        out.ending(),
        out.elapsed.as_secs_f64()
    );
    out
}

/// Asserts the job succeeded and every ocean rank reported its share of exact values,
/// adding up to every cell, level and step.
fn assert_exact(out: &Outcome, ranks: usize, (nx, ny): (usize, usize), levels: usize) {
    assert!(
        out.succeeded(),
        "coupled run ({}):\n{}",
        out.ending(),
        out.output()
    );
    let counts: Vec<usize> = out
        .stdout
        .lines()
        .filter_map(|l| {
            l.split(" forcing values exact")
                .next()
                .filter(|_| l.contains("forcing values exact"))
        })
        .filter_map(|l| l.rsplit([' ', ':']).next()?.parse().ok())
        .collect();
    assert_eq!(
        counts.len(),
        ranks,
        "one report per ocean rank:\n{}",
        out.output()
    );
    assert_eq!(
        counts.iter().sum::<usize>(),
        nx * ny * levels * STEPS,
        "every cell, level and step checked:\n{}",
        out.output()
    );
}

/// Asserts `text` is in the job's stderr or in a component's log in the run directory.
fn assert_said(out: &Outcome, dir: &Path, text: &str) {
    let in_log = ["ml.log"]
        .iter()
        .filter_map(|f| std::fs::read_to_string(dir.join("out/capi").join(f)).ok())
        .any(|log| log.contains(text));
    assert!(
        in_log || out.stderr.contains(text),
        "expected `{text}`:\n{}",
        out.output()
    );
}

#[test]
fn a_c_toy_ocean_on_3x1_ranks_gets_the_exact_forcing_from_ml_server_on_2() {
    let grid = (23, 19); // uneven boxes on both sides
    let dir = experiment("capi_c_exact", grid, 2, 30);
    let out = launch(c_toy(), &dir, (3, 1), 2, B, &[], None);
    assert_exact(&out, 3, grid, 2);
    assert_eq!(
        out.stdout.matches("error paths ok").count(),
        3,
        "{}",
        out.output()
    );
}

#[test]
fn the_toys_check_fails_when_the_forcing_is_not_the_expected_one() {
    let grid = (12, 10);
    let dir = experiment("capi_c_wrong_rule", grid, 1, 30);
    // The toy expects B = 0.25 but ml-server adds 0.5: the first cell of step 0 differs.
    let out = launch(c_toy(), &dir, (2, 1), 1, "0.25", &[], None);
    assert!(!out.succeeded() && !out.timed_out(), "{}", out.output());
    // Each rank stops at its first cell (the first to abort may end the other's output).
    let first_cells = [
        "C toy ocean: step 0 cell (0, 0) level 0: sx = 0.5, sy = 0.5; expected 0.25, 0.25",
        "C toy ocean: step 0 cell (6, 0) level 0: sx = 12.5, sy = 36.5; expected 12.25, 36.25",
    ];
    assert!(
        first_cells.iter().any(|c| out.stderr.contains(c)),
        "{}",
        out.output()
    );
}

#[test]
fn a_fortran_toy_ocean_on_2x2_ranks_gets_the_exact_forcing_from_ml_server_on_1() {
    let Some(toy) = fortran_toy() else { return };
    let grid = (21, 17);
    let dir = experiment("capi_fortran_exact", grid, 1, 30);
    let out = launch(toy, &dir, (2, 2), 1, B, &[], None);
    assert_exact(&out, 4, grid, 1);
}

#[test]
fn a_fortran_toy_ocean_on_1x2_ranks_with_3_levels_gets_the_exact_forcing_from_ml_server_on_3() {
    let Some(toy) = fortran_toy() else { return };
    let grid = (16, 19);
    let dir = experiment("capi_fortran_levels", grid, 3, 30);
    let out = launch(toy, &dir, (1, 2), 3, B, &[], None);
    assert_exact(&out, 2, grid, 3);
}

#[test]
fn the_fortran_toy_ocean_s_abort_ends_ml_server_with_its_reason() {
    let Some(toy) = fortran_toy() else { return };
    let timeout = 30;
    let dir = experiment("capi_fortran_abort", (12, 10), 1, timeout);
    let out = launch(toy, &dir, (2, 1), 1, B, &["2"], None);
    assert!(!out.succeeded(), "{}", out.output());
    assert!(
        out.elapsed < Duration::from_secs(timeout),
        "{:?}",
        out.elapsed
    );
    // ml-server waited for u at step 2 and ends the job with the ocean's reason.
    assert_said(
        &out,
        &dir,
        "component 'ml' rank 2 stopped waiting for 'u' from ocean at model time 7200 s",
    );
    assert_said(
        &out,
        &dir,
        "component 'ocean' (world rank 0) failed: Fortran toy ocean gives up at step 2",
    );
}

#[test]
fn a_silent_ml_server_ends_the_fortran_toy_ocean_at_the_timeout_with_the_reason() {
    let Some(toy) = fortran_toy() else { return };
    let timeout = 5;
    let dir = experiment("capi_fortran_silent_ml", (12, 10), 1, timeout);
    // ml-server answers the first coupling time, then goes silent (alive, never sends).
    let out = launch(toy, &dir, (2, 1), 1, B, &[], Some("ml:hang@2"));
    assert!(!out.succeeded(), "{}", out.output());
    let t = out.elapsed;
    assert!(
        t >= Duration::from_secs(timeout) && t < Duration::from_secs(2 * timeout + 10),
        "{t:?}"
    );
    for rank in [0, 1] {
        assert!(
            out.stderr.contains(&format!(
                "Fortran toy ocean: eddylink_get(sx) failed (code 7): coupler timeout: component 'ocean' rank {rank} waited"
            )),
            "rank {rank}:\n{}",
            out.output()
        );
    }
    assert!(
        out.stderr.contains("for 'sx' from ml at model time 3600 s"),
        "{}",
        out.output()
    );
}

#[test]
fn a_killed_ml_server_ends_the_fortran_toy_ocean_at_once() {
    let Some(toy) = fortran_toy() else { return };
    let timeout = 30;
    let dir = experiment("capi_fortran_killed_ml", (12, 10), 1, timeout);
    let out = launch(toy, &dir, (2, 1), 1, B, &[], Some("ml:kill@2"));
    assert!(!out.succeeded(), "{}", out.output());
    assert!(
        out.elapsed < Duration::from_secs(timeout),
        "{:?}",
        out.elapsed
    );
    assert!(
        out.stderr
            .contains("injected fault (EDDYLINK_FAULT): ml kill@2: SIGKILL"),
        "{}",
        out.output()
    );
}

#[test]
fn a_missing_experiment_file_stops_the_c_toy_and_ml_server_at_once_naming_it() {
    let dir = experiment("capi_c_no_file", (12, 10), 1, 30);
    let missing = dir.join("nope.toml").display().to_string();
    let mut cmd = mpiexec();
    cmd.args(["-n", "1"])
        .arg(c_toy())
        .args([&missing, "1", "1", "4", "3600", A, B, ":", "-n", "1"])
        .arg(workspace_bin("ml-server"))
        .arg("--config")
        .arg(dir.join("exp.toml"));
    let out = run_with_limit(cmd, &dir, LIMIT);
    assert!(!out.succeeded() && !out.timed_out(), "{}", out.output());
    assert!(out.elapsed < Duration::from_secs(30), "{:?}", out.elapsed);
    assert!(
        out.stderr.contains("C toy ocean: eddylink_init_world failed (code 3): component 'ocean' (world rank 0) could not start"),
        "{}",
        out.output()
    );
    assert!(out.stderr.contains("nope.toml"), "{}", out.output());
}
