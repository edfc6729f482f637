//! What every component does in the run directory (`[run] output_dir/name`): its log, a
//! copy of the experiment file, and the end-of-run summary.
//!
//! Logging goes to stderr (the batch log) on every rank — `info` on a component's rank 0,
//! `warn` on the others, `RUST_LOG` to change that — and, once [`log_to_file`] has been
//! called on rank 0 of a component, also to `<run dir>/<component>.log` (appended to, one
//! header line per launch, so that a relaunch keeps the earlier launches' logs).

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

/// From now on, log also to `<dir>/<component>.log`. An earlier launch's log is kept: each
/// launch appends, after a header line with the time and process id.
pub fn log_to_file(dir: &Path, component: &str) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join(format!("{component}.log"));
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)?;
    writeln!(
        file,
        "===== {component} launch at {} (pid {}) =====",
        utc_now(),
        std::process::id()
    )?;
    let _ = LOG_FILE.set(Mutex::new(file));
    Ok(path)
}

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

/// The current UTC time as `YYYY-MM-DD HH:MM:SS UTC`.
fn utc_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (days, rest) = ((secs / 86_400) as i64, secs % 86_400);
    // Days since 1970-01-01 to a civil date (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        rest / 3600,
        rest / 60 % 60,
        rest % 60
    )
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

    #[test]
    fn a_relaunch_keeps_the_earlier_log() {
        let dir = std::env::temp_dir().join(format!("eddylink-log-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("ocean.log"), "the first launch's last line\n").unwrap();
        let path = log_to_file(&dir, "ocean").unwrap();
        let text = std::fs::read_to_string(path).unwrap();
        assert!(
            text.starts_with("the first launch's last line\n===== ocean launch at "),
            "{text}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_launch_header_has_a_plausible_utc_date() {
        let now = utc_now();
        assert_eq!(now.len(), "2026-12-01 08:00:00 UTC".len(), "{now}");
        assert!(now.starts_with("20") && now.ends_with(" UTC"), "{now}");
    }
}
