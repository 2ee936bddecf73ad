//! [`PayloadBytes`]: every payload's bytes, one after the other in fixed-size chunks that are
//! never moved or copied, each event holding only where its bytes are (12 bytes) rather than a
//! handle of its own to shared bytes (a `Payload` is 40).
//!
//! A payload never spans two chunks, so it is always one slice: one that does not fit in what
//! is left of the current chunk starts the next, and one larger than a chunk gets a chunk of
//! its own.

/// Bytes per chunk.
const CHUNK: usize = 256 * 1024;

/// Where one payload's bytes are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Slot {
    chunk: u32,
    start: u32,
    len: u32,
}

/// A payload larger than the memory store holds in one piece.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TooLarge;

#[derive(Default)]
pub(crate) struct PayloadBytes {
    chunks: Vec<Vec<u8>>,
}

impl PayloadBytes {
    /// Keeps a copy of `bytes`, and says where.
    pub(crate) fn push(&mut self, bytes: &[u8]) -> Result<Slot, TooLarge> {
        let len = u32::try_from(bytes.len()).map_err(|_| TooLarge)?;
        let fits = self
            .chunks
            .last()
            .is_some_and(|chunk| chunk.capacity() - chunk.len() >= bytes.len());
        if !fits {
            self.chunks.push(Vec::with_capacity(CHUNK.max(bytes.len())));
        }
        let chunk = self.chunks.len() - 1;
        let last = &mut self.chunks[chunk];
        let start = last.len();
        last.extend_from_slice(bytes);
        Ok(Slot {
            chunk: u32::try_from(chunk).map_err(|_| TooLarge)?,
            // A chunk holds at most `max(CHUNK, len)` bytes, and `len` fits in a `u32`.
            start: start as u32,
            len,
        })
    }

    /// The bytes kept at `slot`.
    pub(crate) fn get(&self, slot: Slot) -> &[u8] {
        let start = slot.start as usize;
        &self.chunks[slot.chunk as usize][start..start + slot.len as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_payload_is_one_slice_whatever_its_size() {
        let mut bytes = PayloadBytes::default();
        let sizes = [0, 1, 13, CHUNK - 20, 30, CHUNK + 5, 7, 0];
        let slots: Vec<(Slot, Vec<u8>)> = sizes
            .iter()
            .enumerate()
            .map(|(i, &size)| {
                let payload: Vec<u8> = (0..size).map(|b| (b + i) as u8).collect();
                (bytes.push(&payload).expect("fits"), payload)
            })
            .collect();
        for (slot, payload) in &slots {
            assert_eq!(bytes.get(*slot), &payload[..]);
        }
        assert_eq!(
            slots[4].0.chunk,
            slots[3].0.chunk + 1,
            "what does not fit starts the next chunk"
        );
        assert_eq!(
            slots[5].0.start, 0,
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
}
