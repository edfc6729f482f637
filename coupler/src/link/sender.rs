//! The sending side of an exchange on one rank: folds puts into the period's time
//! operation and, at coupling times, packs this rank's pieces into one message per
//! destination rank, sent chunk by chunk with a few messages kept in flight.

use std::collections::VecDeque;
use std::time::Instant;

use mpi::topology::SimpleCommunicator;

use super::{chunk_datatypes, Clock, Layout, CHUNK_VALUES};
use crate::config::{Exchange, Period, TimeOp};
use crate::routes::{Piece, Region};
use crate::timeops::Accumulator;
use crate::transport::{self, Request};
use crate::wire::Element;

/// Sends kept in flight per destination before a put waits for the oldest.
const MAX_IN_FLIGHT: usize = 4;

/// One destination rank's message from this rank.
#[derive(Debug)]
struct Outgoing {
    peer: i32,
    pieces: Vec<Piece>,
    len: usize,
    /// Buffers whose chunks are still being sent, oldest first.
    in_flight: VecDeque<(Vec<Request>, Vec<f32>)>,
    spare: Vec<Vec<f32>>,
}

/// The sending side of an exchange on one rank.
#[derive(Debug)]
pub(crate) struct Sender {
    pub clock: Clock,
    my_box: Region,
    levels: usize,
    accumulator: Option<Accumulator>,
    outgoing: Vec<Outgoing>,
    static_sent: bool,
    /// Datatypes reading each outgoing message's chunks straight from an array of the
    /// cached level stride ([`Sender::put_direct`]).
    gathers: Option<(usize, Vec<Vec<transport::Scatter>>)>,
    /// The message to this rank itself, when both ends are here ([`Sender::keep_local`]):
    /// packed but kept, by coupling time, for the receiver to take instead of an MPI
    /// message to itself.
    local: Option<Local>,
}

/// The packed messages a rank sends itself, oldest first with their tags, and spare buffers.
#[derive(Debug)]
struct Local {
    peer: i32,
    queue: VecDeque<(i32, Vec<f32>)>,
    spare: Vec<Vec<f32>>,
}

impl Sender {
    /// `pieces` are this rank's pieces of the exchange; `peer_rank(d)` maps a destination's
    /// rank within its component to its rank in the exchange's communicator.
    pub fn new(
        ex: &Exchange,
        clock: Clock,
        my_box: Region,
        pieces: Vec<Piece>,
        peer_rank: impl Fn(usize) -> i32,
    ) -> Self {
        let mut outgoing: Vec<Outgoing> = Vec::new();
        for p in pieces {
            let peer = peer_rank(p.dst);
            match outgoing.iter_mut().find(|o| o.peer == peer) {
                Some(o) => o.pieces.push(p),
                None => outgoing.push(Outgoing {
                    peer,
                    pieces: vec![p],
                    len: 0,
                    in_flight: VecDeque::new(),
                    spare: Vec::new(),
                }),
            }
        }
        for o in &mut outgoing {
            o.len = ex.levels * o.pieces.iter().map(|p| p.cells.cells()).sum::<usize>();
        }
        let accumulator = (ex.op != TimeOp::Instant && ex.period != Period::Static)
            .then(|| Accumulator::new(ex.op, ex.levels * my_box.cells()));
        Sender {
            clock,
            my_box,
            levels: ex.levels,
            accumulator,
            outgoing,
            static_sent: false,
            gathers: None,
            local: None,
        }
    }

    /// Keeps the message to `me` (this rank, in the exchange's communicator) for
    /// [`Sender::take_local`] instead of sending it. Only [`Sender::put`] honours it.
    pub fn keep_local(&mut self, me: i32) {
        self.local = Some(Local {
            peer: me,
            queue: VecDeque::new(),
            spare: Vec::new(),
        });
    }

    /// The packed message to this rank itself with `tag` (the MPI message's tag: its
    /// coupling time), if one was put.
    pub fn take_local(&mut self, tag: i32) -> Option<Vec<f32>> {
        let local = self.local.as_mut()?;
        let at = local.queue.iter().position(|(t, _)| *t == tag)?;
        local.queue.remove(at).map(|(_, buf)| buf)
    }

    /// A buffer handed back by the receiver, to pack a later message into.
    pub fn give_back_local(&mut self, buf: Vec<f32>) {
        if let Some(local) = &mut self.local {
            local.spare.push(buf);
        }
    }

    /// The coupling time that a put at `t` sends for: `None` off coupling times and once a
    /// static field has gone.
    fn label(&self, t: f64) -> Option<f64> {
        match self.clock.period {
            Period::Static => (!self.static_sent).then_some(0.0),
            Period::Every(_) => self.clock.send_label(t),
        }
    }

