//! A streaming rank-k POD: Brand's incremental SVD of the snapshot matrix, one column per
//! sample, never holding the matrix. With the left singular vectors U (n × r, r ≤ k) and
//! singular values s of the snapshots so far, a new snapshot c gives
//!
//! ```text
//! m = Uᵀc,   p = c − U m   (twice: classical Gram–Schmidt with re-orthogonalisation)
//! ρ = ‖p‖,   K = [ diag(s)  m ]  = U' s' V'ᵀ   (an (r+1) × (r+1) SVD)
//!                [   0     ρ ]
//! U ← [U  p/ρ] U'[:, :r'],   s ← s'[:r'],   r' = min(k, r+1)
//! ```
//!
//! The right singular vectors are not kept. The rows of U are split like the fields: each
//! ML rank holds the rows of its strip, and the only quantities that cross ranks are the
//! inner products m, ‖p‖² and, every [`REORTHONORMALISE`] samples, the Gram matrix UᵀU of
//! a Cholesky QR that removes the slow loss of orthogonality. They are all-reduced, so
//! every rank builds the same small K and the result does not depend on the rank count
//! (beyond rounding). The small SVD runs on the host; the n-sized work on the device.
//!
//! While the snapshots span at most k dimensions the update is exact; beyond, each step
//! drops the smallest of k+1 singular values, and the leading ones are approximations
//! whose error grows with the energy dropped.

use tch::{Device, Kind, TchError, Tensor};

use crate::comm::Ranks;
use crate::spectrum::to_host;

/// Samples between two Cholesky QRs of the basis.
pub const REORTHONORMALISE: u64 = 16;

/// The rank-k incremental SVD of this rank's rows.
pub struct Pod {
    pub rank: usize,
    /// `[n_local, r]`, float64 on the device.
    pub basis: Tensor,
    /// The r singular values, largest first.
    pub singular_values: Vec<f64>,
    pub count: u64,
}

impl Pod {
    /// No snapshot yet; rank `rank`, `rows` rows on this rank.
    pub fn new(rank: usize, rows: usize, device: Device) -> Result<Self, TchError> {
        Ok(Self {
            rank,
            basis: Tensor::f_zeros([rows as i64, 0], (Kind::Double, device))?,
            singular_values: Vec::new(),
            count: 0,
        })
    }

    /// Adds the snapshot `c` (`[n_local]`, float64).
    pub fn push(&mut self, c: &Tensor, ranks: &dyn Ranks) -> Result<(), TchError> {
        self.count += 1;
        let c = c.f_reshape([-1, 1])?;
        let r = self.singular_values.len();
        let project = |p: &Tensor| -> Result<(Vec<f64>, Tensor), TchError> {
            let mut m = to_host(&self.basis.f_tr()?.f_matmul(p)?)?;
            ranks.sum(&mut m);
            let mt = Tensor::f_from_slice(&m)?
                .f_view([-1, 1])?
                .f_to_device(p.device())?;
            Ok((m, p.f_sub(&self.basis.f_matmul(&mt)?)?))
        };
        let (m1, p) = project(&c)?;
        let (m2, p) = project(&p)?;
        let m: Vec<f64> = m1.iter().zip(&m2).map(|(a, b)| a + b).collect();
        let mut rho2 = to_host(&p.f_square()?.f_sum(Kind::Double)?)?;
        ranks.sum(&mut rho2);
        let rho = rho2[0].sqrt();
        let scale = self
            .singular_values
            .first()
            .copied()
            .unwrap_or(0.0)
            .max(rho);
        if scale == 0.0 {
            return Ok(());
        }
        // K, row-major (r+1)².
        let n = r + 1;
        let mut k = vec![0.0; n * n];
        for i in 0..r {
            k[i * n + i] = self.singular_values[i];
            k[i * n + r] = m[i];
        }
        k[r * n + r] = rho;
        let kt = Tensor::f_from_slice(&k)?.f_view([n as i64, n as i64])?;
        // torch.svd: linalg_svd takes a driver only on CUDA, and tch always passes one.
        let (uk, sk, _) = kt.f_svd(true, true)?;
        let sk = to_host(&sk)?;
        let kept = sk
            .iter()
            .take(self.rank)
            .take_while(|&&s| s > 1e-13 * scale)
            .count();
        let q = if rho > 1e-13 * scale {
            p.f_div_scalar(rho)?
        } else {
            p.f_zeros_like()?
        };
        let extended = Tensor::f_cat(&[&self.basis, &q], 1)?;
        let rotation = uk
            .f_narrow(1, 0, kept as i64)?
            .f_to_device(extended.device())?;
        self.basis = extended.f_matmul(&rotation)?;
        self.singular_values = sk[..kept].to_vec();
        if self.count % REORTHONORMALISE == 0 {
            self.reorthonormalise(ranks)?;
        }
        Ok(())
    }

