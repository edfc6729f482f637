//! The typed exchanges `eddylink_put_{f64,f32}` and `eddylink_get_{f64,f32}`: one generic
//! body each, and one macro that gives it its C names and signatures per element type.

use std::ffi::c_int;

use crate::args::{entry, handle, shape_of};
use crate::error::CapiError;
use crate::handle::Value;
use crate::Coupler;

#[allow(clippy::too_many_arguments)] // the C signature
unsafe fn put<T: Value>(
    call: &'static str,
    cpl: *mut Coupler,
    var_id: c_int,
    time: f64,
    data: *const T,
    ni: c_int,
    nj: c_int,
    levels: c_int,
    layout: c_int,
) -> c_int {
    entry(call, || {
        let (shape, layout) = shape_of(call, ni, nj, levels, layout)?;
        if data.is_null() {
            return Err(CapiError::argument(call, "data is a null pointer"));
        }
        // SAFETY: `data` holds ni × nj × levels values, by the caller's contract.
        let data = unsafe { std::slice::from_raw_parts(data, shape.values()) };
        unsafe { handle(call, cpl)? }.put(var_id, time, data, shape, layout)
    })
}

#[allow(clippy::too_many_arguments)] // the C signature
unsafe fn get<T: Value>(
    call: &'static str,
    cpl: *mut Coupler,
    var_id: c_int,
    time: f64,
    out: *mut T,
    ni: c_int,
    nj: c_int,
    levels: c_int,
    layout: c_int,
    received: *mut c_int,
) -> c_int {
    entry(call, || {
        let (shape, layout) = shape_of(call, ni, nj, levels, layout)?;
        if out.is_null() {
            return Err(CapiError::argument(call, "data is a null pointer"));
        }
        // SAFETY: `out` holds ni × nj × levels writable values, by the caller's contract.
        let out = unsafe { std::slice::from_raw_parts_mut(out, shape.values()) };
        let got = unsafe { handle(call, cpl)? }.get(var_id, time, out, shape, layout)?;
        if !received.is_null() {
            unsafe { received.write(got as c_int) };
        }
        Ok(())
    })
}

/// The C entry points of one element type `$t` (`$c`: its C name).
macro_rules! typed_exchange {
    ($t:ty, $c:literal, $put:ident, $get:ident) => {
        #[doc = concat!(
            "Puts this rank's box of `var_id` at model time `time` (s): `data` holds `ni × nj × \
             levels` values of type `", $c, "` in `layout`. Sends at coupling times and returns \
             without waiting for the receiver; off coupling times it folds the values into the \
             period's time operation.\n\n# Safety\n`cpl` is a live handle; `data` holds \
             `ni * nj * levels` values."
        )]
        #[no_mangle]
        #[allow(clippy::too_many_arguments)] // the C signature
        pub unsafe extern "C" fn $put(
            cpl: *mut Coupler,
            var_id: c_int,
            time: f64,
            data: *const $t,
            ni: c_int,
            nj: c_int,
            levels: c_int,
            layout: c_int,
        ) -> c_int {
            // SAFETY: forwarded contract.
            unsafe { put(stringify!($put), cpl, var_id, time, data, ni, nj, levels, layout) }
        }

        #[doc = concat!(
            "Gets this rank's box of `var_id`, grown by the halo, at model time `time` into \
             `data` (`ni × nj × levels` values of type `", $c, "`, see \
             [`crate::eddylink_recv_shape`]). Blocks until the data is in, at most `[coupling] \
             timeout`; `*received` (if not null) is 0, `data` untouched, when `time` is not a \
             coupling time of the field.\n\n# Safety\n`cpl` is a live handle; `data` holds \
             `ni * nj * levels` writable values; `received` is null or valid for a write."
        )]
        #[no_mangle]
        #[allow(clippy::too_many_arguments)] // the C signature
        pub unsafe extern "C" fn $get(
            cpl: *mut Coupler,
            var_id: c_int,
            time: f64,
            data: *mut $t,
            ni: c_int,
            nj: c_int,
            levels: c_int,
            layout: c_int,
            received: *mut c_int,
        ) -> c_int {
            // SAFETY: forwarded contract.
            unsafe {
                get(stringify!($get), cpl, var_id, time, data, ni, nj, levels, layout, received)
            }
        }
    };
}

typed_exchange!(f64, "double", eddylink_put_f64, eddylink_get_f64);
typed_exchange!(f32, "float", eddylink_put_f32, eddylink_get_f32);
