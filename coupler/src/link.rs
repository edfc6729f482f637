//! One exchange as seen by one rank: the sending side packs its pieces into one message
//! per destination rank; the receiving side keeps receives posted for the next coupling
//! time and unpacks them, halo and zero fill included, into the caller's array.

use std::collections::VecDeque;
use std::time::Instant;

use mpi::topology::SimpleCommunicator;

use crate::config::{is_multiple, Exchange, Period, TimeOp};
use crate::routes::{Piece, Region, ZeroFill};
use crate::timeops::{Accumulator, Element};
use crate::transport::{self, Request};

/// Sends kept in flight per destination before a put waits for the oldest.
const MAX_IN_FLIGHT: usize = 4;
/// Message tags cycle through this many values (far below any MPI_TAG_UB).
const TAG_CYCLE: u64 = 30_000;
/// Messages to a rank of at least this many values are received straight into the caller's
/// array (posted in `get`) instead of through a buffer posted in advance: it saves a copy of
/// large fields, while small ones keep the lower latency of a receive posted early.
const DIRECT_MIN_VALUES: usize = 1 << 16;
/// A message goes out in chunks of this many values, each sent as soon as it is packed, so
/// the receiver copies one chunk while the sender packs the next.
const CHUNK_VALUES: usize = 1 << 16;

/// Splits a message's (offset, length) blocks into chunks of `chunk` values each (the last
/// may be shorter), cutting blocks that straddle a chunk boundary.
fn chunked_blocks(
    blocks: impl IntoIterator<Item = (usize, usize)>,
    chunk: usize,
) -> Vec<Vec<(usize, usize)>> {
    let mut chunks = vec![Vec::new()];
    let mut room = chunk;
    for (mut offset, mut len) in blocks {
        while len > 0 {
            if room == 0 {
                chunks.push(Vec::new());
                room = chunk;
            }
            let take = len.min(room);
            chunks
                .last_mut()
                .expect("one chunk at least")
                .push((offset, take));
            offset += take;
            len -= take;
            room -= take;
        }
    }
    chunks
}

/// The time axis of an exchange: which model times move data, and their message tags.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Clock {
    pub period: Period,
    pub lag_s: f64,
    pub run_s: f64,
    /// Model time the run starts at (0, or the time of the restart).
    pub start_s: f64,
}

impl Clock {
    pub fn of(ex: &Exchange, run_s: f64, start_s: f64) -> Self {
        Clock {
            period: ex.period,
            lag_s: ex.lag_s,
            run_s,
            start_s,
        }
    }

    /// The coupling time that data put at `t` is delivered for, if `t` sends.
    pub fn send_label(&self, t: f64) -> Option<f64> {
        self.label(t + self.lag_s)
    }

    /// `t` itself when it is a coupling time that receives data.
    pub fn recv_label(&self, t: f64) -> Option<f64> {
        self.label(t)
            .filter(|&l| l >= self.first_recv() - self.tol())
    }

    fn label(&self, t: f64) -> Option<f64> {
        let Period::Every(p) = self.period else {
            return None;
        };
        let on_time =
            is_multiple(t, p) && t > self.start_s - self.tol() && t < self.run_s - self.tol();
        on_time.then(|| (t / p).round() * p)
    }

    /// The first coupling time with data: the start, or a period later with a lag.
    pub fn first_recv(&self) -> f64 {
        match self.period {
            Period::Static => self.start_s,
            Period::Every(p) => self.start_s + (self.lag_s / p).ceil() * p,
        }
    }

    /// The coupling time after `t`, if within the run.
    pub fn next(&self, t: f64) -> Option<f64> {
        match self.period {
            Period::Static => None,
            Period::Every(p) => Some(t + p).filter(|&n| n < self.run_s - self.tol()),
        }
    }

    /// The message tag for coupling time `label`.
    pub fn tag(&self, label: f64) -> i32 {
        match self.period {
            Period::Static => 0,
            Period::Every(p) => ((label / p).round() as u64 % TAG_CYCLE) as i32,
        }
    }

    fn tol(&self) -> f64 {
        1e-9 * self.run_s.max(1.0)
    }
}

/// Where this rank's box lives in the caller's array: levels, box and level stride.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Layout {
    pub levels: usize,
    /// Columns and rows of the local array (the box, or the box plus halo).
    pub width: usize,
    pub height: usize,
    /// Distance between levels in the caller's array.
    pub level_stride: usize,
}

