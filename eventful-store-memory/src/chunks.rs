//! Append-only vectors that grow by fixed-size chunks, so that growing never copies what is
//! stored and never holds twice the memory for a moment, as doubling would. Their growth
//! happens while an append holds the log's lock: a vector that doubled paused every append
//! for as long as it took to copy, longer the larger the store.
//!
//! - [`Chunks`], the log's events: made a step ahead, or a whole chunk ahead by a caller
//!   outside the lock ([`Ahead`]); its length kept by its owner.
//! - [`Grown`], tables that grow now and then (streams, metadata, stretches of ids).

use std::ops::{Index, IndexMut};

/// Elements per chunk: a power of two, so that indexing is a shift and a mask.
const CHUNK_BITS: u32 = 13;
const CHUNK: usize = 1 << CHUNK_BITS;

/// Its length is its owner's to keep: the log keeps it on its lock's cache line, so that a
/// push writes the element's own line and, once every [`STEP`] elements, its chunk's length:
/// the lines two tasks' appends both wrote were what two tasks waited on. A chunk's elements
/// are made (as defaults) a step ahead of their push.
pub(crate) struct Chunks<T> {
    /// Every chunk but the last holds [`CHUNK`] elements; each has room for them all.
    chunks: Vec<Vec<T>>,
    /// The next chunk, whole: [`CHUNK`] defaults.
    next: Ahead<Vec<T>>,
}

/// The next chunk of something that grows by chunks under the log's lock, made ahead by a
/// caller that does not hold the lock: the page faults of a chunk's first touch (most of an
/// append's in the log) then happen while no other append waits for it.
///
/// Asked for once a chunk, when half of it is used ([`Ahead::wants`]); a chunk begun before
/// one was given is made as before, while the lock is held.
pub(crate) struct Ahead<C> {
    made: Option<C>,
    asked: bool,
}

impl<C> Default for Ahead<C> {
    fn default() -> Self {
        Self {
            made: None,
            asked: false,
        }
    }
}

impl<C> Ahead<C> {
    /// Whether a caller should make the next chunk now: true once per chunk, when
    /// `half_used` first holds of it, unless one made earlier is still held (given after the
    /// chunk it was made for had begun without it).
    pub(crate) fn wants(&mut self, half_used: bool) -> bool {
        let wanted = !self.asked && self.made.is_none() && half_used;
        self.asked |= wanted;
        wanted
    }

    pub(crate) fn give(&mut self, made: C) {
        self.made = Some(made);
    }

    /// The chunk made ahead, if one was; a chunk begins, and the next one will be asked for.
    pub(crate) fn take(&mut self) -> Option<C> {
        self.asked = false;
        self.made.take()
    }
}

/// [`CHUNK`] defaults, every page of them touched.
pub(crate) fn made_chunk<T: Default>() -> Vec<T> {
    let mut chunk = Vec::with_capacity(CHUNK);
    chunk.resize_with(CHUNK, T::default);
    chunk
}

/// Elements made at once ahead of their pushes: a page of the log's events (their first touch
/// is a page fault, whenever it happens).
pub(crate) const STEP: usize = 64;

impl<T> Default for Chunks<T> {
    fn default() -> Self {
        Self {
            chunks: Vec::new(),
            next: Ahead::default(),
        }
    }
}

impl<T: Default> Chunks<T> {
    /// Puts `value` at `index`, which must be the length before the push.
    pub(crate) fn push_at(&mut self, index: usize, value: T) {
        let (chunk, offset) = place(index);
        if chunk == self.chunks.len() {
            let next = self
                .next
                .take()
                .unwrap_or_else(|| Vec::with_capacity(CHUNK));
            self.chunks.push(next);
        }
        let chunk = &mut self.chunks[chunk];
        if offset == chunk.len() {
            chunk.resize_with((offset + STEP).min(CHUNK), T::default);
        }
        chunk[offset] = value;
    }
}

impl<T> Chunks<T> {
    /// Whether the caller, with `len` elements stored, should make the next chunk
    /// ([`made_chunk`]) and give it ([`Chunks::give_next`]) once it has let go of the lock.
    pub(crate) fn wants_next(&mut self, len: usize) -> bool {
        self.next.wants(place(len).1 >= CHUNK / 2)
    }

    /// The next chunk, made by [`made_chunk`].
    pub(crate) fn give_next(&mut self, chunk: Vec<T>) {
        self.next.give(chunk);
    }

    /// The index of the first of the first `len` elements for which `is_before` is false
    /// (`len` if none), assuming it is true of a prefix and false of the rest.
    pub(crate) fn partition_point(
        &self,
        len: usize,
        mut is_before: impl FnMut(&T) -> bool,
    ) -> usize {
        let (mut low, mut high) = (0, len);
        while low < high {
            let middle = low + (high - low) / 2;
            if is_before(&self[middle]) {
                low = middle + 1;
            } else {
                high = middle;
            }
        }
        low
    }
}

impl<T> Index<usize> for Chunks<T> {
    type Output = T;

    fn index(&self, index: usize) -> &T {
        let (chunk, offset) = place(index);
        &self.chunks[chunk][offset]
    }
}

