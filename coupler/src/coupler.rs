//! The coupler's lifecycle: init → define_field → enddef → { put / get } → finalize.
//!
//! Each call checks the state it is made in and says what to do instead. Problems that
//! every rank can see alike (a component not launched, configurations that differ, boxes
//! that do not tile) end every rank with the same message; problems only one rank sees (a
//! timeout, a wrong array length) return an error, and a coupler dropped before
//! `finalize` aborts the MPI job, so that no peer is left waiting for a dead rank.

use std::path::Path;
use std::time::{Duration, Instant};

use mpi::topology::{Color, SimpleCommunicator};
use mpi::traits::*;

use crate::config::{CouplingConfig, Exchange, GridPoint, Period};
use crate::error::CouplerError;
use crate::handshake;
use crate::link::{Clock, Layout, Receiver, Sender};
use crate::routes::{compute_routes, Region};
use crate::signals;
use crate::timeops::Element;
use crate::timing::{resident_mb, FieldTiming, Memory, TimingReport};
use crate::transport;

/// What a rank declares about one of its coupled fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldDef {
    /// This rank's box in the global grid (without halo).
    pub region: Region,
    /// Length of the vertical or batch axis.
    pub levels: usize,
    /// Where the field lives on the C-grid.
    pub point: GridPoint,
}

/// A component of the MPMD job: its name and its ranks in MPI_COMM_WORLD, by local rank.
#[derive(Debug, Clone, PartialEq)]
pub struct Component {
    pub name: String,
    pub world_ranks: Vec<i32>,
}

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

/// The message of the last panic, for the failure notice (see [`remember_panics`]).
static PANIC_MESSAGE: std::sync::Mutex<Option<String>> = std::sync::Mutex::new(None);

/// Keeps the message of a panic, so that a coupler dropped while unwinding can tell the
/// other components what happened (the default hook still prints it).
fn remember_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let text = info
                .payload()
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| info.payload().downcast_ref::<String>().cloned())
                .unwrap_or_default();
            let at = info
                .location()
                .map_or(String::new(), |l| format!(" at {}:{}", l.file(), l.line()));
            if let Ok(mut m) = PANIC_MESSAGE.lock() {
                *m = Some(format!("{text}{at}"));
            }
            previous(info);
        }));
    });
}

/// What the enddef gather gives: every rank's declared fields, and the start time it asked
/// for, by world rank.
type Declarations = (Vec<Vec<handshake::Declared>>, Vec<Option<f64>>);

/// `start_s` of a rank that did not set one, in the enddef gather.
const NO_START: i64 = i64::MIN;
/// Tag of failure notices on the control communicator (collectives do not use tags).
const NOTICE_TAG: i32 = 0x6e6f;
/// Tag of the message each rank sends every rank of the other components at finalize: a
/// failing rank that has it from every peer knows nobody is left to read its notice.
const BYE_TAG: i32 = 0x6279;
/// Longest failure notice, in bytes.
const NOTICE_BYTES: usize = 2048;

/// A receive, posted after enddef, for the notice a failing rank of another component sends
/// before it aborts the job: waits in `get` watch it, so that the survivors learn at once
/// which component failed and why (and the ocean can write a checkpoint) instead of
/// waiting for the timeout.
struct Notice {
    buf: Vec<u8>,
    req: Option<transport::Request>,
}

impl Notice {
    fn post(control: &SimpleCommunicator) -> Notice {
        let mut buf = vec![0u8; NOTICE_BYTES];
        // SAFETY: `buf`'s heap storage lives in this struct, unmoved, until the request
        // completes (`arrived`) or is cancelled (`cancel`); the job aborts otherwise.
        let req =
            unsafe { transport::irecv(&mut buf, transport::any_source(), NOTICE_TAG, control) };
        Notice {
            buf,
            req: Some(req),
        }
    }