impl Layout {
    /// Values the caller's array must hold.
    pub fn needed(&self) -> usize {
        (self.levels - 1) * self.level_stride + self.width * self.height
    }
}

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
        let label = match self.clock.period {
            Period::Static if self.static_sent => return Ok(None),
            Period::Static => 0.0,
            Period::Every(_) => match self.clock.send_label(t) {
                Some(label) => label,
                None => return Ok(None),
            },
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
        let label = match self.clock.period {
            Period::Static if self.static_sent => return Ok(None),
            Period::Static => 0.0,
            Period::Every(_) => {
                let cells = self.my_box.cells();
                if let Some(acc) = &mut self.accumulator {
                    acc.add(|k| data[(k / cells) * level_stride + k % cells].to_f64());
                }
                match self.clock.send_label(t) {
                    Some(label) => label,
                    None => return Ok(None),
                }
            }
        };
        let tag = self.clock.tag(label);
        let Sender {
            my_box,
            levels,
            accumulator,
            outgoing,
            ..
        } = self;
        let period_result: Option<&[f64]> = accumulator.as_mut().map(Accumulator::take);
        let mut bytes = 0;
        for o in outgoing.iter_mut() {
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

/// One MPI datatype per chunk of a message made of `rects` — ((x, y), (columns, rows)) in an
/// array `width` wide with `levels` levels `level_stride` apart — sent piece by piece,
/// level by level, row by row: the layout `pack` writes and a receive expects.
fn chunk_datatypes(
    rects: impl Iterator<Item = ((usize, usize), (usize, usize))>,
    levels: usize,
    level_stride: usize,
    width: usize,
) -> Vec<transport::Scatter> {
    let blocks = rects.flat_map(|((x, y), (ni, nj))| {
        (0..levels).flat_map(move |level| {
            (0..nj).map(move |row| (level * level_stride + (y + row) * width + x, ni))
        })
    });
    chunked_blocks(blocks, CHUNK_VALUES)
        .into_iter()
        .map(transport::Scatter::new)
        .collect()
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

/// One source rank's message to this rank.
#[derive(Debug)]
struct Incoming {
    peer: i32,
    pieces: Vec<Piece>,
    buf: Vec<f32>,
    /// One receive per chunk of the message, while posted.
    requests: Vec<Request>,
}

/// The receiving side of an exchange on one rank.
#[derive(Debug)]
pub(crate) struct Receiver {
    pub clock: Clock,
    levels: usize,
    /// Columns and rows of the grown (box plus halo) array.
    pub grown: (usize, usize),
    pub halo: usize,
    incoming: Vec<Incoming>,
    zero_fills: Vec<ZeroFill>,
    /// The coupling time whose data comes next (its receives are posted unless `direct`).
    posted: Option<f64>,
    static_done: bool,
    /// Receive large messages directly into the caller's array.
    direct: bool,
    /// Datatypes scattering each incoming message into an array of the cached level stride.
    scatters: Option<(usize, Vec<Vec<transport::Scatter>>)>,
}

impl Receiver {
    pub fn new(
        ex: &Exchange,
        clock: Clock,
        my_box: Region,
        pieces: Vec<Piece>,
        zero_fills: Vec<ZeroFill>,
        peer_rank: impl Fn(usize) -> i32,
    ) -> Self {
        let mut incoming: Vec<Incoming> = Vec::new();
        for p in pieces {
            let peer = peer_rank(p.src);
            match incoming.iter_mut().find(|m| m.peer == peer) {
                Some(m) => m.pieces.push(p),
                None => incoming.push(Incoming {
                    peer,
                    pieces: vec![p],
                    buf: Vec::new(),
                    requests: Vec::new(),
                }),
            }
        }
        for m in &mut incoming {
            m.buf = vec![0.0; ex.levels * m.pieces.iter().map(|p| p.cells.cells()).sum::<usize>()];
        }
        let grown = (my_box.ni + 2 * ex.halo, my_box.nj + 2 * ex.halo);
        let direct = incoming.iter().map(|m| m.buf.len()).sum::<usize>() >= DIRECT_MIN_VALUES;
        Receiver {
            clock,
            levels: ex.levels,
            grown,
            halo: ex.halo,
            incoming,
            zero_fills,
            posted: None,
            static_done: false,
            direct,
            scatters: None,
        }
    }

    pub fn layout(&self, level_stride: usize) -> Layout {
        Layout {
            levels: self.levels,
            width: self.grown.0,
            height: self.grown.1,
            level_stride,
        }
    }

    pub fn levels(&self) -> usize {
        self.levels
    }

    /// Marks `label` as the next coupling time and, unless receiving directly, posts its
    /// receives into the message buffers.
    pub fn post(&mut self, label: f64, comm: &SimpleCommunicator) {
        self.posted = Some(label);
        if !self.direct {
            self.post_buffers(label, comm);
        }
    }

    fn post_buffers(&mut self, label: f64, comm: &SimpleCommunicator) {
        let tag = self.clock.tag(label);
        for m in &mut self.incoming {
            for chunk in m.buf.chunks_mut(CHUNK_VALUES) {
                // SAFETY: `m.buf` is not touched again until these requests complete in
                // `complete` (or are cancelled in `cancel`).
                m.requests
                    .push(unsafe { transport::irecv(chunk, m.peer, tag, comm) });
            }
        }
    }

    /// Posts receives of `label` straight into `out` (f32 only), with datatypes that place
    /// every row where it belongs.
    fn post_direct(
        &mut self,
        label: f64,
        out: &mut [f32],
        level_stride: usize,
        comm: &SimpleCommunicator,
    ) {
        if self.scatters.as_ref().map(|c| c.0) != Some(level_stride) {
            let (w, levels) = (self.grown.0, self.levels);
            let types = self
                .incoming
                .iter()
                .map(|m| {
                    let rects = m.pieces.iter().map(|p| (p.at, (p.cells.ni, p.cells.nj)));
                    chunk_datatypes(rects, levels, level_stride, w)
                })
                .collect();
            self.scatters = Some((level_stride, types));
        }
        let tag = self.clock.tag(label);
        let Some((_, types)) = &self.scatters else {
            return;
        };
        for (m, chunks) in self.incoming.iter_mut().zip(types) {
            for scatter in chunks {
                // SAFETY: the caller checked that `out` holds the whole layout, which covers
                // every block; `complete` waits for (or cancels) the requests before returning.
                m.requests.push(unsafe {
                    transport::irecv_scatter(out.as_mut_ptr(), scatter, m.peer, tag, comm)
                });
            }
        }
    }

    /// Posts the first coupling time's receives.
    pub fn post_first(&mut self, comm: &SimpleCommunicator) {
        let first = self.clock.first_recv();
        if self.clock.period == Period::Static || first < self.clock.run_s {
            self.post(first, comm);
        }
    }

    /// The coupling time `get(t)` must deliver: `Ok(None)` off coupling times, an error when
    /// `t` is out of step with the posted receives.
    pub fn expect(&self, t: f64) -> Result<Option<f64>, String> {
        let wanted = match self.clock.period {
            Period::Static if self.static_done => return Ok(None),
            Period::Static => return Ok(self.posted),
            Period::Every(_) => match self.clock.recv_label(t) {
                Some(label) => label,
                None => return Ok(None),
            },
        };
        match self.posted {
            Some(p) if (p - wanted).abs() < 1e-6 => Ok(Some(p)),
            Some(p) if p < wanted => Err(format!(
                "get at t = {t} s but the data of the earlier coupling time {p} s was never \
                 collected: call get at every coupling time"
            )),
            Some(p) => Err(format!(
                "get at t = {t} s, but that time was already received (next is {p} s)"
            )),
            None => Err(format!(
                "get at t = {t} s, after the last coupling time of the run"
            )),
        }
    }

    /// Waits for the data of the next coupling time and places it in `out` (received
    /// straight there when direct, else unpacked from the message buffers), fills zeros
    /// beyond closed edges, and posts the next time's receives. Returns the bytes received.
    pub fn complete<T: Element>(
        &mut self,
        out: &mut [T],
        level_stride: usize,
        comm: &SimpleCommunicator,
        deadline: Instant,
        interrupt: &mut dyn FnMut() -> bool,
    ) -> Result<u64, transport::Stop> {
        let label = self.posted.unwrap_or(0.0);
        let is_f32 = std::any::TypeId::of::<T>() == std::any::TypeId::of::<f32>();
        let direct = self.direct && is_f32;
        if direct {
            // SAFETY: T is f32 (checked above), so the slice is reinterpreted as itself.
            let out32 = unsafe {
                std::slice::from_raw_parts_mut(out.as_mut_ptr().cast::<f32>(), out.len())
            };
            self.post_direct(label, out32, level_stride, comm);
        } else if self.direct {
            self.post_buffers(label, comm);
        }
        let mut reqs: Vec<Request> = self
            .incoming
            .iter_mut()
            .flat_map(|m| m.requests.drain(..))
            .collect();
        if let Err(stop) = transport::wait_all_unless(&mut reqs, deadline, interrupt) {
            // `out` is borrowed for this call only: no receive into it may outlive it.
            reqs.into_iter().for_each(Request::cancel);
            return Err(stop);
        }
        let (w, _) = self.grown;
        if !direct {
            for m in &self.incoming {
                let mut next = 0;
                for p in &m.pieces {
                    for level in 0..self.levels {
                        for row in 0..p.cells.nj {
                            let start = level * level_stride + (p.at.1 + row) * w + p.at.0;
                            let ni = p.cells.ni;
                            T::store_wire(&mut out[start..start + ni], &m.buf[next..next + ni]);
                            next += ni;
                        }
                    }
                }
            }
        }
        for z in &self.zero_fills {
            for level in 0..self.levels {
                for row in 0..z.size.1 {
                    let start = level * level_stride + (z.at.1 + row) * w + z.at.0;
                    out[start..start + z.size.0].fill(T::from_f32(0.0));
                }
            }
        }
        let done = self.posted.take();
        match self.clock.period {
            Period::Static => self.static_done = true,
            Period::Every(_) => {
                if let Some(next) = done.and_then(|t| self.clock.next(t)) {
                    self.post(next, comm);
                }
            }
        }
        Ok(self.incoming.iter().map(|m| 4 * m.buf.len() as u64).sum())
    }

    /// Retires receives that no send will match (the run stopped early).
    pub fn cancel(&mut self) -> Option<f64> {
        for m in &mut self.incoming {
            m.requests.drain(..).for_each(Request::cancel);
        }
        self.posted.take()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clock(period: f64, lag_s: f64) -> Clock {
        Clock {
            period: Period::Every(period),
            lag_s,
            run_s: 10.0 * period,
            start_s: 0.0,
        }
    }

    #[test]
    fn a_lag_of_one_period_uses_each_coupling_times_data_at_the_next() {
        let c = clock(144.0, 144.0);
        assert_eq!(c.send_label(0.0), Some(144.0));
        assert_eq!(c.first_recv(), 144.0);
        assert_eq!(c.recv_label(0.0), None, "nothing arrives at the start");
        assert_eq!(
            c.send_label(9.0 * 144.0),
            None,
            "the last put would arrive after the run"
        );
    }

    #[test]
    fn a_restarted_run_couples_from_its_start_time_on() {
        let c = Clock {
            start_s: 3.0 * 3600.0,
            ..clock(3600.0, 0.0)
        };
        assert_eq!(c.first_recv(), 10800.0);
        assert_eq!(c.recv_label(7200.0), None, "before the restart");
        assert_eq!(c.recv_label(10800.0), Some(10800.0));
        assert_eq!(c.send_label(10800.0), Some(10800.0));
        assert_eq!(c.next(10800.0), Some(14400.0));
    }

    #[test]
    fn coupling_times_are_multiples_of_the_period_within_the_run() {
        let c = clock(3600.0, 0.0);
        assert_eq!(c.send_label(0.0), Some(0.0));
        assert_eq!(c.send_label(1800.0), None);
        assert_eq!(c.send_label(7200.0), Some(7200.0));
        assert_eq!(
            c.send_label(36000.0),
            None,
            "the end of the run is not a coupling time"
        );
        assert_eq!(
            c.recv_label(3600.0 * (1.0 + 1e-13)),
            Some(3600.0),
            "round-off is forgiven"
        );
        assert_eq!(c.next(32400.0), None);
        assert_eq!(c.tag(7200.0), 2);
    }

    #[test]
    fn blocks_are_cut_at_chunk_boundaries() {
        let chunks = chunked_blocks([(0, 3), (10, 4), (20, 2)], 4);
        assert_eq!(
            chunks,
            vec![vec![(0, 3), (10, 1)], vec![(11, 3), (20, 1)], vec![(21, 1)]]
        );
        assert_eq!(
            chunked_blocks([(5, 8)], 4),
            vec![vec![(5, 4)], vec![(9, 4)]]
        );
    }

    #[test]
    fn a_lag_shifts_the_send_and_delays_the_first_receive() {
        let c = clock(3600.0, 600.0);
        assert_eq!(c.send_label(0.0), None);
        assert_eq!(c.send_label(3000.0), Some(3600.0));
        assert_eq!(c.first_recv(), 3600.0);
        assert_eq!(c.recv_label(0.0), None, "no data before the lag has passed");
        assert_eq!(c.recv_label(3600.0), Some(3600.0));
    }
}
