//! A participant of the coupled job: the [`Coupler`] handle and its lifecycle,
//! init → define_field → enddef → { put / get } → finalize.
//!
//! Each call checks the state it is made in and says what to do instead. Problems that
//! every rank can see alike (a component not launched, configurations that differ, boxes
//! that do not tile) end every rank with the same message; problems only one rank sees (a
//! timeout, a wrong array length) return an error, and a coupler dropped before
//! `finalize` aborts the MPI job, so that no peer is left waiting for a dead rank.
//!
//! - this file: the state, define_field, enddef (routes and links), finalize;
//! - [`init`]: joining the job (finding the components, splitting the communicators);
//! - [`put`] and [`get`]: the exchanges at coupling times;
//! - [`restart`]: the start time every component agrees on;
//! - [`failure`]: failure and stop notices, the panic hook, fail/abandon, abort on drop;
//! - [`checks`]: the state, field and size checks every call makes, and their errors.

mod checks;
mod failure;
mod get;
mod init;
mod put;
mod restart;

use std::path::Path;
use std::time::Instant;

use mpi::topology::SimpleCommunicator;
use mpi::traits::*;

use crate::component::{Component, FieldDef};
use crate::config::{CouplingConfig, Exchange, GridPoint};
use crate::error::CouplerError;
use crate::handshake;
use crate::link::{Clock, Receiver, Sender};
use crate::routes::{compute_routes, Region};
use crate::timing::{self, resident_mb, FieldTiming, Memory, TimingReport};
use crate::transport;
use failure::Notice;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Defining,
    Running,
    Finalized,
    /// Every rank failed alike and stops on its own: nothing to abort.
    FailedTogether,
}

#[derive(Debug)]
enum Side {
    Send(Sender),
    Recv(Receiver),
}

/// One exchange this rank takes part in.
#[derive(Debug)]
struct Link {
    exchange: Exchange,
    side: Side,
    timing: FieldTiming,
}

/// A component's handle on the coupled job. See the crate documentation for an example.
pub struct Coupler {
    component: String,
    config: CouplingConfig,
    components: Vec<Component>,
    local: SimpleCommunicator,
    /// A duplicate of MPI_COMM_WORLD for the coupler's own collectives.
    control: SimpleCommunicator,
    world_rank: i32,
    /// One duplicate of MPI_COMM_WORLD per exchange, so that no message of one exchange can
    /// match a receive of another (or of the programs themselves).
    exchange_comms: Vec<SimpleCommunicator>,
    fields: Vec<(String, FieldDef)>,
    links: Vec<Link>,
    state: State,
    started: Instant,
    /// The last error a call returned, printed if the coupler is dropped without finalize.
    last_error: Option<String>,
    /// The restart time this rank asked for ([`Coupler::set_start_time`]), then the start
    /// time every component agreed on at enddef.
    start_s: Option<f64>,
    /// A posted receive for a failure notice from a rank of another component.
    notice: Option<Notice>,
    /// Resident memory at enddef and after the first completed get (MB).
    memory: Memory,
    /// Whether this rank learned of a peer's failure (a notice, or a timeout in get): its
    /// own failure then ends the job at once, with no grace for the peers.
    peer_failed: bool,
}

/// What the enddef gather gives: every rank's declared fields, and the start time it asked
/// for, by world rank.
type Declarations = (Vec<Vec<handshake::Declared>>, Vec<Option<f64>>);

impl Coupler {
    /// The component's own communicator: decompose the model over this, not over world.
    pub fn local_comm(&self) -> &SimpleCommunicator {
        &self.local
    }

    /// The components of the job, in order of their first rank.
    pub fn components(&self) -> &[Component] {
        &self.components
    }

    /// The configuration this coupler runs.
    pub fn config(&self) -> &CouplingConfig {
        &self.config
    }

    /// Declares this rank's box, levels and grid point for one of the component's fields.
    pub fn define_field(&mut self, field: &str, def: FieldDef) -> Result<(), CouplerError> {
        self.require(
            State::Defining,
            "define_field",
            "declare every field before enddef()",
        )?;
        let known = self.field_names();
        if !known.iter().any(|f| f == field) {
            return Err(CouplerError::UnknownField {
                component: self.component.clone(),
                field: field.into(),
                role: "exchange",
                known: known.join(", "),
            });
        }
        self.fields.retain(|(name, _)| name != field);
        self.fields.push((field.to_string(), def));
        Ok(())
    }

