//! Physical validation of the serial model (no MPI): conservation, wave speeds and
//! the wind-driven circulation: Sverdrup interior, the Munk layer (Laplacian, free and
//! no-slip walls) and the biharmonic boundary layer's scale. All run in `cargo test`.

mod common;

use std::f64::consts::PI;

use common::serial::Model;
use ocean_model::params::{Params, Viscosity, WallCondition, WindProfile};
use ocean_model::state::State;

/// Unforced, inviscid parameters.
fn quiet(nx: usize, ny: usize) -> Params {
    Params {
        wind: WindProfile::None,
        bottom_drag: 0.0,
        viscosity: Viscosity::Laplacian { nu2: 0.0 },
        ..Params::for_grid(nx, ny)
    }
}

fn sum_eta(s: &State) -> f64 {
    let mut out = vec![0.0; s.ni() * s.nj()];
    s.eta.copy_interior_to(&mut out);
    out.iter().sum()
}

#[test]
fn volume_is_conserved_to_round_off_in_a_forced_run() {
    let mut m = Model::new(Params::for_grid(32, 32));
    for j in 0..32 {
        for i in 0..32 {
            *m.state.eta.at_mut(i, j) = 0.5
                * ((i as f64 - 10.0).powi(2) + (j as f64 - 20.0).powi(2))
                    .sqrt()
                    .cos();
        }
    }
    let (v0, scale) = (sum_eta(&m.state), 0.5 * 32.0 * 32.0);
    m.run(400, |_, _| {});
    let drift = (sum_eta(&m.state) - v0).abs();
    // Tolerance: 1e-12 of the summed |eta| scale (round-off of 400 steps × 1024 cells).
    assert!(
        drift < 1e-12 * scale,
        "sum(eta) drifted by {drift:e} m (scale {scale} m)"
    );
}

/// Position (m) of the maximum of a sampled curve, refined by a parabola through three points.
fn peak_position(values: &[f64], x0: f64, dx: f64) -> f64 {
    let k = (1..values.len() - 1)
        .max_by(|&a, &b| values[a].total_cmp(&values[b]))
        .expect("non-empty");
    let (a, b, c) = (values[k - 1], values[k], values[k + 1]);
    let shift = 0.5 * (a - c) / (a - 2.0 * b + c);
    x0 + (k as f64 + shift) * dx
}

#[test]
fn gravity_wave_travels_at_sqrt_gh() {
    let (nx, ny) = (256, 8);
    let mut p = quiet(nx, ny);
    p.lx = 2.56e6;
    p.ly = 8e4;
    p.f0 = 0.0;
    p.beta = 0.0;
    p.dt = p.default_dt(0.7);
    let mut m = Model::new(p.clone());
    let dx = p.dx();
    let x_mid = 0.5 * p.lx;
    for j in 0..ny as isize {
        for i in 0..nx as isize {
            let x = (i as f64 + 0.5) * dx;
            *m.state.eta.at_mut(i, j) = 0.01 * (-((x - x_mid) / 5e4).powi(2)).exp();
        }
    }
    let steps = (1e4 / p.dt).round() as usize;
    m.run(steps, |_, _| {});
    let t = steps as f64 * p.dt;
    let row: Vec<f64> = (nx / 2..nx)
        .map(|i| m.state.eta.at(i as isize, 3))
        .collect();
    let x_peak = peak_position(&row, (nx / 2) as f64 * dx + 0.5 * dx, dx);
    let speed = (x_peak - x_mid) / t;
    let c = p.wave_speed();
    // Tolerance 2 %, as specified.
    assert!(
        (speed / c - 1.0).abs() < 0.02,
        "wave speed {speed:.2} m/s vs sqrt(gH) = {c:.2} m/s"
    );
}

#[test]
fn inertial_oscillation_has_period_2pi_over_f() {
    let mut p = quiet(32, 32);
    p.beta = 0.0;
    p.f0 = 1e-4;
    p.gravity = 0.01; // slow gravity waves keep the walls' influence away from the centre
    p.dt = 600.0;
    let mut m = Model::new(p.clone());
    m.state.u.fill(0.1);
    let mut samples = Vec::new();
    let steps = (3.5 * 2.0 * std::f64::consts::PI / p.f0 / p.dt) as usize;
    m.run(steps, |n, s| {
        samples.push((n as f64 * p.dt, s.u.at(16, 16)))
    });
    let crossings: Vec<f64> = samples
        .windows(2)
        .filter(|w| w[0].1 < 0.0 && w[1].1 >= 0.0)
        .map(|w| w[0].0 + (w[1].0 - w[0].0) * (-w[0].1) / (w[1].1 - w[0].1))
        .collect();
    assert!(
        crossings.len() >= 3,
        "expected three upward zero crossings, got {crossings:?}"
    );
    let period = (crossings[crossings.len() - 1] - crossings[0]) / (crossings.len() - 1) as f64;
    let expected = 2.0 * std::f64::consts::PI / p.f0;
    // Tolerance 2 %, as specified.
    assert!(
        (period / expected - 1.0).abs() < 0.02,
        "period {period:.0} s vs 2π/f = {expected:.0} s"
    );
}

