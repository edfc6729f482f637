//! Launch mistakes that come from the scheduler rather than the experiment.
//!
//! Under Slurm, `srun` without an `--mpi` plugin that the MPI library speaks starts every
//! task as its own MPI singleton: each sees a world of one rank, so a coupled job reports a
//! component as not launched. The error is right but does not tell a Slurm user what to
//! change; [`slurm_singleton_hint`] adds that.

/// A sentence to append to a launch error when this rank runs in a Slurm step with more
/// tasks than its MPI world (`SLURM_STEP_NUM_TASKS`, else `SLURM_NTASKS`, above
/// `world_size`), naming the likely `srun --mpi` plugin; empty otherwise.
pub fn slurm_singleton_hint(world_size: usize) -> String {
    let tasks = std::env::var("SLURM_STEP_NUM_TASKS")
        .or_else(|_| std::env::var("SLURM_NTASKS"))
        .ok()
        .and_then(|t| t.trim().parse::<usize>().ok());
    match tasks {
        Some(tasks) if tasks > world_size => {
            // MPI_Get_library_version may be called at any time, even before MPI_Init.
            let library = mpi::environment::library_version().unwrap_or_default();
            singleton_hint(tasks, world_size, &library)
        }
        _ => String::new(),
    }
}

fn singleton_hint(tasks: usize, world_size: usize, library: &str) -> String {
    let name = library
        .lines()
        .find(|l| !l.trim().is_empty())
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "unknown MPI library".to_string());
    let name: String = name.chars().take(80).collect();
    let advice = match likely_plugin(library) {
        Some(p) => format!(
            "for this library that is likely `srun --mpi={p}` (or `export SLURM_MPI_TYPE={p}`; \
             jobs/slurm/*.sbatch take EDDYLINK_SRUN_MPI={p})"
        ),
        None => "ask your site which one (srun --mpi=list shows what this Slurm has)".to_string(),
    };
    format!(
        ". This Slurm step has {tasks} tasks but this rank's MPI world only {world_size}: srun \
         started the tasks as separate MPI singletons, so it needs an --mpi plugin matching \
         the MPI library the programs were built with ({name}); {advice}"
    )
}

/// The `srun --mpi` plugin an MPI library usually needs, from its version string.
fn likely_plugin(library: &str) -> Option<&'static str> {
    let l = library.to_ascii_lowercase();
    if l.contains("open mpi") {
        Some("pmix")
    } else if l.contains("cray mpich") {
        Some("cray_shasta")
    } else if l.contains("mpich") || l.contains("intel(r) mpi") || l.contains("mvapich") {
        Some("pmi2")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plugin_follows_the_library() {
        assert_eq!(
            likely_plugin("MPICH Version:      5.0.2\nMPICH Release date: x"),
            Some("pmi2")
        );
        assert_eq!(
            likely_plugin("Open MPI v4.1.4, package: Debian OpenMPI"),
            Some("pmix")
        );
        assert_eq!(
            likely_plugin("MPI VERSION    : CRAY MPICH version 8.1.28"),
            Some("cray_shasta")
        );
        assert_eq!(
            likely_plugin("Intel(R) MPI Library 2021.10 for Linux* OS"),
            Some("pmi2")
        );
        assert_eq!(likely_plugin("Some MPI 1.0"), None);
    }

    #[test]
    fn the_hint_names_the_counts_the_library_and_the_flag() {
        let h = singleton_hint(3, 1, "MPICH Version:      5.0.2\nMPICH Release date: x");
        assert!(
            h.contains("3 tasks but this rank's MPI world only 1"),
            "{h}"
        );
        assert!(h.contains("(MPICH Version: 5.0.2)"), "{h}");
        assert!(h.contains("srun --mpi=pmi2"), "{h}");
        let h = singleton_hint(5, 1, "");
        assert!(
            h.contains("unknown MPI library") && h.contains("srun --mpi=list"),
            "{h}"
        );
    }

    #[test]
    fn outside_slurm_there_is_no_hint() {
        if std::env::var_os("SLURM_NTASKS").is_some() {
            println!("skipped: running inside a Slurm job");
            return;
        }
        assert_eq!(slurm_singleton_hint(1), "");
    }
}
