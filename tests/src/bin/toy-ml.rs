//! Toy ML side: checks every cell of the `u` it receives, halo included, and answers with
//! `sx` = 100 + u (+ centred differences over the halo).

use anyhow::bail;
use eddylink_tests::toy::{join, response, seen, Toy};

fn main() {
    let universe = mpi::initialize().expect("MPI initialises");
    if let Err(e) = run(&universe.world()) {
        eprintln!("toy-ml: error: {e:#}");
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
        sx_ex,
        mask_ex,
    } = join(world, "ml")?;
    if let Some(reason) = &args.fail_before_enddef {
        return Err(cpl.abandon(reason).into());
    }
    cpl.enddef()?;
    if mask_ex.is_some() {
        let (levels, rows, cols, halo) = cpl.recv_extent("mask")?;
        let mut mask = vec![0.0f32; levels * rows * cols];
        if !cpl.get("mask", 0.0, &mut mask)? || cpl.get("mask", 0.0, &mut mask)? {
            bail!("a static field must arrive at the first get and only then");
        }
        for (k, &got) in mask.iter().enumerate() {
            let (l, li, lj) = (k / (rows * cols), k % cols, (k % (rows * cols)) / cols);
            let (gi, gj) = (
                region.i0 as i64 + li as i64 - halo as i64,
                region.j0 as i64 + lj as i64 - halo as i64,
            );
            let inside = gi >= 0 && gj >= 0 && (gi as usize) < nx && (gj as usize) < ny;
            let want = if inside {
                eddylink_tests::toy_value(gi as usize, gj as usize, l, 0) as f32
            } else {
                0.0
            };
            if got != want {
                bail!("static mask level {l} cell ({gi},{gj}): got {got}, expected {want}");
            }
        }
        println!(
            "toy-ml rank {rank}: static mask checked ({} values)",
            mask.len()
        );
    }

    let (levels, rows, cols, halo) = cpl.recv_extent("u")?;
    let mut u = vec![0.0f32; levels * rows * cols];
    let mut sx = vec![0.0f32; levels * region.cells()];
    let (mut checked, mut times, mut wrong) = (0usize, 0usize, Vec::new());
    // Answer at every coupling time of sx, from the last u received (zeros before the
    // first, when a lag delays it).
    let coupler::config::Period::Every(period) = sx_ex.period else {
        bail!("sx must be periodic")
    };
    let answers = (exp.run()?.duration_s / period).round() as usize;
    for (k, t) in (0..answers).map(|k| (k, k as f64 * period)) {
        if args.hang_after == Some(k) {
            eprintln!("toy-ml rank {rank}: fault injection: going silent at t = {t} s");
            std::thread::sleep(std::time::Duration::from_secs(600));
        }
        let fresh = cpl.get("u", t, &mut u)?;
        times += fresh as usize;
        for l in 0..levels {
            let at = |gi: i64, gj: i64| {
                let (li, lj) = (
                    gi - region.i0 as i64 + halo as i64,
                    gj - region.j0 as i64 + halo as i64,
                );
                u[l * rows * cols + lj as usize * cols + li as usize] as f64
            };
            for lj in 0..rows {
                for li in 0..cols {
                    let gi = region.i0 as i64 + li as i64 - halo as i64;
                    let gj = region.j0 as i64 + lj as i64 - halo as i64;
                    let want = seen(&u_ex, (nx, ny), gi, gj, l, t, args.dt);
                    checked += fresh as usize;
                    if fresh && at(gi, gj) != want && wrong.len() < 5 {
                        wrong.push(format!(
                            "t={t} level {l} cell ({gi},{gj}): got {}, expected {want}",
                            at(gi, gj)
                        ));
                    }
                }
            }
            for j in 0..region.nj {
                for i in 0..region.ni {
                    let (gi, gj) = ((region.i0 + i) as i64, (region.j0 + j) as i64);
                    sx[l * region.cells() + j * region.ni + i] = response(at, gi, gj, halo) as f32;
                }
            }
        }
        if args.put_sync {
            cpl.put_sync("sx", t, &sx)?;
        } else {
            cpl.put("sx", t, &sx)?;
        }
    }
    let report = cpl.finalize(None)?;
    if rank == 0 {
        print!("{}", report.table());
    }
    println!("toy-ml rank {rank}: checked {checked} values at {times} coupling times");
    if !wrong.is_empty() {
        bail!("{} wrong values, first: {}", wrong.len(), wrong.join("; "));
    }
    Ok(())
}
