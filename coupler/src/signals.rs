//! Stop requests by signal: SIGTERM (what Slurm and PBS send at the wall-clock limit and
//! on `scancel`/`qdel`, SIGKILL following after a grace time, 30 s by default in Slurm),
//! SIGINT (Ctrl-C) and SIGUSR1 (what `sbatch --signal=USR1@120` sends ahead of the limit).
//!
//! [`install`] replaces the default action of these signals (death, losing everything
//! since the last checkpoint) by a handler that only records the signal in an atomic:
//! that is all a handler may safely do. The programs read it with [`requested`] where
//! they can stop cleanly: the ocean at a step its ranks agree on (in a coupled run, a
//! coupling time, so that the restart is allowed), after writing a checkpoint; it then
//! tells the other components with [`crate::Coupler::stop`], whose next `get` returns
//! [`crate::CouplerError::PeerStopped`]. A program that stopped this way exits with
//! [`Signal::exit_code`], 128 + the signal number, as a shell reports a death by that
//! signal (143 for SIGTERM, 130 for SIGINT, 138 for SIGUSR1).
//!
//! ```
//! coupler::signals::install().expect("handlers installed");
//! // … in the time loop:
//! if let Some(signal) = coupler::signals::requested() {
//!     println!("{signal}: save and stop");
//! }
//! ```

use std::fmt;
use std::sync::atomic::{AtomicI32, Ordering};

use libc::c_int;

/// The signals that ask for a clean stop.
pub const STOP_SIGNALS: [c_int; 3] = [libc::SIGTERM, libc::SIGINT, libc::SIGUSR1];

/// The first stop signal received (0: none).
static RECEIVED: AtomicI32 = AtomicI32::new(0);

/// The handler: one atomic store, async-signal-safe. Later signals keep the first.
extern "C" fn record(signo: c_int) {
    let _ = RECEIVED.compare_exchange(0, signo, Ordering::SeqCst, Ordering::SeqCst);
}

/// A stop signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Signal(c_int);

impl Signal {
    /// The signal of this number, if it is one of [`STOP_SIGNALS`].
    pub fn from_number(n: c_int) -> Option<Signal> {
        STOP_SIGNALS.contains(&n).then_some(Signal(n))
    }

    pub fn number(self) -> c_int {
        self.0
    }

    /// "SIGTERM", "SIGINT" or "SIGUSR1".
    pub fn name(self) -> &'static str {
        match self.0 {
            libc::SIGTERM => "SIGTERM",
            libc::SIGINT => "SIGINT",
            _ => "SIGUSR1",
        }
    }

    /// The exit status of a program that stopped on this signal: 128 + its number.
    pub fn exit_code(self) -> u8 {
        (128 + self.0) as u8
    }
}

impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Record SIGTERM, SIGINT and SIGUSR1 instead of dying of them. Call it first thing in
/// `main`, before MPI starts: a signal that comes earlier still kills the program.
/// Restartable system calls go on after the handler (`SA_RESTART`).
pub fn install() -> std::io::Result<()> {
    for sig in STOP_SIGNALS {
        // SAFETY: a zeroed sigaction is valid; the handler only stores into an atomic,
        // which is async-signal-safe.
        let rc = unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = record as extern "C" fn(c_int) as libc::sighandler_t;
            action.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(sig, &action, std::ptr::null_mut())
        };
        if rc != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

/// The first stop signal received since [`install`], if any.
pub fn requested() -> Option<Signal> {
    Signal::from_number(RECEIVED.load(Ordering::SeqCst))
}

/// The start of a notice that says "stopped on a signal" rather than "failed".
const STOP_MARK: &str = "eddylink-stop ";

/// The text of a stop notice (see [`crate::Coupler::stop`]).
pub(crate) fn stop_notice(signal: Signal, reason: &str) -> String {
    format!("{STOP_MARK}{} {reason}", signal.number())
}

/// The signal and reason of a stop notice; `None` for a failure notice.
pub(crate) fn parse_stop_notice(text: &str) -> Option<(Signal, String)> {
    let rest = text.strip_prefix(STOP_MARK)?;
    let (number, reason) = rest.split_once(' ')?;
    let signal = Signal::from_number(number.parse().ok()?)?;
    Some((signal, reason.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signal_is_recorded_and_the_program_lives_on() {
        install().expect("install");
        assert_eq!(requested(), None);
        // SAFETY: raising a signal whose handler is installed above.
        unsafe { libc::raise(libc::SIGUSR1) };
        assert_eq!(requested(), Signal::from_number(libc::SIGUSR1));
        // A later signal keeps the first.
        unsafe { libc::raise(libc::SIGTERM) };
        let s = requested().expect("recorded");
        assert_eq!((s.name(), s.exit_code()), ("SIGUSR1", 138));
    }

    #[test]
    fn stop_notices_carry_the_signal_and_are_told_from_failures() {
        let term = Signal::from_number(libc::SIGTERM).expect("a stop signal");
        assert_eq!(term.exit_code(), 143);
        let text = stop_notice(term, "checkpoint at step 50");
        assert_eq!(
            parse_stop_notice(&text),
            Some((term, "checkpoint at step 50".to_string()))
        );
        assert_eq!(parse_stop_notice("component 'ocean' failed: x"), None);
        assert_eq!(Signal::from_number(libc::SIGKILL), None);
    }
}
