//! One exchange as seen by one rank: the sending side packs its pieces into one message
//! per destination rank; the receiving side keeps receives posted for the next coupling
//! time and unpacks them, halo and zero fill included, into the caller's array.
//!
//! - [`clock`]: which model times move data, and their message tags;
//! - [`sender`]: the time operation, packing, and the sends in flight;
//! - [`receiver`]: the posted receives, unpacking, halos and zero fill;
//! - this file: the caller's array layout and the chunking both sides share.

mod clock;
mod receiver;
mod sender;

pub(crate) use clock::Clock;
pub(crate) use receiver::Receiver;
pub(crate) use sender::Sender;

use crate::transport;

/// A message goes out in chunks of this many values, each sent as soon as it is packed, so
/// the receiver copies one chunk while the sender packs the next.
pub(crate) const CHUNK_VALUES: usize = 1 << 16;

/// Splits a message's (offset, length) blocks into chunks of `chunk` values each (the last
/// may be shorter), cutting blocks that straddle a chunk boundary.
fn chunked_blocks(
    blocks: impl IntoIterator<Item = (usize, usize)>,
    chunk: usize,
) -> Vec<Vec<(usize, usize)>> {
    let mut chunks = vec![Vec::new()];
    let mut room = chunk;
    for (mut offset, mut len) in blocks {
        while len > 0 {
            if room == 0 {
                chunks.push(Vec::new());
                room = chunk;
            }
            let take = len.min(room);
            chunks
                .last_mut()
                .expect("one chunk at least")
                .push((offset, take));
            offset += take;
            len -= take;
            room -= take;
        }
    }
    chunks
}

/// Where this rank's box lives in the caller's array: levels, box and level stride.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Layout {
    pub levels: usize,
    /// Columns and rows of the local array (the box, or the box plus halo).
    pub width: usize,
    pub height: usize,
    /// Distance between levels in the caller's array.
    pub level_stride: usize,
}

impl Layout {
    /// Values the caller's array must hold.
    pub fn needed(&self) -> usize {
        (self.levels - 1) * self.level_stride + self.width * self.height
    }
}

/// One MPI datatype per chunk of a message made of `rects` — ((x, y), (columns, rows)) in an
/// array `width` wide with `levels` levels `level_stride` apart — sent piece by piece,
/// level by level, row by row: the layout `pack` writes and a receive expects.
pub(crate) fn chunk_datatypes(
    rects: impl Iterator<Item = ((usize, usize), (usize, usize))>,
    levels: usize,
    level_stride: usize,
    width: usize,
) -> Vec<transport::Scatter> {
    let blocks = rects.flat_map(|((x, y), (ni, nj))| {
        (0..levels).flat_map(move |level| {
            (0..nj).map(move |row| (level * level_stride + (y + row) * width + x, ni))
        })
    });
    chunked_blocks(blocks, CHUNK_VALUES)
        .into_iter()
        .map(transport::Scatter::new)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_are_cut_at_chunk_boundaries() {
        let chunks = chunked_blocks([(0, 3), (10, 4), (20, 2)], 4);
        assert_eq!(
            chunks,
            vec![vec![(0, 3), (10, 1)], vec![(11, 3), (20, 1)], vec![(21, 1)]]
        );
        assert_eq!(
            chunked_blocks([(5, 8)], 4),
            vec![vec![(5, 4)], vec![(9, 4)]]
        );
    }
}