    /// Cholesky QR of the basis: U ← U L⁻ᵀ with L Lᵀ = UᵀU (all-reduced).
    fn reorthonormalise(&mut self, ranks: &dyn Ranks) -> Result<(), TchError> {
        let r = self.singular_values.len() as i64;
        if r == 0 {
            return Ok(());
        }
        let mut gram = to_host(&self.basis.f_tr()?.f_matmul(&self.basis)?)?;
        ranks.sum(&mut gram);
        let l = Tensor::f_from_slice(&gram)?
            .f_view([r, r])?
            .f_linalg_cholesky(false)?;
        let l = l.f_to_device(self.basis.device())?;
        // U L⁻ᵀ = (L⁻¹ Uᵀ)ᵀ.
        let solved = l.f_linalg_solve_triangular(&self.basis.f_tr()?, false, true, false)?;
        self.basis = solved.f_tr()?.f_contiguous()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::comm::Alone;

    /// Snapshots of exact rank 6 (8 > 6 modes kept): the streaming SVD equals the batch
    /// SVD of the snapshot matrix, singular values and subspace.
    #[test]
    fn matches_the_batch_svd_of_low_rank_snapshots() {
        let (n, r, samples) = (500i64, 6i64, 120i64);
        let (modes, weights) = {
            let _rng = crate::TORCH_RNG.lock().unwrap_or_else(|e| e.into_inner());
            tch::manual_seed(3);
            (
                Tensor::randn([n, r], (Kind::Double, Device::Cpu)),
                Tensor::randn([r, samples], (Kind::Double, Device::Cpu)),
            )
        };
        let weights = weights * Tensor::from_slice(&[10.0, 5.0, 3.0, 1.0, 0.5, 0.1]).view([r, 1]);
        let snapshots = modes.matmul(&weights);
        let mut pod = Pod::new(8, n as usize, Device::Cpu).unwrap();
        for t in 0..samples {
            pod.push(&snapshots.select(1, t), &Alone).unwrap();
        }
        let (u, s, _) = snapshots.svd(true, true);
        let s: Vec<f64> = Vec::try_from(&s.narrow(0, 0, r)).unwrap();
        assert_eq!(pod.singular_values.len(), r as usize);
        for (a, b) in pod.singular_values.iter().zip(&s) {
            assert!((a - b).abs() <= 1e-9 * b, "singular value {a} vs batch {b}");
        }
        // Principal angles: the singular values of UᵀU_batch are their cosines.
        let (_, cosines, _) = pod.basis.tr().matmul(&u.narrow(1, 0, r)).svd(true, false);
        let worst = f64::try_from(cosines.min()).unwrap();
        assert!(1.0 - worst < 1e-9, "largest principal angle: cos = {worst}");
        let gram = pod.basis.tr().matmul(&pod.basis) - Tensor::eye(r, (Kind::Double, Device::Cpu));
        assert!(f64::try_from(gram.abs().max()).unwrap() < 1e-12);
    }
}
