//! External momentum forcing: u_t += a Sx, v_t += a Sy  [m s⁻²].
//!
//! Sx, Sy come from a [`ForcingSource`] (the coupler, e.g. a learned eddy
//! parameterisation; later an in-process model; or none) on u- and v-points of the owned
//! box, layout [level][j][i]; `a` is the configured forcing factor. The last values are
//! kept between refreshes. Standalone runs ([`NoForcing`]) keep them at zero and still
//! add the term, so standalone equals coupled with zero forcing bit for bit.
//!
//! The term is added in one place, [`ExternalForcing::forced`]: the RK4 stage update
//! calls it inside its loop, [`crate::physics::Rhs::finish`] on a whole tendency.

use crate::error::Result;
use crate::field::Field;
use crate::real::Real;
use crate::state::State;

/// The last refreshed forcing of this rank box.
pub struct ExternalForcing<T: Real = f64> {
    /// Multiplier applied to the forcing (–).
    pub factor: T,
    /// Sx on u-points, owned box, [level][j][i] (m s⁻²).
    pub sx: Vec<T>,
    /// Sy on v-points, owned box, [level][j][i] (m s⁻²).
    pub sy: Vec<T>,
}

/// Where a step starts: its number from t = 0 and its model time (s).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepStart {
    pub step: u64,
    pub time_s: f64,
}

/// Where the external forcing comes from: the RK4 step calls it once per step.
///
/// [`crate::timestepper::Rk4::step`] calls [`ForcingSource::progress`] after each strip
/// of its first stage's sweep (every other term of y_n is being computed), then
/// [`ForcingSource::refresh`] once, just before the forcing is added (a source that is not
/// [`ForcingSource::is_late`] is refreshed before the sweep instead). If `refresh` fails
/// the step has written nothing: it returns the error with the state back at y_n, so that
/// the caller can still save the last completed step.
pub trait ForcingSource<T: Real = f64> {
    /// Called now and then while the first stage computes; a source with work in flight
    /// (the coupler's sends: MPI moves a large message only while its sender is inside
    /// MPI) moves it on here.
    fn progress(&mut self) {}

    /// Whether the forcing can only be had once the first stage's other terms are
    /// computed (true: the coupler's, whose get waits on the partner). A source that
    /// answers false has `refresh` called before the first sweep, which then updates the
    /// stage strip by strip like the others (six streams fewer per step).
    fn is_late(&self) -> bool {
        true
    }

    /// Bring `forcing` up to date for the step starting at `at`, whose state is `y_n`
    /// (halos fresh); leave it as it is to keep the last values.
    fn refresh(
        &mut self,
        at: StepStart,
        y_n: &State<T>,
        forcing: &mut ExternalForcing<T>,
    ) -> Result<()>;
}

/// No external forcing: the term stays at its last values (zero unless a restart loaded
/// others).
pub struct NoForcing;

impl<T: Real> ForcingSource<T> for NoForcing {
    fn is_late(&self) -> bool {
        false
    }

    fn refresh(&mut self, _: StepStart, _: &State<T>, _: &mut ExternalForcing<T>) -> Result<()> {
        Ok(())
    }
}

impl<T: Real> ExternalForcing<T> {
    pub fn new(ni: usize, nj: usize, levels: usize, factor: f64) -> Self {
        ExternalForcing {
            factor: T::from_f64(factor),
            sx: vec![T::ZERO; levels * ni * nj],
            sy: vec![T::ZERO; levels * ni * nj],
        }
    }

    /// Whether every value of Sx and Sy is +0 (a standalone run): the RK4 update then
    /// adds a S with S = +0 without reading the arrays, which gives the same bits. Stops
    /// at the first other value, so a forced run pays almost nothing.
    pub fn is_zero(&self) -> bool {
        let plus_zero = |x: &T| x.to_f64().to_bits() == 0;
        self.sx.iter().all(plus_zero) && self.sy.iter().all(plus_zero)
    }

    /// (Sx, Sy) of row `j` of level 0, `ni` points each.
    #[inline(always)]
    pub fn row(&self, j: usize, ni: usize) -> (&[T], &[T]) {
        let row = j * ni..(j + 1) * ni;
        (&self.sx[row.clone()], &self.sy[row])
    }

    /// The tendency `k` of one u- (or v-) point with the forcing `s` of that point added,
    /// times the point's mask `m`: (k + a S) m.
    #[inline(always)]
    pub fn forced(&self, k: T, s: T, m: T) -> T {
        (k + self.factor * s) * m
    }

    /// du = (du + a Sx) mask_u, dv = (dv + a Sy) mask_v on the owned points (level 0).
    pub fn add_masked(
        &self,
        du: &mut Field<T>,
        dv: &mut Field<T>,
        mask_u: &Field<T>,
        mask_v: &Field<T>,
    ) {
        let ni = du.ni;
        for j in 0..du.nj {
            let (sx, sy) = self.row(j, ni);
            for (field, s, mask) in [(&mut *du, sx, mask_u), (&mut *dv, sy, mask_v)] {
                let m = mask.span(0, j as isize, ni);
                let out = field.span_mut(0, j as isize, ni);
                for i in 0..ni {
                    out[i] = self.forced(out[i], s[i], m[i]);
                }
            }
        }
    }
}
