//! The repository's cache of recently used aggregates, so that a command on an aggregate that
//! was just used does not replay its stream.
//!
//! Entries are taken out while a command runs and put back after, so two commands on one
//! aggregate never share a state: the second loads from the store, and the store's version
//! check decides between them.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::hash::{BuildHasher, Hash};

use parking_lot::Mutex;

use crate::envelope::Version;

/// Something cached with the stream version it reflects.
pub(crate) trait Versioned {
    fn version(&self) -> Version;
}

/// Independently locked parts, so that tasks working on different aggregates rarely meet on
/// one lock.
const SHARDS: usize = 16;

/// A bounded map kept in two generations per shard: when the young one fills half the
/// shard's capacity it becomes the old one and the previous old one is dropped. Lookups in the
/// old generation move the entry back to the young one, so what is in use stays; the rest ages
/// out in O(1).
pub(crate) struct AggregateCache<K, V> {
    shards: Box<[Mutex<Generations<K, V>>]>,
    shard_of: foldhash::fast::RandomState,
    half_capacity: usize,
}

struct Generations<K, V> {
    young: HashMap<K, V, foldhash::fast::RandomState>,
    old: HashMap<K, V, foldhash::fast::RandomState>,
}

impl<K: Eq + Hash, V: Versioned> AggregateCache<K, V> {
    pub(crate) fn new(capacity: usize) -> Self {
        let shards = (0..SHARDS)
            .map(|_| {
                Mutex::new(Generations {
                    young: HashMap::default(),
                    old: HashMap::default(),
                })
            })
            .collect();
        Self {
            shards,
            shard_of: foldhash::fast::RandomState::default(),
            half_capacity: capacity.div_ceil(2 * SHARDS),
        }
    }

    fn shard(&self, key: &K) -> &Mutex<Generations<K, V>> {
        let hash = self.shard_of.hash_one(key);
        &self.shards[(hash as usize) % SHARDS]
    }

    /// Removes and returns the entry for `key`, with the key as stored.
    pub(crate) fn take(&self, key: &K) -> Option<(K, V)> {
        if self.half_capacity == 0 {
            return None;
        }
        let mut generations = self.shard(key).lock();
        match generations.young.remove_entry(key) {
            Some(entry) => Some(entry),
            None => generations.old.remove_entry(key),
        }
    }

    /// Puts an entry back, unless a newer one for the same key is in the young generation
    /// (an older state is only a slower starting point, never a wrong one: appends check the
    /// version against the store).
    pub(crate) fn put(&self, key: K, value: V) {
        if self.half_capacity == 0 {
            return;
        }
        let mut generations = self.shard(&key).lock();
        match generations.young.entry(key) {
            Entry::Occupied(present) if present.get().version() > value.version() => return,
            Entry::Occupied(mut present) => {
                present.insert(value);
            }
            Entry::Vacant(vacant) => {
                vacant.insert(value);
            }
        }
        if generations.young.len() >= self.half_capacity {
            let young = std::mem::take(&mut generations.young);
            let aged_out = std::mem::replace(&mut generations.old, young);
            // Dropping a generation's states takes tens of microseconds: not under the lock,
            // where every other command on the shard would wait for it.
            drop(generations);
            drop(aged_out);
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|shard| {
                let generations = shard.lock();
                generations.young.len() + generations.old.len()
            })
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Entry(u64);

    impl Versioned for Entry {
        fn version(&self) -> Version {
            Version::new(self.0)
        }
    }

    #[test]
    fn stays_within_capacity_and_keeps_what_is_used() {
        let cache = AggregateCache::new(10 * SHARDS);
        for key in 0..1000u32 {
            cache.put(key, Entry(1));
            let (key0, entry) = cache.take(&0).unwrap_or((0, Entry(1)));
            cache.put(key0, entry);
            assert!(cache.len() <= 10 * SHARDS, "{} entries", cache.len());
        }
        assert!(cache.take(&0).is_some(), "the entry in constant use stays");
        assert!(cache.take(&1).is_none(), "an entry not used ages out");
    }

    #[test]
    fn an_older_entry_does_not_replace_a_newer_one() {
        let cache = AggregateCache::new(100 * SHARDS);
        cache.put("a", Entry(5));
        cache.put("a", Entry(3));
        assert_eq!(cache.take(&"a").map(|(_, e)| e.0), Some(5));
    }

    #[test]
    fn zero_capacity_disables_it() {
        let cache = AggregateCache::new(0);
        cache.put("a", Entry(1));
        assert!(cache.take(&"a").is_none());
    }
}
