//! The receiving side of an exchange on one rank: keeps the receives of the next coupling
//! time posted (or posts them straight into the caller's array for large messages), and
//! unpacks them, halo and zero fill beyond closed edges included.

use std::time::Instant;

use mpi::topology::SimpleCommunicator;

use super::{chunk_datatypes, Clock, Layout, CHUNK_VALUES};
use crate::config::{Exchange, Period};
use crate::routes::{Piece, Region, ZeroFill};
use crate::transport::{self, Request};
use crate::wire::Element;

/// Messages to a rank of at least this many values are received straight into the caller's
/// array (posted in `get`) instead of through a buffer posted in advance: it saves a copy of
/// large fields, while small ones keep the lower latency of a receive posted early.
const DIRECT_MIN_VALUES: usize = 1 << 16;

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
    /// The source whose message is handed over in memory, not received
    /// ([`Receiver::take_local_from`]).
    local: Option<i32>,
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
            local: None,
        }
    }

    /// The message from `me` (this rank itself, when both ends are here) is handed over with
    /// [`Receiver::hand_over`] before each `complete` instead of received. Call it before
    /// the first receives are posted.
    pub fn take_local_from(&mut self, me: i32) {
        self.local = Some(me);
    }

    /// Whether a message is handed over in memory.
    pub fn has_local(&self) -> bool {
        self.local
            .is_some_and(|me| self.incoming.iter().any(|m| m.peer == me))
    }

    /// The tag of the coupling time whose data `complete` delivers next.
    pub fn posted_tag(&self) -> Option<i32> {
        self.posted.map(|label| self.clock.tag(label))
    }

    /// Puts `buf`, the packed message from this rank itself, where `complete` unpacks it,
    /// and returns the buffer it replaces. `buf` must have the message's length.
    pub fn hand_over(&mut self, buf: Vec<f32>) -> Vec<f32> {
        match self
            .incoming
            .iter_mut()
            .find(|m| Some(m.peer) == self.local)
        {
            Some(m) => {
                assert_eq!(
                    buf.len(),
                    m.buf.len(),
                    "a local message of the wrong length"
                );
                std::mem::replace(&mut m.buf, buf)
            }
            None => buf,
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
        for m in self
            .incoming
            .iter_mut()
            .filter(|m| Some(m.peer) != self.local)
        {
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
            if Some(m.peer) == self.local {
                continue;
            }
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
        // What was not received straight into `out`: every message unless direct, and the
        // one handed over in memory.
        let unpacked = |m: &&Incoming| !direct || Some(m.peer) == self.local;
        {
            for m in self.incoming.iter().filter(unpacked) {
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
