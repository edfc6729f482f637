//! The first thing every program of a launch does after `MPI_Init`: tell every rank what it
//! is and whether it can start, so that no launch mistake leaves a rank waiting.
//!
//! Under an MPI launcher a program that cannot start (a mistyped flag, a missing experiment
//! file, a bad table) still initialises MPI and joins with its reason before it exits; one
//! that has no `[coupling]` table joins as "alone". Every rank then sees the same records,
//! and when a program failed, or a program would run alone beside others, every rank of
//! every component ends at once with the same message, which world rank 0 prints:
//!
//! ```text
//! component 'ml' (world rank 2) could not start: nope.toml: no such experiment file
//! ```
//!
//! [`Coupler::init`](crate::Coupler::init) begins with this discovery, so a program that
//! couples needs no separate call.

use std::path::Path;
use std::time::{Duration, Instant};

use mpi::topology::SimpleCommunicator;
use mpi::traits::Communicator;

use crate::component::Component;
use crate::config::CouplingConfig;
use crate::error::CouplerError;
use crate::handshake::{self, NAME_LEN};
use crate::transport;

/// What a program made of its command line and experiment file, told to every rank.
#[derive(Debug, Clone, Copy)]
pub enum Intent<'a> {
    /// It couples with this `[coupling]` table.
    Couple(&'a CouplingConfig),
    /// It runs alone: this experiment file has no `[coupling]` table.
    Alone(&'a Path),
    /// It cannot start, for this reason (which names the file, flag or key).
    Failed(&'a str),
}

impl Intent<'_> {
    fn code(&self) -> u8 {
        match self {
            Intent::Couple(_) => 0,
            Intent::Alone(_) => 1,
            Intent::Failed(_) => 2,
        }
    }

    fn text(&self) -> String {
        match self {
            Intent::Couple(_) => String::new(),
            Intent::Alone(path) => path.display().to_string(),
            Intent::Failed(reason) => reason.to_string(),
        }
    }
}

/// How long discovery waits for every rank when this rank has no `[coupling] timeout`.
pub const DISCOVERY_WAIT: Duration = Duration::from_secs(120);

/// The environment variable that sets how long `MPI_Init` may take (seconds) before
/// [`init_watchdog`] ends the program.
pub const INIT_TIMEOUT_ENV: &str = "EDDYLINK_INIT_TIMEOUT";

/// Armed before `MPI_Init`; [`InitWatchdog::initialised`] disarms it.
pub struct InitWatchdog(std::sync::Arc<std::sync::atomic::AtomicBool>);

impl InitWatchdog {
    /// `MPI_Init` returned: the watchdog stands down.
    pub fn initialised(self) {
        self.0.store(true, std::sync::atomic::Ordering::Release);
    }
}

/// Ends this program when `MPI_Init` has not returned after [`DISCOVERY_WAIT`] (or
/// `EDDYLINK_INIT_TIMEOUT` seconds). A program of the launch that dies before it starts MPI
/// (a shared library it cannot load, a wrong path) leaves the others in `MPI_Init`, where
/// MPICH's Hydra lets them spin for ever: this says why and exits instead, which ends the
/// job.
pub fn init_watchdog(component: &'static str) -> InitWatchdog {
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let limit = std::env::var(INIT_TIMEOUT_ENV)
        .ok()
        .and_then(|v| v.parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s > 0.0)
        .map_or(DISCOVERY_WAIT, Duration::from_secs_f64);
    let flag = done.clone();
    let started = Instant::now();
    let spawned = std::thread::Builder::new()
        .name("mpi-init-watchdog".into())
        .spawn(move || {
            while started.elapsed() < limit {
                if flag.load(std::sync::atomic::Ordering::Acquire) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            if !flag.load(std::sync::atomic::Ordering::Acquire) {
                crate::say!(
                    "error: component '{component}': MPI_Init did not return within {:.0} s: \
                     another program of this launch probably died before starting MPI (look \
                     for 'error while loading shared libraries' or 'not found' above); ending \
                     this one ({INIT_TIMEOUT_ENV} sets the limit)",
                    limit.as_secs_f64()
                );
                std::process::exit(1);
            }
        });
    if spawned.is_err() {
        crate::say!("warning: cannot start the MPI_Init watchdog: a launch that fails may hang");
    }
    InitWatchdog(done)
}

/// Whether an MPI launcher (Hydra, srun, PMIx, Open MPI) started this process, so that peers
/// may be waiting for it in `MPI_Init`: a program that exits early then joins first.
pub fn under_launcher() -> bool {
    ["PMI_RANK", "PMI_SIZE", "PMIX_RANK", "OMPI_COMM_WORLD_SIZE"]
        .iter()
        .any(|v| std::env::var_os(v).is_some())
}

/// Joins the launch for a program that runs alone or cannot start: collective over every
/// rank of `world`. Returns the components launched when the program may run alone (it is
/// the only one), else the launch-wide error every rank gets.
pub fn join(
    world: &SimpleCommunicator,
    component: &str,
    intent: Intent,
) -> Result<Vec<Component>, CouplerError> {
    discover(world, component, intent, Instant::now() + DISCOVERY_WAIT)
}

/// Initialises MPI under a launcher and joins with `reason`, so that the peers end at once
/// instead of waiting in `MPI_Init`. Returns whether this rank is the one to print the
/// launch's message, and that message (`reason` itself when this program is alone).
pub fn refuse(component: &str, reason: &str) -> (bool, String) {
    if !under_launcher() {
        return (true, reason.to_string());
    }
    let Some(universe) = mpi::initialize() else {
        return (true, reason.to_string());
    };
    match join(&universe.world(), component, Intent::Failed(reason)) {
        Err(CouplerError::Launch { message, report }) => (report, message),
        Err(e) => (true, e.to_string()),
        Ok(_) => (true, reason.to_string()),
    }
}

/// Every rank's name and intent; the components, or the launch-wide error.
pub(crate) fn discover(
    world: &SimpleCommunicator,
    component: &str,
    intent: Intent,
    deadline: Instant,
) -> Result<Vec<Component>, CouplerError> {
    let mut mine = [0u8; NAME_LEN + 1];
    let bytes = component.as_bytes();
    let n = bytes.len().min(NAME_LEN);
    mine[..n].copy_from_slice(&bytes[..n]);
    mine[NAME_LEN] = intent.code();
    let all = transport::allgather(&mine, world, deadline)
        .unwrap_or_else(|waited| timeout(component, world, waited, deadline, "every rank to join"));
    let records: Vec<(String, u8)> = all
        .chunks(NAME_LEN + 1)
        .map(|c| {
            let name = String::from_utf8_lossy(&c[..NAME_LEN]);
            (name.trim_end_matches('\0').to_string(), c[NAME_LEN])
        })
        .collect();
    let names: Vec<String> = records.iter().map(|r| r.0.clone()).collect();
    let components = handshake::components_of(&names);
    let failed = records.iter().any(|r| r.1 == 2);
    let alone = records.iter().any(|r| r.1 == 1);
    if !failed && (!alone || components.len() == 1) {
        return Ok(components);
    }
    let texts = handshake::gather_texts(world, &intent.text(), deadline).unwrap_or_else(|waited| {
        timeout(
            component,
            world,
            waited,
            deadline,
            "the reasons of the others",
        )
    });
    let codes: Vec<u8> = records.iter().map(|r| r.1).collect();
    Err(CouplerError::Launch {
        message: launch_problem(&components, &codes, &texts),
        report: world.rank() == 0,
    })
}

/// The message every rank gets: each failed program's reason, else the programs that would
/// run alone beside others.
fn launch_problem(components: &[Component], codes: &[u8], texts: &[String]) -> String {
    let ranks = |c: &Component, code: u8, text: &str| -> Vec<i32> {
        c.world_ranks
            .iter()
            .copied()
            .filter(|&r| codes[r as usize] == code && texts[r as usize] == text)
            .collect()
    };
    let launched = components
        .iter()
        .map(|c| format!("'{}' ×{}", c.name, c.world_ranks.len()))
        .collect::<Vec<_>>()
        .join(", ");
    let mut lines: Vec<String> = Vec::new();
    let code = if codes.contains(&2) { 2 } else { 1 };
    for c in components {
        let mut seen: Vec<&str> = Vec::new();
        for &r in &c.world_ranks {
            let text = texts[r as usize].as_str();
            if codes[r as usize] != code || seen.contains(&text) {
                continue;
            }
            seen.push(text);
            let rs = ranks(c, code, text);
            let who = format!("component '{}' ({})", c.name, rank_list(&rs));
            lines.push(match (code, components.len()) {
                (2, 1) => text.to_string(),
                (2, _) => format!("{who} could not start: {text}"),
                _ => format!(
                    "{who} reads {text}, which has no [coupling] table, so it would run alone; \
                     but this launch started {launched}: give every program one experiment \
                     file with a [coupling] table, or launch '{}' by itself",
                    c.name
                ),
            });
        }
    }
    lines.join("\n  ")
}

fn rank_list(ranks: &[i32]) -> String {
    let list = ranks
        .iter()
        .map(|r| r.to_string())
        .collect::<Vec<_>>()
        .join(", ");
    if ranks.len() == 1 {
        format!("world rank {list}")
    } else {
        format!("world ranks {list}")
    }
}

fn timeout(
    component: &str,
    world: &SimpleCommunicator,
    waited: Duration,
    deadline: Instant,
    what: &str,
) -> ! {
    let limit = waited.as_secs_f64()
        + deadline
            .saturating_duration_since(Instant::now())
            .as_secs_f64();
    crate::say!(
        "coupler timeout: component '{component}' rank {} waited {:.1} s (limit {limit:.0} s) for {what} \
         at the start of the launch; a program may have died before joining, or is not an eddylink \
         program; aborting the job",
        world.rank(),
        waited.as_secs_f64(),
    );
    transport::abort(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn components(names: &[&str]) -> Vec<Component> {
        let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        handshake::components_of(&names)
    }

    #[test]
    fn a_failed_peer_is_named_with_its_ranks_and_reason() {
        let c = components(&["ocean", "ocean", "ml"]);
        let texts = ["", "", "nope.toml: no such experiment file"].map(String::from);
        assert_eq!(
            launch_problem(&c, &[1, 1, 2], &texts),
            "component 'ml' (world rank 2) could not start: nope.toml: no such experiment file"
        );
    }

    #[test]
    fn a_program_alone_keeps_its_own_reason_once() {
        let c = components(&["ml", "ml"]);
        let texts = ["bad flag", "bad flag"].map(String::from);
        assert_eq!(launch_problem(&c, &[2, 2], &texts), "bad flag");
    }

    #[test]
    fn a_program_that_would_run_alone_beside_others_is_named_with_its_file() {
        let c = components(&["ocean", "ocean", "ml"]);
        let texts = ["x.toml", "x.toml", ""].map(String::from);
        let m = launch_problem(&c, &[1, 1, 0], &texts);
        assert!(
            m.starts_with(
                "component 'ocean' (world ranks 0, 1) reads x.toml, which has no [coupling] table"
            ) && m.contains("this launch started 'ocean' ×2, 'ml' ×1"),
            "{m}"
        );
    }
}
