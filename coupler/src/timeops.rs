//! Time operations over the source steps of a coupling period, kept on the source side.
//!
//! Every put adds to the accumulator; at a coupling time the result is the operation over
//! the puts made since the last coupling time, the current one included, and the
//! accumulator starts again. A period's first coupling time (t = 0) sees a single put.

use crate::config::TimeOp;

/// Running state of one time operation over a box of `len` values.
#[derive(Debug, Clone)]
pub struct Accumulator {
    op: TimeOp,
    values: Vec<f64>,
    count: usize,
}

impl Accumulator {
    pub fn new(op: TimeOp, len: usize) -> Self {
        Accumulator {
            op,
            values: vec![0.0; len],
            count: 0,
        }
    }

    /// Number of puts since the last [`Accumulator::take`].
    pub fn count(&self) -> usize {
        self.count
    }

    /// Folds one put into the running result; `value(k)` gives the k-th value of the box.
    pub fn add(&mut self, mut value: impl FnMut(usize) -> f64) {
        let first = self.count == 0;
        let fold: fn(f64, f64) -> f64 = match self.op {
            TimeOp::Instant => |_, x| x,
            TimeOp::Average | TimeOp::Accumulate => |a, x| a + x,
            TimeOp::Min => f64::min,
            TimeOp::Max => f64::max,
        };
        for (k, slot) in self.values.iter_mut().enumerate() {
            let x = value(k);
            *slot = if first { x } else { fold(*slot, x) };
        }
        self.count += 1;
    }

    /// The result of the period so far; resets the accumulator.
    pub fn take(&mut self) -> &[f64] {
        if self.op == TimeOp::Average && self.count > 1 {
            let n = self.count as f64;
            self.values.iter_mut().for_each(|v| *v /= n);
        }
        self.count = 0;
        &self.values
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(op: TimeOp, puts: &[[f64; 2]]) -> Vec<f64> {
        let mut acc = Accumulator::new(op, 2);
        for p in puts {
            acc.add(|k| p[k]);
        }
        acc.take().to_vec()
    }

    #[test]
    fn each_operation_over_a_period() {
        let puts = [[1.0, -2.0], [3.0, 5.0], [2.0, 0.5]];
        assert_eq!(run(TimeOp::Instant, &puts), vec![2.0, 0.5]);
        assert_eq!(run(TimeOp::Average, &puts), vec![2.0, 3.5 / 3.0]);
        assert_eq!(run(TimeOp::Accumulate, &puts), vec![6.0, 3.5]);
        assert_eq!(run(TimeOp::Min, &puts), vec![1.0, -2.0]);
        assert_eq!(run(TimeOp::Max, &puts), vec![3.0, 5.0]);
    }

    #[test]
    fn take_starts_a_new_period() {
        let mut acc = Accumulator::new(TimeOp::Accumulate, 1);
        acc.add(|_| 4.0);
        acc.add(|_| 6.0);
        assert_eq!(acc.take(), &[10.0]);
        assert_eq!(acc.count(), 0);
        acc.add(|_| 1.0);
        assert_eq!(acc.take(), &[1.0]);
    }

    #[test]
    fn a_single_put_is_itself_for_every_op() {
        for op in [
            TimeOp::Instant,
            TimeOp::Average,
            TimeOp::Accumulate,
            TimeOp::Min,
            TimeOp::Max,
        ] {
            assert_eq!(run(op, &[[7.0, -1.0]]), vec![7.0, -1.0], "{op:?}");
        }
    }
}
