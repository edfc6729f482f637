//! Non-blocking MPI with deadlines: the only place the coupler calls MPI's C API directly.
//!
//! rsmpi's safe non-blocking calls tie a buffer's lifetime to a scope, but the coupler keeps
//! sends in flight across `put` calls and receives posted across `get` calls. Here the
//! coupler owns those buffers in structs that outlive the requests; every wait polls with a
//! deadline, so a peer that never answers becomes an error, never a hang.

use std::os::raw::c_int;
use std::time::{Duration, Instant};

use mpi::datatype::Equivalence;
use mpi::ffi;
use mpi::raw::AsRaw;
use mpi::topology::SimpleCommunicator;

/// An MPI request in flight. The buffer it reads or writes must stay alive and unmoved
/// (a `Vec`'s heap storage does not move with the `Vec`) until it is complete.
#[derive(Debug)]
pub(crate) struct Request(ffi::MPI_Request);

// Requests are plain handles; the coupler is used from one thread.
unsafe impl Send for Request {}

impl Request {
    /// Whether the operation has completed (after which the request is spent).
    pub fn test(&mut self) -> bool {
        let mut flag: c_int = 0;
        // SAFETY: `self.0` is a live request or MPI_REQUEST_NULL (test on a null request
        // reports completion).
        unsafe { ffi::MPI_Test(&mut self.0, &mut flag, ffi::RSMPI_STATUS_IGNORE) };
        flag != 0
    }

    /// Cancels a posted receive that no send will match, and completes it.
    pub fn cancel(mut self) {
        // SAFETY: cancel then wait is the standard way to retire an unmatched receive.
        unsafe {
            ffi::MPI_Cancel(&mut self.0);
            ffi::MPI_Wait(&mut self.0, ffi::RSMPI_STATUS_IGNORE);
        }
    }
}

/// Posts a send of `buf` to `dest` (rank in `comm`).
///
/// # Safety
/// `buf` must not be freed, moved or written until the returned request has completed.
pub(crate) unsafe fn isend<T: Equivalence>(
    buf: &[T],
    dest: i32,
    tag: i32,
    comm: &SimpleCommunicator,
) -> Request {
    let mut req = ffi::RSMPI_REQUEST_NULL;
    ffi::MPI_Isend(
        buf.as_ptr().cast(),
        buf.len() as c_int,
        T::equivalent_datatype().as_raw(),
        dest,
        tag,
        comm.as_raw(),
        &mut req,
    );
    Request(req)
}

/// Posts a receive into `buf` from `src` (rank in `comm`).
///
/// # Safety
/// `buf` must not be freed, moved, read or written until the returned request has completed.
pub(crate) unsafe fn irecv<T: Equivalence>(
    buf: &mut [T],
    src: i32,
    tag: i32,
    comm: &SimpleCommunicator,
) -> Request {
    let mut req = ffi::RSMPI_REQUEST_NULL;
    ffi::MPI_Irecv(
        buf.as_mut_ptr().cast(),
        buf.len() as c_int,
        T::equivalent_datatype().as_raw(),
        src,
        tag,
        comm.as_raw(),
        &mut req,
    );
    Request(req)
}

/// An MPI datatype that scatters a message's f32 values into blocks of a larger array, so a
/// receive can land directly in the caller's array (halo offsets and level stride included)
/// without an intermediate buffer.
#[derive(Debug)]
pub(crate) struct Scatter(ffi::MPI_Datatype);

impl Scatter {
    /// `blocks` are (offset, length) in f32 elements, in message order; adjacent blocks merge.
    pub fn new(blocks: impl IntoIterator<Item = (usize, usize)>) -> Scatter {
        let mut merged: Vec<(usize, usize)> = Vec::new();
        for (offset, len) in blocks {
            match merged.last_mut() {
                Some(last) if last.0 + last.1 == offset => last.1 += len,
                _ => merged.push((offset, len)),
            }
        }
        let lens: Vec<c_int> = merged.iter().map(|b| b.1 as c_int).collect();
        let offsets: Vec<c_int> = merged.iter().map(|b| b.0 as c_int).collect();
        // SAFETY: the arrays hold `merged.len()` entries; the new type is committed before use
        // and freed in Drop.
        unsafe {
            let mut dt = ffi::RSMPI_DATATYPE_NULL;
            ffi::MPI_Type_indexed(
                merged.len() as c_int,
                lens.as_ptr(),
                offsets.as_ptr(),
                f32::equivalent_datatype().as_raw(),
                &mut dt,
            );
            ffi::MPI_Type_commit(&mut dt);
            Scatter(dt)
        }
    }
}

impl Drop for Scatter {
    fn drop(&mut self) {
        // SAFETY: a committed datatype that no pending operation uses any more.
        unsafe { ffi::MPI_Type_free(&mut self.0) };
    }
}

/// Posts a receive of one `scatter` element at `base`.
///
/// # Safety
/// Every block of `scatter` must lie inside the array at `base`, which must not be freed,
/// moved, read or written until the request has completed or been cancelled.
pub(crate) unsafe fn irecv_scatter(
    base: *mut f32,
    scatter: &Scatter,
    src: i32,
    tag: i32,
    comm: &SimpleCommunicator,
) -> Request {
    let mut req = ffi::RSMPI_REQUEST_NULL;
    ffi::MPI_Irecv(base.cast(), 1, scatter.0, src, tag, comm.as_raw(), &mut req);
    Request(req)
}

/// Posts a send of one `gather` element at `base` (the scatter type used the other way:
/// its blocks are read from the caller's array in message order).
///
/// # Safety
/// Every block of `gather` must lie inside the array at `base`, which must not be freed,
/// moved or written until the request has completed.
pub(crate) unsafe fn isend_gather(
    base: *const f32,
    gather: &Scatter,
    dest: i32,
    tag: i32,
    comm: &SimpleCommunicator,
) -> Request {
    let mut req = ffi::RSMPI_REQUEST_NULL;
    ffi::MPI_Isend(base.cast(), 1, gather.0, dest, tag, comm.as_raw(), &mut req);
    Request(req)
}

