//! What every component does in the run directory (`[run] output_dir/name`): its log, a
//! copy of the experiment file, and the end-of-run summary.
//!
//! Logging goes to stderr (the batch log) on every rank — `info` on a component's rank 0,
//! `warn` on the others, `RUST_LOG` to change that — and, once [`log_to_file`] has been
//! called on rank 0 of a component, also to `<run dir>/<component>.log`.

use std::fs::File;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use tracing_subscriber::fmt::MakeWriter;

static LOG_FILE: OnceLock<Mutex<File>> = OnceLock::new();

/// Sets up logging for a rank; `leader` ranks (rank 0 of the job or component) log `info`.
pub fn init_logging(leader: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(if leader { "info" } else { "warn" })
    });
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(Tee)
        .try_init();
}

/// From now on, log also to `<dir>/<component>.log` (created or truncated).
pub fn log_to_file(dir: &Path, component: &str) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join(format!("{component}.log"));
    let file = File::create(&path)?;
    let _ = LOG_FILE.set(Mutex::new(file));
    Ok(path)
}

/// Copies the experiment file into `dir` as `config.toml`, so the run directory says how it
/// was made (rank 0 of one component does this).
pub fn copy_config(config: &Path, dir: &Path) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let to = dir.join("config.toml");
    if std::fs::canonicalize(config).ok() != std::fs::canonicalize(&to).ok() {
        std::fs::copy(config, &to)?;
    }
    Ok(to)
}

/// Stderr plus the log file, if set.
#[derive(Clone, Copy)]
struct Tee;

impl Write for Tee {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Some(file) = LOG_FILE.get() {
            if let Ok(mut f) = file.lock() {
                let text = strip_ansi(buf);
                let _ = f.write_all(&text);
            }
        }
        std::io::stderr().write_all(buf)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if let Some(Ok(mut f)) = LOG_FILE.get().map(|f| f.lock()) {
            let _ = f.flush();
        }
        std::io::stderr().flush()
    }
}

impl<'a> MakeWriter<'a> for Tee {
    type Writer = Tee;
    fn make_writer(&'a self) -> Tee {
        Tee
    }
}

/// `buf` without ANSI colour sequences (ESC [ … m).
fn strip_ansi(buf: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(buf.len());
    let mut i = 0;
    while i < buf.len() {
        if buf[i] == 0x1b && buf.get(i + 1) == Some(&b'[') {
            i += 2;
            while i < buf.len() && !buf[i].is_ascii_alphabetic() {
                i += 1;
            }
            i += 1;
        } else {
            out.push(buf[i]);
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_codes_stay_out_of_the_log_file() {
        assert_eq!(
            strip_ansi(b"\x1b[32m INFO\x1b[0m ocean: step 1"),
            b" INFO ocean: step 1"
        );
    }

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
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