    /// Declares every field that `[coupling]` names for this component, each at the grid
    /// point and with the levels its exchange gives, on this rank's `region`: what the
    /// configuration says, the program does not repeat. Returns the names, sent fields
    /// first, in the table's order.
    pub fn define_fields(&mut self, region: Region) -> Result<Vec<String>, CouplerError> {
        let mut ends: Vec<(String, FieldDef)> = Vec::new();
        for sends in [true, false] {
            for ex in &self.config.exchanges {
                let end = if sends { &ex.src } else { &ex.dst };
                if end.component == self.component {
                    let def = FieldDef {
                        region,
                        levels: ex.levels,
                        point: ex.point,
                    };
                    ends.push((end.field.clone(), def));
                }
            }
        }
        let mut declared: Vec<String> = Vec::new();
        for (field, def) in ends {
            self.define_field(&field, def)?;
            if !declared.contains(&field) {
                declared.push(field);
            }
        }
        Ok(declared)
    }

    /// Ends the definition phase: collective over every rank of the job. Checks that the
    /// boxes of each field tile its grid on both sides and that the declared levels and
    /// grid points match the configuration, then builds the M×N routes and posts the first
    /// receives.
    pub fn enddef(&mut self) -> Result<(), CouplerError> {
        self.guarded(Self::enddef_inner)
    }

    fn enddef_inner(&mut self) -> Result<(), CouplerError> {
        self.require(
            State::Defining,
            "enddef",
            "enddef() is called once, after define_field()",
        )?;
        let (declared, starts) = self.gather_declarations(None)?;
        let mut problems = Vec::new();
        let start_s = self.agree_on_start(&starts, &mut problems);
        let mut links = Vec::new();
        for (e, ex) in self.config.exchanges.iter().enumerate() {
            let boxes = |name: &str| -> Vec<Option<(Region, usize, GridPoint)>> {
                self.component_ranks(name)
                    .iter()
                    .map(|&r| declared[r as usize][e])
                    .collect()
            };
            let (src, dst) = (boxes(&ex.src.component), boxes(&ex.dst.component));
            let Some((src_boxes, dst_boxes, size)) =
                handshake::check_exchange(self.config.grid, ex, &src, &dst, &mut problems)
            else {
                continue;
            };
            let routes = compute_routes(&src_boxes, &dst_boxes, size, ex.halo, ex.boundary);
            let me = self.local.rank() as usize;
            let run_s = self.config.run_duration_s;
            let peer = |name: &str| {
                let ranks = self.component_ranks(name).to_vec();
                move |i: usize| ranks[i]
            };
            if ex.src.component == self.component {
                let pieces = routes
                    .pieces
                    .iter()
                    .filter(|p| p.src == me)
                    .copied()
                    .collect();
                let clock = Clock::of(ex, run_s, start_s);
                let sender = Sender::new(ex, clock, src_boxes[me], pieces, peer(&ex.dst.component));
                links.push(self.link(ex, Side::Send(sender)));
            } else if ex.dst.component == self.component {
                let pieces = routes
                    .pieces
                    .iter()
                    .filter(|p| p.dst == me)
                    .copied()
                    .collect();
                let zeros = routes
                    .zero_fills
                    .iter()
                    .filter(|z| z.dst == me)
                    .copied()
                    .collect();
                let mut receiver = Receiver::new(
                    ex,
                    Clock::of(ex, run_s, start_s),
                    dst_boxes[me],
                    pieces,
                    zeros,
                    peer(&ex.src.component),
                );
                receiver.post_first(&self.exchange_comms[e]);
                links.push(self.link(ex, Side::Recv(receiver)));
            }
        }
        if !problems.is_empty() {
            for link in &mut links {
                if let Side::Recv(r) = &mut link.side {
                    r.cancel();
                }
            }
            self.state = State::FailedTogether;
            return Err(CouplerError::Setup {
                component: self.component.clone(),
                message: problems.join("\n  "),
            });
        }
        self.links = links;
        self.start_s = Some(start_s);
        self.notice = Some(Notice::post(&self.control));
        self.memory.at_enddef_mb = resident_mb();
        self.state = State::Running;
        Ok(())
    }

