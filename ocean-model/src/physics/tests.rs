//! Conservation identities of the semi-discrete RHS (no time stepping involved).

use super::*;
use crate::halo::Halo;
use crate::params::{PvScheme, Viscosity, WallCondition, WindProfile};

/// Inviscid, unforced parameters on an n × n grid.
fn inviscid(n: usize, scheme: PvScheme) -> Params {
    Params {
        nx: n,
        ny: n,
        wind: WindProfile::None,
        bottom_drag: 0.0,
        viscosity: Viscosity::Laplacian { nu2: 0.0 },
        pv_scheme: scheme,
        ..Params::default()
    }
}

/// A smooth bump vanishing outside cells [n/4, 3n/4).
fn bump(n: usize, i: usize, j: usize, shift: f64) -> f64 {
    let s = |k: usize| {
        let x = (k as f64 + shift) / n as f64;
        if (0.25..0.75).contains(&x) {
            (2.0 * std::f64::consts::PI * (x - 0.25)).sin().powi(2)
        } else {
            0.0
        }
    };
    s(i) * s(j)
}

fn blob_state(n: usize) -> State {
    let mut s = State::zeros(n, n);
    for j in 0..n {
        for i in 0..n {
            let (ii, jj) = (i as isize, j as isize);
            *s.eta.at_mut(ii, jj) = 2.0 * bump(n, i, j, 0.5);
            *s.u.at_mut(ii, jj) = 0.4 * bump(n, i, j, 1.0) * (j as f64 / n as f64 - 0.5);
            *s.v.at_mut(ii, jj) = -0.3 * bump(n, i, j, 0.7) * (i as f64 / n as f64 - 0.45);
        }
    }
    let mut halo = Halo::serial(n, n, WallCondition::FreeSlip);
    halo.fill_halos(&mut s.u, crate::field::Stagger::U);
    halo.fill_halos(&mut s.v, crate::field::Stagger::V);
    halo.fill_halos(&mut s.eta, crate::field::Stagger::T);
    s
}

/// (dE/dt, scale) and (dZ/dt, scale) for the blob state.
fn budgets(scheme: PvScheme) -> ((f64, f64), (f64, f64)) {
    let n = 32;
    let p = inviscid(n, scheme);
    let s = blob_state(n);
    let mut rhs = Rhs::new(
        &p,
        RankBox {
            i0: 0,
            j0: 0,
            ni: n,
            nj: n,
        },
    );
    let mut t = State::zeros(n, n);
    // The derived fields keep only a few rows: copy each strip's as it completes.
    let (mut b, mut uh, mut vh, mut q) = (
        Field::zeros(n, n),
        Field::zeros(n, n),
        Field::zeros(n, n),
        Field::zeros(n, n),
    );
    rhs.sweep(&s, &mut t, |rhs, _, rows| {
        for j in rows {
            for (to, from) in [
                (&mut b, &rhs.bernoulli.b),
                (&mut uh, &rhs.fluxes.uh),
                (&mut vh, &rhs.fluxes.vh),
                (&mut q, &rhs.pv.q),
            ] {
                to.span_mut(0, j, n).copy_from_slice(from.span(0, j, n));
            }
        }
    });
    rhs.finish(&mut t);
    let (dx, dy) = (p.dx(), p.dy());
    let (mut de, mut de_scale) = (0.0, 0.0);
    for j in 0..n as isize {
        for i in 0..n as isize {
            let terms = [
                b.at(i, j) * t.eta.at(i, j),
                uh.at(i, j) * t.u.at(i, j),
                vh.at(i, j) * t.v.at(i, j),
            ];
            de += terms.iter().sum::<f64>();
            de_scale += terms.iter().map(|x| x.abs()).sum::<f64>();
        }
    }
    let (mut dz, mut dz_scale) = (0.0, 0.0);
    for j in 0..n as isize - 1 {
        for i in 0..n as isize - 1 {
            let q = q.at(i, j);
            let dzeta =
                (t.v.at(i + 1, j) - t.v.at(i, j)) / dx - (t.u.at(i, j + 1) - t.u.at(i, j)) / dy;
            let dhq = 0.25
                * (t.eta.at(i, j)
                    + t.eta.at(i + 1, j)
                    + t.eta.at(i, j + 1)
                    + t.eta.at(i + 1, j + 1));
            let terms = [q * dzeta, -0.5 * q * q * dhq];
            dz += terms.iter().sum::<f64>();
            dz_scale += terms.iter().map(|x| x.abs()).sum::<f64>();
        }
    }
    ((de, de_scale), (dz, dz_scale))
}

#[test]
fn arakawa_lamb_conserves_energy_and_enstrophy() {
    let ((de, es), (dz, zs)) = budgets(PvScheme::ArakawaLamb);
    assert!(de.abs() < 1e-12 * es, "dE/dt = {de:e} vs scale {es:e}");
    assert!(dz.abs() < 1e-12 * zs, "dZ/dt = {dz:e} vs scale {zs:e}");
}

#[test]
fn sadourny_conserves_energy_but_not_enstrophy() {
    let ((de, es), (dz, zs)) = budgets(PvScheme::Sadourny);
    assert!(de.abs() < 1e-12 * es, "dE/dt = {de:e} vs scale {es:e}");
    assert!(
        dz.abs() > 1e-8 * zs,
        "Sadourny's scheme should not conserve enstrophy: {dz:e} vs {zs:e}"
    );
}

#[test]
fn state_at_rest_stays_at_rest_without_wind() {
    let p = inviscid(16, PvScheme::ArakawaLamb);
    let s = State::zeros(16, 16);
    let mut rhs = Rhs::new(
        &p,
        RankBox {
            i0: 0,
            j0: 0,
            ni: 16,
            nj: 16,
        },
    );
    let mut t = State::zeros(16, 16);
    t.u.fill(1.0);
    rhs.compute(&s, &mut t);
    assert!(t
        .u
        .data
        .iter()
        .chain(&t.v.data)
        .chain(&t.eta.data)
        .all(|&x| x == 0.0 || x == 1.0));
    let mut interior = vec![0.0; 256];
    t.u.copy_interior_to(&mut interior);
    assert!(interior.iter().all(|&x| x == 0.0));
}

/// Whether [`simd::widest`] takes its AVX2 copy on this CPU.
fn avx2_present() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx2")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

#[test]
fn avx2_sweep_gives_the_same_bits_as_the_plain_one() {
    if !avx2_present() {
        // Both calls below would run the plain copy: the comparison proves nothing here.
        eddylink_tests::skip::skip("this CPU has no AVX2: the AVX2 copy cannot run");
        return;
    }
    let n = 37;
    let p = Params::for_grid(n, n);
    let s = blob_state(n);
    let b = RankBox {
        i0: 0,
        j0: 0,
        ni: n,
        nj: n,
    };
    let (mut wide, mut plain) = (State::zeros(n, n), State::zeros(n, n));
    Rhs::new(&p, b).compute_internal(&s, &mut wide);
    Rhs::new(&p, b).sweep_any_cpu(&s, &mut plain, |_, _, _| {});
    let bits = |t: &State| -> Vec<u64> {
        t.named()
            .iter()
            .flat_map(|(_, f)| f.data.iter().map(|x| x.to_bits()))
            .collect()
    };
    assert!(wide.u.data.iter().any(|&x| x != 0.0));
    assert_eq!(bits(&wide), bits(&plain));
}
