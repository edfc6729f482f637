//! Both ends of every `[coupling]` exchange on one component's ranks: the embedded mode, in
//! which the ocean's ranks also play the ML side (`[ml] placement = "embedded"`).
//!
//! Each rank plays the destination component on its own box, so an exchange moves each
//! rank's box to itself and the halo from its neighbours, through the same [`Sender`] and
//! [`Receiver`] as between two programs: the period, lag, time operation, halo, closed or
//! cyclic edges and zero fill are those the table declares, defined in one place for both
//! modes. Messages go over one duplicate of the component's communicator per exchange;
//! a rank's piece of its own box is packed by its sender and handed to its receiver in
//! memory, not sent to itself through MPI (the same two copies, no message).
//!
//! Every rank puts before it gets at each coupling time, so no rank waits on a put that
//! another rank has not reached; a rank that has stopped is noticed by the others through
//! the `[coupling] timeout` of their gets.

use std::time::{Duration, Instant};

use mpi::topology::SimpleCommunicator;
use mpi::traits::*;

use crate::config::{CouplingConfig, Exchange};
use crate::error::CouplerError;
use crate::handshake::{self, Declared};
use crate::link::{Clock, Receiver, Sender};
use crate::routes::{compute_routes, Region};
use crate::transport;
use crate::wire::Element;

/// One exchange with both of its ends on this rank.
struct Looped {
    exchange: Exchange,
    comm: SimpleCommunicator,
    sender: Sender,
    receiver: Receiver,
    /// Seconds in this exchange's puts and gets, and its coupling times moved.
    seconds: f64,
    exchanges: u64,
}

/// The time spent in one exchange of a [`Loopback`].
#[derive(Debug, Clone, PartialEq)]
pub struct LoopTiming {
    /// "src → dst", as the file names the ends.
    pub exchange: String,
    pub seconds: f64,
    pub exchanges: u64,
}

/// Every exchange of a `[coupling]` table, both ends on the ranks of one communicator.
pub struct Loopback {
    component: String,
    rank: i32,
    links: Vec<Looped>,
    timeout: Duration,
    start_s: f64,
}

impl Loopback {
    /// Sets up every exchange of `config` on the ranks of `local`, each rank's box `region`
    /// for both ends; the run couples from model time `start_s` (0, or a restart's time).
    /// Collective over `local`. `component` names the ranks in messages ("ocean").
    pub fn new(
        local: &SimpleCommunicator,
        component: &str,
        config: &CouplingConfig,
        region: Region,
        start_s: f64,
    ) -> Result<Self, CouplerError> {
        let mine = [region.i0, region.j0, region.ni, region.nj].map(|v| v as u64);
        let mut all = vec![0u64; 4 * local.size() as usize];
        local.all_gather_into(&mine[..], &mut all[..]);
        let boxes: Vec<Region> = all
            .chunks_exact(4)
            .map(|b| Region {
                i0: b[0] as usize,
                j0: b[1] as usize,
                ni: b[2] as usize,
                nj: b[3] as usize,
            })
            .collect();
        let me = local.rank() as usize;
        let mut problems = Vec::new();
        let mut links = Vec::new();
        for ex in &config.exchanges {
            let declared: Vec<Declared> = boxes
                .iter()
                .map(|b| Some((*b, ex.levels, ex.point)))
                .collect();
            let Some((src, dst, size)) =
                handshake::check_exchange(config.grid, ex, &declared, &declared, &mut problems)
            else {
                continue;
            };
            let routes = compute_routes(&src, &dst, size, ex.halo, ex.boundary);
            let clock = Clock::of(ex, config.run_duration_s, start_s);
            let sends = routes.pieces.iter().filter(|p| p.src == me).copied();
            let receives = routes.pieces.iter().filter(|p| p.dst == me).copied();
            let zeros = routes.zero_fills.iter().filter(|z| z.dst == me).copied();
            let comm = local.duplicate();
            let mut sender = Sender::new(ex, clock, src[me], sends.collect(), |r| r as i32);
            sender.keep_local(me as i32);
            let mut receiver = Receiver::new(
                ex,
                clock,
                dst[me],
                receives.collect(),
                zeros.collect(),
                |r| r as i32,
            );
            receiver.take_local_from(me as i32);
            receiver.post_first(&comm);
            links.push(Looped {
                exchange: ex.clone(),
                comm,
                sender,
                receiver,
                seconds: 0.0,
                exchanges: 0,
            });
        }
        if !problems.is_empty() {
            for link in &mut links {
                link.receiver.cancel();
            }
            return Err(CouplerError::Setup {
                component: component.to_string(),
                message: problems.join("\n  "),
            });
        }
        Ok(Loopback {
            component: component.to_string(),
            rank: local.rank(),
            links,
            timeout: Duration::from_secs_f64(config.timeout_s),
            start_s,
        })
    }

