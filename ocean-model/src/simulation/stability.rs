//! The stability check: every `check_every` steps the ocean ranks agree whether the state
//! is still finite and within CFL 1; if not, the last good state is written as a
//! checkpoint and the run stops with the worst cell of the job: field, value, global cell
//! and rank.

use mpi::traits::*;

use super::Simulation;
use crate::checkpoint;
use crate::diagnostics;
use crate::error::{OceanError, Result};

/// What makes a cell the worst: a non-finite field, or the CFL number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Culprit {
    U,
    V,
    Eta,
    Cfl,
}

/// The name the error message gives it.
impl std::fmt::Display for Culprit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Culprit::U => "u",
            Culprit::V => "v",
            Culprit::Eta => "eta",
            Culprit::Cfl => "CFL",
        })
    }
}

impl Culprit {
    fn of_field(name: &str) -> Self {
        match name {
            "u" => Culprit::U,
            "v" => Culprit::V,
            _ => Culprit::Eta,
        }
    }
}

/// The worst cell of one rank: the first non-finite value, else the largest CFL number.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WorstCell {
    pub culprit: Culprit,
    /// The non-finite value, or the CFL number.
    pub value: f64,
    /// The CFL number (`f64::MAX` where it is not finite), which ranks the cells.
    pub cfl: f64,
    /// Global cell.
    pub i: usize,
    pub j: usize,
    /// The ocean rank that owns it.
    pub rank: usize,
}

impl WorstCell {
    /// Values a cell takes on the wire (the ranks all-gather them as f64).
    const WIRE: usize = 5;

    /// The cell of the job that fails first: a non-finite one, else the largest CFL.
    fn worse(self, other: Self) -> Self {
        let key = |c: &Self| (c.culprit != Culprit::Cfl, c.cfl);
        match key(&other).partial_cmp(&key(&self)) {
            Some(std::cmp::Ordering::Less) => self,
            _ => other,
        }
    }

    /// Whether the run must stop.
    fn is_unstable(&self) -> bool {
        self.culprit != Culprit::Cfl || self.cfl > 1.0
    }

    fn to_wire(self) -> [f64; Self::WIRE] {
        let culprit = match self.culprit {
            Culprit::Cfl => 0.0,
            Culprit::U => 1.0,
            Culprit::V => 2.0,
            Culprit::Eta => 3.0,
        };
        [culprit, self.cfl, self.i as f64, self.j as f64, self.value]
    }

    fn from_wire(w: &[f64], rank: usize) -> Self {
        let culprit = match w[0] as u8 {
            1 => Culprit::U,
            2 => Culprit::V,
            3 => Culprit::Eta,
            _ => Culprit::Cfl,
        };
        WorstCell {
            culprit,
            cfl: w[1],
            i: w[2] as usize,
            j: w[3] as usize,
            value: w[4],
            rank,
        }
    }
}

impl<T: crate::real::Real> Simulation<T> {
    /// The worst cell of the job (collective: one all-gather).
    fn worst_cell(&self) -> Option<WorstCell> {
        let w = diagnostics::worst_point(&self.params, &self.state);
        let b = self.domain.rank_box;
        let (culprit, value) = match w.non_finite {
            Some((name, value)) => (Culprit::of_field(name), value),
            None => (Culprit::Cfl, w.cfl),
        };
        let mine = WorstCell {
            culprit,
            value,
            cfl: if w.cfl.is_finite() { w.cfl } else { f64::MAX },
            i: b.i0 + w.i,
            j: b.j0 + w.j,
            rank: self.domain.comm.rank() as usize,
        };
        let mut all = vec![0.0; WorstCell::WIRE * self.domain.decomp.size()];
        self.domain.all_gather(mine.to_wire(), &mut all);
        all.chunks_exact(WorstCell::WIRE)
            .enumerate()
            .map(|(rank, w)| WorstCell::from_wire(w, rank))
            .reduce(WorstCell::worse)
    }

    /// Stop with the worst cell of the job if the state is non-finite or CFL > 1; the last
    /// good state is written as a checkpoint first.
    pub(super) fn check_stability(&mut self) -> Result<()> {
        let Some(worst) = self.worst_cell().filter(WorstCell::is_unstable) else {
            self.last_good.0.copy_from(&self.state);
            self.last_good.1 = self.step;
            return Ok(());
        };
        let (state, step) = self.last_good.clone();
        let path = checkpoint::path_for(&self.plan.run_dir, step);
        let (bad_state, bad_step) = (std::mem::replace(&mut self.state, state), self.step);
        self.step = step;
        self.write_checkpoint(path.clone())?;
        self.state = bad_state;
        self.step = bad_step;
        Err(OceanError::Unstable {
            step: self.step,
            time_s: self.time(),
            field: worst.culprit,
            value: worst.value,
            i: worst.i,
            j: worst.j,
            rank: worst.rank,
            cfl: worst.cfl,
            last_good: path,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(culprit: Culprit, cfl: f64, rank: usize) -> WorstCell {
        WorstCell {
            culprit,
            value: if culprit == Culprit::Cfl {
                cfl
            } else {
                f64::NAN
            },
            cfl,
            i: 3 + rank,
            j: 7,
            rank,
        }
    }

    #[test]
    fn a_cell_survives_the_wire() {
        for culprit in [Culprit::U, Culprit::V, Culprit::Eta, Culprit::Cfl] {
            let c = WorstCell {
                value: -2.5,
                ..cell(culprit, 0.25, 4)
            };
            assert_eq!(WorstCell::from_wire(&c.to_wire(), 4), c);
        }
    }

    #[test]
    fn a_non_finite_field_beats_any_cfl_and_the_last_rank_wins_a_tie() {
        let cells = [
            cell(Culprit::Cfl, 3.0, 0),
            cell(Culprit::V, f64::MAX, 1),
            cell(Culprit::Cfl, 0.5, 2),
        ];
        let worst = cells.into_iter().reduce(WorstCell::worse).unwrap();
        assert_eq!((worst.culprit, worst.rank), (Culprit::V, 1));
        assert!(worst.is_unstable());
        let tie = [cell(Culprit::Cfl, 0.5, 0), cell(Culprit::Cfl, 0.5, 1)];
        let worst = tie.into_iter().reduce(WorstCell::worse).unwrap();
        assert_eq!(worst.rank, 1, "as max_by: the last of equal cells");
        assert!(!worst.is_unstable());
    }
}