    /// Whether [`Sender::put_direct`] can send this exchange (no time operation to apply).
    pub fn can_put_direct(&self) -> bool {
        self.accumulator.is_none()
    }

    /// Sends this rank's pieces of `data` straight from the caller's array, in the same
    /// chunks as `put` (so the receiver cannot tell), and waits until every chunk has been
    /// taken: no copy, no overlap. Returns the bytes sent, `None` off coupling times.
    pub fn put_direct(
        &mut self,
        t: f64,
        data: &[f32],
        level_stride: usize,
        comm: &SimpleCommunicator,
        deadline: Instant,
    ) -> Result<Option<u64>, std::time::Duration> {
        let Some(label) = self.label(t) else {
            return Ok(None);
        };
        self.flush(deadline)?;
        if self.gathers.as_ref().map(|g| g.0) != Some(level_stride) {
            let (my_box, levels) = (self.my_box, self.levels);
            let types = self
                .outgoing
                .iter()
                .map(|o| {
                    let rects = o.pieces.iter().map(|p| {
                        let at = (p.cells.i0 - my_box.i0, p.cells.j0 - my_box.j0);
                        (at, (p.cells.ni, p.cells.nj))
                    });
                    chunk_datatypes(rects, levels, level_stride, my_box.ni)
                })
                .collect();
            self.gathers = Some((level_stride, types));
        }
        let tag = self.clock.tag(label);
        let Some((_, types)) = &self.gathers else {
            return Ok(None);
        };
        let mut reqs = Vec::new();
        for (o, chunks) in self.outgoing.iter().zip(types) {
            for gather in chunks {
                // SAFETY: the caller checked that `data` holds the whole layout, which
                // covers every block; the wait below completes every request before `data`
                // is handed back (on a timeout the coupler ends the job).
                reqs.push(unsafe {
                    transport::isend_gather(data.as_ptr(), gather, o.peer, tag, comm)
                });
            }
        }
        transport::wait_all(&mut reqs, deadline)?;
        self.static_sent = true;
        Ok(Some(self.outgoing.iter().map(|o| 4 * o.len as u64).sum()))
    }

    pub fn layout(&self, level_stride: usize) -> Layout {
        Layout {
            levels: self.levels,
            width: self.my_box.ni,
            height: self.my_box.nj,
            level_stride,
        }
    }

    /// Folds a put into the period and sends if `t` is a coupling time; returns the bytes
    /// posted. Waits (until `deadline`) only when too many earlier sends are still in flight.
    pub fn put<T: Element>(
        &mut self,
        t: f64,
        data: &[T],
        level_stride: usize,
        comm: &SimpleCommunicator,
        deadline: Instant,
    ) -> Result<Option<u64>, std::time::Duration> {
        if let (Period::Every(_), Some(acc)) = (self.clock.period, &mut self.accumulator) {
            let cells = self.my_box.cells();
            acc.add(|k| data[(k / cells) * level_stride + k % cells].to_f64());
        }
        let Some(label) = self.label(t) else {
            return Ok(None);
        };
        let tag = self.clock.tag(label);
        let Sender {
            my_box,
            levels,
            accumulator,
            outgoing,
            local,
            ..
        } = self;
        let period_result: Option<&[f64]> = accumulator.as_mut().map(Accumulator::take);
        let mut bytes = 0;
        for o in outgoing.iter_mut() {
            if let Some(local) = local.as_mut().filter(|l| l.peer == o.peer) {
                let mut buf = local.spare.pop().unwrap_or_default();
                buf.clear();
                buf.reserve(o.len);
                let mut keep = |_: &Vec<f32>, _: bool| {};
                match period_result {
                    Some(values) => {
                        let cells = my_box.cells();
                        pack(
                            &o.pieces, *my_box, *levels, cells, values, &mut buf, &mut keep,
                        )
                    }
                    None => pack(
                        &o.pieces,
                        *my_box,
                        *levels,
                        level_stride,
                        data,
                        &mut buf,
                        &mut keep,
                    ),
                }
                debug_assert_eq!(buf.len(), o.len);
                local.queue.push_back((tag, buf));
                continue;
            }
            let mut buf = o.take_buffer(deadline)?;
            let peer = o.peer;
            let mut reqs = Vec::with_capacity(o.len.div_ceil(CHUNK_VALUES));
            let mut sent = 0;
            // Sends every complete chunk packed so far (and the rest when `last`).
            let mut send_packed = |buf: &Vec<f32>, last: bool| {
                while buf.len() - sent >= CHUNK_VALUES || (last && buf.len() > sent) {
                    let end = (sent + CHUNK_VALUES).min(buf.len());
                    // SAFETY: `buf` has capacity for the whole message (take_buffer), so
                    // packing further never moves it; the sent part is not written again,
                    // and the buffer is kept in `in_flight` until every chunk has completed.
                    reqs.push(unsafe { transport::isend(&buf[sent..end], peer, tag, comm) });
                    sent = end;
                }
            };
            match period_result {
                Some(values) => pack(
                    &o.pieces,
                    *my_box,
                    *levels,
                    my_box.cells(),
                    values,
                    &mut buf,
                    &mut send_packed,
                ),
                None => pack(
                    &o.pieces,
                    *my_box,
                    *levels,
                    level_stride,
                    data,
                    &mut buf,
                    &mut send_packed,
                ),
            }
            send_packed(&buf, true);
            debug_assert_eq!(buf.len(), o.len);
            bytes += 4 * buf.len() as u64;
            o.in_flight.push_back((reqs, buf));
        }
        self.static_sent = true;
        Ok(Some(bytes))
    }

