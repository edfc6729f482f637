//! Toy ocean: puts a known field `u` every step and checks the `sx` the ML side returns.

use anyhow::bail;
use eddylink_tests::toy::{join, response, seen, Toy};
use eddylink_tests::toy_value;

fn main() {
    let universe = mpi::initialize().expect("MPI initialises");
    if let Err(e) = run(&universe.world()) {
        eprintln!("toy-ocean: error: {e:#}");
        std::process::exit(1);
    }
}

fn run(world: &mpi::topology::SimpleCommunicator) -> anyhow::Result<()> {
    let Toy {
        args,
        exp,
        mut cpl,
        rank,
        grid: (nx, ny),
        region,
        u_ex,
        mask_ex,
        ..
    } = join(world, "ocean")?;
    let levels = u_ex.levels;
    cpl.enddef()?;
    if let Some(ex) = &mask_ex {
        let mask: Vec<f64> = (0..ex.levels * region.cells())
            .map(|k| {
                toy_value(
                    region.i0 + k % region.ni,
                    region.j0 + (k % region.cells()) / region.ni,
                    k / region.cells(),
                    0,
                )
            })
            .collect();
        cpl.put("mask", 0.0, &mask)?;
        cpl.put("mask", 3600.0, &mask)?; // a second put of a static field sends nothing
    }

    let steps = (exp.run()?.duration_s / args.dt).round() as usize;
    let cells = region.cells();
    let mut u = vec![0.0f64; levels * cells];
    let mut sx = vec![0.0f64; levels * cells];
    let (mut checked, mut times, mut wrong) = (0usize, 0usize, Vec::new());
    for step in 0..steps {
        let t = step as f64 * args.dt;
        for l in 0..levels {
            for j in 0..region.nj {
                for i in 0..region.ni {
                    u[l * cells + j * region.ni + i] =
                        toy_value(region.i0 + i, region.j0 + j, l, step);
                }
            }
        }
        cpl.put("u", t, &u)?;
        if !cpl.get("sx", t, &mut sx)? {
            continue;
        }
        times += 1;
        for l in 0..levels {
            for j in 0..region.nj {
                for i in 0..region.ni {
                    let (gi, gj) = ((region.i0 + i) as i64, (region.j0 + j) as i64);
                    let value = |a, b| seen(&u_ex, (nx, ny), a, b, l, t, args.dt);
                    let want = response(value, gi, gj, u_ex.halo);
                    let got = sx[l * cells + j * region.ni + i];
                    checked += 1;
                    if got != want && wrong.len() < 5 {
                        wrong.push(format!(
                            "t={t} level {l} cell ({gi},{gj}): got {got}, expected {want}"
                        ));
                    }
                }
            }
        }
    }
    let report = cpl.finalize(None)?;
    if rank == 0 {
        print!("{}", report.table());
    }
    println!("toy-ocean rank {rank}: checked {checked} values at {times} coupling times");
    if !wrong.is_empty() {
        bail!("{} wrong values, first: {}", wrong.len(), wrong.join("; "));
    }
    Ok(())
}
