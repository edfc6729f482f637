//! The received forcing changes the ocean by the known answer: ocean-model ×2 and the real
//! ml-server ×1 with an analytic model, an ocean at rest, no wind, f0 = β = 0 and no bottom
//! drag, coupled every step. Away from the walls the only term is a·S, so u and v follow
//! from the forcing alone (checked in the checkpoint of every step):
//!
//! - constant S:  u = n·dt·a·Sx, v = n·dt·a·Sy (with Sx ≠ Sy and of opposite signs, so a
//!   flipped sign, a swapped pair or an ignored `forcing_factor` a all miss);
//! - linear S = s_out·(α·s_in·u + β):  u_{n+1} = u_n + dt·a·S(u_n), the forcing computed by
//!   the ML side from the u it received (an ignored input_scale s_in misses);
//! - the forcing check: with `zero` an out-of-bound Sx becomes 0 and the ocean stays at
//!   rest in x; with `clip` it becomes max_abs; the in-bound Sy is untouched by either.
//!
//! The U/V placement shows at the walls: the ML side zeroes the forcing on land through the
//! masks it receives (sx on the east-wall u-points, sy on the north-wall v-points), and the
//! ocean keeps u = 0 there.

use std::path::{Path, PathBuf};
use std::time::Duration;

use eddylink_tests::{run_mpmd, scratch_dir, workspace_bin, Part};
use ocean_model::checkpoint::{self, Checkpoint};
use ocean_model::params::Params;

const NX: usize = 32;
const NY: usize = 24;
const DT: f64 = 600.0;
const STEPS: u64 = 4;
/// `forcing_factor` of the ocean.
const FACTOR: f64 = 0.5;
/// Cells from each wall beyond which the walls' influence (the gravity-wave front moves
/// 0.35 cells a step) stays below round-off in 4 steps.
const MARGIN: usize = 6;
/// f32 on the ML side and in the coupler: the forcing is exact to a few f32 ulps.
const REL_TOL: f64 = 1e-6;

/// The experiment: the ocean described above, coupled every step to ml-server with
/// `[ml]` `ml`, and `[ocean.forcing]` `check`.
fn experiment(test: &str, ml: &str, check: &str) -> (PathBuf, String) {
    let exchange = |from: &str, to: &str, grid: &str, period: &str| {
        format!("[[coupling.exchange]]\nfrom = \"{from}\"\nto = \"{to}\"\ngrid = \"{grid}\"\nperiod = \"{period}\"\n\n")
    };
    let mut text = format!(
        "[run]\nname = \"forcing\"\nduration = \"{}s\"\noutput_dir = \"out\"\n\n\
         [coupling]\ntimeout = \"30s\"\ngrid = [{NX}, {NY}]\n\n",
        STEPS as f64 * DT
    );
    for (from, to, grid, period) in [
        ("ocean.u", "ml.u", "U", "600s"),
        ("ocean.v", "ml.v", "V", "600s"),
        ("ml.sx", "ocean.sx", "U", "600s"),
        ("ml.sy", "ocean.sy", "V", "600s"),
        ("ocean.mask_u", "ml.mask_u", "U", "static"),
        ("ocean.mask_v", "ml.mask_v", "V", "static"),
    ] {
        text += &exchange(from, to, grid, period);
    }
    text += &format!(
        "[ocean.grid]\nnx = {NX}\nny = {NY}\n\n\
         [ocean.physics]\nwind = \"none\"\nf0 = 0.0\nbeta = 0.0\nbottom_drag = 0.0\n\
         forcing_factor = {FACTOR}\n\n\
         [ocean.time]\ndt = {DT}\n\n\
         [ocean.output]\nsnapshot_interval = 0\ndiagnostics_interval = 0\n\
         checkpoint_interval = \"{DT}s\"\n\n\
         [ocean.forcing]\ncheck = \"{check}\"\nmax_abs = 1e-4\n\n{ml}"
    );
    let dir = scratch_dir(test);
    let path = dir.join("exp.toml");
    std::fs::write(&path, text).expect("scratch is writable");
    (dir, path.display().to_string())
}

