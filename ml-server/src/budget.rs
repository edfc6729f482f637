//! `[ml] max_net_power`: a cap on the kinetic energy the forcing may put into the flow.
//!
//! The power the forcing puts into the resolved flow is P = Σ (u·Sx + v·Sy) over the
//! ocean points of the whole ML component (u on U points with Sx, v on V points with Sy;
//! a uniform grid, so no area weights), and its basin mean P/n over the n cells. With
//! `max_net_power = p` (m² s⁻³), a level whose P exceeds n·p loses the part of S along
//! (u, v) that is in excess:
//!
//! ```text
//! S ← S − ((P − n p) / Q) · w · (u, v),    Q = Σ w (u² + v²),    w = 1 on ocean points, 0 on land
//! ```
//!
//! so that afterwards Σ w (u, v)·S = n p: the network's local backscatter and dissipation
//! stay, and its net energy input is at most p per cell (`power_cap_by = "drag"`). With
//! `power_cap_by = "scaling"` the whole level is scaled instead, S ← S · n p / P: the
//! forcing keeps its pattern and loses amplitude, a forcing factor that adapts to the flow. Below the cap the forcing is left as
//! it is. `p = 0` forbids any net source. P, Q and n are summed over every ML rank (each
//! holds a strip of rows), so the result does not depend on the rank count. The cap is
//! applied to the server's forcing, before the ocean's `forcing_factor`.
//!
//! Why: the coarse-grained truth's subgrid forcing is a net source (its basin-mean power
//! was 2.8–3.8 × 10⁻⁸ m² s⁻³ on every training day: eddies backscatter energy to the
//! resolved scales), and the learned closure's online blow-up is a net source that grows
//! without bound. A cap at the truth's largest value keeps the first and stops the second
//! (docs/science.md, section 5).

use std::cell::Cell;

use tch::{Kind, Tensor};

use crate::error::MlError;
use crate::models::tch_ok;

/// Sums a vector over every ML rank, in place (an MPI all-reduce, or nothing on one rank).
pub type SumAcross = Box<dyn Fn(&mut [f64]) -> Result<(), MlError>>;

/// How often the cap acted, for the log.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct BudgetStats {
    /// Levels looked at (calls × levels).
    pub levels: u64,
    /// Of those, levels whose net power exceeded the cap and was brought down to it.
    pub corrected: u64,
    /// Over the corrected levels, Σ (P − n p)/Q (drag, s⁻¹) or Σ (1 − n p / P) (scaling,
    /// the fraction of the forcing removed).
    pub coefficient_sum: f64,
}

/// How a forcing above the cap is brought down to it.
#[derive(Clone, Copy, Debug, Default, serde::Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum CapBy {
    /// S · n p / P.
    #[default]
    Scaling,
    /// S − ((P − n p) / Q) · w · (u, v).
    Drag,
}

impl CapBy {
    /// The value as `[ml] power_cap_by` spells it.
    pub fn name(self) -> &'static str {
        match self {
            CapBy::Scaling => "scaling",
            CapBy::Drag => "drag",
        }
    }
}

/// The cap of one engine: its value and kind, how to sum across ranks, and what it did.
pub struct PowerCap {
    max_mean_power: f64,
    by: CapBy,
    sum: SumAcross,
    stats: Cell<BudgetStats>,
}

impl PowerCap {
    /// A cap of `max_mean_power` m² s⁻³ per cell, applied `by`, with `sum` adding vectors
    /// over the ranks.
    pub fn new(max_mean_power: f64, by: CapBy, sum: SumAcross) -> Self {
        PowerCap {
            max_mean_power,
            by,
            sum,
            stats: Cell::new(BudgetStats::default()),
        }
    }

    /// The cap, m² s⁻³ per cell.
    pub fn max_mean_power(&self) -> f64 {
        self.max_mean_power
    }

    /// How the cap is applied.
    pub fn by(&self) -> CapBy {
        self.by
    }

    /// What the constraint did so far.
    pub fn stats(&self) -> BudgetStats {
        self.stats.get()
    }

