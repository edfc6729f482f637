//! The prognostic state on one rank's box: u, v, eta with halos.

use crate::field::Field;
use crate::real::Real;

/// Prognostic variables (also used for their tendencies and RK4 stages).
#[derive(Debug, Clone, PartialEq)]
pub struct State<T: Real = f64> {
    /// Vertical levels carried for the coupling path (the physics uses level 0 only) (–).
    pub levels: usize,
    /// Zonal velocity on east faces (m s⁻¹); tendency: m s⁻².
    pub u: Field<T>,
    /// Meridional velocity on north faces (m s⁻¹); tendency: m s⁻².
    pub v: Field<T>,
    /// Surface elevation at cell centres (m); tendency: m s⁻¹.
    pub eta: Field<T>,
}

impl<T: Real> State<T> {
    /// A state at rest on an `ni × nj` box.
    pub fn zeros(ni: usize, nj: usize) -> Self {
        State {
            levels: 1,
            u: Field::zeros(ni, nj),
            v: Field::zeros(ni, nj),
            eta: Field::zeros(ni, nj),
        }
    }

    /// Owned columns.
    pub fn ni(&self) -> usize {
        self.u.ni
    }

    /// Owned rows.
    pub fn nj(&self) -> usize {
        self.u.nj
    }

    /// Tendency scratch that keeps only the last `rows` rows written (see
    /// [`Field::row_ring`]).
    pub fn row_ring(ni: usize, nj: usize, rows: usize) -> Self {
        State {
            levels: 1,
            u: Field::row_ring(ni, nj, rows),
            v: Field::row_ring(ni, nj, rows),
            eta: Field::row_ring(ni, nj, rows),
        }
    }

    /// Copy everything, halos included, without allocating.
    pub fn copy_from(&mut self, other: &State<T>) {
        self.u.data.copy_from_slice(&other.u.data);
        self.v.data.copy_from_slice(&other.v.data);
        self.eta.data.copy_from_slice(&other.eta.data);
    }

    /// The three fields with their names, for output and checks.
    pub fn named(&self) -> [(&'static str, &Field<T>); 3] {
        [("u", &self.u), ("v", &self.v), ("eta", &self.eta)]
    }
}