    /// The model time the run couples from.
    pub fn start_time(&self) -> f64 {
        self.start_s
    }

    /// The exchange whose source (`put`) or destination (`get`) end is `end`
    /// ("ocean.u", "ml.sx").
    fn find(&self, end: &str, source: bool) -> Result<usize, CouplerError> {
        self.links
            .iter()
            .position(|l| {
                let e = if source {
                    &l.exchange.src
                } else {
                    &l.exchange.dst
                };
                e.to_string() == end
            })
            .ok_or_else(|| {
                let ends = self.links.iter().map(|l| {
                    if source {
                        l.exchange.src.to_string()
                    } else {
                        l.exchange.dst.to_string()
                    }
                });
                CouplerError::UnknownField {
                    component: self.component.clone(),
                    field: end.to_string(),
                    role: if source { "send" } else { "receive" },
                    known: ends.collect::<Vec<_>>().join(", "),
                }
            })
    }

    /// Whether an exchange sends from `end`.
    pub fn sends(&self, end: &str) -> bool {
        self.find(end, true).is_ok()
    }

    /// Whether an exchange delivers to `end`.
    pub fn receives(&self, end: &str) -> bool {
        self.find(end, false).is_ok()
    }

    /// (levels, rows, columns, halo) of the array a get of `end` fills.
    pub fn recv_extent(&self, end: &str) -> Result<(usize, usize, usize, usize), CouplerError> {
        let r = &self.links[self.find(end, false)?].receiver;
        Ok((r.levels(), r.grown.1, r.grown.0, r.halo))
    }

    /// Whether a get of `end` at model time `t` delivers data.
    pub fn delivers_at(&self, end: &str, t: f64) -> Result<bool, CouplerError> {
        let k = self.find(end, false)?;
        self.links[k]
            .receiver
            .expect(t)
            .map(|label| label.is_some())
            .map_err(|message| self.sequence(end, message))
    }

    fn sequence(&self, end: &str, message: String) -> CouplerError {
        CouplerError::Sequence {
            component: self.component.clone(),
            field: end.to_string(),
            message,
        }
    }

    /// The source end `end` of its exchange at model time `t`: folded into the period's
    /// time operation, sent at coupling times. Level `l` is read from
    /// `data[l * level_stride ..]`.
    pub fn put<T: Element>(
        &mut self,
        end: &str,
        t: f64,
        data: &[T],
        level_stride: usize,
    ) -> Result<(), CouplerError> {
        let k = self.find(end, true)?;
        let deadline = Instant::now() + self.timeout;
        let started = Instant::now();
        let link = &mut self.links[k];
        let needed = link.sender.layout(level_stride).needed();
        if data.len() < needed {
            return Err(self.sequence(
                end,
                format!("put of {} values, the layout needs {needed}", data.len()),
            ));
        }
        let link = &mut self.links[k];
        let sent = link.sender.put(t, data, level_stride, &link.comm, deadline);
        link.seconds += started.elapsed().as_secs_f64();
        sent.map(|_| ()).map_err(|waited| {
            self.timed_out(
                &format!("the earlier sends of {end} at t = {t} s to be received"),
                waited,
            )
        })
    }

