//! When a rank fails or stops: the notices that tell the other components at once (a
//! failure, or a clean stop on a signal), the goodbye at finalize that tells a failing rank
//! nobody is left to read its notice, the panic hook that keeps a panic's message, and the
//! abort of a coupler dropped before finalize, so that no peer waits for a dead rank.

use std::time::{Duration, Instant};

use mpi::topology::SimpleCommunicator;
use mpi::traits::*;

use super::{Coupler, State};
use crate::error::CouplerError;
use crate::signals;
use crate::transport;

/// The message of the last panic, for the failure notice (see [`remember_panics`]).
static PANIC_MESSAGE: std::sync::Mutex<Option<String>> = std::sync::Mutex::new(None);

/// Keeps the message of a panic, so that a coupler dropped while unwinding can tell the
/// other components what happened (the default hook still prints it).
pub(super) fn remember_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let text = info
                .payload()
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| info.payload().downcast_ref::<String>().cloned())
                .unwrap_or_default();
            let at = info
                .location()
                .map_or(String::new(), |l| format!(" at {}:{}", l.file(), l.line()));
            if let Ok(mut m) = PANIC_MESSAGE.lock() {
                *m = Some(format!("{text}{at}"));
            }
            previous(info);
        }));
    });
}

/// Tag of failure notices on the control communicator (collectives do not use tags).
const NOTICE_TAG: i32 = 0x6e6f;
/// Tag of the message each rank sends every rank of the other components at finalize: a
/// failing rank that has it from every peer knows nobody is left to read its notice.
const BYE_TAG: i32 = 0x6279;
/// Longest failure notice, in bytes.
const NOTICE_BYTES: usize = 2048;

/// A receive, posted after enddef, for the notice a failing rank of another component sends
/// before it aborts the job: waits in `get` watch it, so that the survivors learn at once
/// which component failed and why (and the ocean can write a checkpoint) instead of
/// waiting for the timeout.
pub(super) struct Notice {
    buf: Vec<u8>,
    req: Option<transport::Request>,
}

impl Notice {
    pub(super) fn post(control: &SimpleCommunicator) -> Notice {
        let mut buf = vec![0u8; NOTICE_BYTES];
        // SAFETY: `buf`'s heap storage lives in this struct, unmoved, until the request
        // completes (`arrived`) or is cancelled (`cancel`); the job aborts otherwise.
        let req =
            unsafe { transport::irecv(&mut buf, transport::any_source(), NOTICE_TAG, control) };
        Notice {
            buf,
            req: Some(req),
        }
    }

    /// Whether a notice has arrived (then the request is spent).
    pub(super) fn arrived(&mut self) -> bool {
        let Some(req) = &mut self.req else {
            return true;
        };
        if req.test() {
            self.req = None;
        }
        self.req.is_none()
    }

    pub(super) fn text(&self) -> String {
        let end = self
            .buf
            .iter()
            .position(|&b| b == 0)
            .unwrap_or(self.buf.len());
        String::from_utf8_lossy(&self.buf[..end]).into_owned()
    }

    pub(super) fn cancel(&mut self) {
        if let Some(req) = self.req.take() {
            req.cancel();
        }
    }
}

impl Coupler {
    /// Gives up before `enddef()` after an error of this rank's own (a model that will not
    /// load, a setting the program rejects). Collective with the other ranks' `enddef()`
    /// (or `abandon()`): every rank of every component then stops at once with this rank's
    /// reason, instead of waiting for it until the timeout. Returns the error to report.
    pub fn abandon(&mut self, reason: &str) -> CouplerError {
        let error = match self.require(
            State::Defining,
            "abandon",
            "abandon() replaces enddef() after a start-up error",
        ) {
            Err(e) => e,
            Ok(()) => match self.gather_declarations(Some(reason)) {
                Err(e) => e,
                Ok(_) => CouplerError::Setup {
                    component: self.component.clone(),
                    message: reason.to_string(),
                },
            },
        };
        self.last_error = Some(error.to_string());
        error
    }

    /// Ends the coupled run early and cleanly on `signal`, once this component has saved
    /// its state at a time every component can restart from (a coupling time): rank 0
    /// tells every rank of the other components, whose waiting `get` then returns
    /// [`CouplerError::PeerStopped`] with `reason`. Collective over the component's
    /// ranks; call [`Coupler::finalize`] after it, as the other components do.
    pub fn stop(&mut self, signal: signals::Signal, reason: &str) -> Result<(), CouplerError> {
        self.require(
            State::Running,
            "stop",
            "stop() comes between enddef() and finalize()",
        )?;
        if self.local.rank() != 0 {
            return Ok(());
        }
        let who = format!("component '{}' stopped", self.component);
        let mut text = signals::stop_notice(signal, &format!("{who}: {reason}")).into_bytes();
        text.truncate(NOTICE_BYTES - 1);
        let mut sends: Vec<transport::Request> = self
            .components
            .iter()
            .filter(|c| c.name != self.component)
            .flat_map(|c| c.world_ranks.iter().copied())
            // SAFETY: `text` lives until the sends have completed (waited for below) or
            // the job is aborted at the timeout.
            .map(|r| unsafe { transport::isend(&text, r, NOTICE_TAG, &self.control) })
            .collect();
        let started = Instant::now();
        if transport::wait_all(&mut sends, self.deadline()).is_err() {
            std::mem::forget(text);
            return Err(self.timeout("the stop notice to be received", started.elapsed()));
        }
        Ok(())
    }

