//! This rank's place in the decomposition, and the collective operations the
//! driver needs (gather to rank 0, global reductions). Buffers are made once.

use mpi::collective::SystemOperation;
use mpi::datatype::PartitionMut;
use mpi::topology::SimpleCommunicator;
use mpi::traits::*;
use mpi::Count;

use crate::field::Field;
use crate::grid::{Decomposition, RankBox};
use crate::halo::Halo;
use crate::params::WallCondition;
use crate::real::Real;

/// A rank of the ocean communicator and its box.
pub struct Domain {
    pub comm: SimpleCommunicator,
    pub decomp: Decomposition,
    pub rank: usize,
    pub rank_box: RankBox,
    local: Vec<f64>,
    gathered: Vec<f64>,
    counts: Vec<Count>,
    displs: Vec<Count>,
}

impl Domain {
    /// Place this rank of `comm` in `decomp`.
    pub fn new(comm: SimpleCommunicator, decomp: Decomposition) -> Self {
        let rank = comm.rank() as usize;
        let rank_box = decomp.rank_box(rank);
        let boxes: Vec<RankBox> = (0..decomp.size()).map(|r| decomp.rank_box(r)).collect();
        let counts: Vec<Count> = boxes.iter().map(|b| (b.ni * b.nj) as Count).collect();
        let displs = counts
            .iter()
            .scan(0, |acc, &c| {
                let d = *acc;
                *acc += c;
                Some(d)
            })
            .collect();
        let root = rank == 0;
        Domain {
            comm,
            rank,
            rank_box,
            local: vec![0.0; rank_box.ni * rank_box.nj],
            gathered: if root {
                vec![0.0; decomp.nx * decomp.ny]
            } else {
                Vec::new()
            },
            counts,
            displs,
            decomp,
        }
    }

    /// The halo filler of this rank's box.
    pub fn halo<T: Real>(&self, walls: WallCondition) -> Halo<T> {
        let b = self.rank_box;
        Halo::new(
            Some(self.comm.duplicate()),
            self.decomp.neighbours(self.rank),
            b.ni,
            b.nj,
            walls,
        )
    }

    pub fn is_root(&self) -> bool {
        self.rank == 0
    }

    /// Gather the owned cells of `f` into the global nx × ny array (i fastest) on rank 0,
    /// written into `global`; other ranks leave `global` untouched.
    pub fn gather<T: Real>(&mut self, f: &Field<T>, global: &mut [f64]) {
        f.copy_interior_to(&mut self.local);
        self.gather_local(global);
    }

    /// Like [`Domain::gather`] for a box already laid out as [j][i] without halo.
    pub fn gather_slice<T: Real>(&mut self, local: &[T], global: &mut [f64]) {
        for (l, &x) in self.local.iter_mut().zip(local) {
            *l = x.to_f64();
        }
        self.gather_local(global);
    }

    fn gather_local(&mut self, global: &mut [f64]) {
        let root = self.comm.process_at_rank(0);
        if self.rank != 0 {
            root.gather_varcount_into(&self.local[..]);
            return;
        }
        {
            let mut partition =
                PartitionMut::new(&mut self.gathered[..], &self.counts[..], &self.displs[..]);
            root.gather_varcount_into_root(&self.local[..], &mut partition);
        }
        let nx = self.decomp.nx;
        for r in 0..self.decomp.size() {
            let b = self.decomp.rank_box(r);
            let off = self.displs[r] as usize;
            for j in 0..b.nj {
                let src = &self.gathered[off + j * b.ni..off + (j + 1) * b.ni];
                let dst = (b.j0 + j) * nx + b.i0;
                global[dst..dst + b.ni].copy_from_slice(src);
            }
        }
    }

    /// Sum over all ranks.
    pub fn sum(&self, x: f64) -> f64 {
        let mut out = 0.0;
        self.comm
            .all_reduce_into(&x, &mut out, SystemOperation::sum());
        out
    }

    /// Maximum over all ranks.
    pub fn max(&self, x: f64) -> f64 {
        let mut out = 0.0;
        self.comm
            .all_reduce_into(&x, &mut out, SystemOperation::max());
        out
    }

    /// Every rank's `x`, in rank order, on every rank.
    pub fn all_gather<const N: usize>(&self, x: [f64; N], out: &mut [f64]) {
        self.comm.all_gather_into(&x[..], out);
    }
}
