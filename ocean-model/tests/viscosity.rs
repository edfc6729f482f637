//! Lateral viscosity against its known answers, walls included.
//!
//! On the C-grid with the wall ghosts of `fill_halos`, products of sines and cosines that
//! meet the wall conditions are exact eigenvectors of the discrete Laplacian, with
//! eigenvalue −(Λx + Λy), Λ = (2/Δ · sin(kΔ/2))²:
//!
//! - free slip: the flow of the stream function ψ = sin(kx x) sin(ky y) (ψ on the corners),
//!   non-divergent, so that η stays at rest;
//! - no slip: u = sin(kx x) sin(ky y), v = sin(kx x) sin(ky y) on their own points, each
//!   zero on every wall (divergent: only its tendency at t = 0 is checked).
//!
//! The viscous tendency is then −ν₂ (Λx + Λy) u (Laplacian) or −ν₄ (Λx + Λy)² u
//! (biharmonic) at every point, the wall rows and columns included, and a mode decays as
//! exp(−σ t). Λ → k² at second order in kΔ, so σ → ν₄ K⁴ (ν₂ K²) under refinement.
//! f0 = β = 0 and an amplitude of 1e-9 m/s keep the other terms at round-off.

mod common;

use std::f64::consts::PI;

use common::serial::Model;
use ocean_model::params::{Params, Viscosity, WallCondition, WindProfile};

/// A basin of 3.2e6 m with no forcing, no rotation and no drag.
fn basin(n: usize, viscosity: Viscosity, walls: WallCondition) -> Params {
    Params {
        lx: 3.2e6,
        ly: 3.2e6,
        f0: 0.0,
        beta: 0.0,
        wind: WindProfile::None,
        bottom_drag: 0.0,
        viscosity,
        walls,
        dt: 400.0,
        ..Params::for_grid(n, n)
    }
}

const AMPLITUDE: f64 = 1e-9;
/// Wavenumbers of the mode: 4 half-waves in x, 2 in y.
const MODE: (f64, f64) = (4.0, 2.0);

/// (kx, ky) of MODE and the discrete (Λx, Λy) on the grid of `p`.
fn wavenumbers(p: &Params) -> ((f64, f64), (f64, f64)) {
    let (kx, ky) = (MODE.0 * PI / p.lx, MODE.1 * PI / p.ly);
    let lambda = |k: f64, d: f64| (2.0 / d * (0.5 * k * d).sin()).powi(2);
    ((kx, ky), (lambda(kx, p.dx()), lambda(ky, p.dy())))
}

/// A model of `p` holding the mode that fits its walls.
fn mode(p: &Params) -> Model {
    let mut m = Model::new(p.clone());
    let ((kx, ky), _) = wavenumbers(p);
    let (dx, dy) = (p.dx(), p.dy());
    for j in 0..p.ny as isize {
        for i in 0..p.nx as isize {
            // u on east faces ((i+1)Δx, (j+½)Δy), v on north faces ((i+½)Δx, (j+1)Δy).
            let (xu, yu) = ((i as f64 + 1.0) * dx, (j as f64 + 0.5) * dy);
            let (xv, yv) = ((i as f64 + 0.5) * dx, (j as f64 + 1.0) * dy);
            let (u, v) = match p.walls {
                WallCondition::FreeSlip => {
                    // u = −δyψ/Δy, v = δxψ/Δx: discretely non-divergent.
                    let psi = |x: f64, y: f64| AMPLITUDE * dx * (kx * x).sin() * (ky * y).sin();
                    (
                        -(psi(xu, yu + 0.5 * dy) - psi(xu, yu - 0.5 * dy)) / dy,
                        (psi(xv + 0.5 * dx, yv) - psi(xv - 0.5 * dx, yv)) / dx,
                    )
                }
                WallCondition::NoSlip => (
                    AMPLITUDE * (kx * xu).sin() * (ky * yu).sin(),
                    -AMPLITUDE * (kx * xv).sin() * (ky * yv).sin(),
                ),
            };
            *m.state.u.at_mut(i, j) = u;
            *m.state.v.at_mut(i, j) = v;
        }
    }
    m
}

/// The decay rate σ (s⁻¹) of the discrete mode under `p`'s viscosity.
fn discrete_rate(p: &Params) -> f64 {
    let (_, (lx, ly)) = wavenumbers(p);
    match p.viscosity {
        Viscosity::Laplacian { nu2 } => nu2 * (lx + ly),
        Viscosity::Biharmonic { nu4 } => nu4 * (lx + ly).powi(2),
    }
}

/// The continuous rate: ν₂ K² or ν₄ K⁴.
fn continuous_rate(p: &Params) -> f64 {
    let ((kx, ky), _) = wavenumbers(p);
    let k2 = kx * kx + ky * ky;
    match p.viscosity {
        Viscosity::Laplacian { nu2 } => nu2 * k2,
        Viscosity::Biharmonic { nu4 } => nu4 * k2 * k2,
    }
}