    /// Whether a notice has arrived (then the request is spent).
    fn arrived(&mut self) -> bool {
        let Some(req) = &mut self.req else {
            return true;
        };
        if req.test() {
            self.req = None;
        }
        self.req.is_none()
    }

    fn text(&self) -> String {
        let end = self
            .buf
            .iter()
            .position(|&b| b == 0)
            .unwrap_or(self.buf.len());
        String::from_utf8_lossy(&self.buf[..end]).into_owned()
    }

    fn cancel(&mut self) {
        if let Some(req) = self.req.take() {
            req.cancel();
        }
    }
}

impl Coupler {
    /// Joins the coupled job as `component`: collective over every rank of `world`.
    ///
    /// Finds the other components by name (any launch order and rank counts), checks that
    /// every component named in the configuration was launched and that all of them read the
    /// same `[coupling]` table, and splits `world` into one communicator per component.
    pub fn init(
        world: &SimpleCommunicator,
        component: &str,
        config: &CouplingConfig,
    ) -> Result<Coupler, CouplerError> {
        let started = Instant::now();
        let deadline = started + Duration::from_secs_f64(config.timeout_s);
        remember_panics();
        let setup_error = |message: String| CouplerError::Setup {
            component: component.into(),
            message,
        };
        let components = crate::launch::discover(
            world,
            component,
            crate::launch::Intent::Couple(config),
            deadline,
        )?;
        handshake::check_components(&components, config).map_err(setup_error)?;
        let texts = handshake::gather_texts(world, &config.canonical(), deadline).unwrap_or_else(
            |waited| init_timeout(component, world, waited, config, "the configuration check"),
        );
        handshake::check_same_config(&components, &texts).map_err(setup_error)?;

        let color = components
            .iter()
            .position(|c| c.name == component)
            .unwrap_or(0);
        let local = world
            .split_by_color(Color::with_value(color as i32))
            .ok_or_else(|| setup_error("MPI_Comm_split gave no communicator".into()))?;
        let exchange_comms = config.exchanges.iter().map(|_| world.duplicate()).collect();
        let polling = choose_polling(world);
        // Process ids, so that a launcher's report of a dead process (Hydra names its pid,
        // srun its task = world rank) can be traced to its component: see the log line.
        let pids = transport::allgather(&[std::process::id() as i64], world, deadline)
            .unwrap_or_else(|waited| {
                init_timeout(component, world, waited, config, "the process ids")
            });
        if world.rank() == 0 {
            let summary: Vec<String> = components
                .iter()
                .map(|c| {
                    let pids: Vec<String> = c
                        .world_ranks
                        .iter()
                        .map(|&r| pids[r as usize].to_string())
                        .collect();
                    format!(
                        "{} = world ranks {:?} (pids {})",
                        c.name,
                        c.world_ranks,
                        pids.join(", ")
                    )
                })
                .collect();
            tracing::info!(
                "coupler: {} components found: {}; waits poll {}",
                components.len(),
                summary.join("; "),
                match polling {
                    transport::Polling::Busy => "busily (a core per rank)",
                    transport::Polling::Sleep => "with sleeps (more ranks than cores)",
                }
            );
        }
        Ok(Coupler {
            component: component.to_string(),
            config: config.clone(),
            components,
            local,
            control: world.duplicate(),
            world_rank: world.rank(),
            exchange_comms,
            fields: Vec::new(),
            links: Vec::new(),
            state: State::Defining,
            started,
            last_error: None,
            start_s: None,
            notice: None,
            peer_failed: false,
            memory: Memory::default(),
        })
    }

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

