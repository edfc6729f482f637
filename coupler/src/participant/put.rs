//! Putting a field: folding it into the period's time operation and sending this rank's
//! pieces at coupling times, without waiting (`put`) or until received (`put_sync`).

use std::time::Instant;

use super::{Coupler, Link, Side, State};
use crate::error::CouplerError;
use crate::wire::Element;

impl Coupler {
    /// Puts this rank's box of `field` at model time `t` (seconds): layout [level][j][i].
    /// Sends at coupling times (after the time operation) and returns without waiting for
    /// the receiver; off coupling times it only folds the values into the period.
    pub fn put<T: Element>(&mut self, field: &str, t: f64, data: &[T]) -> Result<(), CouplerError> {
        let stride = self.box_cells(field, "put")?;
        self.put_strided(field, t, data, stride)
    }

    /// Like [`Coupler::put`], with level `l` read from `data[l * level_stride ..]`.
    pub fn put_strided<T: Element>(
        &mut self,
        field: &str,
        t: f64,
        data: &[T],
        level_stride: usize,
    ) -> Result<(), CouplerError> {
        self.guarded(|c| c.put_strided_inner(field, t, data, level_stride))
    }

    /// A put that gives up overlap for bandwidth: it returns only once the receiving ranks
    /// have taken the data. An f32 field with time operation `instant` is sent straight
    /// from `data`, with no copy (as fast as a raw MPI send of the same bytes); anything
    /// else is a `put` that waits for its sends. For fields too large to copy cheaply,
    /// when the receiver is already waiting. If it times out, end the job (drop the
    /// coupler): MPI may still read `data`.
    pub fn put_sync<T: Element>(
        &mut self,
        field: &str,
        t: f64,
        data: &[T],
    ) -> Result<(), CouplerError> {
        self.guarded(|c| c.put_sync_inner(field, t, data))
    }

    fn put_sync_inner<T: Element>(
        &mut self,
        field: &str,
        t: f64,
        data: &[T],
    ) -> Result<(), CouplerError> {
        let is_f32 = std::any::TypeId::of::<T>() == std::any::TypeId::of::<f32>();
        // One exchange sends this field, with no time operation: it can go straight.
        let sending: Vec<usize> = (0..self.links.len())
            .filter(|&k| self.links[k].exchange.src.field == field)
            .collect();
        let k = match sending[..] {
            [k] if matches!(&self.links[k].side, Side::Send(s) if s.can_put_direct()) => Some(k),
            _ => None,
        };
        let (Some(k), true) = (k, is_f32 && self.state == State::Running) else {
            self.put_strided_inner(field, t, data, self.box_cells(field, "put")?)?;
            return self.flush_field(field);
        };
        let level_stride = self.box_cells(field, "put")?;
        let Side::Send(sender) = &self.links[k].side else {
            return Err(self.unknown(field, "send"));
        };
        self.check_size(field, sender.layout(level_stride), data.len(), "put")?;
        // SAFETY: T is f32 (checked above), so the slice is reinterpreted as itself.
        let data32 = unsafe { std::slice::from_raw_parts(data.as_ptr().cast::<f32>(), data.len()) };
        let (e, deadline, start) = (
            self.links[k].exchange.index,
            self.deadline(),
            Instant::now(),
        );
        let Side::Send(sender) = &mut self.links[k].side else {
            return Err(self.unknown(field, "send"));
        };
        let sent = sender.put_direct(t, data32, level_stride, &self.exchange_comms[e], deadline);
        self.links[k]
            .timing
            .record_call(start, sent)
            .map_err(|waited| {
                let what = format!("'{field}' at t = {t} s to be received (put_sync)");
                self.timeout(&what, waited)
            })
    }

    /// Waits until the sends of `field` in flight have been received.
    fn flush_field(&mut self, field: &str) -> Result<(), CouplerError> {
        let deadline = self.deadline();
        for k in 0..self.links.len() {
            if self.links[k].exchange.src.field != field {
                continue;
            }
            if let Side::Send(s) = &mut self.links[k].side {
                if let Err(waited) = s.flush(deadline) {
                    let what = format!("the sends of '{field}' to be received (put_sync)");
                    return Err(self.timeout(&what, waited));
                }
            }
        }
        Ok(())
    }

    fn put_strided_inner<T: Element>(
        &mut self,
        field: &str,
        t: f64,
        data: &[T],
        level_stride: usize,
    ) -> Result<(), CouplerError> {
        self.require(
            State::Running,
            "put",
            "call enddef() first; no put after finalize()",
        )?;
        let deadline = self.deadline();
        let mut found = false;
        for k in 0..self.links.len() {
            let Link {
                exchange,
                side: Side::Send(sender),
                ..
            } = &self.links[k]
            else {
                continue;
            };
            if exchange.src.field != field {
                continue;
            }
            found = true;
            self.check_size(field, sender.layout(level_stride), data.len(), "put")?;
            let e = exchange.index;
            let start = Instant::now();
            let Side::Send(sender) = &mut self.links[k].side else {
                continue;
            };
            let sent = sender.put(t, data, level_stride, &self.exchange_comms[e], deadline);
            self.links[k]
                .timing
                .record_call(start, sent)
                .map_err(|waited| {
                    let what =
                        format!("the earlier sends of '{field}' at t = {t} s to be received");
                    self.timeout(&what, waited)
                })?;
        }
        if found {
            Ok(())
        } else {
            Err(self.unknown(field, "send"))
        }
    }
}
