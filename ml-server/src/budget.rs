//! `[ml] energy_budget`: a closure that may move energy between places and scales but
//! may not be a net source of it.
//!
//! The power the forcing puts into the resolved flow is P = Σ (u·Sx + v·Sy) over the
//! ocean points of the whole ML component (u on U points with Sx, v on V points with
//! Sy; a uniform grid, so no area weights). With `energy_budget = "no_net_source"`, a
//! level whose P > 0 gets the part of S along (u, v) that makes P removed:
//!
//! ```text
//! S ← S − (P / Q) · w · (u, v),    Q = Σ w (u² + v²),    w = 1 on ocean points, 0 on land
//! ```
//!
//! so that afterwards Σ w (u, v)·S = 0: the network's local backscatter and dissipation
//! stay, its net energy input goes. Where P ≤ 0 the forcing is left as it is. P and Q are
//! summed over every ML rank (each holds a strip of rows), so the result does not depend
//! on the rank count. This is the "no net energy input" constraint of energy-constrained
//! closures; it keeps the learned closure from pumping the basin's energy without bound
//! (docs/science.md, section 5).

use std::cell::Cell;

use tch::{Kind, Tensor};

use crate::error::MlError;
use crate::models::tch_ok;

/// Sums a vector over every ML rank, in place (an MPI all-reduce, or nothing on one rank).
pub type SumAcross = Box<dyn Fn(&mut [f64]) -> Result<(), MlError>>;

/// How often the constraint acted, for the log.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct BudgetStats {
    /// Levels looked at (calls × levels).
    pub levels: u64,
    /// Of those, levels whose net power was positive and removed.
    pub corrected: u64,
    /// Σ P/Q over the corrected levels: the mean relative drag it amounted to, once divided.
    pub coefficient_sum: f64,
}

/// The constraint of one engine: how to sum across ranks, and what it did.
pub struct NoNetSource {
    sum: SumAcross,
    stats: Cell<BudgetStats>,
}

impl NoNetSource {
    pub fn new(sum: SumAcross) -> Self {
        NoNetSource {
            sum,
            stats: Cell::new(BudgetStats::default()),
        }
    }

    /// What the constraint did so far.
    pub fn stats(&self) -> BudgetStats {
        self.stats.get()
    }

