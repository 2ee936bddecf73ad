//! The index of event ids: where each event is, found by its id, in the same time whatever
//! the size of the store.
//!
//! Most ids are made by the framework and time-ordered (version 7), and arrive nearly in the
//! order they were made. Those that arrive above every such id before them form a sorted run,
//! kept as stretches of consecutive positions (8 bytes a stretch; one task's appends are one
//! stretch, whatever their number): a fresh id above the run's last is known not to be stored
//! without looking anywhere, and an older one is found by a binary search of the run. Every
//! other id (derived from an idempotency key, given by the caller, or time-ordered but late)
//! goes to a hash table of positions with 32 bits of the id's hash, so that growing it never
//! reads the log.
//!
//! A hash table alone made every append two random accesses into a table as large as the log,
//! and every growth a pass of them: the cost of a command rose by a third from 1,000 to 50,000
//! players.

use foldhash::fast::RandomState;
use hashbrown::HashTable;
use std::hash::BuildHasher;
use uuid::Uuid;

use crate::chunks::Grown;

/// How many of the run's last ids are searched first.
const RECENT: u32 = 1024;

/// Its first fields are written by every append, and sit on the log lock's cache line (see
/// the store's `Inner`).
#[repr(C)]
pub(crate) struct IdIndex {
    /// The run's last id.
    run_last: Option<Uuid>,
    /// The run's last stretch; empty (`len` 0) before the first id.
    current: Stretch,
    /// The run's stretches before `current`, in id (and position) order.
    earlier: Grown<Stretch>,
    /// Per shard (the low bits of the hash), the other ids' places: a table grows while the
    /// log is locked, and one of many holds a small part of the ids to move.
    hashed: Box<[HashTable<Hashed>]>,
    hasher: RandomState,
}

/// Tables of the ids outside the run.
const SHARDS: usize = 64;

impl Default for IdIndex {
    fn default() -> Self {
        Self {
            run_last: None,
            current: Stretch::default(),
            earlier: Grown::default(),
            hashed: (0..SHARDS).map(|_| HashTable::new()).collect(),
            hasher: RandomState::default(),
        }
    }
}

/// Consecutive positions of the run: `first`, `first + 1`, ..., `first + len - 1`.
#[derive(Clone, Copy, Default)]
struct Stretch {
    first: u32,
    len: u32,
}

/// An event's place in the hash table.
#[derive(Clone, Copy)]
struct Hashed {
    position: u32,
    /// 32 bits of the id's hash: enough to place the entry and to rule most others out.
    hash: u32,
}

impl IdIndex {
    /// How far into the index the fields every append writes reach.
    #[cfg(test)]
    pub(crate) const HOT_END: usize =
        std::mem::offset_of!(IdIndex, current) + std::mem::size_of::<Stretch>();

    /// Records that the event at `position` has id `event_id` (not stored before).
    pub(crate) fn insert(&mut self, event_id: Uuid, position: u32) {
        if self.extends_run(event_id) {
            if self.current.len > 0 && self.current.first + self.current.len == position {
                self.current.len += 1;
            } else {
                if self.current.len > 0 {
                    self.earlier.push(self.current);
                }
                self.current = Stretch {
                    first: position,
                    len: 1,
                };
            }
            self.run_last = Some(event_id);
            return;
        }
        let hash = self.hash(event_id);
        self.hashed[shard(hash)].insert_unique(spread(hash), Hashed { position, hash }, |entry| {
            spread(entry.hash)
        });
    }

    /// The position of the event with id `event_id`, if it is stored; `id_at` reads the id
    /// stored at a position.
    pub(crate) fn find(&self, event_id: Uuid, id_at: impl Fn(u32) -> Uuid) -> Option<u32> {
        if self.extends_run(event_id) {
            return None;
        }
        if is_time_ordered(event_id)
            && let Some(position) = self.find_in_run(event_id, &id_at)
        {
            return Some(position);
        }
        let hash = self.hash(event_id);
        self.hashed[shard(hash)]
            .find(spread(hash), |entry| {
                entry.hash == hash && id_at(entry.position) == event_id
            })
            .map(|entry| entry.position)
    }

