//! What a configuration error says: the file, the key path, the value and what is allowed,
//! with a "did you mean" for typos. Every table's validation (the coupler's `[coupling]`,
//! the programs' own tables) reports through these types.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

/// One problem found in a configuration: where, and what is wrong.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    /// Dotted key path, e.g. `coupling.exchange[1].period`; empty for the file as a whole.
    pub key: String,
    pub message: String,
}

/// Everything wrong with one experiment file.
#[derive(Debug, Clone, thiserror::Error)]
pub struct ConfigError {
    pub file: PathBuf,
    pub problems: Vec<Problem>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let file = self.file.display();
        match self.problems.as_slice() {
            [one] if one.key.is_empty() => write!(f, "{file}: {}", one.message),
            [one] => write!(f, "{file}: {}: {}", one.key, one.message),
            many => {
                write!(f, "{file}: {} problems", many.len())?;
                for p in many {
                    if p.key.is_empty() {
                        write!(f, "\n  - {}", p.message)?;
                    } else {
                        write!(f, "\n  - {}: {}", p.key, p.message)?;
                    }
                }
                Ok(())
            }
        }
    }
}

impl ConfigError {
    /// One problem at `key` of `file`.
    pub fn one(file: &Path, key: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigError {
            file: file.to_path_buf(),
            problems: vec![Problem {
                key: key.into(),
                message: message.into(),
            }],
        }
    }

    /// TOML text `text` of `file` that does not parse, with the line it fails on.
    pub fn not_toml(file: &Path, text: &str, e: &toml::de::Error) -> Self {
        let line = e.span().map(|s| line_of(text, s.start)).unwrap_or(0);
        let key = if line > 0 {
            format!("line {line}")
        } else {
            String::new()
        };
        ConfigError::one(file, key, format!("not valid TOML: {}", e.message()))
    }
}

/// Deserializes `value` as `T`, reporting failures with the dotted key path under `prefix`.
pub fn deserialize_at<T: DeserializeOwned>(
    file: &Path,
    prefix: &str,
    value: toml::Value,
) -> Result<T, ConfigError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let inner = e.path().to_string();
        let key = match inner.as_str() {
            "." | "" => prefix.to_string(),
            p => format!("{prefix}.{p}"),
        };
        ConfigError::one(
            file,
            key.replace(".[", "["),
            explain_serde_error(e.inner().message()),
        )
    })
}

/// " (did you mean `x`?)" when one candidate is close to `word`, else "".
pub fn did_you_mean(word: &str, candidates: &[&str]) -> String {
    candidates
        .iter()
        .map(|c| (strsim::normalized_damerau_levenshtein(word, c), c))
        .filter(|(score, _)| *score >= 0.5)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| format!(" (did you mean `{c}`?)"))
        .unwrap_or_default()
}

/// Adds a "did you mean" to serde's "unknown field `x`, expected one of `a`, `b`" messages.
fn explain_serde_error(message: &str) -> String {
    if message.contains("untagged enum DurationValue") {
        return "expected a duration: a number of seconds (120) or a string such as \"90s\", \"30min\", \"6h\", \"1d\"".into();
    }
    let is_unknown = message.starts_with("unknown field") || message.starts_with("unknown variant");
    if !is_unknown {
        return message.to_string();
    }
    let quoted: Vec<&str> = message.split('`').skip(1).step_by(2).collect();
    match quoted.split_first() {
        Some((word, candidates)) => format!("{message}{}", did_you_mean(word, candidates)),
        None => message.to_string(),
    }
}

fn line_of(text: &str, byte: usize) -> usize {
    text[..byte.min(text.len())].matches('\n').count() + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_misspelt_word_gets_the_closest_candidate() {
        assert_eq!(
            did_you_mean("perod", &["period", "lag"]),
            " (did you mean `period`?)"
        );
        assert_eq!(did_you_mean("xyz", &["period", "lag"]), "");
    }
}