    /// Removes each level's net power from `forcing` (`[levels, 2, ny, nx]`, written in
    /// place) given the velocities `uv` on the same points and the ocean `weight`
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
        let mut both: Vec<f64> = power.into_iter().chain(norm).collect();
        (self.sum)(&mut both)?;
        let (power, norm) = both.split_at(levels);
        let coefficient: Vec<f32> = power
            .iter()
            .zip(norm)
            .map(|(&p, &q)| {
                if p > 0.0 && q > 0.0 {
                    (p / q) as f32
                } else {
                    0.0
                }
            })
            .collect();
        let mut stats = self.stats.get();
        stats.levels += levels as u64;
        for &c in coefficient.iter().filter(|&&c| c != 0.0) {
            stats.corrected += 1;
            stats.coefficient_sum += f64::from(c);
        }
        self.stats.set(stats);
        if coefficient.iter().any(|&c| c != 0.0) {
            let c = tch_ok(
                "energy budget: coefficients",
                Tensor::from_slice(&coefficient)
                    .f_view([levels as i64, 1, 1, 1])
                    .and_then(|c| c.f_to_device(forcing.device())),
            )?;
            let mut forcing = forcing.shallow_clone();
            let _in_place = tch_ok(
                "energy budget: correction",
                wuv.f_mul(&c).and_then(|d| forcing.f_sub_(&d)),
            )?;
        }
        Ok(power.iter().copied().zip(norm.iter().copied()).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one_rank() -> NoNetSource {
        NoNetSource::new(Box::new(|_| Ok(())))
    }

    fn power(uv: &Tensor, w: &Tensor, s: &Tensor) -> f64 {
        (uv * w * s)
            .to_kind(Kind::Double)
            .sum(Kind::Double)
            .double_value(&[])
    }

    #[test]
    fn a_net_source_is_removed_and_the_rest_of_the_forcing_kept() {
        let _ = tch::manual_seed(3);
        let uv = Tensor::randn([2, 2, 6, 5], (Kind::Float, tch::Device::Cpu));
        // Level 0 injects energy (S = 0.3 u + noise), level 1 drains it (S = −u + noise).
        let noise = Tensor::randn([2, 2, 6, 5], (Kind::Float, tch::Device::Cpu)) * 0.1;
        let sign = Tensor::from_slice(&[0.3f32, -1.0]).view([2, 1, 1, 1]);
        let s = &uv * &sign + &noise;
        let w = Tensor::ones([2, 2, 6, 5], (Kind::Float, tch::Device::Cpu));
        let _ = w.narrow(3, 0, 1).fill_(0.0); // a wall column of land
        let s = s * &w;
        let before = s.copy();
        let pq = one_rank().apply(&uv, Some(&w), &s).unwrap();
        assert!(pq[0].0 > 0.0 && pq[1].0 < 0.0, "{pq:?}");
        let after0 = power(&uv.get(0), &w.get(0), &s.get(0));
        // Relative to the power before: float32 arithmetic, about 1e-7 per term.
        assert!(
            after0.abs() < 1e-5 * pq[0].0,
            "level 0 power after: {after0}"
        );
        assert!(
            s.get(1).equal(&before.get(1)),
            "a dissipating level is changed"
        );
        // Land stays zero; the correction is along (u, v): S − S_before ∥ w·uv.
        assert_eq!(s.narrow(3, 0, 1).abs().max().double_value(&[]), 0.0);
        let change = (&s - &before).get(0);
        let c = pq[0].0 / pq[0].1;
        let expected = (&uv * &w).get(0) * (-c);
        let err = (&change - &expected).abs().max().double_value(&[]);
        assert!(err < 1e-6, "the correction is not −(P/Q) w u: {err}");
    }

    #[test]
    fn the_sums_are_taken_across_ranks() {
        // Two "ranks" as two halves of one field: summing across them must give the
        // correction of the whole field, not of each half.
        let _ = tch::manual_seed(5);
        let uv = Tensor::randn([1, 2, 8, 4], (Kind::Float, tch::Device::Cpu));
        let s = &uv * 0.5 + Tensor::randn([1, 2, 8, 4], (Kind::Float, tch::Device::Cpu)) * 0.2;
        let w = Tensor::ones([1, 2, 8, 4], (Kind::Float, tch::Device::Cpu));
        let whole = s.copy();
        one_rank().apply(&uv, Some(&w), &whole).unwrap();
        let halves: Vec<(Tensor, Tensor)> = (0..2)
            .map(|h| (uv.narrow(2, 4 * h, 4).copy(), s.narrow(2, 4 * h, 4).copy()))
            .collect();
        let partial: Vec<f64> = halves
            .iter()
            .flat_map(|(u, f)| {
                let prod = |a: &Tensor| a.to_kind(Kind::Double).sum(Kind::Double).double_value(&[]);
                [prod(&(u * f)), prod(&(u * u))]
            })
            .collect();
        let total = [partial[0] + partial[2], partial[1] + partial[3]];
        for (u, f) in &halves {
            let sum = NoNetSource::new(Box::new(move |v: &mut [f64]| {
                v.copy_from_slice(&total);
                Ok(())
            }));
            sum.apply(u, None, f).unwrap();
        }
        let joined = Tensor::cat(&[&halves[0].1, &halves[1].1], 2);
        let err = (&joined - &whole).abs().max().double_value(&[]);
        assert!(
            err < 1e-6,
            "split correction differs from the whole one by {err}"
        );
    }
}
