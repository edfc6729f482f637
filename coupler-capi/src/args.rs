//! What every entry point does with its arguments: runs under [`entry`] (errors become
//! codes, panics become `EDDYLINK_ERR_PANIC`), and reads strings, the handle, out-pointers
//! and array shapes with an error that names the call and the argument.

use std::ffi::{c_char, c_int, CStr};
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::error::{self, CapiError, OK};
use crate::layout::{Layout, Shape};
use crate::Coupler;

/// Runs one entry point: its error becomes this thread's last error and its code, and a
/// panic becomes `EDDYLINK_ERR_PANIC`.
pub(crate) fn entry(call: &'static str, f: impl FnOnce() -> Result<(), CapiError>) -> c_int {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(())) => OK,
        Ok(Err(e)) => error::remember(&e),
        Err(payload) => {
            let message = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "(no message)".into());
            error::remember(&CapiError::Panic { call, message })
        }
    }
}

/// The string behind `p`, or an error naming the argument.
///
/// # Safety
/// `p` is null or points to a NUL-terminated string that outlives the call.
pub(crate) unsafe fn text<'a>(
    call: &'static str,
    what: &str,
    p: *const c_char,
) -> Result<&'a str, CapiError> {
    if p.is_null() {
        return Err(CapiError::argument(
            call,
            format!("{what} is a null pointer"),
        ));
    }
    // SAFETY: non-null and NUL-terminated, by the caller's contract.
    unsafe { CStr::from_ptr(p) }
        .to_str()
        .map_err(|_| CapiError::argument(call, format!("{what} is not UTF-8")))
}

/// The handle behind `p`.
///
/// # Safety
/// `p` is null or a pointer `eddylink_init` gave and `eddylink_finalize` has not freed.
pub(crate) unsafe fn handle<'a>(
    call: &'static str,
    p: *mut Coupler,
) -> Result<&'a mut Coupler, CapiError> {
    // SAFETY: by the caller's contract.
    unsafe { p.as_mut() }.ok_or_else(|| {
        CapiError::argument(
            call,
            "the coupler handle is null: call eddylink_init first (and not after eddylink_finalize)",
        )
    })
}

/// Writes `value` through `out`, or fails naming the argument.
///
/// # Safety
/// `out` is null or valid for a write of `T`.
pub(crate) unsafe fn write<T>(
    call: &'static str,
    what: &str,
    out: *mut T,
    value: T,
) -> Result<(), CapiError> {
    if out.is_null() {
        return Err(CapiError::argument(
            call,
            format!("{what} is a null pointer"),
        ));
    }
    // SAFETY: non-null and writable by the caller's contract.
    unsafe { out.write(value) };
    Ok(())
}

/// The array shape `(ni, nj, levels)` and layout a put or get was given.
pub(crate) fn shape_of(
    call: &'static str,
    ni: c_int,
    nj: c_int,
    levels: c_int,
    layout: c_int,
) -> Result<(Shape, Layout), CapiError> {
    let dims = [ni, nj, levels].map(usize::try_from);
    let (Ok(ni), Ok(nj), Ok(levels)) = (dims[0], dims[1], dims[2]) else {
        return Err(CapiError::argument(
            call,
            format!("array extents {ni} × {nj} × {levels}: expected sizes >= 0"),
        ));
    };
    let layout = Layout::from_code(layout).ok_or_else(|| {
        CapiError::argument(
            call,
            format!(
                "layout {layout}: expected EDDYLINK_COLUMN_MAJOR (0) or EDDYLINK_ROW_MAJOR (1)"
            ),
        )
    })?;
    Ok((Shape { ni, nj, levels }, layout))
}
