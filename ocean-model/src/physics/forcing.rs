//! External momentum forcing: u_t += a Sx, v_t += a Sy  [m s⁻²].
//!
//! Sx, Sy arrive from the coupler (e.g. a learned eddy parameterisation) on u- and
//! v-points of the owned box, layout [level][j][i]; `a` is the configured forcing
//! factor. The last received values are kept between coupling times. Standalone
//! runs keep them at zero and still add the term, so standalone equals coupled
//! with zero forcing bit for bit.

use crate::field::Field;

/// The last received forcing of this rank box.
pub struct ExternalForcing {
    /// Multiplier applied to the received forcing (–).
    pub factor: f64,
    /// Sx on u-points, owned box, [j][i] (m s⁻²).
    pub sx: Vec<f64>,
    /// Sy on v-points, owned box, [j][i] (m s⁻²).
    pub sy: Vec<f64>,
}

impl ExternalForcing {
    pub fn new(ni: usize, nj: usize, levels: usize, factor: f64) -> Self {
        ExternalForcing {
            factor,
            sx: vec![0.0; levels * ni * nj],
            sy: vec![0.0; levels * ni * nj],
        }
    }

    /// du += a Sx, dv += a Sy on the owned points (level 0).
    pub fn add_tendency(&self, du: &mut Field, dv: &mut Field) {
        let ni = du.ni;
        for (field, s) in [(du, &self.sx), (dv, &self.sy)] {
            for (j, row) in s.chunks_exact(ni).take(field.nj).enumerate() {
                let out = field.span_mut(0, j as isize, ni);
                for i in 0..ni {
                    out[i] += self.factor * row[i];
                }
            }
        }
    }
}