    /// Ends the definition phase: collective over every rank of the job. Checks that the
    /// boxes of each field tile its grid on both sides and that the declared levels and
    /// grid points match the configuration, then builds the M×N routes and posts the first
    /// receives.
    pub fn enddef(&mut self) -> Result<(), CouplerError> {
        let result = self.enddef_inner();
        self.remember(&result);
        result
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

    /// Starts the coupled run at model time `t` instead of 0: a restart from a checkpoint.
    /// Call before `enddef()` on the ranks that know the time (the ocean); the other
    /// components adopt it at enddef (see [`Coupler::start_time`]). `t` must be a coupling
    /// time of every periodic exchange, and exchanges with a lag cannot restart.
    pub fn set_start_time(&mut self, t: f64) -> Result<(), CouplerError> {
        self.require(
            State::Defining,
            "set_start_time",
            "the start time is set before enddef()",
        )?;
        if !(t.is_finite() && t >= 0.0) {
            return Err(CouplerError::Setup {
                component: self.component.clone(),
                message: format!("start time {t} s: expected a finite time >= 0"),
            });
        }
        self.start_s = Some(t);
        Ok(())
    }

    /// The model time the coupled run starts at (agreed at enddef; 0 unless restarted).
    pub fn start_time(&self) -> f64 {
        self.start_s.unwrap_or(0.0)
    }

    /// Gives up before `enddef()` after an error of this rank's own (a model that will not
    /// load, a setting the program rejects). Collective with the other ranks' `enddef()`
    /// (or `abandon()`): every rank of every component then stops at once with this rank's
    /// reason, instead of waiting for it until the timeout. Returns the error to report.
    pub fn abandon(&mut self, reason: &str) -> CouplerError {
        let error = match self.require(
            State::Defining,
            "abandon",
            "abandon() replaces enddef() after a start-up error",
        ) {
            Err(e) => e,
            Ok(()) => match self.gather_declarations(Some(reason)) {
                Err(e) => e,
                Ok(_) => CouplerError::Setup {
                    component: self.component.clone(),
                    message: reason.to_string(),
                },
            },
        };
        self.last_error = Some(error.to_string());
        error
    }

    /// The enddef() gather: every rank's boxes, and whether it failed to start (with why).
    fn gather_declarations(&mut self, failure: Option<&str>) -> Result<Declarations, CouplerError> {
        let deadline = self.deadline();
        let mut mine = handshake::encode_fields(&self.config, &self.component, &self.fields);
        mine.push(self.start_s.map_or(NO_START, |t| t.to_bits() as i64));
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
            .map(|r| (r[per_rank - 2] != NO_START).then(|| f64::from_bits(r[per_rank - 2] as u64)))
            .collect();
        Ok((
            handshake::decode_fields(&records, self.config.exchanges.len()),
            starts,
        ))
    }

    /// The start time every rank agrees on: the one the ranks that set one asked for (all
    /// alike), else 0. Problems go to `problems`.
    fn agree_on_start(&self, starts: &[Option<f64>], problems: &mut Vec<String>) -> f64 {
        let asked: Vec<(usize, f64)> = starts
            .iter()
            .enumerate()
            .filter_map(|(r, s)| s.map(|s| (r, s)))
            .collect();
        let Some(&(first, start)) = asked.first() else {
            return 0.0;
        };
        if let Some(&(r, other)) = asked.iter().find(|(_, s)| *s != start) {
            problems.push(format!(
                "component '{}' (world rank {first}) starts at t = {start} s but '{}' (world rank {r}) at t = {other} s: restart every component from the same time",
                self.component_of(first as i32),
                self.component_of(r as i32)
            ));
        }
        let run_s = self.config.run_duration_s;
        if start >= run_s {
            problems.push(format!(
                "the run starts at t = {start} s, at or after its end run.duration = {run_s} s: nothing is left to run"
            ));
        }
        for ex in &self.config.exchanges {
            if let (Period::Every(p), true) = (ex.period, start > 0.0) {
                if !crate::config::is_multiple(start, p) {
                    problems.push(format!(
                        "{} ({} → {}): the restart time t = {start} s is not a coupling time (period {p} s): restart from a checkpoint written at a multiple of every coupling period",
                        ex.key(),
                        ex.src,
                        ex.dst
                    ));
                } else if ex.lag_s > 0.0 {
                    problems.push(format!(
                        "{} ({} → {}): a restart (t = {start} s) of an exchange with a lag ({} s) is not supported: the lagged data was sent before the restart",
                        ex.key(),
                        ex.src,
                        ex.dst,
                        ex.lag_s
                    ));
                }
            }
        }
        start
    }

    /// The global grid of the coupled fields, when `[coupling]` states it.
    pub fn grid(&self) -> Option<(usize, usize)> {
        self.config.grid
    }

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
        let result = self.put_strided_inner(field, t, data, level_stride);
        self.remember(&result);
        result
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
        let result = self.put_sync_inner(field, t, data);
        self.remember(&result);
        result
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
        let timing = &mut self.links[k].timing;
        timing.calls += 1;
        timing.seconds += start.elapsed().as_secs_f64();
        match sent {
            Ok(Some(bytes)) => {
                timing.exchanges += 1;
                timing.bytes += bytes;
                Ok(())
            }
            Ok(None) => Ok(()),
            Err(waited) => {
                let what = format!("'{field}' at t = {t} s to be received (put_sync)");
                Err(self.timeout(&what, waited))
            }
        }
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
            let timing = &mut self.links[k].timing;
            timing.calls += 1;
            timing.seconds += start.elapsed().as_secs_f64();
            match sent {
                Ok(Some(bytes)) => {
                    timing.exchanges += 1;
                    timing.bytes += bytes;
                }
                Ok(None) => {}
                Err(waited) => {
                    let what =
                        format!("the earlier sends of '{field}' at t = {t} s to be received");
                    return Err(self.timeout(&what, waited));
                }
            }
        }
        if found {
            Ok(())
        } else {
            Err(self.unknown(field, "send"))
        }
    }

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
        let result = self.get_strided_inner(field, t, out, level_stride);
        self.remember(&result);
        result
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

    /// Ends the coupling: waits for the sends still in flight, and returns the component's
    /// timings, reduced over its ranks. Rank 0 of the component writes them as JSON to
    /// `report_dir` when given. Collective over the component's ranks.
    pub fn finalize(&mut self, report_dir: Option<&Path>) -> Result<TimingReport, CouplerError> {
        let result = self.finalize_inner(report_dir);
        self.remember(&result);
        result
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
        let report = self.reduce_timings();
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

    /// Ends the coupled run early and cleanly on `signal`, once this component has saved
    /// its state at a time every component can restart from (a coupling time): rank 0
    /// tells every rank of the other components, whose waiting `get` then returns
    /// [`CouplerError::PeerStopped`] with `reason`. Collective over the component's
    /// ranks; call [`Coupler::finalize`] after it, as the other components do.
    pub fn stop(&mut self, signal: signals::Signal, reason: &str) -> Result<(), CouplerError> {
        self.require(
            State::Running,
            "stop",
            "stop() comes between enddef() and finalize()",
        )?;
        if self.local.rank() != 0 {
            return Ok(());
        }
        let who = format!("component '{}' stopped", self.component);
        let mut text = signals::stop_notice(signal, &format!("{who}: {reason}")).into_bytes();
        text.truncate(NOTICE_BYTES - 1);
        let mut sends: Vec<transport::Request> = self
            .components
            .iter()
            .filter(|c| c.name != self.component)
            .flat_map(|c| c.world_ranks.iter().copied())
            // SAFETY: `text` lives until the sends have completed (waited for below) or
            // the job is aborted at the timeout.
            .map(|r| unsafe { transport::isend(&text, r, NOTICE_TAG, &self.control) })
            .collect();
        let started = Instant::now();
        if transport::wait_all(&mut sends, self.deadline()).is_err() {
            std::mem::forget(text);
            return Err(self.timeout("the stop notice to be received", started.elapsed()));
        }
        Ok(())
    }

    /// Tells every rank of the other components that this one has finalized, and waits for
    /// the same word from each of them: a failing rank that has it from every peer knows
    /// nobody is left to read its notice (see [`Coupler::fail`]). A notice that arrives
    /// meanwhile ends the wait with [`CouplerError::PeerFailed`].
    fn say_goodbye(&mut self, deadline: Instant) -> Result<(), CouplerError> {
        static BYE: [u8; 1] = [1];
        let peers = self.peer_ranks();
        let mut byes = vec![0u8; peers.len()];
        let mut reqs: Vec<transport::Request> = Vec::with_capacity(2 * peers.len());
        for (bye, &r) in byes.chunks_mut(1).zip(&peers) {
            // SAFETY: `byes` is leaked below unless every request has completed.
            reqs.push(unsafe { transport::irecv(bye, r, BYE_TAG, &self.control) });
        }
        for &r in &peers {
            // SAFETY: `BYE` is static, so it outlives every send.
            reqs.push(unsafe { transport::isend(&BYE, r, BYE_TAG, &self.control) });
        }
        // A stop notice (a peer ending cleanly on a signal) is no failure: its sender still
        // says goodbye, so only a failure notice ends the wait early.
        let notice = &mut self.notice;
        let waited = transport::wait_all_unless(&mut reqs, deadline, &mut || {
            notice
                .as_mut()
                .is_some_and(|n| n.arrived() && signals::parse_stop_notice(&n.text()).is_none())
        });
        let what = "every other component to finalize";
        match waited {
            Ok(()) => Ok(()),
            Err(stop) => {
                std::mem::forget(byes);
                self.peer_failed = true;
                Err(match stop {
                    transport::Stop::TimedOut(waited) => self.timeout(what, waited),
                    transport::Stop::Interrupted(_) => CouplerError::PeerFailed {
                        component: self.component.clone(),
                        rank: self.world_rank,
                        what: what.into(),
                        notice: self.notice.as_ref().map(Notice::text).unwrap_or_default(),
                    },
                })
            }
        }
    }

    /// The world ranks of every other component.
    fn peer_ranks(&self) -> Vec<i32> {
        self.components
            .iter()
            .filter(|c| c.name != self.component)
            .flat_map(|c| c.world_ranks.iter().copied())
            .collect()
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

    /// Ends the whole MPI job with `code` after an error this rank cannot recover from.
    pub fn abort(&self, code: i32) -> ! {
        transport::abort(code)
    }

    /// Ends the whole MPI job after an error this rank cannot recover from, first telling
    /// every rank of the other components why: a peer waiting in `get` then stops at once
    /// with [`CouplerError::PeerFailed`] naming this component and `reason` (the ocean
    /// writes a checkpoint then). Waits for the peers to end the job, at most the coupling
    /// timeout, then aborts it. A rank that failed because a peer did aborts at once.
    pub fn fail(&mut self, reason: &str) -> ! {
        self.fail_with_code(reason, 1)
    }

    fn fail_with_code(&mut self, reason: &str, code: i32) -> ! {
        let who = format!(
            "component '{}' (world rank {})",
            self.component, self.world_rank
        );
        // Logged (into the run directory's log too, on rank 0), not only printed: a launcher
        // tearing the job down may drop the last lines of a rank's stderr. A program without
        // a tracing subscriber still gets the line on stderr.
        let line = format!(
            "coupler: {who} ends the MPI job, so that no other component waits for it: {reason}"
        );
        if tracing::dispatcher::has_been_set() {
            tracing::error!("{line}");
        } else {
            crate::say!("{line}");
        }
        if self.state == State::Running && !self.peer_failed {
            let mut text = format!("{who} failed: {reason}").into_bytes();
            text.truncate(NOTICE_BYTES - 1);
            let peers = self.peer_ranks();
            let deadline = self.deadline();
            let mut sends: Vec<transport::Request> = peers
                .iter()
                // SAFETY: `text` outlives the requests: this function never returns.
                .map(|&r| unsafe { transport::isend(&text, r, NOTICE_TAG, &self.control) })
                .collect();
            // The peers end the job once they have read the notice (and saved their work);
            // this rank keeps MPI progressing meanwhile. A peer that has finalized said so
            // (BYE_TAG) and will read nothing: once every peer has, or at the timeout, this
            // rank ends the job itself.
            let _ = transport::wait_all(&mut sends, deadline);
            let mut gone = vec![false; peers.len()];
            while Instant::now() < deadline {
                for (g, &r) in gone.iter_mut().zip(&peers) {
                    *g = *g || transport::probe(r, BYE_TAG, &self.control);
                }
                if gone.iter().all(|&g| g) {
                    break;
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        }
        transport::abort(code)
    }

    fn remember<T>(&mut self, result: &Result<T, CouplerError>) {
        if let Err(e) = result {
            self.last_error = Some(e.to_string());
        }
    }

    fn reduce_timings(&self) -> TimingReport {
        let mut fields = Vec::with_capacity(self.links.len());
        for link in &self.links {
            let mut t = link.timing.clone();
            let mut seconds = 0.0f64;
            let mut bytes = 0u64;
            self.local.all_reduce_into(
                &t.seconds,
                &mut seconds,
                mpi::collective::SystemOperation::max(),
            );
            self.local.all_reduce_into(
                &t.bytes,
                &mut bytes,
                mpi::collective::SystemOperation::sum(),
            );
            t.seconds = seconds;
            t.bytes = bytes;
            fields.push(t);
        }
        let mut wall = self.started.elapsed().as_secs_f64();
        let mine = wall;
        self.local
            .all_reduce_into(&mine, &mut wall, mpi::collective::SystemOperation::max());
        let m = self.memory;
        let mine = [m.at_enddef_mb, m.after_first_get_mb, resident_mb()];
        let mut most = [0.0f64; 3];
        self.local.all_reduce_into(
            &mine[..],
            &mut most[..],
            mpi::collective::SystemOperation::max(),
        );
        TimingReport {
            component: self.component.clone(),
            ranks: self.local.size() as usize,
            wall_seconds: wall,
            fields,
            memory: Memory {
                at_enddef_mb: most[0],
                after_first_get_mb: most[1],
                at_finalize_mb: most[2],
            },
        }
    }

    fn link(&self, ex: &Exchange, side: Side) -> Link {
        let (field, direction, peer) = match side {
            Side::Send(_) => (&ex.src.field, "put", ex.dst.to_string()),
            Side::Recv(_) => (&ex.dst.field, "get", ex.src.to_string()),
        };
        let timing = FieldTiming {
            field: field.clone(),
            direction,
            peer,
            ..FieldTiming::default()
        };
        Link {
            exchange: ex.clone(),
            side,
            timing,
        }
    }

    fn require(
        &self,
        state: State,
        call: &'static str,
        hint: &'static str,
    ) -> Result<(), CouplerError> {
        if self.state == state {
            return Ok(());
        }
        let when = match self.state {
            State::Defining => "before enddef()",
            State::Running => "after enddef()",
            State::Finalized => "after finalize()",
            State::FailedTogether => "after a failed enddef()",
        };
        Err(CouplerError::WrongState { call, when, hint })
    }

    fn deadline(&self) -> Instant {
        Instant::now() + Duration::from_secs_f64(self.config.timeout_s)
    }

    fn timeout(&self, what: &str, waited: Duration) -> CouplerError {
        CouplerError::Timeout {
            component: self.component.clone(),
            rank: self.world_rank,
            what: what.to_string(),
            waited_s: waited.as_secs_f64(),
            limit_s: self.config.timeout_s,
        }
    }

    fn unknown(&self, field: &str, role: &'static str) -> CouplerError {
        let known: Vec<&str> = self
            .config
            .exchanges
            .iter()
            .filter_map(|ex| match role {
                "send" => (ex.src.component == self.component).then_some(ex.src.field.as_str()),
                _ => (ex.dst.component == self.component).then_some(ex.dst.field.as_str()),
            })
            .collect();
        CouplerError::UnknownField {
            component: self.component.clone(),
            field: field.into(),
            role,
            known: if known.is_empty() {
                "(none)".into()
            } else {
                known.join(", ")
            },
        }
    }

    fn receiver_index(&self, field: &str) -> Result<usize, CouplerError> {
        self.links
            .iter()
            .position(|l| matches!(l.side, Side::Recv(_)) && l.exchange.dst.field == field)
            .ok_or_else(|| self.unknown(field, "receive"))
    }

    fn box_cells(&self, field: &str, call: &'static str) -> Result<usize, CouplerError> {
        match self.fields.iter().find(|(name, _)| name == field) {
            Some((_, def)) => Ok(def.region.cells()),
            None => Err(self.unknown(field, if call == "put" { "send" } else { "receive" })),
        }
    }

    fn check_size(
        &self,
        field: &str,
        layout: Layout,
        given: usize,
        call: &str,
    ) -> Result<(), CouplerError> {
        let contiguous = layout.level_stride == layout.width * layout.height;
        let needed = layout.needed();
        let ok = if contiguous {
            given == needed
        } else {
            given >= needed
        };
        if ok && layout.level_stride >= layout.width * layout.height {
            return Ok(());
        }
        Err(CouplerError::Size {
            component: self.component.clone(),
            field: field.into(),
            rank: self.world_rank,
            given,
            expected: needed,
            detail: format!(
                "{call} takes {} levels of {} rows × {} columns, level stride {}",
                layout.levels, layout.height, layout.width, layout.level_stride
            ),
        })
    }

    fn field_names(&self) -> Vec<String> {
        let mut names = Vec::new();
        for ex in &self.config.exchanges {
            for end in [&ex.src, &ex.dst] {
                if end.component == self.component && !names.contains(&end.field) {
                    names.push(end.field.clone());
                }
            }
        }
        names
    }

    fn component_of(&self, world_rank: i32) -> &str {
        self.components
            .iter()
            .find(|c| c.world_ranks.contains(&world_rank))
            .map_or("?", |c| c.name.as_str())
    }

    fn component_ranks(&self, name: &str) -> &[i32] {
        self.components
            .iter()
            .find(|c| c.name == name)
            .map(|c| c.world_ranks.as_slice())
            .unwrap_or(&[])
    }
}

impl Drop for Coupler {
    fn drop(&mut self) {
        if !matches!(self.state, State::Defining | State::Running) {
            return;
        }
        if std::thread::panicking() {
            let message = PANIC_MESSAGE
                .lock()
                .ok()
                .and_then(|m| m.clone())
                .unwrap_or_default();
            self.fail_with_code(&format!("panicked: {message}"), 101);
        }
        let reason = match self.last_error.take() {
            Some(e) => format!("stopped before finalize() after this error: {e}"),
            None => "stopped before finalize()".to_string(),
        };
        self.fail_with_code(&reason, 1);
    }
}

/// Busy polling when every rank of this node has a core, sleeping polls otherwise;
/// `EDDYLINK_WAIT=busy|sleep` overrides. Collective over `world`.
fn choose_polling(world: &SimpleCommunicator) -> transport::Polling {
    let node = world.split_shared(0);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let polling = match std::env::var("EDDYLINK_WAIT").as_deref() {
        Ok("busy") => transport::Polling::Busy,
        Ok("sleep") => transport::Polling::Sleep,
        _ if node.size() as usize > cores => transport::Polling::Sleep,
        _ => transport::Polling::Busy,
    };
    transport::set_polling(polling);
    polling
}

fn init_timeout(
    component: &str,
    world: &SimpleCommunicator,
    waited: Duration,
    config: &CouplingConfig,
    what: &str,
) -> ! {
    crate::say!(
        "coupler timeout: component '{component}' rank {} waited {:.1} s (limit {} s) for {what} \
         in init(); a component may have died before joining; aborting the job",
        world.rank(),
        waited.as_secs_f64(),
        config.timeout_s
    );
    transport::abort(1)
}
