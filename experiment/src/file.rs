//! The experiment file: one TOML read by every component, parsed once, its tables handed
//! to their owners.

use std::path::{Path, PathBuf};

use coupler::config::CouplingTable;
use coupler::CouplingConfig;
use serde::de::DeserializeOwned;

use crate::{deserialize_at, did_you_mean, ConfigError, Problem};

/// Top-level tables an experiment file may have.
pub const TOP_LEVEL_TABLES: [&str; 5] = ["run", "coupling", "ocean", "ml", "analysis"];

/// The whole experiment file, parsed as TOML but not yet interpreted.
#[derive(Debug, Clone)]
pub struct ExperimentFile {
    path: PathBuf,
    table: toml::Table,
}

impl ExperimentFile {
    /// Reads and parses `path`; every error names the file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            ConfigError::one(path, "", format!("cannot read the experiment file: {e}"))
        })?;
        Self::parse(&text, path)
    }

    /// Parses TOML text as if read from `path` (which only labels the errors).
    pub fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        let table: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| ConfigError::not_toml(path, text, &e))?;
        let unknown: Vec<Problem> = table
            .keys()
            .filter(|k| !TOP_LEVEL_TABLES.contains(&k.as_str()))
            .map(|k| Problem {
                key: k.clone(),
                message: format!(
                    "unknown top-level table; expected one of {}{}",
                    TOP_LEVEL_TABLES.join(", "),
                    did_you_mean(k, &TOP_LEVEL_TABLES)
                ),
            })
            .collect();
        if !unknown.is_empty() {
            return Err(ConfigError {
                file: path.to_path_buf(),
                problems: unknown,
            });
        }
        Ok(ExperimentFile {
            path: path.to_path_buf(),
            table,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Deserializes the top-level table `name` into `T`, or `None` when the table is absent.
    /// Errors carry the key path (`ocean.grid.nx`) and, for misspelt keys, a suggestion.
    pub fn section<T: DeserializeOwned>(&self, name: &str) -> Result<Option<T>, ConfigError> {
        let Some(value) = self.table.get(name) else {
            return Ok(None);
        };
        deserialize_at(&self.path, name, value.clone()).map(Some)
    }

    /// The `[coupling]` table, validated against the run length, or `None` when absent.
    pub fn coupling(&self) -> Result<Option<CouplingConfig>, ConfigError> {
        let Some(value) = self.table.get("coupling") else {
            return Ok(None);
        };
        let table = CouplingTable::from_value(&self.path, value.clone())?;
        let run = self.run()?;
        table.validate(&self.path, run.duration_s).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Option<CouplingConfig>, ConfigError> {
        ExperimentFile::parse(text, Path::new("exp.toml"))?.coupling()
    }

    #[test]
    fn an_unknown_table_gets_a_suggestion() {
        let err = ExperimentFile::parse("[ocaen]\nx=1", Path::new("e.toml")).unwrap_err();
        assert!(err.to_string().contains("did you mean `ocean`?"), "{err}");
    }

    #[test]
    fn bad_toml_names_the_line() {
        let err = ExperimentFile::parse("[run]\nname = \n", Path::new("e.toml")).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("e.toml: line 2: not valid TOML"),
            "{err}"
        );
    }

    #[test]
    fn no_coupling_table_means_standalone() {
        let text = "[run]\nname = \"a\"\nduration = 10\n";
        assert!(parse(text).unwrap().is_none());
    }

    /// The coupling table is checked against `[run]`'s length, and its errors name this file.
    #[test]
    fn the_coupling_table_is_checked_against_the_run() {
        let text = "[run]\nname = \"a\"\nduration = \"1d\"\n[coupling]\n\
                    [[coupling.exchange]]\nfrom = \"ocean.u\"\nto = \"ml.u\"\ngrid = \"U\"\nperiod = \"7h\"\n";
        let err = parse(text).unwrap_err().to_string();
        assert!(
            err.starts_with("exp.toml: coupling.exchange[0].period: 25200 s does not divide"),
            "{err}"
        );
        let ok = text.replace("7h", "6h");
        assert_eq!(parse(&ok).unwrap().unwrap().run_duration_s, 86400.0);
    }

    /// An experiment file's error keeps its kind in the coupler's error: every rank read the
    /// same file, so every rank stops alike (item 7 of issue 13).
    #[test]
    fn a_file_error_stays_collective_in_the_coupler() {
        let exp = ExperimentFile::parse("[run]\nname = \"a\"\n", Path::new("exp.toml")).unwrap();
        let err = coupler::CouplerError::from(exp.run().unwrap_err());
        assert!(err.is_collective(), "{err}");
        assert!(
            err.to_string()
                .starts_with("exp.toml: run: missing field `duration`"),
            "{err}"
        );
    }
}
