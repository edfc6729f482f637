//! The coupler's errors: each names the component, field, rank or time involved.

use crate::config::ConfigError;

#[derive(Debug, thiserror::Error)]
pub enum CouplerError {
    #[error(transparent)]
    Config(#[from] ConfigError),

    /// A problem every rank of every component found alike (so every rank stops cleanly).
    #[error("coupler set-up failed (component '{component}'): {message}")]
    Setup { component: String, message: String },

    /// The launch cannot start: a program could not start, or one would run alone beside
    /// others. Every rank of the launch gets it alike; `report` is true on the one rank
    /// (world rank 0) that prints it.
    #[error("{message}")]
    Launch { message: String, report: bool },

    /// A call made in the wrong state of the lifecycle.
    #[error("{call}() cannot be called {when}: {hint}")]
    WrongState {
        call: &'static str,
        when: &'static str,
        hint: &'static str,
    },

    #[error("component '{component}' has no field '{field}' to {role} in the coupling configuration; its fields to {role} are: {known}")]
    UnknownField {
        component: String,
        field: String,
        role: &'static str,
        known: String,
    },

    #[error("field '{field}' on rank {rank} of '{component}': {given} values given, {expected} needed ({detail})")]
    Size {
        component: String,
        field: String,
        rank: i32,
        given: usize,
        expected: usize,
        detail: String,
    },

    /// A wait that outlived the configured timeout: the peer is dead, stuck or out of step.
    #[error("coupler timeout: component '{component}' rank {rank} waited {waited_s:.1} s (limit {limit_s} s) for {what}; the peer component may have died, stopped early or be out of step")]
    Timeout {
        component: String,
        rank: i32,
        what: String,
        waited_s: f64,
        limit_s: f64,
    },

    /// A rank of another component failed and said so while this one waited.
    #[error("component '{component}' rank {rank} stopped waiting for {what}: {notice}")]
    PeerFailed {
        component: String,
        rank: i32,
        what: String,
        notice: String,
    },

    /// A rank of another component stopped the run early and cleanly (on a signal, after
    /// saving its state) while this one waited: finalize and end too.
    #[error("component '{component}' stopped waiting for {what}: {reason}")]
    PeerStopped {
        component: String,
        what: String,
        signal: crate::signals::Signal,
        reason: String,
    },

    /// get() asked for a time out of step with the data already posted.
    #[error("field '{field}' on '{component}': {message}")]
    Sequence {
        component: String,
        field: String,
        message: String,
    },
}

impl CouplerError {
    /// Whether every rank of the job hit this same error (and so can stop without aborting).
    pub fn is_collective(&self) -> bool {
        matches!(
            self,
            CouplerError::Setup { .. } | CouplerError::Config(_) | CouplerError::Launch { .. }
        )
    }
}
