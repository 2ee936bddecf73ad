//! [`PayloadBytes`]: every payload's bytes, one after the other in fixed-size chunks that are
//! never moved or copied, each event holding only where its bytes are (12 bytes) rather than a
//! handle of its own to shared bytes (a `Payload` is 40). A payload of at most 8 bytes (most
//! postcard payloads: `XpGained { amount: 100 }` is 1 byte) is held in those 12 bytes themselves.
//!
//! A payload never spans two chunks, so it is always one slice: one that does not fit in what
//! is left of the current chunk starts the next, and one larger than a chunk gets a chunk of
//! its own.

use crate::chunks::Ahead;

/// Bytes per chunk.
const CHUNK: usize = 256 * 1024;

/// Payloads up to this many bytes are kept in their slot.
const INLINE: usize = 8;

/// Where one payload's bytes are: in `place` itself when they are at most [`INLINE`], else in
/// chunk `place[..4]` from byte `place[4..]` (little-endian numbers).
///
/// Held in the slot, a small payload costs no write to the chunks' tail, which appends by two
/// tasks would otherwise both write, and no bytes besides the event's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Slot {
    place: [u8; INLINE],
    len: u32,
}

impl Slot {
    fn inline(bytes: &[u8]) -> Self {
        let mut place = [0; INLINE];
        place[..bytes.len()].copy_from_slice(bytes);
        Self {
            place,
            len: bytes.len() as u32,
        }
    }

    fn in_chunk(chunk: u32, start: u32, len: u32) -> Self {
        let mut place = [0; INLINE];
        place[..4].copy_from_slice(&chunk.to_le_bytes());
        place[4..].copy_from_slice(&start.to_le_bytes());
        Self { place, len }
    }

    fn is_inline(&self) -> bool {
        self.len as usize <= INLINE
    }

    fn chunk(&self) -> usize {
        u32::from_le_bytes([self.place[0], self.place[1], self.place[2], self.place[3]]) as usize
    }

    fn start(&self) -> usize {
        u32::from_le_bytes([self.place[4], self.place[5], self.place[6], self.place[7]]) as usize
    }
}

/// A payload larger than the memory store holds in one piece.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TooLarge;

#[derive(Default)]
pub(crate) struct PayloadBytes {
    chunks: Vec<Vec<u8>>,
    /// The next chunk: empty, with room for [`CHUNK`] bytes, its pages touched.
    next: Ahead<Vec<u8>>,
}

/// An empty chunk whose pages are touched, so that filling it causes no page faults. Written
/// with ones: a vector of zeros is allocated zeroed by the system, its pages still untouched.
pub(crate) fn made_chunk() -> Vec<u8> {
    let mut chunk = vec![1; CHUNK];
    chunk.clear();
    chunk
}

impl PayloadBytes {
    /// Keeps a copy of `bytes`, and says where.
    pub(crate) fn push(&mut self, bytes: &[u8]) -> Result<Slot, TooLarge> {
        let len = u32::try_from(bytes.len()).map_err(|_| TooLarge)?;
        if bytes.len() <= INLINE {
            return Ok(Slot::inline(bytes));
        }
        let fits = self
            .chunks
            .last()
            .is_some_and(|chunk| chunk.capacity() - chunk.len() >= bytes.len());
        if !fits {
            // A payload larger than a chunk gets a chunk of its own; the one made stays next.
            let next = if bytes.len() <= CHUNK {
                self.next.take()
            } else {
                None
            };
            self.chunks
                .push(next.unwrap_or_else(|| Vec::with_capacity(CHUNK.max(bytes.len()))));
        }
        let chunk = self.chunks.len() - 1;
        let last = &mut self.chunks[chunk];
        let start = last.len();
        last.extend_from_slice(bytes);
        // A chunk holds at most `max(CHUNK, len)` bytes, and `len` fits in a `u32`.
        Ok(Slot::in_chunk(
            u32::try_from(chunk).map_err(|_| TooLarge)?,
            start as u32,
            len,
        ))
    }

    /// Whether the caller should make the next chunk ([`made_chunk`]) and give it
    /// ([`PayloadBytes::give_next`]) once it has let go of the lock.
    pub(crate) fn wants_next(&mut self) -> bool {
        let half_used = self
            .chunks
            .last()
            .is_some_and(|last| last.len() >= CHUNK / 2);
        self.next.wants(half_used)
    }

    /// The next chunk, made by [`made_chunk`].
    pub(crate) fn give_next(&mut self, chunk: Vec<u8>) {
        self.next.give(chunk);
    }

    /// The bytes kept at `slot`.
    pub(crate) fn get<'a>(&'a self, slot: &'a Slot) -> &'a [u8] {
        let len = slot.len as usize;
        if slot.is_inline() {
            return &slot.place[..len];
        }
        let start = slot.start();
        &self.chunks[slot.chunk()][start..start + len]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_payload_is_one_slice_whatever_its_size() {
        let mut bytes = PayloadBytes::default();
        let sizes = [
            0,
            1,
            13,
            CHUNK - 20,
            30,
            CHUNK + 5,
            7,
            0,
            INLINE,
            INLINE + 1,
        ];
        let slots: Vec<(Slot, Vec<u8>)> = sizes
            .iter()
            .enumerate()
            .map(|(i, &size)| {
                let payload: Vec<u8> = (0..size).map(|b| (b + i) as u8).collect();
                (bytes.push(&payload).expect("fits"), payload)
            })
            .collect();
        for (slot, payload) in &slots {
            assert_eq!(bytes.get(slot), &payload[..]);
            assert_eq!(
                slot.is_inline(),
                payload.len() <= INLINE,
                "{}",
                payload.len()
            );
        }
        assert_eq!(
            slots[4].0.chunk(),
            slots[3].0.chunk() + 1,
            "what does not fit starts the next chunk"
        );
        assert_eq!(
            slots[5].0.start(),
            0,
            "a large payload gets a chunk of its own"
        );
        assert!(
            bytes
                .chunks
                .iter()
                .all(|chunk| chunk.len() <= chunk.capacity()),
            "chunks never grow past what they were made with"
        );
    }

    #[test]
    fn the_chunk_made_ahead_is_the_next_one_but_not_a_large_payloads() {
        let mut bytes = PayloadBytes::default();
        assert!(!bytes.wants_next(), "nothing to follow yet");
        let first = bytes.push(&[7; CHUNK / 2]).expect("fits");
        assert!(bytes.wants_next(), "half of the chunk is used");
        assert!(!bytes.wants_next(), "asked once a chunk");
        let made = made_chunk();
        let made_at = made.as_ptr();
        bytes.give_next(made);
        let large = bytes.push(&[8; CHUNK + 1]).expect("fits");
        let next = bytes.push(&[9; CHUNK / 2 + 1]).expect("fits");
        assert_eq!(bytes.chunks[next.chunk()].as_ptr(), made_at);
        assert_eq!(large.chunk() + 1, next.chunk());
        assert_eq!(bytes.get(&first), &[7; CHUNK / 2][..]);
        assert_eq!(bytes.get(&large), &[8; CHUNK + 1][..]);
        assert_eq!(bytes.get(&next), &[9; CHUNK / 2 + 1][..]);
        assert!(bytes.wants_next(), "asked again for the chunk after");
    }
}
