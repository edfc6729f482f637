//! The run directory (`[run] output_dir/name`): what every component keeps there besides
//! its outputs — a copy of the experiment file (and its log, see [`crate::logging`]).

use std::path::{Path, PathBuf};

/// Copies the experiment file into `dir` as `config.toml`, so the run directory says how it
/// was made (rank 0 of one component does this). A different `config.toml` left by an
/// earlier launch is kept as `config.1.toml` (the first free number) and logged.
pub fn copy_config(config: &Path, dir: &Path) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let to = dir.join("config.toml");
    if std::fs::canonicalize(config).ok() == std::fs::canonicalize(&to).ok() {
        return Ok(to);
    }
    let text = std::fs::read(config)?;
    match std::fs::read(&to) {
        Ok(earlier) if earlier == text => return Ok(to),
        Ok(_) => {
            let kept = (1..)
                .map(|n| dir.join(format!("config.{n}.toml")))
                .find(|p| !p.exists())
                .unwrap_or_else(|| dir.join("config.old.toml"));
            std::fs::rename(&to, &kept)?;
            tracing::info!(
                "{} differs from this launch's {}: kept as {}",
                to.display(),
                config.display(),
                kept.display()
            );
        }
        Err(_) => {}
    }
    std::fs::write(&to, text)?;
    Ok(to)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_config_copy_lands_in_the_run_dir() {
        let dir = std::env::temp_dir().join(format!("eddylink-rundir-{}", std::process::id()));
        let src = dir.join("exp.toml");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(&src, "[run]\n").unwrap();
        let run = dir.join("out/run");
        let to = copy_config(&src, &run).unwrap();
        assert_eq!(std::fs::read_to_string(to).unwrap(), "[run]\n");
        // Copying the copy onto itself keeps it.
        copy_config(&run.join("config.toml"), &run).unwrap();
        assert_eq!(
            std::fs::read_to_string(run.join("config.toml")).unwrap(),
            "[run]\n"
        );
        // A relaunch with the same file changes nothing; with another, the earlier is kept.
        copy_config(&src, &run).unwrap();
        assert!(!run.join("config.1.toml").exists());
        std::fs::write(&src, "[run]\nname = \"b\"\n").unwrap();
        copy_config(&src, &run).unwrap();
        assert_eq!(
            std::fs::read_to_string(run.join("config.1.toml")).unwrap(),
            "[run]\n"
        );
        assert_eq!(
            std::fs::read_to_string(run.join("config.toml")).unwrap(),
            "[run]\nname = \"b\"\n"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
