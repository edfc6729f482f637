//! `eddylink`: a C ABI (`include/eddylink.h`) and a Fortran module (`fortran/eddylink.f90`)
//! over the [`coupler`], so that a Fortran or C ocean (NEMO, CROCO, MOM6, a toy) couples to
//! `ml-server` the way it would call OASIS3-MCT:
//!
//! ```c
//! eddylink_coupler *cpl;
//! int part, u, sx, received;
//! eddylink_init_world("ocean", "exp.toml", &cpl);        /* oasis_init_comp  */
//! eddylink_def_partition(cpl, i0, j0, ni, nj, &part);    /* oasis_def_partition */
//! eddylink_def_var(cpl, "u", part, 0, &u);               /* oasis_def_var    */
//! eddylink_def_var(cpl, "sx", part, 0, &sx);
//! eddylink_enddef(cpl);                                  /* oasis_enddef     */
//! for (int n = 0; n < steps; n++) {
//!     eddylink_put_f64(cpl, u, n * dt, u_arr, ni, nj, 1, EDDYLINK_COLUMN_MAJOR);
//!     eddylink_get_f64(cpl, sx, n * dt, sx_arr, ni, nj, 1, EDDYLINK_COLUMN_MAJOR, &received);
//! }
//! eddylink_finalize(&cpl);                               /* oasis_terminate  */
//! ```
//!
//! Every call returns `EDDYLINK_OK` (0) or an `EDDYLINK_ERR_*` code ([`error`]), and
//! `eddylink_error_message` tells why, naming the call, field, rank and values. Nothing
//! panics across the ABI: every entry catches panics and turns them into
//! `EDDYLINK_ERR_PANIC`. The validation and the timeouts are the coupler's own.
//! MPI communicators cross the ABI as Fortran integer handles (`MPI_Comm_c2f`), so the
//! library works with MPI libraries whose `MPI_Comm` is an int (MPICH) or a pointer (Open
//! MPI); it must be linked against the MPI the ocean uses. See docs/fortran.md.
//!
//! Module map: this file holds the entry points that set up and end the coupling (init,
//! partitions, fields, enddef, finalize, abort, error messages); `exchange` the typed put
//! and get (`_f64`, `_f32`, one generic body each); `args` what every entry does with its
//! arguments (panics caught, null pointers and shapes named); `handle` the [`Handle`]
//! behind the C pointer (partitions and fields over a [`coupler::Coupler`]); [`layout`]
//! column- and row-major arrays; [`error`] the codes and this thread's last message.

use std::ffi::{c_char, c_int};
use std::path::Path;

mod args;
pub mod error;
mod exchange;
mod handle;
pub mod layout;

use args::{entry, handle, text, write};
use error::CapiError;
pub use exchange::{eddylink_get_f32, eddylink_get_f64, eddylink_put_f32, eddylink_put_f64};
pub use handle::Handle;

/// The C name of a handle: `typedef struct eddylink_coupler eddylink_coupler;`.
pub type Coupler = Handle;

/// `eddylink_init_world`: [`eddylink_init`] over MPI_COMM_WORLD, initialising MPI if needed
/// (as `oasis_init_comp` does).
///
/// # Safety
/// Strings are NUL-terminated; `cpl` is valid for a write.
#[no_mangle]
pub unsafe extern "C" fn eddylink_init_world(
    component: *const c_char,
    experiment: *const c_char,
    cpl: *mut *mut Coupler,
) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { init("eddylink_init_world", component, experiment, None, cpl) }
}

/// `eddylink_init`: joins the coupled job as `component`, reading `[coupling]` from the
/// experiment file, over the communicator whose Fortran handle is `comm` (split into one
/// communicator per component). Collective over `comm`.
///
/// # Safety
/// Strings are NUL-terminated; `cpl` is valid for a write.
#[no_mangle]
pub unsafe extern "C" fn eddylink_init(
    component: *const c_char,
    experiment: *const c_char,
    comm: c_int,
    cpl: *mut *mut Coupler,
) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { init("eddylink_init", component, experiment, Some(comm), cpl) }
}