    /// The enddef() gather: every rank's boxes, and whether it failed to start (with why).
    fn gather_declarations(&mut self, failure: Option<&str>) -> Result<Declarations, CouplerError> {
        let deadline = self.deadline();
        let mut mine = handshake::encode_fields(&self.config, &self.component, &self.fields);
        mine.push(restart::encode_start(self.start_s));
        mine.push(failure.is_some() as i64);
        let all = transport::allgather(&mine, &self.control, deadline)
            .map_err(|waited| self.timeout("every rank to reach enddef()", waited))?;
        let per_rank = mine.len();
        let failed: Vec<usize> = (0..all.len() / per_rank)
            .filter(|r| all[r * per_rank + per_rank - 1] == 1)
            .collect();
        if !failed.is_empty() {
            let reasons = handshake::gather_texts(&self.control, failure.unwrap_or(""), deadline)
                .map_err(|waited| {
                self.timeout("the reasons of the ranks that could not start", waited)
            })?;
            let message = failed
                .iter()
                .map(|&r| {
                    format!(
                        "component '{}' (world rank {r}) could not start: {}",
                        self.component_of(r as i32),
                        reasons[r]
                    )
                })
                .collect::<Vec<_>>()
                .join("\n  ");
            self.state = State::FailedTogether;
            return Err(CouplerError::Setup {
                component: self.component.clone(),
                message,
            });
        }
        let records: Vec<i64> = all
            .chunks(per_rank)
            .flat_map(|r| r[..per_rank - 2].iter().copied())
            .collect();
        let starts = all
            .chunks(per_rank)
            .map(|r| restart::decode_start(r[per_rank - 2]))
            .collect();
        Ok((
            handshake::decode_fields(&records, self.config.exchanges.len()),
            starts,
        ))
    }

    /// The global grid of the coupled fields, when `[coupling]` states it.
    pub fn grid(&self) -> Option<(usize, usize)> {
        self.config.grid
    }

    /// Ends the coupling: waits for the sends still in flight, and returns the component's
    /// timings, reduced over its ranks. Rank 0 of the component writes them as JSON to
    /// `report_dir` when given. Collective over the component's ranks.
    pub fn finalize(&mut self, report_dir: Option<&Path>) -> Result<TimingReport, CouplerError> {
        self.guarded(|c| c.finalize_inner(report_dir))
    }

    fn finalize_inner(&mut self, report_dir: Option<&Path>) -> Result<TimingReport, CouplerError> {
        self.require(
            State::Running,
            "finalize",
            "finalize() is called once, after enddef()",
        )?;
        let deadline = self.deadline();
        for k in 0..self.links.len() {
            let field = self.links[k].timing.field.clone();
            let notice = &mut self.notice;
            match &mut self.links[k].side {
                Side::Send(s) => {
                    let flushed = s.flush_unless(deadline, &mut || {
                        notice.as_mut().is_some_and(Notice::arrived)
                    });
                    let what = format!("the last sends of '{field}' to be received");
                    match flushed {
                        Ok(()) => {}
                        Err(transport::Stop::TimedOut(waited)) => {
                            self.peer_failed = true;
                            return Err(self.timeout(&what, waited));
                        }
                        Err(transport::Stop::Interrupted(_)) => {
                            self.peer_failed = true;
                            return Err(CouplerError::PeerFailed {
                                component: self.component.clone(),
                                rank: self.world_rank,
                                what,
                                notice: self.notice.as_ref().map(Notice::text).unwrap_or_default(),
                            });
                        }
                    }
                }
                Side::Recv(r) => {
                    if let Some(t) = r.cancel() {
                        tracing::warn!(
                            "coupler: '{}' finalized before receiving '{field}' for t = {t} s",
                            self.component
                        );
                    }
                }
            }
        }
        self.say_goodbye(deadline)?;
        if let Some(notice) = &mut self.notice {
            notice.cancel();
        }
        let fields = self.links.iter().map(|l| l.timing.clone()).collect();
        let report = timing::reduce(
            &self.local,
            &self.component,
            fields,
            self.started,
            self.memory,
        );
        if self.local.rank() == 0 {
            if let Some(dir) = report_dir {
                if let Err(e) = report.write_json(dir) {
                    tracing::warn!("coupler: cannot write timings to {}: {e}", dir.display());
                }
            }
        }
        self.state = State::Finalized;
        Ok(report)
    }

    /// Lets MPI move this rank's sends in flight: a large message moves only while its
    /// sender is inside MPI, so a model that puts and then computes for long should call
    /// this now and then (between strips of rows, say); it costs a few MPI_Test calls.
    pub fn progress(&mut self) {
        for link in &mut self.links {
            if let Side::Send(s) = &mut link.side {
                s.progress();
            }
        }
    }

    /// Runs a public call and keeps the error it returns, so that a coupler dropped before
    /// `finalize` can tell the other components why (see [`failure`]): every call that
    /// may fail on one rank alone goes through here.
    fn guarded<T>(
        &mut self,
        call: impl FnOnce(&mut Self) -> Result<T, CouplerError>,
    ) -> Result<T, CouplerError> {
        let result = call(self);
        if let Err(e) = &result {
            self.last_error = Some(e.to_string());
        }
        result
    }
}
