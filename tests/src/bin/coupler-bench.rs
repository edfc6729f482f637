//! Coupler bandwidth and latency against raw MPI, between the same two ranks.
//!
//!     mpiexec -n 2 target/release/coupler-bench [--reps N]
//!
//! Rank 0 registers as component "a", rank 1 as "b". For each field size both sides do a
//! round trip per repetition: raw MPI (send, then receive the same bytes back), then the
//! coupler (put a.x → get b.x, put b.y → get a.y at each coupling time), with `put` (copies,
//! returns at once) and with `put_sync` (no copy, returns once received). One-way time is
//! half a round trip; a ratio is raw time over coupler time (1.0 = as fast as raw MPI).

use std::time::Instant;

use clap::Parser;
use coupler::{Coupler, CouplingConfig, FieldDef, GridPoint, Region};
use mpi::topology::SimpleCommunicator;
use mpi::traits::*;

#[derive(Parser)]
struct Args {
    /// Round trips timed per size (after 3 untimed ones).
    #[arg(long, default_value_t = 20)]
    reps: usize,
    /// Largest square 2-D field.
    #[arg(long, default_value_t = 2048)]
    max_n: usize,
}

const WARM: usize = 3;

fn main() {
    let args = Args::parse();
    let universe = mpi::initialize().expect("MPI initialises");
    let world = universe.world();
    if world.size() != 2 {
        eprintln!("coupler-bench: run with exactly 2 ranks: mpiexec -n 2 coupler-bench");
        std::process::exit(2);
    }
    let mut cases: Vec<(usize, usize)> = (6..=11)
        .map(|p| (1, 1usize << p))
        .filter(|c| c.1 <= args.max_n)
        .collect();
    cases.push((36, 256));
    if world.rank() == 0 {
        println!("| field | MB | raw MPI one-way (ms) | put one-way (ms) | put_sync one-way (ms) | raw GB/s | put / raw bandwidth | put_sync / raw bandwidth |");
        println!("|---|---|---|---|---|---|---|---|");
    }
    for (levels, n) in cases {
        let raw = raw_one_way(&world, levels * n * n, args.reps);
        let coupler = |sync| match coupler_one_way(&world, levels, n, args.reps, sync) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("coupler-bench: {e}");
                std::process::exit(1);
            }
        };
        let (cpl, cpl_sync) = (coupler(false), coupler(true));
        if world.rank() == 0 {
            let mb = (levels * n * n * 4) as f64 / 1e6;
            let label = if levels == 1 {
                format!("{n}²")
            } else {
                format!("{levels}×{n}²")
            };
            println!(
                "| {label} | {mb:.3} | {:.4} | {:.4} | {:.4} | {:.2} | {:.2} | {:.2} |",
                raw * 1e3,
                cpl * 1e3,
                cpl_sync * 1e3,
                mb / 1e3 / raw,
                raw / cpl,
                raw / cpl_sync
            );
        }
    }
}

/// Seconds for one one-way transfer of `len` f32 with blocking send/recv.
fn raw_one_way(world: &SimpleCommunicator, len: usize, reps: usize) -> f64 {
    let mut buf = vec![1.0f32; len];
    let peer = world.process_at_rank(1 - world.rank());
    world.barrier();
    let mut start = Instant::now();
    for k in 0..WARM + reps {
        if k == WARM {
            start = Instant::now();
        }
        if world.rank() == 0 {
            peer.send(&buf[..]);
            peer.receive_into(&mut buf[..]);
        } else {
            peer.receive_into(&mut buf[..]);
            peer.send(&buf[..]);
        }
    }
    start.elapsed().as_secs_f64() / (2 * reps) as f64
}

/// Seconds for one one-way coupler exchange of a `levels × n × n` field.
fn coupler_one_way(
    world: &SimpleCommunicator,
    levels: usize,
    n: usize,
    reps: usize,
    sync: bool,
) -> Result<f64, coupler::CouplerError> {
    let steps = WARM + reps;
    let text = format!(
        "timeout = \"120s\"\n\
         [[exchange]]\nfrom = \"a.x\"\nto = \"b.x\"\ngrid = \"T\"\nperiod = 1\nlevels = {levels}\n\
         [[exchange]]\nfrom = \"b.y\"\nto = \"a.y\"\ngrid = \"T\"\nperiod = 1\nlevels = {levels}\n"
    );
    let config = CouplingConfig::from_toml(&text, steps as f64)?;
    let me = if world.rank() == 0 { "a" } else { "b" };
    let mut cpl = Coupler::init(world, me, &config)?;
    let def = FieldDef {
        region: Region {
            i0: 0,
            j0: 0,
            ni: n,
            nj: n,
        },
        levels,
        point: GridPoint::T,
    };
    cpl.define_field("x", def)?;
    cpl.define_field("y", def)?;
    cpl.enddef()?;
    let mut buf = vec![1.0f32; levels * n * n];
    let mut start = Instant::now();
    for k in 0..steps {
        let t = k as f64;
        if k == WARM {
            start = Instant::now();
        }
        let (send, receive) = if me == "a" { ("x", "y") } else { ("y", "x") };
        if me == "b" {
            cpl.get(receive, t, &mut buf)?;
        }
        if sync {
            cpl.put_sync(send, t, &buf)?;
        } else {
            cpl.put(send, t, &buf)?;
        }
        if me == "a" {
            cpl.get(receive, t, &mut buf)?;
        }
    }
    let seconds = start.elapsed().as_secs_f64() / (2 * reps) as f64;
    cpl.finalize(None)?;
    Ok(seconds)
}