    /// The destination end `end` of its exchange at model time `t`, into `out` (level `l`
    /// at `out[l * level_stride ..]`, box grown by the halo); `false`, `out` untouched,
    /// when `t` is not a coupling time of it. Waits at most `[coupling] timeout`.
    pub fn get<T: Element>(
        &mut self,
        end: &str,
        t: f64,
        out: &mut [T],
        level_stride: usize,
    ) -> Result<bool, CouplerError> {
        let k = self.find(end, false)?;
        let link = &self.links[k];
        let needed = link.receiver.layout(level_stride).needed();
        if out.len() < needed {
            return Err(self.sequence(
                end,
                format!("get into {} values, the layout needs {needed}", out.len()),
            ));
        }
        let label = link
            .receiver
            .expect(t)
            .map_err(|message| self.sequence(end, message))?;
        if label.is_none() {
            return Ok(false);
        }
        let deadline = Instant::now() + self.timeout;
        let started = Instant::now();
        let link = &mut self.links[k];
        if link.receiver.has_local() {
            // Every rank puts before it gets: this rank's own piece is there by now.
            let tag = link.receiver.posted_tag();
            let Some(buf) = tag.and_then(|tag| link.sender.take_local(tag)) else {
                let message = format!("get at t = {t} s before this rank's own put of that time");
                return Err(self.sequence(end, message));
            };
            let old = link.receiver.hand_over(buf);
            link.sender.give_back_local(old);
        }
        let result = link
            .receiver
            .complete(out, level_stride, &link.comm, deadline, &mut || false);
        link.seconds += started.elapsed().as_secs_f64();
        link.exchanges += 1;
        match result {
            Ok(_) => Ok(true),
            Err(transport::Stop::TimedOut(waited) | transport::Stop::Interrupted(waited)) => {
                Err(self.timed_out(
                    &format!("{end} at model time {t} s from the other ranks"),
                    waited,
                ))
            }
        }
    }

    fn timed_out(&self, what: &str, waited: Duration) -> CouplerError {
        CouplerError::Timeout {
            component: self.component.clone(),
            rank: self.rank,
            what: what.to_string(),
            waited_s: waited.as_secs_f64(),
            limit_s: self.timeout.as_secs_f64(),
        }
    }

    /// Time spent in each exchange, in the order of the file.
    pub fn timings(&self) -> Vec<LoopTiming> {
        self.links
            .iter()
            .map(|l| LoopTiming {
                exchange: format!("{} → {}", l.exchange.src, l.exchange.dst),
                seconds: l.seconds,
                exchanges: l.exchanges,
            })
            .collect()
    }

    /// Completes the sends in flight and withdraws the receives posted for coupling times
    /// that will not come (the end of the run, or a stop). Collective in effect: the
    /// other ranks' sends to this rank complete only once they are received or cancelled.
    pub fn finish(&mut self) -> Result<(), CouplerError> {
        let deadline = Instant::now() + self.timeout;
        for k in 0..self.links.len() {
            let link = &mut self.links[k];
            link.receiver.cancel();
            if let Err(waited) = link.sender.flush(deadline) {
                let what = format!("the last sends of {} to be received", link.exchange.src);
                return Err(self.timed_out(&what, waited));
            }
        }
        Ok(())
    }
}

/// Makes a panic on any rank end the whole job (MPI_Abort after the usual message), for
/// ranks that run alone together: a rank that died would otherwise leave the others
/// waiting in their next exchange or collective (the launcher does not always tear the job
/// down when one process exits).
pub fn abort_job_on_panic() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            previous(info);
            transport::abort(101);
        }));
    });
}

/// Ends the whole job with `code` after an error the other ranks may not know of (they
/// could be waiting on this rank): the last resort against a hang.
pub fn abort_job(code: i32) -> ! {
    transport::abort(code)
}