/// Asserts tendency = −σ · value at every point, the wall rows and columns included, to
/// 1e-6 of σ times the largest value.
fn assert_tendency_is_decay(p: &Params, sigma: f64) {
    let mut m = mode(p);
    let t = m.tendency();
    let scale = [&m.state.u, &m.state.v]
        .iter()
        .flat_map(|f| f.data.iter())
        .fold(0.0f64, |a, x| a.max(x.abs()));
    let mut worst = (0.0f64, "", 0, 0);
    for (name, f, df) in [("u", &m.state.u, &t.u), ("v", &m.state.v, &t.v)] {
        for j in 0..p.ny as isize {
            for i in 0..p.nx as isize {
                let off = (df.at(i, j) + sigma * f.at(i, j)).abs() / (sigma * scale);
                if off > worst.0 {
                    worst = (off, name, i, j);
                }
            }
        }
    }
    let eta = t.eta.data.iter().fold(0.0f64, |a, x| a.max(x.abs()));
    println!(
        "{:?} {:?} n = {}: σ = {sigma:e} s⁻¹, worst |tendency + σ·value| / (σ·max|value|) {:e} \
         ({} at {}, {}), max |η_t| {eta:e}",
        p.walls, p.viscosity, p.nx, worst.0, worst.1, worst.2, worst.3
    );
    assert!(
        worst.0 < 1e-6,
        "{:?} {:?}: the tendency departs from −σ·value (σ = {sigma:e}) by {:e} of σ·max|value| \
         at {} ({}, {})",
        p.walls,
        p.viscosity,
        worst.0,
        worst.1,
        worst.2,
        worst.3
    );
}

#[test]
fn biharmonic_and_laplacian_damp_a_mode_at_the_discrete_rate_at_every_point_for_both_walls() {
    for walls in [WallCondition::FreeSlip, WallCondition::NoSlip] {
        for viscosity in [
            Viscosity::Biharmonic { nu4: 2e15 },
            Viscosity::Laplacian { nu2: 5e4 },
        ] {
            let p = basin(32, viscosity, walls);
            assert_tendency_is_decay(&p, discrete_rate(&p));
        }
    }
}

#[test]
fn the_biharmonic_rate_converges_to_nu4_k4_at_second_order() {
    let error = |n: usize| {
        let p = basin(
            n,
            Viscosity::Biharmonic { nu4: 2e15 },
            WallCondition::FreeSlip,
        );
        discrete_rate(&p) / continuous_rate(&p) - 1.0
    };
    let (coarse, fine) = (error(32), error(64));
    println!("σ/(ν₄K⁴) − 1: {coarse:e} (32²), {fine:e} (64²)");
    // Λ = k² (1 − (kΔ)²/12 + …): at 32² the rate is 2.2 % low, and 4 times closer at 64².
    assert!(coarse < 0.0 && coarse.abs() < 0.03, "{coarse}");
    assert!(
        (coarse / fine - 4.0).abs() < 0.1,
        "error ratio {}",
        coarse / fine
    );
    // The operator itself gives these discrete rates (checked at every point).
    for n in [32, 64] {
        let p = basin(
            n,
            Viscosity::Biharmonic { nu4: 2e15 },
            WallCondition::FreeSlip,
        );
        assert_tendency_is_decay(&p, discrete_rate(&p));
    }
}

#[test]
fn a_free_slip_mode_decays_as_exp_of_minus_nu4_k4_t_through_the_time_stepper() {
    let p = basin(
        32,
        Viscosity::Biharmonic { nu4: 2e15 },
        WallCondition::FreeSlip,
    );
    let sigma = discrete_rate(&p);
    // About half an e-folding: 0.5 / σ.
    let steps = (0.5 / sigma / p.dt).round() as usize;
    let mut m = mode(&p);
    let start = m.state.u.clone();
    m.run(steps, |_, _| {});
    let t = steps as f64 * p.dt;
    let expected = (-sigma * t).exp();
    let (mut worst, mut eta) = (0.0f64, 0.0f64);
    for j in 0..p.ny as isize {
        for i in 0..p.nx as isize {
            eta = eta.max(m.state.eta.at(i, j).abs());
            if start.at(i, j).abs() > 1e-3 * AMPLITUDE {
                let ratio = m.state.u.at(i, j) / start.at(i, j);
                worst = worst.max((ratio / expected - 1.0).abs());
            }
        }
    }
    println!(
        "{steps} steps: u(t)/u(0) = e^(−σt) = {expected:.6} to {worst:e}; |η| ≤ {eta:e} m; \
         ν₄K⁴ t = {:.6}",
        continuous_rate(&p) * t
    );
    assert!(worst < 1e-6, "decay departs from e^(−σt) by {worst:e}");
    assert!(eta < 1e-12, "the non-divergent mode moved η by {eta:e} m");
}