/// The chunk of the element at `index`, and its offset there.
fn place(index: usize) -> (usize, usize) {
    (index >> CHUNK_BITS, index & (CHUNK - 1))
}

/// A vector that grows by chunks of [`CHUNK`] elements, every one full but the last; a push
/// writes the last chunk's length besides the element.
pub(crate) struct Grown<T> {
    chunks: Vec<Vec<T>>,
}

impl<T> Default for Grown<T> {
    fn default() -> Self {
        Self { chunks: Vec::new() }
    }
}

impl<T> Grown<T> {
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

    /// The index of the first element for which `is_before` is false (the length if none),
    /// assuming it is true of a prefix and false of the rest.
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

impl<T> Index<usize> for Grown<T> {
    type Output = T;

    fn index(&self, index: usize) -> &T {
        let (chunk, offset) = place(index);
        &self.chunks[chunk][offset]
    }
}

impl<T> IndexMut<usize> for Grown<T> {
    fn index_mut(&mut self, index: usize) -> &mut T {
        let (chunk, offset) = place(index);
        &mut self.chunks[chunk][offset]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indexes_across_chunks() {
        let mut chunks = Chunks::default();
        for i in 0..(3 * CHUNK + 5) {
            chunks.push_at(i, i);
        }
        for i in [0, 1, CHUNK - 1, CHUNK, 2 * CHUNK + 7, 3 * CHUNK + 4] {
            assert_eq!(chunks[i], i);
        }
    }

    #[test]
    fn grown_indexes_and_searches_across_chunks() {
        let mut grown = Grown::default();
        assert_eq!(grown.len(), 0);
        let count = 2 * CHUNK + 100;
        for i in 0..count {
            grown.push(i / 3);
        }
        assert_eq!(grown.len(), count);
        assert!((0..count).all(|i| grown[i] == i / 3));
        grown[CHUNK + 1] = CHUNK / 3;
        assert_eq!(grown[CHUNK + 1], CHUNK / 3);
        let flat: Vec<usize> = (0..count).map(|i| grown[i]).collect();
        for target in [0, 1, CHUNK / 3, CHUNK / 3 + 1, 5000, 100_000] {
            assert_eq!(
                grown.partition_point(|&v| v < target),
                flat.partition_point(|&v| v < target),
                "target {target}"
            );
        }
    }

    #[test]
    fn growing_moves_nothing_stored() {
        let mut grown = Grown::default();
        let mut chunks = Chunks::default();
        grown.push(1u64);
        chunks.push_at(0, 1u64);
        let (first_grown, first_chunk) = (&grown[0] as *const u64, &chunks[0] as *const u64);
        for i in 1..(4 * CHUNK) {
            grown.push(i as u64);
            chunks.push_at(i, i as u64);
        }
        assert_eq!(&grown[0] as *const u64, first_grown);
        assert_eq!(&chunks[0] as *const u64, first_chunk);
    }

    #[test]
    fn the_chunk_made_ahead_is_the_next_one_and_is_asked_for_once_a_chunk() {
        let mut chunks = Chunks::default();
        let mut asked = Vec::new();
        let mut given = Vec::new();
        for i in 0..(3 * CHUNK) {
            chunks.push_at(i, i as u64);
            if chunks.wants_next(i + 1) {
                asked.push(i + 1);
                // Made ahead, but given only in the first chunk: the others grow by steps.
                if i < CHUNK {
                    let made = made_chunk::<u64>();
                    given.push(made.as_ptr());
                    chunks.give_next(made);
                }
            }
        }
        assert_eq!(asked, [CHUNK / 2, CHUNK + CHUNK / 2, 2 * CHUNK + CHUNK / 2]);
        assert_eq!(
            &chunks[CHUNK] as *const u64, given[0],
            "the chunk given is used"
        );
        assert!((0..3 * CHUNK).all(|i| chunks[i] == i as u64));
        assert_eq!(chunks.partition_point(3 * CHUNK, |&v| v < 5), 5);
    }

    #[test]
    fn a_chunk_given_late_is_kept_for_the_next_and_none_other_is_asked_for() {
        let mut ahead = Ahead::default();
        assert!(ahead.wants(true));
        // The chunk it was asked for began without it; it arrives after.
        assert_eq!(ahead.take(), None);
        ahead.give(7);
        assert!(!ahead.wants(true), "one is held already");
        assert_eq!(ahead.take(), Some(7));
        assert!(ahead.wants(true));
    }

    #[test]
    fn partition_point_matches_a_flat_search() {
        let mut chunks = Chunks::default();
        let flat: Vec<usize> = (0..(2 * CHUNK + 100)).map(|i| i / 3 + 1).collect();
        for (i, &value) in flat.iter().enumerate() {
            chunks.push_at(i, value);
        }
        for target in [0, 1, 2, 2731, CHUNK / 3, 5000, 100_000] {
            assert_eq!(
                chunks.partition_point(flat.len(), |&v| v < target),
                flat.partition_point(|&v| v < target),
                "target {target}"
            );
        }
        // The defaults past the length are not searched.
        assert_eq!(chunks.partition_point(10, |_| true), 10);
        assert_eq!(Chunks::<u8>::default().partition_point(0, |_| true), 0);
    }
}