/// A single gyre on an n × n grid with Laplacian viscosity `nu2`, quadratic drag
/// `bottom_drag` and wind stress amplitude `tau0`.
fn single_gyre(n: usize, nu2: f64, bottom_drag: f64, tau0: f64) -> Params {
    Params {
        wind: WindProfile::SingleGyre,
        tau0,
        viscosity: Viscosity::Laplacian { nu2 },
        bottom_drag,
        ..Params::for_grid(n, n)
    }
}

/// Spins up `p` from rest for `days`; returns the meridional transport h v on the
/// mid-basin v-row averaged over the last third of the run (basin modes ring for long).
fn spin_up(p: &Params, days: f64) -> Vec<f64> {
    let mut m = Model::new(p.clone());
    let n = p.nx;
    let steps = (days * 86_400.0 / p.dt) as usize;
    let (j, mut mean, mut count) = ((p.ny / 2) as isize, vec![0.0; n], 0.0);
    m.run(steps, |step, s| {
        if 3 * step >= 2 * steps {
            for (i, acc) in mean.iter_mut().enumerate() {
                let i = i as isize;
                *acc += 0.5 * (2.0 * p.depth + s.eta.at(i, j) + s.eta.at(i, j + 1)) * s.v.at(i, j);
            }
            count += 1.0;
        }
    });
    mean.iter_mut().for_each(|x| *x /= count);
    mean
}

#[test]
fn interior_transport_matches_sverdrup() {
    // A stronger drag than the default damps the basin modes; its Stommel width r/β
    // (≈ 10 km) stays well below the Munk width (≈ 140 km).
    let p = single_gyre(64, 5e4, 1e-2, 0.12);
    let hv = spin_up(&p, 100.0);
    let n = p.nx;
    // Sverdrup: β h v = curl τ / ρ0 = −∂y τx / ρ0, at the v-row y = (n/2 + 1) dy.
    let y = (n / 2) as f64 * p.dy() + p.dy();
    let tau = |y: f64| ocean_model::physics::wind::tau_x(&p, y);
    let sverdrup = -(tau(y + 0.5 * p.dy()) - tau(y - 0.5 * p.dy())) / p.dy() / (p.rho0 * p.beta);
    let interior = &hv[n / 4..3 * n / 4];
    let mean = interior.iter().sum::<f64>() / interior.len() as f64;
    // Tolerance 10 %, as specified.
    assert!(
        (mean / sverdrup - 1.0).abs() < 0.10,
        "interior h v = {mean:.3} m²/s vs Sverdrup {sverdrup:.3} m²/s"
    );
}

/// Distance (m) from the west wall at which the northward boundary current first reverses.
fn boundary_current_width(p: &Params, v: &[f64]) -> f64 {
    let sign = v[0].signum();
    let k = v
        .iter()
        .position(|x| x.signum() != sign)
        .expect("a reversal");
    let x = |i: usize| (i as f64 + 0.5) * p.dx();
    x(k - 1) + (x(k) - x(k - 1)) * v[k - 1] / (v[k - 1] - v[k])
}

/// The Munk-layer runs: a 1920 km basin at 30 km (64²), a weak wind that keeps the
/// boundary current linear (inertial width ≪ Munk width) and the default drag that keeps
/// it out of the Stommel regime; `viscosity` and `walls` as given.
fn munk_basin(viscosity: Viscosity, walls: WallCondition) -> Params {
    let mut p = Params {
        lx: 1.92e6,
        ly: 1.92e6,
        viscosity,
        walls,
        ..single_gyre(64, 0.0, 1e-5, 0.012)
    };
    p.dt = p.default_dt(0.7);
    p
}

/// Days of spin-up of the Laplacian Munk-layer runs (the widths settle within 2 % by day
/// 25) and of the biharmonic ones (their weaker damping leaves the basin modes ringing
/// for longer).
const MUNK_DAYS: f64 = 25.0;
const BIHARMONIC_DAYS: f64 = 50.0;

