//! The ABI's error codes, and the text of the last error of each thread.
//!
//! Every entry point returns an `int`: [`OK`] or one of the codes below, the same numbers
//! as `EDDYLINK_ERR_*` in `eddylink.h` and `eddylink.f90`. The message that explains it
//! (naming the call, field, rank and values involved) stays readable through
//! `eddylink_error_message` until the next failing call of the same thread.

use std::cell::RefCell;
use std::ffi::CString;

use coupler::CouplerError;

/// Success.
pub const OK: i32 = 0;
/// A bad argument: a null pointer, a string that is not UTF-8, an unknown id, a bad layout
/// or array shape.
pub const ERR_ARGUMENT: i32 = 1;
/// The experiment file cannot be read or its `[coupling]` table is wrong.
pub const ERR_CONFIG: i32 = 2;
/// The job cannot couple: a component missing, configurations that differ, boxes that
/// do not tile the grid, levels or grid points that differ from `[coupling]`.
pub const ERR_SETUP: i32 = 3;
/// A call made in the wrong state of the lifecycle (a put before enddef, say).
pub const ERR_STATE: i32 = 4;
/// A field the component does not send or receive in `[coupling]`.
pub const ERR_FIELD: i32 = 5;
/// An array whose size differs from the field's box, levels and halo.
pub const ERR_SIZE: i32 = 6;
/// A wait that outlived `[coupling] timeout`: the peer is dead, stuck or out of step.
pub const ERR_TIMEOUT: i32 = 7;
/// A rank of another component failed and said why (its notice is in the message).
pub const ERR_PEER_FAILED: i32 = 8;
/// Another component stopped the run early and cleanly (on a signal): finalize and end.
pub const ERR_PEER_STOPPED: i32 = 9;
/// A get for a time out of step with the data already posted.
pub const ERR_SEQUENCE: i32 = 10;
/// An MPI call of the ABI itself failed (MPI_Init, MPI_Comm_dup).
pub const ERR_MPI: i32 = 11;
/// A panic inside the library, caught at the ABI (a bug: please report the message).
pub const ERR_PANIC: i32 = 12;

/// What an entry point can fail with.
#[derive(Debug, thiserror::Error)]
pub enum CapiError {
    #[error("{call}: {message}")]
    Argument { call: &'static str, message: String },
    #[error(transparent)]
    Coupler(#[from] CouplerError),
    #[error("{call}: {message}")]
    Mpi { call: &'static str, message: String },
    #[error("{call}: panicked inside the eddylink library: {message}")]
    Panic { call: &'static str, message: String },
}

impl CapiError {
    pub fn argument(call: &'static str, message: impl Into<String>) -> Self {
        CapiError::Argument {
            call,
            message: message.into(),
        }
    }

    /// The `EDDYLINK_ERR_*` code of this error.
    pub fn code(&self) -> i32 {
        match self {
            CapiError::Argument { .. } => ERR_ARGUMENT,
            CapiError::Mpi { .. } => ERR_MPI,
            CapiError::Panic { .. } => ERR_PANIC,
            CapiError::Coupler(e) => match e {
                CouplerError::Config(_) => ERR_CONFIG,
                CouplerError::Setup { .. } | CouplerError::Launch { .. } => ERR_SETUP,
                CouplerError::WrongState { .. } => ERR_STATE,
                CouplerError::UnknownField { .. } => ERR_FIELD,
                CouplerError::Size { .. } => ERR_SIZE,
                CouplerError::Timeout { .. } => ERR_TIMEOUT,
                CouplerError::PeerFailed { .. } => ERR_PEER_FAILED,
                CouplerError::PeerStopped { .. } => ERR_PEER_STOPPED,
                CouplerError::Sequence { .. } => ERR_SEQUENCE,
            },
        }
    }
}

thread_local! {
    static LAST: RefCell<CString> = RefCell::new(CString::default());
}

/// Keeps `error`'s message as this thread's last error and returns its code.
pub fn remember(error: &CapiError) -> i32 {
    let text = error.to_string().replace('\0', " ");
    let text = CString::new(text).unwrap_or_default();
    LAST.with(|last| *last.borrow_mut() = text);
    error.code()
}

/// Copies this thread's last error message into `buf` (NUL-terminated, cut to fit) and
/// returns its full length in bytes, without the NUL.
pub fn copy_last(buf: &mut [u8]) -> usize {
    LAST.with(|last| {
        let last = last.borrow();
        let bytes = last.as_bytes();
        if let Some(room) = buf.len().checked_sub(1) {
            let n = bytes.len().min(room);
            buf[..n].copy_from_slice(&bytes[..n]);
            buf[n] = 0;
        }
        bytes.len()
    })
}

/// The last error message of this thread; valid until its next failing call.
pub fn last_ptr() -> *const std::ffi::c_char {
    LAST.with(|last| last.borrow().as_ptr())
}