unsafe fn init(
    call: &'static str,
    component: *const c_char,
    experiment: *const c_char,
    comm: Option<c_int>,
    cpl: *mut *mut Coupler,
) -> c_int {
    entry(call, || {
        // SAFETY: the callers' contract.
        let (component, experiment) = unsafe {
            (
                text(call, "component", component)?,
                text(call, "experiment", experiment)?,
            )
        };
        if cpl.is_null() {
            return Err(CapiError::argument(call, "the handle pointer is null"));
        }
        let h = Handle::init(component, Path::new(experiment), comm)?;
        // SAFETY: checked non-null above; writable by contract.
        unsafe { cpl.write(Box::into_raw(Box::new(h))) };
        Ok(())
    })
}

/// The component's own communicator, as a Fortran handle (`MPI_Comm_f2c` gives the C one).
///
/// # Safety
/// `cpl` is a live handle; `comm` is valid for a write.
#[no_mangle]
pub unsafe extern "C" fn eddylink_get_localcomm(cpl: *mut Coupler, comm: *mut c_int) -> c_int {
    let call = "eddylink_get_localcomm";
    // SAFETY: the contract above.
    entry(call, || unsafe {
        write(call, "comm", comm, handle(call, cpl)?.local_comm())
    })
}

/// This process's rank in, and the size of, the communicator with Fortran handle `comm`
/// (for programs without MPI's Fortran bindings).
///
/// # Safety
/// `rank` and `size` are valid for writes.
#[no_mangle]
pub unsafe extern "C" fn eddylink_comm_rank_size(
    comm: c_int,
    rank: *mut c_int,
    size: *mut c_int,
) -> c_int {
    let call = "eddylink_comm_rank_size";
    entry(call, || {
        let (r, s) = handle::rank_and_size(comm)?;
        // SAFETY: the contract above.
        unsafe { write(call, "rank", rank, r).and_then(|()| write(call, "size", size, s)) }
    })
}

/// The global grid of `[coupling] grid = [nx, ny]`.
///
/// # Safety
/// `cpl` is a live handle; `nx`, `ny` are valid for writes.
#[no_mangle]
pub unsafe extern "C" fn eddylink_grid(cpl: *mut Coupler, nx: *mut c_int, ny: *mut c_int) -> c_int {
    let call = "eddylink_grid";
    entry(call, || {
        // SAFETY: the contract above.
        let (x, y) = unsafe { handle(call, cpl)? }.grid()?;
        unsafe {
            write(call, "nx", nx, x as c_int).and_then(|()| write(call, "ny", ny, y as c_int))
        }
    })
}

/// Declares this rank's box of the global grid: offsets `i0`, `j0` (0-based, as OASIS's box
/// partitions) and extents `ni`, `nj`, without halo. Gives a partition id.
///
/// # Safety
/// `cpl` is a live handle; `part_id` is valid for a write.
#[no_mangle]
pub unsafe extern "C" fn eddylink_def_partition(
    cpl: *mut Coupler,
    i0: c_int,
    j0: c_int,
    ni: c_int,
    nj: c_int,
    part_id: *mut c_int,
) -> c_int {
    let call = "eddylink_def_partition";
    entry(call, || {
        // SAFETY: the contract above.
        let id = unsafe { handle(call, cpl)? }.def_partition(i0, j0, ni, nj)?;
        unsafe { write(call, "part_id", part_id, id) }
    })
}

/// Declares the component's field `field` on partition `part_id`, with `levels` levels (0:
/// those of `[coupling]`); its grid point and halo come from `[coupling]`. Gives a var id.
///
/// # Safety
/// `cpl` is a live handle; `field` is NUL-terminated; `var_id` is valid for a write.
#[no_mangle]
pub unsafe extern "C" fn eddylink_def_var(
    cpl: *mut Coupler,
    field: *const c_char,
    part_id: c_int,
    levels: c_int,
    var_id: *mut c_int,
) -> c_int {
    let call = "eddylink_def_var";
    entry(call, || {
        // SAFETY: the contract above.
        let (h, field) = unsafe { (handle(call, cpl)?, text(call, "field", field)?) };
        let id = h.def_var(field, part_id, levels)?;
        unsafe { write(call, "var_id", var_id, id) }
    })
}