    /// The position of `event_id` in the run, if it is there. An id that arrives late (made
    /// by another thread just before the run's last) is near the end of the run, whose events
    /// are the log's most recent: the search looks at the last [`RECENT`] positions first, in
    /// memory that is still warm, and searches the whole run only for an older id.
    fn find_in_run(&self, event_id: Uuid, id_at: &impl Fn(u32) -> Uuid) -> Option<u32> {
        let current = self.current;
        if current.len == 0 {
            return None;
        }
        let end = current.first + current.len;
        let recent = current.first.max(end.saturating_sub(RECENT));
        let stretch = if id_at(recent) <= event_id {
            Stretch {
                first: recent,
                len: end - recent,
            }
        } else if id_at(current.first) <= event_id {
            current
        } else {
            let after = self
                .earlier
                .partition_point(|stretch| id_at(stretch.first) <= event_id);
            self.earlier[after.checked_sub(1)?]
        };
        let (mut low, mut high) = (stretch.first, stretch.first + stretch.len);
        while low < high {
            let middle = low + (high - low) / 2;
            match id_at(middle).cmp(&event_id) {
                std::cmp::Ordering::Less => low = middle + 1,
                std::cmp::Ordering::Greater => high = middle,
                std::cmp::Ordering::Equal => return Some(middle),
            }
        }
        None
    }

    /// Whether `event_id` would extend the run: time-ordered, and above its last id (so that
    /// it is stored nowhere yet: every time-ordered id in the table is below the run's last).
    fn extends_run(&self, event_id: Uuid) -> bool {
        is_time_ordered(event_id) && self.run_last.is_none_or(|last| event_id > last)
    }

    fn hash(&self, event_id: Uuid) -> u32 {
        (self.hasher.hash_one(event_id) >> 32) as u32
    }
}

fn is_time_ordered(event_id: Uuid) -> bool {
    event_id.get_version_num() == 7
}

fn shard(hash: u32) -> usize {
    hash as usize % SHARDS
}

/// The 64-bit hash a table wants, spread from 32 kept bits (a table places entries by the low
/// bits and tags them with the high ones), so that growing it rehashes nothing.
pub(crate) fn spread(hash: u32) -> u64 {
    u64::from(hash).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A time-ordered id with `n` in its time, so that ids sort as their `n`.
    fn ordered(n: u64) -> Uuid {
        uuid::Builder::from_unix_timestamp_millis(1_000_000 + n, &[7; 10]).into_uuid()
    }

    #[test]
    fn finds_every_id_in_the_run_the_table_or_neither() {
        let mut ids = Vec::new();
        let mut index = IdIndex::default();
        // In order, then late (below the run), then derived (version 5), then in order again.
        let sequence: Vec<Uuid> = (10..20)
            .map(ordered)
            .chain((0..5).map(ordered))
            .chain((0..5).map(|n: u32| Uuid::new_v5(&Uuid::NAMESPACE_OID, &n.to_le_bytes())))
            .chain((20..25).map(ordered))
            .collect();
        for (position, id) in sequence.iter().enumerate() {
            assert_eq!(
                index.find(*id, |p| ids[p as usize]),
                None,
                "{id} before it is stored"
            );
            index.insert(*id, position as u32);
            ids.push(*id);
        }
        for (position, id) in sequence.iter().enumerate() {
            assert_eq!(
                index.find(*id, |p| ids[p as usize]),
                Some(position as u32),
                "{id}"
            );
        }
        let in_run: u32 = (0..index.earlier.len()).map(|i| index.earlier[i].len).sum();
        assert_eq!(in_run + index.current.len, 15, "in-order ids go to the run");
        assert_eq!(
            index.earlier.len() + 1,
            2,
            "consecutive positions are one stretch: 10 before the late ones, 5 after"
        );
        assert_eq!(
            index.hashed.iter().map(HashTable::len).sum::<usize>(),
            10,
            "late and derived ids go to the table"
        );
        assert_eq!(index.find(ordered(7), |p| ids[p as usize]), None);
        assert_eq!(index.find(ordered(99), |p| ids[p as usize]), None);
        assert_eq!(index.find(Uuid::new_v4(), |p| ids[p as usize]), None);
    }

    #[test]
    fn finds_ids_across_many_stretches_and_beyond_the_recent_ones() {
        // Every seventh id arrives after the one made after it: it goes to the table, and the
        // run breaks into a stretch between each.
        let mut sequence: Vec<Uuid> = (0..5_000).map(ordered).collect();
        for pair in sequence.chunks_mut(7) {
            if pair.len() > 1 {
                pair.swap(0, 1);
            }
        }
        let mut index = IdIndex::default();
        for (position, id) in sequence.iter().enumerate() {
            index.insert(*id, position as u32);
        }
        assert!(
            index.earlier.len() > 700,
            "{} stretches",
            index.earlier.len()
        );
        assert!(sequence.len() as u32 > 4 * RECENT);
        for (position, id) in sequence.iter().enumerate() {
            assert_eq!(
                index.find(*id, |p| sequence[p as usize]),
                Some(position as u32),
                "{id} at {position}"
            );
        }
        let missing = uuid::Builder::from_unix_timestamp_millis(1_000_000 + 70, &[8; 10]);
        assert_eq!(
            index.find(missing.into_uuid(), |p| sequence[p as usize]),
            None
        );
    }
}
