//! The `[run]` table: the run's name, length and output folder.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::{check_duration, ConfigError, DurationValue, ExperimentFile, Problem};

/// The `[run]` table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunConfig {
    /// Name of the run: outputs go to `output_dir/name/`.
    pub name: String,
    /// Simulated time, in seconds.
    pub duration_s: f64,
    pub output_dir: PathBuf,
}

impl RunConfig {
    /// The run directory, `output_dir/name`.
    pub fn run_dir(&self) -> PathBuf {
        self.output_dir.join(&self.name)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRun {
    name: String,
    duration: DurationValue,
    output_dir: Option<PathBuf>,
}

impl ExperimentFile {
    /// The `[run]` table, validated.
    pub fn run(&self) -> Result<RunConfig, ConfigError> {
        let raw: RawRun = self.section("run")?.ok_or_else(|| {
            ConfigError::one(
                self.path(),
                "run",
                "missing table [run] (name, duration, output_dir)",
            )
        })?;
        let mut problems = Vec::new();
        let duration_s = check_duration(&raw.duration, "run.duration", &mut problems);
        if matches!(raw.name.as_str(), "" | "." | "..") || raw.name.contains(['/', '\0']) {
            problems.push(Problem {
                key: "run.name".into(),
                message: format!(
                    "{:?} must be a folder name: not empty, \".\" or \"..\", without '/' or NUL",
                    raw.name
                ),
            });
        }
        if let Some(d) = duration_s {
            if d <= 0.0 {
                problems.push(Problem {
                    key: "run.duration".into(),
                    message: format!("{d} s: the run length must be positive"),
                });
            }
        }
        if !problems.is_empty() {
            return Err(ConfigError {
                file: self.path().to_path_buf(),
                problems,
            });
        }
        Ok(RunConfig {
            name: raw.name,
            duration_s: duration_s.unwrap_or_default(),
            output_dir: raw.output_dir.unwrap_or_else(|| PathBuf::from("out")),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    /// Regression: name = ".." passed, and the run directory output_dir/.. was the folder
    /// above the output folder.
    #[test]
    fn the_run_name_is_one_folder() {
        for name in ["", ".", "..", "a/b", "a\\u0000b"] {
            let text = format!("[run]\nname = \"{name}\"\nduration = 10\n");
            let err = ExperimentFile::parse(&text, Path::new("e.toml"))
                .unwrap()
                .run()
                .unwrap_err()
                .to_string();
            assert!(err.starts_with("e.toml: run.name: "), "{err}");
            assert!(err.contains("must be a folder name"), "{err}");
        }
    }

    #[test]
    fn the_run_dir_is_the_name_under_the_output_folder() {
        let exp = ExperimentFile::parse("[run]\nname = \"a\"\nduration = \"1h\"\n", Path::new("e"))
            .unwrap();
        let run = exp.run().unwrap();
        assert_eq!(
            (run.duration_s, run.run_dir()),
            (3600.0, PathBuf::from("out/a"))
        );
    }
}
