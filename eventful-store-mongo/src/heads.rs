//! [`StreamHeads`]: the versions this process has seen streams at, so that an append with an
//! expected version usually needs no read first.
//!
//! What is remembered is a version the stream *was* at, with the last position of the append
//! that ended there: the last version of an append document this process wrote or read. Versions only grow, so that is proof enough to
//! attempt `Exact(v)` directly: if the stream has moved on since, the append that moved it
//! started at `v + 1` and the attempt collides with it on the unique index. A stale entry
//! costs a conflict, never a wrong write. The position keeps a stream's positions growing with
//! its versions: the next append of the stream takes a position above it.
//!
//! The cache is bounded by two generations of maps: when the young one fills, it becomes
//! the old one and the previous old one is dropped; a hit in the old one moves back to the
//! young one. Lookups and updates are O(1).

use std::collections::HashMap;

use eventful_core::StreamId;
use parking_lot::Mutex;

/// A version a stream was at, and the last position of the append that ended there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Head {
    pub(crate) version: u64,
    pub(crate) position: u64,
}

/// The last known version of recently used streams.
#[derive(Debug)]
pub(crate) struct StreamHeads {
    generation_size: usize,
    generations: Mutex<Generations>,
}

#[derive(Debug, Default)]
struct Generations {
    young: HashMap<StreamId, Head>,
    old: HashMap<StreamId, Head>,
}

impl StreamHeads {
    /// A cache of about `capacity` streams (0 remembers nothing).
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            generation_size: capacity.div_ceil(2),
            generations: Mutex::new(Generations::default()),
        }
    }

    /// The highest version `stream_id` is known to have been at, if remembered.
    pub(crate) fn get(&self, stream_id: &StreamId) -> Option<Head> {
        if self.generation_size == 0 {
            return None;
        }
        let mut generations = self.generations.lock();
        if let Some(version) = generations.young.get(stream_id) {
            return Some(*version);
        }
        let version = generations.old.remove(stream_id)?;
        self.insert(&mut generations, stream_id.clone(), version);
        Some(version)
    }

    /// Records that `stream_id` was at `version`, the append ending there at `position`.
    pub(crate) fn observe(&self, stream_id: &StreamId, version: u64, position: u64) {
        if self.generation_size == 0 || version == 0 {
            return;
        }
        let head = Head { version, position };
        let later = |known: Head| {
            if known.version >= version {
                known
            } else {
                head
            }
        };
        let mut generations = self.generations.lock();
        if let Some(known) = generations.young.get_mut(stream_id) {
            *known = later(*known);
            return;
        }
        let head = generations.old.remove(stream_id).map_or(head, later);
        self.insert(&mut generations, stream_id.clone(), head);
    }

    fn insert(&self, generations: &mut Generations, stream_id: StreamId, version: Head) {
        if generations.young.len() >= self.generation_size {
            generations.old = std::mem::take(&mut generations.young);
        }
        generations.young.insert(stream_id, version);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream(n: usize) -> StreamId {
        StreamId::new(format!("s-{n}")).expect("valid")
    }

    #[test]
    fn remembers_the_highest_version_seen() {
        let heads = StreamHeads::new(10);
        let head = |version, position| Some(Head { version, position });
        heads.observe(&stream(1), 3, 30);
        heads.observe(&stream(1), 2, 20);
        assert_eq!(heads.get(&stream(1)), head(3, 30));
        heads.observe(&stream(1), 7, 70);
        assert_eq!(heads.get(&stream(1)), head(7, 70));
        assert_eq!(heads.get(&stream(2)), None);
    }

    #[test]
    fn stays_bounded_and_keeps_what_is_used() {
        let heads = StreamHeads::new(100);
        for n in 0..10_000 {
            heads.observe(&stream(n), 1, 1);
            assert!(heads.get(&stream(0)).is_some(), "a stream in use is kept");
        }
        let generations = heads.generations.lock();
        assert!(generations.young.len() + generations.old.len() <= 100);
    }

    #[test]
    fn capacity_zero_remembers_nothing() {
        let heads = StreamHeads::new(0);
        heads.observe(&stream(1), 3, 3);
        assert_eq!(heads.get(&stream(1)), None);
    }
}
