//! Joining the coupled job: finding the components, checking they read the same
//! `[coupling]` table, and splitting the world into one communicator per component.

use std::time::{Duration, Instant};

use mpi::topology::{Color, SimpleCommunicator};
use mpi::traits::*;

use super::{failure, Coupler, State};
use crate::config::CouplingConfig;
use crate::error::CouplerError;
use crate::handshake;
use crate::timing::Memory;
use crate::transport;

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
        failure::remember_panics();
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
