//! One line to stderr in one `write`.
//!
//! `eprintln!` hands the formatter's pieces to the unbuffered stderr one by one, so a line
//! may reach the launcher in several reads. Launchers that label output per read (Hydra's
//! `[rank]` prefix, `srun --label`) then cut the line apart, e.g. `... kill@5[2] : SIGKILL`:
//! unreadable to a user and to a test matching the message. [`say!`] formats first and writes
//! the whole line at once.

use std::io::Write;

/// Writes `line` and a newline to stderr in a single `write_all`; errors are ignored, as
/// `eprintln!` would panic on them and stderr is where a failure is reported.
pub fn line(line: &str) {
    let mut text = String::with_capacity(line.len() + 1);
    text.push_str(line);
    text.push('\n');
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}

/// `eprintln!` that writes its line in one piece (see the module's documentation).
#[macro_export]
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::say::line(&format!($($arg)*))
    };
}
