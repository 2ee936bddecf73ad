//! [`Chunks`]: an append-only vector that grows by fixed-size chunks, so that growing never
//! copies what is stored and never holds twice the memory for a moment, as doubling would.

use std::ops::Index;

/// Elements per chunk: a power of two, so that indexing is a shift and a mask.
const CHUNK_BITS: u32 = 13;
const CHUNK: usize = 1 << CHUNK_BITS;

/// Every chunk but the last is full. The length is not kept besides: a push then writes only
/// the last chunk's own length, one cache line fewer that appends by two tasks both write.
pub(crate) struct Chunks<T> {
    chunks: Vec<Vec<T>>,
}

impl<T> Default for Chunks<T> {
    fn default() -> Self {
        Self { chunks: Vec::new() }
    }
}

impl<T> Chunks<T> {
    pub(crate) fn len(&self) -> usize {
        self.chunks
            .last()
            .map_or(0, |last| (self.chunks.len() - 1) * CHUNK + last.len())
    }

    pub(crate) fn push(&mut self, value: T) {
        match self.chunks.last_mut() {
            Some(last) if last.len() < CHUNK => last.push(value),
            _ => {
                let mut chunk = Vec::with_capacity(CHUNK);
                chunk.push(value);
                self.chunks.push(chunk);
            }
        }
    }

    /// The index of the first element for which `is_before` is false, assuming it is true of
    /// a prefix and false of the rest.
    pub(crate) fn partition_point(&self, mut is_before: impl FnMut(&T) -> bool) -> usize {
        let whole = self
            .chunks
            .partition_point(|chunk| chunk.last().is_some_and(&mut is_before));
        match self.chunks.get(whole) {
            Some(chunk) => whole * CHUNK + chunk.partition_point(is_before),
            None => self.len(),
        }
    }
}

impl<T> Index<usize> for Chunks<T> {
    type Output = T;

    fn index(&self, index: usize) -> &T {
        &self.chunks[index >> CHUNK_BITS][index & (CHUNK - 1)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indexes_across_chunks() {
        let mut chunks = Chunks::default();
        for i in 0..(3 * CHUNK + 5) {
            chunks.push(i);
        }
        assert_eq!(chunks.len(), 3 * CHUNK + 5);
        for i in [0, 1, CHUNK - 1, CHUNK, 2 * CHUNK + 7, 3 * CHUNK + 4] {
            assert_eq!(chunks[i], i);
        }
    }

    #[test]
    fn partition_point_matches_a_flat_search() {
        let mut chunks = Chunks::default();
        let flat: Vec<usize> = (0..(2 * CHUNK + 100)).map(|i| i / 3).collect();
        for &value in &flat {
            chunks.push(value);
        }
        for target in [0, 1, 2730, 2731, CHUNK / 3, 5000, 100_000] {
            assert_eq!(
                chunks.partition_point(|&v| v < target),
                flat.partition_point(|&v| v < target),
                "target {target}"
            );
        }
        assert_eq!(Chunks::<u8>::default().partition_point(|_| true), 0);
    }
}