/// Runs ocean-model ×2 : ml-server ×1 on the experiment and returns the checkpoints of
/// steps 0..=STEPS (step 0: the state at rest, before any forcing).
fn run(dir: &Path, cfg: &str) -> Vec<Checkpoint> {
    let parts = [
        Part::new(2, workspace_bin("ocean-model"), &["--config", cfg]),
        Part::new(1, workspace_bin("ml-server"), &["--config", cfg]),
    ];
    let out = run_mpmd(&parts, dir, Duration::from_secs(120));
    assert!(
        out.succeeded(),
        "coupled run ({}):\n{}",
        out.ending(),
        out.output()
    );
    let p = Params {
        dt: DT,
        ..Params::for_grid(NX, NY)
    };
    let run_dir = dir.join("out/forcing");
    let rest = Checkpoint {
        step: 0,
        time_s: 0.0,
        dt: DT,
        nx: NX,
        ny: NY,
        arrays: std::array::from_fn(|_| vec![0.0; NX * NY]),
    };
    std::iter::once(rest)
        .chain((1..=STEPS).map(|n| {
            let path = checkpoint::path_for(&run_dir, n);
            checkpoint::read(&path, &p).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        }))
        .collect()
}

/// The fields of a checkpoint by name.
fn field<'a>(ck: &'a Checkpoint, name: &str) -> &'a [f64] {
    let k = ["u", "v", "eta", "sx", "sy"]
        .iter()
        .position(|n| *n == name)
        .expect("a checkpoint field");
    &ck.arrays[k]
}

/// Asserts `got` is `expected` to REL_TOL of `scale`, naming the field, cell and step.
fn assert_close(got: f64, expected: f64, scale: f64, what: &str) {
    assert!(
        (got - expected).abs() <= REL_TOL * scale,
        "{what}: {got:e}, expected {expected:e}"
    );
}

/// The points at least MARGIN cells from every wall, [j][i] indices.
fn interior() -> impl Iterator<Item = (usize, usize)> {
    (MARGIN..NY - MARGIN).flat_map(|j| (MARGIN..NX - MARGIN).map(move |i| (i, j)))
}

/// Checks the walls: the received forcing is zero on land (sx on the east-wall u-points,
/// sy on the north-wall v-points, zeroed by the ML side through the masks) and the ocean
/// keeps u, v there at 0; the forcing of the points beside them is `sx`, `sy`.
fn assert_walls(ck: &Checkpoint, sx: f64, sy: f64) {
    let (u, v) = (field(ck, "u"), field(ck, "v"));
    let (fx, fy) = (field(ck, "sx"), field(ck, "sy"));
    let n = ck.step;
    for j in 0..NY {
        let east = j * NX + NX - 1;
        assert_eq!(
            (fx[east], u[east]),
            (0.0, 0.0),
            "step {n}: sx, u at the east wall, j = {j}"
        );
        assert_close(
            fx[east - 1],
            sx,
            sx.abs(),
            &format!("step {n}: sx beside the east wall"),
        );
    }
    for i in 0..NX {
        let north = (NY - 1) * NX + i;
        assert_eq!(
            (fy[north], v[north]),
            (0.0, 0.0),
            "step {n}: sy, v at the north wall, i = {i}"
        );
        assert_close(
            fy[north - NX],
            sy,
            sy.abs(),
            &format!("step {n}: sy beside the north wall"),
        );
    }
}

const CONSTANT: &str = "[ml]\nmodel = \"analytic\"\ndevice = \"cpu\"\ninput_scale = 10.0\n\
    output_scale = 1e-6\n\n[ml.analytic]\nkind = \"constant\"\nsx = 2.0\nsy = -3.0\n";