/// Declares every field `[coupling]` names for the component on partition `part_id`
/// (ids in the order of the file: see [`eddylink_var_id`]); `count` gets how many.
///
/// # Safety
/// `cpl` is a live handle; `count` is null or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn eddylink_def_all(
    cpl: *mut Coupler,
    part_id: c_int,
    count: *mut c_int,
) -> c_int {
    let call = "eddylink_def_all";
    entry(call, || {
        // SAFETY: the contract above.
        let n = unsafe { handle(call, cpl)? }.def_all(part_id)?;
        if !count.is_null() {
            unsafe { count.write(n) };
        }
        Ok(())
    })
}

/// The id of a declared field.
///
/// # Safety
/// `cpl` is a live handle; `field` is NUL-terminated; `var_id` is valid for a write.
#[no_mangle]
pub unsafe extern "C" fn eddylink_var_id(
    cpl: *mut Coupler,
    field: *const c_char,
    var_id: *mut c_int,
) -> c_int {
    let call = "eddylink_var_id";
    entry(call, || {
        // SAFETY: the contract above.
        let (h, field) = unsafe { (handle(call, cpl)?, text(call, "field", field)?) };
        let id = h.var_id(field)?;
        unsafe { write(call, "var_id", var_id, id) }
    })
}

/// Ends the definitions: collective over every rank of every component (boxes, levels and
/// grid points are checked against each other and `[coupling]`).
///
/// # Safety
/// `cpl` is a live handle.
#[no_mangle]
pub unsafe extern "C" fn eddylink_enddef(cpl: *mut Coupler) -> c_int {
    let call = "eddylink_enddef";
    // SAFETY: the contract above.
    entry(call, || unsafe { handle(call, cpl)? }.enddef())
}

/// The extents (i, j, level) of the array a get of `var_id` fills, halo included, and the
/// halo.
///
/// # Safety
/// `cpl` is a live handle; the outputs are valid for writes.
#[no_mangle]
pub unsafe extern "C" fn eddylink_recv_shape(
    cpl: *mut Coupler,
    var_id: c_int,
    ni: *mut c_int,
    nj: *mut c_int,
    levels: *mut c_int,
    halo: *mut c_int,
) -> c_int {
    let call = "eddylink_recv_shape";
    entry(call, || {
        // SAFETY: the contract above.
        let (s, h) = unsafe { handle(call, cpl)? }.recv_shape(var_id)?;
        unsafe {
            write(call, "ni", ni, s.ni as c_int)?;
            write(call, "nj", nj, s.nj as c_int)?;
            write(call, "levels", levels, s.levels as c_int)?;
            write(call, "halo", halo, h as c_int)
        }
    })
}

/// Ends the coupling (collective over every component), frees the handle and sets `*cpl`
/// to null, and finalises MPI if `eddylink_init` initialised it. On error the handle is
/// kept: end the job with [`eddylink_abort`].
///
/// # Safety
/// `cpl` points to a live handle (or null).
#[no_mangle]
pub unsafe extern "C" fn eddylink_finalize(cpl: *mut *mut Coupler) -> c_int {
    let call = "eddylink_finalize";
    entry(call, || {
        // SAFETY: the contract above.
        let slot = unsafe { cpl.as_mut() }
            .ok_or_else(|| CapiError::argument(call, "the handle pointer is null"))?;
        unsafe { handle(call, *slot)? }.finalize()?;
        // SAFETY: a live handle from Box::into_raw, not used again: the slot is cleared.
        drop(unsafe { Box::from_raw(*slot) });
        *slot = std::ptr::null_mut();
        handle::end_mpi();
        Ok(())
    })
}

