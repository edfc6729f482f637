//! What the analysis needs from the ML component's communicator: sums of small vectors
//! over the ranks, and the strips of a map gathered on rank 0. One rank needs no MPI.

use mpi::collective::SystemOperation;
use mpi::datatype::PartitionMut;
use mpi::topology::Communicator;
use mpi::traits::{CommunicatorCollectives, Root};
use mpi::Count;

/// The ranks that share one analysis, each holding a strip of rows.
pub trait Ranks {
    fn rank(&self) -> usize;
    fn size(&self) -> usize;
    /// Replaces `values` by their sum over the ranks, the same on every rank.
    fn sum(&self, values: &mut [f64]);
    /// On rank 0, the ranks' `local` slices end to end (rank order); elsewhere `None`.
    fn gather(&self, local: &[f64]) -> Option<Vec<f64>>;
}

/// One rank alone (tests, `ml-server bench`).
pub struct Alone;

impl Ranks for Alone {
    fn rank(&self) -> usize {
        0
    }
    fn size(&self) -> usize {
        1
    }
    fn sum(&self, _: &mut [f64]) {}
    fn gather(&self, local: &[f64]) -> Option<Vec<f64>> {
        Some(local.to_vec())
    }
}

/// The ML component's ranks (`Coupler::local_comm`).
pub struct Mpi<'a, C: Communicator>(pub &'a C);

impl<C: Communicator> Ranks for Mpi<'_, C> {
    fn rank(&self) -> usize {
        self.0.rank() as usize
    }
    fn size(&self) -> usize {
        self.0.size() as usize
    }
    fn sum(&self, values: &mut [f64]) {
        if self.size() == 1 {
            return;
        }
        let local = values.to_vec();
        self.0
            .all_reduce_into(&local[..], values, SystemOperation::sum());
    }
    fn gather(&self, local: &[f64]) -> Option<Vec<f64>> {
        if self.size() == 1 {
            return Some(local.to_vec());
        }
        let mut counts: Vec<Count> = vec![0; self.size()];
        self.0
            .all_gather_into(&(local.len() as Count), &mut counts[..]);
        let root = self.0.process_at_rank(0);
        if self.rank() != 0 {
            root.gather_varcount_into(local);
            return None;
        }
        let displs: Vec<Count> = counts
            .iter()
            .scan(0, |at, &c| {
                let d = *at;
                *at += c;
                Some(d)
            })
            .collect();
        let mut all = vec![0.0; counts.iter().map(|&c| c as usize).sum()];
        let mut partition = PartitionMut::new(&mut all[..], &counts[..], &displs[..]);
        root.gather_varcount_into_root(local, &mut partition);
        Some(all)
    }
}