#[test]
fn constant_forcing_accelerates_u_and_v_by_a_s_t_with_its_sign_placement_and_factor() {
    let (dir, cfg) = experiment("forcing_constant", CONSTANT, "abort");
    let steps = run(&dir, &cfg);
    let (sx, sy) = (2.0e-6, -3.0e-6);
    for ck in &steps[1..] {
        let t = ck.step as f64 * DT;
        assert_walls(ck, sx, sy);
        let (u, v, eta) = (field(ck, "u"), field(ck, "v"), field(ck, "eta"));
        // The walls stop the flow and pile water up beside them; the interior stays flat.
        let piled = eta.iter().fold(0.0f64, |m, x| m.max(x.abs()));
        assert!(piled > 0.0, "step {}: no η at the walls", ck.step);
        for (i, j) in interior() {
            let k = j * NX + i;
            let at = |name: &str| format!("step {}: {name} at (i = {i}, j = {j})", ck.step);
            assert_close(u[k], FACTOR * sx * t, (FACTOR * sx * t).abs(), &at("u"));
            assert_close(v[k], FACTOR * sy * t, (FACTOR * sy * t).abs(), &at("v"));
            assert!(
                eta[k].abs() < REL_TOL * piled,
                "{}: {:e}",
                at("eta"),
                eta[k]
            );
        }
    }
}

#[test]
fn linear_forcing_is_computed_from_the_u_the_ml_side_received_with_both_scales() {
    // S = 1e-6 · (−5 · 10 · u + 1): the α-term takes 1.5 % a step off the growth.
    let ml = "[ml]\nmodel = \"analytic\"\ndevice = \"cpu\"\ninput_scale = 10.0\n\
              output_scale = 1e-6\n\n[ml.analytic]\nkind = \"linear\"\na = -5.0\nb = 1.0\n";
    let (dir, cfg) = experiment("forcing_linear", ml, "abort");
    let steps = run(&dir, &cfg);
    let forcing = |u: f64| 1e-6 * (-5.0 * 10.0 * u + 1.0);
    let mut expected = 0.0;
    for pair in steps.windows(2) {
        let (before, ck) = (&pair[0], &pair[1]);
        let s = forcing(expected);
        expected += DT * FACTOR * s;
        let (u, v) = (field(ck, "u"), field(ck, "v"));
        let (fx, fy) = (field(ck, "sx"), field(ck, "sy"));
        for (i, j) in interior() {
            let k = j * NX + i;
            let at = |name: &str| format!("step {}: {name} at (i = {i}, j = {j})", ck.step);
            // The forcing of this step came from the state at its start.
            assert_close(fx[k], forcing(field(before, "u")[k]), s, &at("sx"));
            assert_close(fy[k], forcing(field(before, "v")[k]), s, &at("sy"));
            assert_close(u[k], expected, expected, &at("u"));
            assert_close(v[k], expected, expected, &at("v"));
        }
    }
    // Without the α-term (an ignored input_scale gives a tenth of it) u would be this much
    // further on: the check above resolves it.
    let free = STEPS as f64 * DT * FACTOR * forcing(0.0);
    assert!(
        (free - expected) / expected > 100.0 * REL_TOL,
        "{free} vs {expected}"
    );
}

/// sx = 3e-4 m/s² exceeds max_abs = 1e-4; sy = −5e-5 m/s² does not.
const OUT_OF_BOUND: &str = "[ml]\nmodel = \"analytic\"\ndevice = \"cpu\"\n\
    output_scale = 1e-5\n\n[ml.analytic]\nkind = \"constant\"\nsx = 30.0\nsy = -5.0\n";

#[test]
fn the_zero_and_clip_policies_replace_the_bad_forcing_and_only_it() {
    let sy = -5e-5;
    for (policy, sx_used) in [("zero", 0.0), ("clip", 1e-4)] {
        let (dir, cfg) = experiment(&format!("forcing_{policy}"), OUT_OF_BOUND, policy);
        let steps = run(&dir, &cfg);
        for ck in &steps[1..] {
            let t = ck.step as f64 * DT;
            let (u, v) = (field(ck, "u"), field(ck, "v"));
            let (fx, fy) = (field(ck, "sx"), field(ck, "sy"));
            for (i, j) in interior() {
                let k = j * NX + i;
                let at = |name: &str| {
                    format!("{policy}, step {}: {name} at (i = {i}, j = {j})", ck.step)
                };
                assert_eq!(fx[k], sx_used, "{}", at("sx"));
                assert_close(fy[k], sy, sy.abs(), &at("sy"));
                assert_close(u[k], FACTOR * sx_used * t, 1e-4 * FACTOR * t, &at("u"));
                assert_close(v[k], FACTOR * sy * t, (FACTOR * sy * t).abs(), &at("v"));
            }
        }
    }
}