    /// Tells every rank of the other components that this one has finalized, and waits for
    /// the same word from each of them: a failing rank that has it from every peer knows
    /// nobody is left to read its notice (see [`Coupler::fail`]). A notice that arrives
    /// meanwhile ends the wait with [`CouplerError::PeerFailed`].
    pub(super) fn say_goodbye(&mut self, deadline: Instant) -> Result<(), CouplerError> {
        static BYE: [u8; 1] = [1];
        let peers = self.peer_ranks();
        let mut byes = vec![0u8; peers.len()];
        let mut reqs: Vec<transport::Request> = Vec::with_capacity(2 * peers.len());
        for (bye, &r) in byes.chunks_mut(1).zip(&peers) {
            // SAFETY: `byes` is leaked below unless every request has completed.
            reqs.push(unsafe { transport::irecv(bye, r, BYE_TAG, &self.control) });
        }
        for &r in &peers {
            // SAFETY: `BYE` is static, so it outlives every send.
            reqs.push(unsafe { transport::isend(&BYE, r, BYE_TAG, &self.control) });
        }
        // A stop notice (a peer ending cleanly on a signal) is no failure: its sender still
        // says goodbye, so only a failure notice ends the wait early.
        let notice = &mut self.notice;
        let waited = transport::wait_all_unless(&mut reqs, deadline, &mut || {
            notice
                .as_mut()
                .is_some_and(|n| n.arrived() && signals::parse_stop_notice(&n.text()).is_none())
        });
        let what = "every other component to finalize";
        match waited {
            Ok(()) => Ok(()),
            Err(stop) => {
                std::mem::forget(byes);
                self.peer_failed = true;
                Err(match stop {
                    transport::Stop::TimedOut(waited) => self.timeout(what, waited),
                    transport::Stop::Interrupted(_) => CouplerError::PeerFailed {
                        component: self.component.clone(),
                        rank: self.world_rank,
                        what: what.into(),
                        notice: self.notice.as_ref().map(Notice::text).unwrap_or_default(),
                    },
                })
            }
        }
    }

    /// Ends the whole MPI job with `code` after an error this rank cannot recover from.
    pub fn abort(&self, code: i32) -> ! {
        transport::abort(code)
    }

    /// Ends the whole MPI job after an error this rank cannot recover from, first telling
    /// every rank of the other components why: a peer waiting in `get` then stops at once
    /// with [`CouplerError::PeerFailed`] naming this component and `reason` (the ocean
    /// writes a checkpoint then). Waits for the peers to end the job, at most the coupling
    /// timeout, then aborts it. A rank that failed because a peer did aborts at once.
    pub fn fail(&mut self, reason: &str) -> ! {
        self.fail_with_code(reason, 1)
    }

    fn fail_with_code(&mut self, reason: &str, code: i32) -> ! {
        let who = format!(
            "component '{}' (world rank {})",
            self.component, self.world_rank
        );
        // Logged (into the run directory's log too, on rank 0), not only printed: a launcher
        // tearing the job down may drop the last lines of a rank's stderr. A program without
        // a tracing subscriber still gets the line on stderr.
        let line = format!(
            "coupler: {who} ends the MPI job, so that no other component waits for it: {reason}"
        );
        if tracing::dispatcher::has_been_set() {
            tracing::error!("{line}");
        } else {
            crate::say!("{line}");
        }
        if self.state == State::Running && !self.peer_failed {
            let mut text = format!("{who} failed: {reason}").into_bytes();
            text.truncate(NOTICE_BYTES - 1);
            let peers = self.peer_ranks();
            let deadline = self.deadline();
            let mut sends: Vec<transport::Request> = peers
                .iter()
                // SAFETY: `text` outlives the requests: this function never returns.
                .map(|&r| unsafe { transport::isend(&text, r, NOTICE_TAG, &self.control) })
                .collect();
            // The peers end the job once they have read the notice (and saved their work);
            // this rank keeps MPI progressing meanwhile. A peer that has finalized said so
            // (BYE_TAG) and will read nothing: once every peer has, or at the timeout, this
            // rank ends the job itself.
            let _ = transport::wait_all(&mut sends, deadline);
            let mut gone = vec![false; peers.len()];
            while Instant::now() < deadline {
                for (g, &r) in gone.iter_mut().zip(&peers) {
                    *g = *g || transport::probe(r, BYE_TAG, &self.control);
                }
                if gone.iter().all(|&g| g) {
                    break;
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        }
        transport::abort(code)
    }
}

impl Drop for Coupler {
    fn drop(&mut self) {
        if !matches!(self.state, State::Defining | State::Running) {
            return;
        }
        if std::thread::panicking() {
            let message = PANIC_MESSAGE
                .lock()
                .ok()
                .and_then(|m| m.clone())
                .unwrap_or_default();
            self.fail_with_code(&format!("panicked: {message}"), 101);
        }
        let reason = match self.last_error.take() {
            Some(e) => format!("stopped before finalize() after this error: {e}"),
            None => "stopped before finalize()".to_string(),
        };
        self.fail_with_code(&reason, 1);
    }
}