    /// Tests the sends in flight, which lets MPI move them on.
    pub fn progress(&mut self) {
        for o in &mut self.outgoing {
            for (reqs, _) in &mut o.in_flight {
                for r in reqs.iter_mut() {
                    r.test();
                }
            }
        }
    }

    /// Waits until every send has completed (or `deadline`).
    pub fn flush(&mut self, deadline: Instant) -> Result<(), std::time::Duration> {
        self.flush_unless(deadline, &mut || false)
            .map_err(|stop| match stop {
                transport::Stop::TimedOut(waited) | transport::Stop::Interrupted(waited) => waited,
            })
    }

    /// [`Sender::flush`] that gives up as soon as `interrupt()` says so (a peer's notice).
    pub fn flush_unless(
        &mut self,
        deadline: Instant,
        interrupt: &mut dyn FnMut() -> bool,
    ) -> Result<(), transport::Stop> {
        for o in &mut self.outgoing {
            let mut reqs: Vec<Request> = o
                .in_flight
                .drain(..)
                .flat_map(|(r, b)| {
                    o.spare.push(b);
                    r
                })
                .collect();
            transport::wait_all_unless(&mut reqs, deadline, interrupt)?;
        }
        Ok(())
    }
}

impl Outgoing {
    /// A buffer free to fill: a spare one, a completed one, a new one while few are in
    /// flight, or else the oldest once its send completes.
    fn take_buffer(&mut self, deadline: Instant) -> Result<Vec<f32>, std::time::Duration> {
        while let Some((reqs, _)) = self.in_flight.front_mut() {
            if !reqs.iter_mut().all(Request::test) {
                break;
            }
            if let Some((_, buf)) = self.in_flight.pop_front() {
                self.spare.push(buf);
            }
        }
        let mut buf = match self.spare.pop() {
            Some(buf) => buf,
            None if self.in_flight.len() < MAX_IN_FLIGHT => Vec::with_capacity(self.len),
            None => {
                let (mut reqs, buf) = self.in_flight.pop_front().expect("in flight is full");
                transport::wait_all(&mut reqs, deadline)?;
                buf
            }
        };
        buf.clear();
        buf.reserve(self.len); // packing must never reallocate under chunks in flight
        Ok(buf)
    }
}

/// Appends this rank's values of `pieces` to `out`: piece by piece, level by level, row by
/// row, calling `packed(out, false)` after each row so that full chunks can leave at once.
fn pack<T: Element>(
    pieces: &[Piece],
    my_box: Region,
    levels: usize,
    level_stride: usize,
    data: &[T],
    out: &mut Vec<f32>,
    packed: &mut impl FnMut(&Vec<f32>, bool),
) {
    for p in pieces {
        let (i, j) = (p.cells.i0 - my_box.i0, p.cells.j0 - my_box.j0);
        let full_rows = p.cells.ni == my_box.ni;
        for level in 0..levels {
            if full_rows {
                // The piece's rows are contiguous in `data`: copy them in chunk-sized parts,
                // so each chunk can leave while the next is copied.
                let start = level * level_stride + j * my_box.ni;
                for part in data[start..start + p.cells.cells()].chunks(CHUNK_VALUES) {
                    T::extend_wire(out, part);
                    packed(out, false);
                }
                continue;
            }
            for row in 0..p.cells.nj {
                let start = level * level_stride + (j + row) * my_box.ni + i;
                T::extend_wire(out, &data[start..start + p.cells.ni]);
                packed(out, false);
            }
        }
    }
}
