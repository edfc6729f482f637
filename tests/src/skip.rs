//! Skips that show: a test that cannot run here says so on stderr and appends a line to
//! the skip log, which `make test` prints after `cargo test --workspace`; a test that
//! lacks something the set-up provides fails instead of skipping.
//!
//! ```no_run
//! # fn gpu_present() -> bool { false }
//! if !gpu_present() {
//!     eddylink_tests::skip::skip("no usable CUDA driver or GPU");
//!     return;
//! }
//! ```

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// The variable that names the skip log (`make test` sets it).
pub const LOG_ENV: &str = "EDDYLINK_SKIP_LOG";

/// The skip log: `$EDDYLINK_SKIP_LOG`, else `test-skips.txt` in cargo's target folder.
pub fn log_path() -> PathBuf {
    std::env::var_os(LOG_ENV).map_or_else(
        || {
            // target/<profile>/deps/<test> → target/test-skips.txt
            let bin = crate::target_bin_dir();
            bin.parent().unwrap_or(&bin).join("test-skips.txt")
        },
        PathBuf::from,
    )
}

/// The running test as `binary::test` (libtest names each test's thread after the test).
fn current_test() -> String {
    let binary = std::env::current_exe()
        .ok()
        .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .map(|s| match s.rsplit_once('-') {
            Some((name, hash)) if hash.chars().all(|c| c.is_ascii_hexdigit()) => name.to_string(),
            _ => s,
        })
        .unwrap_or_else(|| "?".into());
    let thread = std::thread::current();
    format!("{binary}::{}", thread.name().unwrap_or("main"))
}

/// Records that the running test skips (part of) its check for `reason`: one line on
/// stderr (cargo shows it with `--nocapture`) and one in the skip log.
pub fn skip(reason: &str) {
    let line = format!("SKIPPED {}: {reason}", current_test());
    eprintln!("{line}");
    let log = log_path();
    let written = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log)
        .and_then(|mut f| f.write_all(format!("{line}\n").as_bytes()));
    if let Err(e) = written {
        eprintln!("cannot append to the skip log {}: {e}", log.display());
    }
}

/// Fails the running test: `what` is missing although the set-up provides it.
pub fn missing_from_setup(what: &str, fix: &str) -> ! {
    panic!("{what}, which the set-up provides, is missing: {fix}")
}

/// The Python of the set-up (`$EDDYLINK_PYTHON`, written by `scripts/setup.sh`) if it
/// imports every module of `modules`. Without the variable the test skips (visibly).
/// The set-up always installs numpy, scipy and xarray, and torch unless it used a system
/// libtorch: a module the set-up installed that does not import fails the test; torch
/// absent beside a system libtorch is a skip.
pub fn python_with(modules: &[&str]) -> Option<PathBuf> {
    let Some(py) = std::env::var_os("EDDYLINK_PYTHON").map(PathBuf::from) else {
        skip("EDDYLINK_PYTHON is not set (scripts/setup.sh writes it into .cargo/config.toml)");
        return None;
    };
    for module in modules {
        let mut cmd = Command::new(&py);
        cmd.args(["-c", &format!("import {module}")]);
        let out = crate::run_with_limit(cmd, Path::new("."), Duration::from_secs(120));
        if out.succeeded() {
            continue;
        }
        if *module == "torch" && !setup_installed_torch(&py) {
            skip(&format!(
                "{} has no torch: the set-up used a system libtorch ({})",
                py.display(),
                std::env::var("LIBTORCH").unwrap_or_default()
            ));
            return None;
        }
        missing_from_setup(
            &format!("`import {module}` in {}", py.display()),
            &format!("run `make setup`\n{}", out.output()),
        );
    }
    Some(py)
}

/// Whether the libtorch the build uses is the `torch` package of the Python `py`'s
/// virtual environment (the set-up installs it there when `LIBTORCH` is not given).
fn setup_installed_torch(py: &Path) -> bool {
    let Some(venv) = py.parent().and_then(Path::parent) else {
        return false;
    };
    std::env::var_os("LIBTORCH").is_some_and(|t| Path::new(&t).starts_with(venv))
}