    /// Brings each level's net power in `forcing` (`[levels, 2, ny, nx]`, written in place)
    /// down to the cap, given the velocities `uv` on the same points and the ocean `weight`
    /// (1 ocean, 0 land; `None`: every point). Returns each level's (P, Q) before the
    /// correction, summed over the ranks.
    pub fn apply(
        &self,
        uv: &Tensor,
        weight: Option<&Tensor>,
        forcing: &Tensor,
    ) -> Result<Vec<(f64, f64)>, MlError> {
        let uv = tch_ok("energy budget: velocities", uv.f_to_kind(Kind::Float))?;
        let wuv = match weight {
            Some(w) => tch_ok("energy budget: mask", uv.f_mul(w))?,
            None => uv.shallow_clone(),
        };
        let per_level = |t: Tensor| -> Result<Vec<f64>, MlError> {
            let sums = tch_ok(
                "energy budget: sums",
                t.f_to_kind(Kind::Double)
                    .and_then(|t| t.f_sum_dim_intlist([1i64, 2, 3].as_slice(), false, None))
                    .and_then(|t| t.f_to_device(tch::Device::Cpu)),
            )?;
            tch_ok("energy budget: sums", Vec::<f64>::try_from(&sums))
        };
        let power = per_level(tch_ok("energy budget: u·S", wuv.f_mul(forcing))?)?;
        let norm = per_level(tch_ok("energy budget: |u|²", wuv.f_mul(&uv))?)?;
        let levels = power.len();
        let (ny, nx) = (forcing.size()[2], forcing.size()[3]);
        let mut sums: Vec<f64> = power
            .into_iter()
            .chain(norm)
            .chain([(ny * nx) as f64])
            .collect();
        (self.sum)(&mut sums)?;
        let cap = self.max_mean_power * sums[2 * levels];
        let (power, norm) = sums[..2 * levels].split_at(levels);
        // Per level: the drag (P − cap)/Q, or the factor cap/P; 0 and 1 leave it alone.
        let exceeds = |p: f64, q: f64| p > cap && q > 0.0;
        let coefficient: Vec<f32> = power
            .iter()
            .zip(norm)
            .map(|(&p, &q)| match (self.by, exceeds(p, q)) {
                (CapBy::Drag, true) => ((p - cap) / q) as f32,
                (CapBy::Drag, false) => 0.0,
                (CapBy::Scaling, true) => (cap / p) as f32,
                (CapBy::Scaling, false) => 1.0,
            })
            .collect();
        let mut stats = self.stats.get();
        stats.levels += levels as u64;
        for (&p, &q) in power.iter().zip(norm).filter(|(&p, &q)| exceeds(p, q)) {
            stats.corrected += 1;
            stats.coefficient_sum += match self.by {
                CapBy::Drag => (p - cap) / q,
                CapBy::Scaling => 1.0 - cap / p,
            };
        }
        self.stats.set(stats);
        if power.iter().zip(norm).any(|(&p, &q)| exceeds(p, q)) {
            let c = tch_ok(
                "energy budget: coefficients",
                Tensor::from_slice(&coefficient)
                    .f_view([levels as i64, 1, 1, 1])
                    .and_then(|c| c.f_to_device(forcing.device())),
            )?;
            let mut forcing = forcing.shallow_clone();
            let _in_place = tch_ok(
                "energy budget: correction",
                match self.by {
                    CapBy::Drag => wuv.f_mul(&c).and_then(|d| forcing.f_sub_(&d)),
                    CapBy::Scaling => forcing.f_mul_(&c),
                },
            )?;
        }
        Ok(power.iter().copied().zip(norm.iter().copied()).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one_rank(cap: f64) -> PowerCap {
        PowerCap::new(cap, CapBy::Drag, Box::new(|_| Ok(())))
    }

    fn power(uv: &Tensor, w: &Tensor, s: &Tensor) -> f64 {
        (uv * w * s)
            .to_kind(Kind::Double)
            .sum(Kind::Double)
            .double_value(&[])
    }

    #[test]
    fn a_net_source_beyond_the_cap_is_removed_and_the_rest_of_the_forcing_kept() {
        tch::manual_seed(3);
        let uv = Tensor::randn([2, 2, 6, 5], (Kind::Float, tch::Device::Cpu));
        // Level 0 injects energy (S = 0.3 u + noise), level 1 drains it (S = −u + noise).
        let noise = Tensor::randn([2, 2, 6, 5], (Kind::Float, tch::Device::Cpu)) * 0.1;
        let sign = Tensor::from_slice(&[0.3f32, -1.0]).view([2, 1, 1, 1]);
        let s = &uv * &sign + &noise;
        let w = Tensor::ones([2, 2, 6, 5], (Kind::Float, tch::Device::Cpu));
        let _ = w.narrow(3, 0, 1).fill_(0.0); // a wall column of land
        let s = s * &w;
        let before = s.copy();
        // A cap of a quarter of level 0's power per cell (6 × 5 cells).
        let p0 = power(&uv.get(0), &w.get(0), &s.get(0));
        let cap = 0.25 * p0 / 30.0;
        let pq = one_rank(cap).apply(&uv, Some(&w), &s).unwrap();
        assert!(pq[0].0 > 0.0 && pq[1].0 < 0.0, "{pq:?}");
        let after0 = power(&uv.get(0), &w.get(0), &s.get(0));
        // Relative to the power before: float32 arithmetic, about 1e-7 per term.
        assert!(
            (after0 - 0.25 * p0).abs() < 1e-5 * p0,
            "level 0 power after: {after0}, the cap allows {}",
            0.25 * p0
        );
        assert!(
            s.get(1).equal(&before.get(1)),
            "a dissipating level is changed"
        );
        // Land stays zero; the correction is along (u, v): S − S_before ∥ w·uv.
        assert_eq!(s.narrow(3, 0, 1).abs().max().double_value(&[]), 0.0);
        let change = (&s - &before).get(0);
        let c = (pq[0].0 - 30.0 * cap) / pq[0].1;
        let expected = (&uv * &w).get(0) * (-c);
        let err = (&change - &expected).abs().max().double_value(&[]);
        assert!(err < 1e-6, "the correction is not −(P/Q) w u: {err}");
    }

    #[test]
    fn the_sums_are_taken_across_ranks() {
        // Two "ranks" as two halves of one field: summing across them must give the
        // correction of the whole field, not of each half.
        tch::manual_seed(5);
        let uv = Tensor::randn([1, 2, 8, 4], (Kind::Float, tch::Device::Cpu));
        let s = &uv * 0.5 + Tensor::randn([1, 2, 8, 4], (Kind::Float, tch::Device::Cpu)) * 0.2;
        let w = Tensor::ones([1, 2, 8, 4], (Kind::Float, tch::Device::Cpu));
        let whole = s.copy();
        one_rank(0.01).apply(&uv, Some(&w), &whole).unwrap();
        let halves: Vec<(Tensor, Tensor)> = (0..2)
            .map(|h| (uv.narrow(2, 4 * h, 4).copy(), s.narrow(2, 4 * h, 4).copy()))
            .collect();
        let partial: Vec<f64> = halves
            .iter()
            .flat_map(|(u, f)| {
                let prod = |a: &Tensor| a.to_kind(Kind::Double).sum(Kind::Double).double_value(&[]);
                [prod(&(u * f)), prod(&(u * u)), 16.0]
            })
            .collect();
        let total = [partial[0] + partial[3], partial[1] + partial[4], 32.0];
        for (u, f) in &halves {
            let sum = PowerCap::new(
                0.01,
                CapBy::Drag,
                Box::new(move |v: &mut [f64]| {
                    v.copy_from_slice(&total);
                    Ok(())
                }),
            );
            sum.apply(u, None, f).unwrap();
        }
        let joined = Tensor::cat(&[&halves[0].1, &halves[1].1], 2);
        let err = (&joined - &whole).abs().max().double_value(&[]);
        assert!(
            err < 1e-6,
            "split correction differs from the whole one by {err}"
        );
    }

    #[test]
    fn scaling_keeps_the_pattern_and_brings_the_power_to_the_cap() {
        tch::manual_seed(7);
        let uv = Tensor::randn([1, 2, 6, 5], (Kind::Float, tch::Device::Cpu));
        let s = &uv * 0.4 + Tensor::randn([1, 2, 6, 5], (Kind::Float, tch::Device::Cpu)) * 0.1;
        let w = Tensor::ones([1, 2, 6, 5], (Kind::Float, tch::Device::Cpu));
        let before = s.copy();
        let p0 = power(&uv, &w, &s);
        let cap = PowerCap::new(0.5 * p0 / 30.0, CapBy::Scaling, Box::new(|_| Ok(())));
        cap.apply(&uv, Some(&w), &s).unwrap();
        let err = (&s - &before * 0.5).abs().max().double_value(&[]);
        assert!(err < 1e-6, "not S/2: {err}");
        // Below the cap nothing changes.
        let small = &before * 0.1;
        let again = small.copy();
        cap.apply(&uv, Some(&w), &small).unwrap();
        assert!(small.equal(&again));
        let stats = cap.stats();
        assert_eq!((stats.levels, stats.corrected), (2, 1));
        assert!((stats.coefficient_sum - 0.5).abs() < 1e-6, "{stats:?}");
    }
}