/// Ends the whole MPI job after an error this rank cannot recover from, first telling
/// every rank of the other components `reason` (their waiting get fails with it). Does
/// not return. With a null handle, aborts MPI_COMM_WORLD.
///
/// # Safety
/// `cpl` is a live handle or null; `reason` is NUL-terminated or null.
#[no_mangle]
pub unsafe extern "C" fn eddylink_abort(cpl: *mut Coupler, reason: *const c_char) -> c_int {
    // SAFETY: the contract above.
    let reason = unsafe { text("eddylink_abort", "reason", reason) }
        .unwrap_or("(no reason given)")
        .to_string();
    if cpl.is_null() {
        handle::abort_without_handle(&reason);
    }
    // SAFETY: a live handle from Box::into_raw, never used again: abort does not return.
    let h = unsafe { Box::from_raw(cpl) };
    h.abort(&reason)
}

/// Copies the message of this thread's last error into `buf` (`len` bytes, NUL-terminated,
/// cut to fit) and returns its full length without the NUL.
///
/// # Safety
/// `buf` is null (with `len` 0) or valid for `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn eddylink_error_message(buf: *mut c_char, len: usize) -> usize {
    let mut none = [];
    let buf = if buf.is_null() || len == 0 {
        &mut none[..]
    } else {
        // SAFETY: the contract above.
        unsafe { std::slice::from_raw_parts_mut(buf.cast::<u8>(), len) }
    };
    error::copy_last(buf)
}

/// The message of this thread's last error, valid until its next failing call.
#[no_mangle]
pub extern "C" fn eddylink_last_error() -> *const c_char {
    error::last_ptr()
}

#[cfg(test)]
mod tests {
    use std::ffi::CStr;

    use super::*;

    fn last() -> String {
        // SAFETY: the library's own NUL-terminated string.
        unsafe { CStr::from_ptr(eddylink_last_error()) }
            .to_string_lossy()
            .into_owned()
    }

    #[test]
    fn a_panic_inside_a_call_becomes_a_code_and_a_message() {
        let rc = entry("eddylink_test", || panic!("index 7 out of range"));
        assert_eq!(rc, error::ERR_PANIC);
        assert_eq!(
            last(),
            "eddylink_test: panicked inside the eddylink library: index 7 out of range"
        );
    }

    #[test]
    fn a_null_handle_is_an_argument_error_naming_the_call() {
        let mut comm = 0;
        // SAFETY: a null handle is what is tested; `comm` is a live out-pointer.
        let rc = unsafe { eddylink_get_localcomm(std::ptr::null_mut(), &mut comm) };
        assert_eq!(rc, error::ERR_ARGUMENT);
        assert!(last().starts_with("eddylink_get_localcomm: the coupler handle is null"));
        // SAFETY: as above, with null out-pointers that must not be written.
        let rc = unsafe { eddylink_enddef(std::ptr::null_mut()) };
        assert_eq!(rc, error::ERR_ARGUMENT);
        assert!(last().starts_with("eddylink_enddef:"), "{}", last());
    }

    #[test]
    fn the_message_is_cut_to_the_buffer_and_its_full_length_returned() {
        entry("eddylink_test", || {
            Err(CapiError::argument("eddylink_test", "0123456789"))
        });
        let mut buf = [b'x' as c_char; 8];
        // SAFETY: `buf` holds 8 bytes.
        let n = unsafe { eddylink_error_message(buf.as_mut_ptr(), buf.len()) };
        assert_eq!(n, "eddylink_test: 0123456789".len());
        // SAFETY: the call NUL-terminated it within the 8 bytes.
        let cut = unsafe { CStr::from_ptr(buf.as_ptr()) };
        assert_eq!(cut.to_str(), Ok("eddylin")); // 7 bytes and the NUL
                                                 // SAFETY: a null buffer of length 0 only asks for the length.
        assert_eq!(
            unsafe { eddylink_error_message(std::ptr::null_mut(), 0) },
            n
        );
    }
}
