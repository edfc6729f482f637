//! Who takes part in a coupled job: the components and what their ranks declare about
//! their fields. Shared by the participant and the enddef handshake.

use crate::config::GridPoint;
use crate::routes::Region;

/// What a rank declares about one of its coupled fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldDef {
    /// This rank's box in the global grid (without halo).
    pub region: Region,
    /// Length of the vertical or batch axis.
    pub levels: usize,
    /// Where the field lives on the C-grid.
    pub point: GridPoint,
}

/// A component of the MPMD job: its name and its ranks in MPI_COMM_WORLD, by local rank.
#[derive(Debug, Clone, PartialEq)]
pub struct Component {
    pub name: String,
    pub world_ranks: Vec<i32>,
}