/// Starts an all-gather of `send` (the same length on every rank) into `recv`.
///
/// # Safety
/// Both buffers must stay alive and unmoved until the request completes.
pub(crate) unsafe fn iallgather<T: Equivalence>(
    send: &[T],
    recv: &mut [T],
    comm: &SimpleCommunicator,
) -> Request {
    let mut req = ffi::RSMPI_REQUEST_NULL;
    let dt = T::equivalent_datatype().as_raw();
    ffi::MPI_Iallgather(
        send.as_ptr().cast(),
        send.len() as c_int,
        dt,
        recv.as_mut_ptr().cast(),
        send.len() as c_int,
        dt,
        comm.as_raw(),
        &mut req,
    );
    Request(req)
}

/// All-gathers `send` from every rank of `comm`, waiting at most until `deadline`.
pub(crate) fn allgather<T: Equivalence + Copy + Default>(
    send: &[T],
    comm: &SimpleCommunicator,
    deadline: Instant,
) -> Result<Vec<T>, Duration> {
    use mpi::traits::Communicator;
    let mut recv = vec![T::default(); send.len() * comm.size() as usize];
    // SAFETY: both buffers live on this frame until the wait below has completed the
    // request; on timeout the job is aborted by the caller before they are dropped... and
    // to be safe even if it is not, the receive buffer is leaked rather than freed.
    let mut req = unsafe { iallgather(send, &mut recv, comm) };
    match wait_all(std::slice::from_mut(&mut req), deadline) {
        Ok(()) => Ok(recv),
        Err(waited) => {
            std::mem::forget(recv);
            Err(waited)
        }
    }
}

/// Waits for every request until `deadline`; on time-out returns how long it waited.
///
/// MPI moves large messages in chunks that advance only while a rank is inside MPI, so the
/// wait keeps testing — yielding the core between tests, since ranks are often
/// oversubscribed — for the first `BUSY_POLL`; only a wait longer than that (a peer busy
/// with a long computation) backs off to short sleeps.
pub(crate) fn wait_all(reqs: &mut [Request], deadline: Instant) -> Result<(), Duration> {
    wait_all_unless(reqs, deadline, &mut || false).map_err(|stop| match stop {
        Stop::TimedOut(waited) | Stop::Interrupted(waited) => waited,
    })
}

/// How a rank waits for messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Polling {
    /// Test without pause for the first 200 ms: the lowest latency, for a rank that has a
    /// core to itself.
    Busy,
    /// Test every ~50 µs, sleeping between tests: a rank that shares its core with
    /// another (more ranks than cores on a node) leaves the core to it while it waits.
    Sleep,
}

static POLLING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Sets how every wait of this process polls.
pub(crate) fn set_polling(p: Polling) {
    POLLING.store(p == Polling::Sleep, std::sync::atomic::Ordering::Relaxed);
}

fn polling() -> Polling {
    if POLLING.load(std::sync::atomic::Ordering::Relaxed) {
        Polling::Sleep
    } else {
        Polling::Busy
    }
}

/// Why [`wait_all_unless`] gave up.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Stop {
    /// The deadline passed, after waiting this long.
    TimedOut(Duration),
    /// `interrupt` said to stop, after waiting this long.
    Interrupted(Duration),
}

/// [`wait_all`] that also gives up as soon as `interrupt()` returns true (checked between
/// tests: a notice that a peer has failed).
pub(crate) fn wait_all_unless(
    reqs: &mut [Request],
    deadline: Instant,
    interrupt: &mut dyn FnMut() -> bool,
) -> Result<(), Stop> {
    let busy_poll = match polling() {
        Polling::Busy => Duration::from_millis(200),
        Polling::Sleep => Duration::ZERO,
    };
    let start = Instant::now();
    loop {
        if reqs.iter_mut().all(Request::test) {
            return Ok(());
        }
        let now = Instant::now();
        if interrupt() {
            return Err(Stop::Interrupted(now - start));
        }
        if now >= deadline {
            return Err(Stop::TimedOut(now - start));
        }
        if now - start < busy_poll {
            std::thread::yield_now();
        } else {
            std::thread::sleep(Duration::from_micros(50));
        }
    }
}

/// Whether a message from `src` with `tag` is waiting on `comm` (it stays there).
pub(crate) fn probe(src: i32, tag: i32, comm: &SimpleCommunicator) -> bool {
    let mut flag: c_int = 0;
    // SAFETY: a non-blocking probe that only reads the communicator's queue.
    unsafe {
        ffi::MPI_Iprobe(src, tag, comm.as_raw(), &mut flag, ffi::RSMPI_STATUS_IGNORE);
    }
    flag != 0
}

/// MPI_ANY_SOURCE, for a receive from whichever rank sends first.
pub(crate) fn any_source() -> i32 {
    // SAFETY: a constant the MPI library defines.
    unsafe { ffi::RSMPI_ANY_SOURCE }
}

/// Ends the whole MPI job with `code`: the last resort that keeps a batch job from hanging.
pub(crate) fn abort(code: i32) -> ! {
    // The launcher forwards this rank's last words (the reason, printed just before) only
    // while the job is alive: give it a moment before the abort tears everything down.
    std::thread::sleep(Duration::from_millis(500));
    // SAFETY: MPI_Abort on the world communicator is valid at any point after MPI_Init.
    unsafe { ffi::MPI_Abort(ffi::RSMPI_COMM_WORLD, code) };
    std::process::exit(code)
}
