//! Physical validation of the serial model (no MPI): conservation, wave speeds and
//! the wind-driven circulation. Quick cases run in `cargo test`; the long Munk-layer
//! case is `#[ignore]`d: `cargo test -p ocean-model --release --test validation -- --ignored`.

use ocean_model::grid::RankBox;
use ocean_model::halo::Halo;
use ocean_model::params::{Params, Viscosity, WindProfile};
use ocean_model::physics::Rhs;
use ocean_model::state::State;
use ocean_model::timestepper::{fill_state_halos, Rk4};

/// A serial model: parameters, state and the objects that step it.
struct Model {
    p: Params,
    state: State,
    rhs: Rhs,
    halo: Halo,
    rk4: Rk4,
}

impl Model {
    fn new(p: Params) -> Self {
        p.validate().expect("valid parameters");
        let (nx, ny) = (p.nx, p.ny);
        let whole = RankBox {
            i0: 0,
            j0: 0,
            ni: nx,
            nj: ny,
        };
        Model {
            state: State::zeros(nx, ny),
            rhs: Rhs::new(&p, whole),
            halo: Halo::serial(nx, ny, p.walls),
            rk4: Rk4::new(nx, ny),
            p,
        }
    }

    fn run(&mut self, steps: usize, mut each: impl FnMut(usize, &State)) {
        fill_state_halos(&mut self.halo, &mut self.state);
        for n in 1..=steps {
            self.rk4
                .step(
                    &mut self.state,
                    &mut self.rhs,
                    &mut self.halo,
                    self.p.dt,
                    &mut |_| Ok(()),
                )
                .expect("step");
            each(n, &self.state);
        }
    }
}

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

/// Spin up a single gyre with Laplacian viscosity `nu2` on an n × n grid for `days`;
/// returns the parameters, the final state and the meridional transport h v on the
/// mid-basin v-row averaged over the last third of the run (basin modes ring for long).
fn single_gyre(
    n: usize,
    nu2: f64,
    bottom_drag: f64,
    tau0: f64,
    days: f64,
) -> (Params, State, Vec<f64>) {
    let p = Params {
        wind: WindProfile::SingleGyre,
        tau0,
        viscosity: Viscosity::Laplacian { nu2 },
        bottom_drag,
        ..Params::for_grid(n, n)
    };
    let mut m = Model::new(p.clone());
    let steps = (days * 86_400.0 / p.dt) as usize;
    let (j, mut mean, mut count) = ((n / 2) as isize, vec![0.0; n], 0.0);
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
    (p, m.state, mean)
}

#[test]
fn interior_transport_matches_sverdrup() {
    // A stronger drag than the default damps the basin modes; its Stommel width r/β
    // (≈ 10 km) stays well below the Munk width (≈ 140 km).
    let (p, _, hv) = single_gyre(64, 5e4, 1e-2, 0.12, 100.0);
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

#[test]
#[ignore = "long (minutes): cargo test -p ocean-model --release --test validation -- --ignored"]
fn western_boundary_layer_follows_munk_scaling() {
    let (nu_small, nu_large) = (1e4, 8e4);
    // A weak wind keeps the boundary current linear (inertial width ≪ Munk width) and
    // the default drag keeps it out of the Stommel regime.
    let (p1, _, hv1) = single_gyre(128, nu_small, 1e-5, 0.012, 150.0);
    let (p2, _, hv2) = single_gyre(128, nu_large, 1e-5, 0.012, 150.0);
    let (w1, w2) = (
        boundary_current_width(&p1, &hv1),
        boundary_current_width(&p2, &hv2),
    );
    // Munk layer, δ = (A/β)^(1/3): with free-slip walls (ψ = ψ_xx = 0) the northward
    // current v ∝ e^(−x/2δ) [cos(√3x/2δ) + sin(√3x/2δ)/√3] first reverses at
    // x = 4πδ/(3√3) ≈ 2.42 δ (no-slip walls would give 2πδ/√3 ≈ 3.63 δ).
    let munk = |nu: f64| 4.0 * std::f64::consts::PI / (3.0 * 3f64.sqrt()) * (nu / p1.beta).cbrt();
    // Tolerances: the ratio (8× A → 2× width) within 10 %, each width within 20 % of Munk's.
    assert!(
        (w2 / w1 / 2.0 - 1.0).abs() < 0.10,
        "width ratio {:.3} vs 2",
        w2 / w1
    );
    for (w, nu) in [(w1, nu_small), (w2, nu_large)] {
        assert!(
            (w / munk(nu) - 1.0).abs() < 0.20,
            "A = {nu}: width {w:.0} m vs Munk {:.0} m",
            munk(nu)
        );
    }
}
