//! Getting a field: waiting (with a deadline, watching for a peer's notice) for the data
//! of a coupling time, and the shape and times of what a rank receives.

use std::time::Instant;

use super::failure::Notice;
use super::{Coupler, Link, Side, State};
use crate::config::Period;
use crate::error::CouplerError;
use crate::signals;
use crate::timing::resident_mb;
use crate::transport;
use crate::wire::Element;

impl Coupler {
    /// Gets this rank's box of `field` plus halo at model time `t` into `out` (layout
    /// [level][j][i] over the grown box). Blocks until the data of `t` is in; returns
    /// `false`, leaving `out` untouched, when `t` is not a coupling time of the field.
    pub fn get<T: Element>(
        &mut self,
        field: &str,
        t: f64,
        out: &mut [T],
    ) -> Result<bool, CouplerError> {
        let (_, h, w, _) = self.recv_extent(field)?;
        self.get_strided(field, t, out, h * w)
    }

    /// Like [`Coupler::get`], with level `l` written to `out[l * level_stride ..]`.
    pub fn get_strided<T: Element>(
        &mut self,
        field: &str,
        t: f64,
        out: &mut [T],
        level_stride: usize,
    ) -> Result<bool, CouplerError> {
        self.guarded(|c| c.get_strided_inner(field, t, out, level_stride))
    }

    fn get_strided_inner<T: Element>(
        &mut self,
        field: &str,
        t: f64,
        out: &mut [T],
        level_stride: usize,
    ) -> Result<bool, CouplerError> {
        self.require(
            State::Running,
            "get",
            "call enddef() first; no get after finalize()",
        )?;
        let k = self.receiver_index(field)?;
        let deadline = self.deadline();
        let Link {
            exchange,
            side: Side::Recv(receiver),
            ..
        } = &self.links[k]
        else {
            return Err(self.unknown(field, "receive"));
        };
        self.check_size(field, receiver.layout(level_stride), out.len(), "get")?;
        let label = receiver
            .expect(t)
            .map_err(|message| CouplerError::Sequence {
                component: self.component.clone(),
                field: field.into(),
                message,
            })?;
        let e = exchange.index;
        self.links[k].timing.calls += 1;
        let Some(label) = label else { return Ok(false) };
        let start = Instant::now();
        let Side::Recv(receiver) = &mut self.links[k].side else {
            return Ok(false);
        };
        let notice = &mut self.notice;
        let result = receiver.complete(
            out,
            level_stride,
            &self.exchange_comms[e],
            deadline,
            &mut || notice.as_mut().is_some_and(Notice::arrived),
        );
        self.links[k].timing.seconds += start.elapsed().as_secs_f64();
        let ex = &self.links[k].exchange;
        let what = format!(
            "'{field}' from {} at model time {label} s ({}: {} → {})",
            ex.src.component,
            ex.key(),
            ex.src,
            ex.dst
        );
        match result {
            Ok(bytes) => {
                if self.memory.after_first_get_mb == 0.0 {
                    self.memory.after_first_get_mb = resident_mb();
                }
                let timing = &mut self.links[k].timing;
                timing.exchanges += 1;
                timing.bytes += bytes;
                Ok(true)
            }
            Err(transport::Stop::TimedOut(waited)) => {
                // The peer is dead or stuck: nobody is left to wait for when this rank fails.
                self.peer_failed = true;
                Err(self.timeout(&what, waited))
            }
            Err(transport::Stop::Interrupted(_)) => {
                let notice = self.notice.as_ref().map(Notice::text).unwrap_or_default();
                if let Some((signal, reason)) = signals::parse_stop_notice(&notice) {
                    return Err(CouplerError::PeerStopped {
                        component: self.component.clone(),
                        what,
                        signal,
                        reason,
                    });
                }
                self.peer_failed = true;
                Err(CouplerError::PeerFailed {
                    component: self.component.clone(),
                    rank: self.world_rank,
                    what,
                    notice: self.notice.as_ref().map(Notice::text).unwrap_or_default(),
                })
            }
        }
    }

    /// The shape this rank receives for `field`: (levels, rows, columns, halo), rows and
    /// columns including the halo on both sides.
    pub fn recv_extent(&self, field: &str) -> Result<(usize, usize, usize, usize), CouplerError> {
        let k = self.receiver_index(field)?;
        match &self.links[k].side {
            Side::Recv(r) => Ok((r.levels(), r.grown.1, r.grown.0, r.halo)),
            Side::Send(_) => Err(self.unknown(field, "receive")),
        }
    }

    /// The model times at which `field` is received, in order (a static field: `[0]`).
    pub fn coupling_times(&self, field: &str) -> Result<Vec<f64>, CouplerError> {
        let k = self.receiver_index(field)?;
        let ex = &self.links[k].exchange;
        Ok(match ex.period {
            Period::Static => vec![self.start_time()],
            Period::Every(p) => {
                let Side::Recv(r) = &self.links[k].side else {
                    return Ok(Vec::new());
                };
                let first = r.clock.first_recv();
                let n = ((self.config.run_duration_s - first) / p - 1e-9)
                    .ceil()
                    .max(0.0) as usize;
                (0..n).map(|i| first + i as f64 * p).collect()
            }
        })
    }
}
