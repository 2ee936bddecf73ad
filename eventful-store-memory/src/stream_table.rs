//! [`StreamTable`]: every stream's id and the positions of its events, found by the id, and a
//! table that grows without a pause.
//!
//! It grows while appends hold the log's lock, once a new stream is its first append: a
//! vector of entries that doubled copied all of them (half a millisecond at 8,192 streams),
//! and one hash map rehashed every id, reading each from where its bytes are (with the
//! vector, the slowest command took 8 to 38 ms at 200,000 players). Entries grow in chunks instead, never copied, and the numbers
//! are found in 64 small tables by the id's hash, one of which grows at a time, each entry
//! with its hash so that growing reads no id.

use foldhash::fast::RandomState;
use hashbrown::HashTable;
use std::hash::BuildHasher;

use eventful_core::StreamId;

use crate::chunks::Grown;
use crate::ids::spread;

/// Tables of numbers, each found by the top bits of an id's hash.
const SHARD_BITS: u32 = 6;

/// Room for the positions of a new stream's first events. A stream's index grows under the
/// log's lock, and by `realloc`, which glibc serves past its per-thread cache, under its
/// arena's lock: from 4 (a vector's first room) a player's 22 events took 3 growths, now 1,
/// for 48 bytes more held by a stream of one event.
const FIRST_POSITIONS: usize = 16;

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
    /// Per shard (the top bits of the hash), the streams in it.
    numbers: Box<[HashTable<Numbered>]>,
    hasher: RandomState,
}

/// A stream's number, found by its id.
struct Numbered {
    id: StreamId,
    number: u32,
    /// The low half of the id's hash, which places the entry in its table.
    hash: u32,
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
        let low = hash as u32;
        self.numbers[shard(hash)]
            .find(spread(low), |named| {
                named.hash == low && named.id.as_str() == id
            })
            .map(|named| named.number)
    }

    /// Adds the stream `id`, which does not exist yet, with no events; says its number.
    pub(crate) fn insert(&mut self, id: StreamId) -> u32 {
        let hash = self.hasher.hash_one(id.as_str());
        let number = self.len() as u32;
        let named = Numbered {
            id: id.clone(),
            number,
            hash: hash as u32,
        };
        self.numbers[shard(hash)]
            .insert_unique(spread(named.hash), named, |named| spread(named.hash));
        self.entries.push(StreamEntry {
            id,
            positions: Vec::with_capacity(FIRST_POSITIONS),
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
    (hash >> (64 - SHARD_BITS)) as usize
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
