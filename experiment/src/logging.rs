//! Logging for every rank, by two `tracing` layers over one filter.
//!
//! The stderr layer (the batch log) logs on every rank: `info` on a component's rank 0,
//! `warn` on the others, `RUST_LOG` to change that. The file layer writes the same lines,
//! without colour, to `<run dir>/<component>.log` once [`log_to_file`] has been called on
//! rank 0 of a component; until then it writes nothing. The file is appended to, after one
//! header line per launch, so that a relaunch keeps the earlier launches' logs.
//!
//! Each event reaches the file in one unbuffered `write` as it is logged: a line logged just
//! before an abort is in the file, which the fault tests rely on.

use std::fs::File;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, OnceLock};

use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::EnvFilter;

/// The run directory's log file, once [`log_to_file`] has opened it.
static LOG_FILE: OnceLock<Mutex<File>> = OnceLock::new();

/// Sets up logging for a rank; `leader` ranks (rank 0 of the job or component) log `info`.
pub fn init_logging(leader: bool) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(if leader { "info" } else { "warn" }));
    let stderr = tracing_subscriber::fmt::layer()
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    let file = tracing_subscriber::fmt::layer()
        .with_ansi(false)
        .with_writer(RunLog);
    // Layers see each event in the order they are added: the file first, so that a line
    // reaches the log even where a launcher tearing the job down no longer reads stderr.
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(file)
        .with(stderr)
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

/// The file layer's writer: the log file once opened, nothing before.
struct RunLog;

/// One event's write to the log file, holding its lock so that lines from several threads
/// do not interleave.
enum RunLogWriter {
    File(MutexGuard<'static, File>),
    Closed,
}

impl<'a> MakeWriter<'a> for RunLog {
    type Writer = RunLogWriter;
    fn make_writer(&'a self) -> RunLogWriter {
        match LOG_FILE.get().map(Mutex::lock) {
            Some(Ok(file)) => RunLogWriter::File(file),
            _ => RunLogWriter::Closed,
        }
    }
}

impl Write for RunLogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            RunLogWriter::File(f) => f.write(buf),
            RunLogWriter::Closed => Ok(buf.len()),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            RunLogWriter::File(f) => f.flush(),
            RunLogWriter::Closed => Ok(()),
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

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