/// The Laplacian Munk width δ = (A/β)^(1/3) (m).
fn munk_delta(p: &Params, nu2: f64) -> f64 {
    (nu2 / p.beta).cbrt()
}

#[test]
fn western_boundary_layer_follows_munk_scaling_and_no_slip_widens_it() {
    let (nu_small, nu_large) = (1e4, 8e4);
    let laplacian = |nu2| Viscosity::Laplacian { nu2 };
    let runs: Vec<(Params, f64)> = [
        (nu_small, WallCondition::FreeSlip),
        (nu_large, WallCondition::FreeSlip),
        (nu_small, WallCondition::NoSlip),
    ]
    .into_iter()
    .map(|(nu, walls)| {
        let p = munk_basin(laplacian(nu), walls);
        let width = boundary_current_width(&p, &spin_up(&p, MUNK_DAYS));
        (p, width)
    })
    .collect();
    let (w1, w2, w_no_slip) = (runs[0].1, runs[1].1, runs[2].1);
    let p = &runs[0].0;
    // Munk layer, δ = (A/β)^(1/3): with free-slip walls (ψ = ψ_xx = 0) the northward
    // current v ∝ e^(−x/2δ) [cos(√3x/2δ) + sin(√3x/2δ)/√3] first reverses at
    // x = 4πδ/(3√3) ≈ 2.42 δ; with no-slip walls (ψ = ψ_x = 0), v ∝ e^(−x/2δ) sin(√3x/2δ)
    // reverses at x = 2πδ/√3 ≈ 3.63 δ.
    let free_slip = |nu: f64| 4.0 * PI / (3.0 * 3f64.sqrt()) * munk_delta(p, nu);
    let no_slip = |nu: f64| 2.0 * PI / 3f64.sqrt() * munk_delta(p, nu);
    println!(
        "Munk widths ({} steps of {} s): A = {nu_small}: {w1:.0} m (free slip, theory {:.0}), \
         {w_no_slip:.0} m (no slip, theory {:.0}); A = {nu_large}: {w2:.0} m (theory {:.0})",
        (MUNK_DAYS * 86_400.0 / p.dt) as usize,
        p.dt,
        free_slip(nu_small),
        no_slip(nu_small),
        free_slip(nu_large)
    );
    // Tolerances: the ratios (8× A → 2× width; no slip → 1.5× width) within 10 %, each
    // width within 20 % of Munk's.
    assert!(
        (w2 / w1 / 2.0 - 1.0).abs() < 0.10,
        "width ratio {:.3} vs 2",
        w2 / w1
    );
    assert!(
        (w_no_slip / w1 / 1.5 - 1.0).abs() < 0.10,
        "no-slip / free-slip width ratio {:.3} vs 1.5",
        w_no_slip / w1
    );
    for (w, theory, what) in [
        (w1, free_slip(nu_small), "free slip, A small"),
        (w2, free_slip(nu_large), "free slip, A large"),
        (w_no_slip, no_slip(nu_small), "no slip, A small"),
    ] {
        assert!(
            (w / theory - 1.0).abs() < 0.20,
            "{what}: width {w:.0} m vs Munk {theory:.0} m"
        );
    }
}

#[test]
fn biharmonic_boundary_layer_scales_as_the_fifth_root_of_nu4() {
    // δ₄ = (ν₄/β)^(1/5): ν₄ × 7.6 widens the layer 1.5 times (a Laplacian-like cube root
    // would give 1.97).
    let (nu_small, nu_large) = (1.0e13, 1.0e13 * 1.5f64.powi(5));
    let widths: Vec<f64> = [nu_small, nu_large]
        .into_iter()
        .map(|nu4| {
            let p = munk_basin(Viscosity::Biharmonic { nu4 }, WallCondition::FreeSlip);
            boundary_current_width(&p, &spin_up(&p, BIHARMONIC_DAYS))
        })
        .collect();
    let p = munk_basin(
        Viscosity::Biharmonic { nu4: nu_small },
        WallCondition::FreeSlip,
    );
    let delta = |nu4: f64| (nu4 / p.beta).powf(0.2);
    println!(
        "biharmonic widths: ν₄ = {nu_small:e}: {:.0} m = {:.2} δ₄; ν₄ = {nu_large:e}: {:.0} m = {:.2} δ₄",
        widths[0],
        widths[0] / delta(nu_small),
        widths[1],
        widths[1] / delta(nu_large)
    );
    let ratio = widths[1] / widths[0];
    assert!(
        (ratio / 1.5 - 1.0).abs() < 0.10,
        "width ratio {ratio:.3} vs 1.5"
    );
}
