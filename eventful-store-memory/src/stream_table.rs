//! [`StreamTable`]: every stream's id and the positions of its events, found by the id, and a
//! table that grows without a pause.
//!
//! It grows while appends hold the log's lock, once a new stream is its first append: a
//! vector of entries that doubled copied all of them (half a millisecond at 8,192 streams),
//! and one hash map rehashed every id. Entries grow in chunks instead, never copied, and the
//! numbers are found in 64 small tables by the id's hash, one of which grows at a time.

use foldhash::fast::RandomState;
use hashbrown::HashTable;
use std::hash::BuildHasher;

use eventful_core::StreamId;

use crate::chunks::Grown;

/// Tables of numbers, each found by bits of an id's hash.
const SHARD_BITS: u32 = 6;

/// A cache line each: the streams of two tasks' players sit side by side in the table, and
/// an append writes its stream's entry (its index's length), so entries sharing a line made
/// every append by one task miss in the cache after an append by the other.
#[repr(align(64))]
pub(crate) struct StreamEntry {
    pub(crate) id: StreamId,
    /// `positions[v - 1]` is the position of version `v`.
    pub(crate) positions: Vec<u32>,
}

pub(crate) struct StreamTable {
    entries: Grown<StreamEntry>,
    /// Per shard, each stream in it with its number.
    numbers: Box<[HashTable<(StreamId, u32)>]>,
    hasher: RandomState,
}

impl Default for StreamTable {
    fn default() -> Self {
        Self {
            entries: Grown::default(),
            numbers: (0..1 << SHARD_BITS).map(|_| HashTable::new()).collect(),
            hasher: RandomState::default(),
        }
    }
}

impl StreamTable {
    /// How many streams there are.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// The number of the stream `id`, if it exists.
    pub(crate) fn number_of(&self, id: &str) -> Option<u32> {
        let hash = self.hasher.hash_one(id);
        self.numbers[shard(hash)]
            .find(hash, |(stream, _)| stream.as_str() == id)
            .map(|&(_, number)| number)
    }

    /// Adds the stream `id`, which does not exist yet, with no events; says its number.
    pub(crate) fn insert(&mut self, id: StreamId) -> u32 {
        let hash = self.hasher.hash_one(id.as_str());
        let number = self.len() as u32;
        let hasher = &self.hasher;
        self.numbers[shard(hash)].insert_unique(hash, (id.clone(), number), |(stream, _)| {
            hasher.hash_one(stream.as_str())
        });
        self.entries.push(StreamEntry {
            id,
            positions: Vec::new(),
        });
        number
    }

    pub(crate) fn get_mut(&mut self, number: u32) -> &mut StreamEntry {
        &mut self.entries[number as usize]
    }
}

impl std::ops::Index<u32> for StreamTable {
    type Output = StreamEntry;

    fn index(&self, number: u32) -> &StreamEntry {
        &self.entries[number as usize]
    }
}

fn shard(hash: u64) -> usize {
    (hash >> 32) as usize & ((1 << SHARD_BITS) - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_every_stream_across_chunks_and_growths() {
        let mut table = StreamTable::default();
        let count = 20_000;
        for n in 0..count {
            let id = StreamId::new(format!("player-{n}")).unwrap();
            assert_eq!(table.insert(id), n);
        }
        assert_eq!(table.len(), count as usize);
        for n in 0..count {
            let id = format!("player-{n}");
            assert_eq!(table.number_of(&id), Some(n), "{id}");
            assert_eq!(table[n].id.as_str(), id);
        }
        assert_eq!(table.number_of("player-x"), None);
        table.get_mut(5).positions.push(9);
        assert_eq!(table[5].positions, [9]);
    }
}
