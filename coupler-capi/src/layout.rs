//! The two memory orders of an array indexed (i, j, level), and the copy between them.
//!
//! The coupler stores a field with i fastest, then j, then the level: Fortran's
//! `a(ni, nj, nl)` (column-major) and C's `a[nl][nj][ni]`. A C program whose arrays are
//! `a[ni][nj][nl]` (row-major in (i, j, level): the level fastest) passes
//! [`Layout::RowMajor`], and the ABI transposes through a scratch array kept per handle.

/// `EDDYLINK_COLUMN_MAJOR`: i fastest (Fortran order); no copy.
pub const COLUMN_MAJOR: i32 = 0;
/// `EDDYLINK_ROW_MAJOR`: the level fastest, then j, then i (C order of `a[i][j][l]`).
pub const ROW_MAJOR: i32 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    ColumnMajor,
    RowMajor,
}

impl Layout {
    pub fn from_code(code: i32) -> Option<Layout> {
        match code {
            COLUMN_MAJOR => Some(Layout::ColumnMajor),
            ROW_MAJOR => Some(Layout::RowMajor),
            _ => None,
        }
    }
}

/// Array extents in (i, j, level) order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    pub ni: usize,
    pub nj: usize,
    pub levels: usize,
}

impl Shape {
    pub fn values(&self) -> usize {
        self.ni * self.nj * self.levels
    }
}

impl std::fmt::Display for Shape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} × {} × {}", self.ni, self.nj, self.levels)
    }
}

/// Copies a row-major array `src` (level fastest) into `dst` in column-major order.
pub fn row_to_column<T: Copy>(shape: Shape, src: &[T], dst: &mut [T]) {
    let Shape { ni, nj, levels } = shape;
    for l in 0..levels {
        for j in 0..nj {
            for i in 0..ni {
                dst[i + ni * (j + nj * l)] = src[l + levels * (j + nj * i)];
            }
        }
    }
}

/// Copies a column-major array `src` (i fastest) into `dst` in row-major order.
pub fn column_to_row<T: Copy>(shape: Shape, src: &[T], dst: &mut [T]) {
    let Shape { ni, nj, levels } = shape;
    for i in 0..ni {
        for j in 0..nj {
            for l in 0..levels {
                dst[l + levels * (j + nj * i)] = src[i + ni * (j + nj * l)];
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_major_element_i_j_l_lands_where_fortran_keeps_it() {
        let shape = Shape {
            ni: 3,
            nj: 2,
            levels: 2,
        };
        // a[i][j][l] = 100 i + 10 j + l, written in C order.
        let mut row = Vec::new();
        for i in 0..3 {
            for j in 0..2 {
                for l in 0..2 {
                    row.push(100 * i + 10 * j + l);
                }
            }
        }
        let mut column = vec![0; shape.values()];
        row_to_column(shape, &row, &mut column);
        // Fortran a(i+1, j+1, l+1) sits at i + ni (j + nj l).
        let at = |i: usize, j: usize, l: usize| i + 3 * (j + 2 * l);
        assert_eq!(column[at(1, 1, 1)], 111);
        assert_eq!(column[at(2, 0, 1)], 201);
        assert_eq!(column[at(0, 1, 0)], 10);
        let mut back = vec![0; shape.values()];
        column_to_row(shape, &column, &mut back);
        assert_eq!(back, row);
    }
}
