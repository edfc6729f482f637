//! The cost of one put at 64² off the coupling times (nothing is sent: the call's own
//! checks and look-ups), through the Rust coupler and through the C ABI, in one job:
//!
//!     mpiexec -n 2 target/release/examples/call_cost [CALLS]
//!
//! Rank 0 is component "a" (puts x), rank 1 is "b" (puts y), as in coupler-bench. The
//! Fortran module's figure comes from tests/capi/bench.f90 (jobs/bench-capi.sh).

use std::ffi::CString;
use std::time::Instant;

use coupler::{Coupler, CouplingConfig, FieldDef, GridPoint, Region};
use eddylink::layout::COLUMN_MAJOR;
use mpi::traits::*;

const N: usize = 64;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let calls: usize = std::env::args().nth(1).map_or(Ok(200_000), |s| s.parse())?;
    let universe = mpi::initialize().ok_or("MPI is initialised once")?;
    let world = universe.world();
    let me = if world.rank() == 0 { "a" } else { "b" };
    let send = if me == "a" { "x" } else { "y" };
    let coupling = "timeout = \"120s\"\n\
        [[exchange]]\nfrom = \"a.x\"\nto = \"b.x\"\ngrid = \"T\"\nperiod = 1\n\
        [[exchange]]\nfrom = \"b.y\"\nto = \"a.y\"\ngrid = \"T\"\nperiod = 1\n";
    let buf = vec![1.0f32; N * N];

    let config = CouplingConfig::from_toml(coupling, 10.0)?;
    let mut cpl = Coupler::init(&world, me, &config)?;
    let def = FieldDef {
        region: Region {
            i0: 0,
            j0: 0,
            ni: N,
            nj: N,
        },
        levels: 1,
        point: GridPoint::T,
    };
    cpl.define_field("x", def)?;
    cpl.define_field("y", def)?;
    cpl.enddef()?;
    let start = Instant::now();
    for _ in 0..calls {
        cpl.put(send, 0.5, &buf)?;
    }
    let rust_ns = start.elapsed().as_secs_f64() * 1e9 / calls as f64;
    cpl.finalize(None)?;

    let file = std::env::temp_dir().join(format!("eddylink-call-cost-{}.toml", std::process::id()));
    let text = "[run]\nname = \"call_cost\"\nduration = \"10s\"\n\n[coupling]\n".to_string()
        + &coupling.replace("[[exchange]]", "[[coupling.exchange]]");
    std::fs::write(&file, text)?;
    let (name, path, field) = (
        CString::new(me)?,
        CString::new(file.display().to_string())?,
        CString::new(send)?,
    );
    let mut h = std::ptr::null_mut();
    let (mut part, mut var) = (0, 0);
    // SAFETY: NUL-terminated strings, live out-pointers, a handle used until finalize.
    let abi_ns = unsafe {
        let ok = |rc: i32, what: &str| match rc {
            0 => Ok(()),
            _ => Err(format!(
                "{what}: {}",
                std::ffi::CStr::from_ptr(eddylink::eddylink_last_error()).to_string_lossy()
            )),
        };
        ok(
            eddylink::eddylink_init_world(name.as_ptr(), path.as_ptr(), &mut h),
            "init",
        )?;
        ok(
            eddylink::eddylink_def_partition(h, 0, 0, N as i32, N as i32, &mut part),
            "partition",
        )?;
        ok(
            eddylink::eddylink_def_all(h, part, std::ptr::null_mut()),
            "def_all",
        )?;
        ok(
            eddylink::eddylink_var_id(h, field.as_ptr(), &mut var),
            "var_id",
        )?;
        ok(eddylink::eddylink_enddef(h), "enddef")?;
        let start = Instant::now();
        for _ in 0..calls {
            let rc = eddylink::eddylink_put_f32(
                h,
                var,
                0.5,
                buf.as_ptr(),
                N as i32,
                N as i32,
                1,
                COLUMN_MAJOR,
            );
            ok(rc, "put")?;
        }
        let ns = start.elapsed().as_secs_f64() * 1e9 / calls as f64;
        ok(eddylink::eddylink_finalize(&mut h), "finalize")?;
        ns
    };
    let _ = std::fs::remove_file(&file);
    if me == "a" {
        println!(
            "{N}² put off the coupling times, {calls} calls: Rust coupler {rust_ns:.1} ns, C ABI {abi_ns:.1} ns, ABI overhead {:.1} ns",
            abi_ns - rust_ns
        );
    }
    Ok(())
}
