//! The repository's cache of recently used aggregates, so that a command on an aggregate that
//! was just used does not replay its stream.
//!
//! Entries are taken out while a command runs and put back after, so two commands on one
//! aggregate never share a state: the second loads from the store, and the store's version
//! check decides between them. A taken entry leaves its key in place, empty: putting it back
//! then finds its place and writes the state, rather than inserting the key again after
//! removing it, which cost 34 instructions a command more.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash};

use spin::mutex::SpinMutex;
use spin::relax::Yield;

use crate::envelope::Version;

/// Something cached with the stream version it reflects.
pub(crate) trait Versioned {
    fn version(&self) -> Version;
}

/// Independently locked parts, so that tasks working on different aggregates rarely meet on
/// one lock.
const SHARDS: usize = 16;

/// A shard's lock, held for a lookup and a move. A command takes it twice, and a parking
/// lock's release (a locked instruction, which waits for every write before it to reach the
/// cache) was about 3% of a command's time; this one is let go by a plain store. A task that
/// finds it held (another task on the same shard, rarely) yields its thread until it is free.
type Mutex<T> = SpinMutex<T, Yield>;

/// A bounded map kept in two generations per shard: when the young one fills half the
/// shard's capacity it becomes the old one and the previous old one is dropped. Lookups in the
/// old generation move the entry back to the young one, so what is in use stays; the rest ages
/// out in O(1).
pub(crate) struct AggregateCache<K, V> {
    shards: Box<[Mutex<Generations<K, V>>]>,
    shard_of: foldhash::fast::RandomState,
    half_capacity: usize,
}

/// `None`: the entry is taken, by a command still running or one whose state was not put
/// back.
type Generation<K, V> = HashMap<K, Option<V>, foldhash::fast::RandomState>;

struct Generations<K, V> {
    young: Generation<K, V>,
    old: Generation<K, V>,
}

impl<K: Eq + Hash + Clone, V: Versioned> AggregateCache<K, V> {
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

    /// Takes the state cached for `key`, if there is one.
    pub(crate) fn take(&self, key: &K) -> Option<V> {
        if self.half_capacity == 0 {
            return None;
        }
        let mut generations = self.shard(key).lock();
        match generations.young.get_mut(key) {
            Some(slot) => slot.take(),
            None => generations.old.remove(key).flatten(),
        }
    }

    /// Puts a state back, unless a newer one for the same key is in the young generation
    /// (an older state is only a slower starting point, never a wrong one: appends check the
    /// version against the store). The key is cloned only when it is not in the young
    /// generation.
    pub(crate) fn put(&self, key: &K, value: V) {
        if self.half_capacity == 0 {
            return;
        }
        let mut generations = self.shard(key).lock();
        if let Some(slot) = generations.young.get_mut(key) {
            if slot
                .as_ref()
                .is_none_or(|present| present.version() <= value.version())
            {
                *slot = Some(value);
            }
            return;
        }
        generations.young.insert(key.clone(), Some(value));
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
            cache.put(&key, Entry(1));
            let entry = cache.take(&0).unwrap_or(Entry(1));
            cache.put(&0, entry);
            assert!(cache.len() <= 10 * SHARDS, "{} entries", cache.len());
        }
        assert!(cache.take(&0).is_some(), "the entry in constant use stays");
        assert!(cache.take(&1).is_none(), "an entry not used ages out");
    }

    #[test]
    fn an_older_entry_does_not_replace_a_newer_one() {
        let cache = AggregateCache::new(100 * SHARDS);
        cache.put(&"a", Entry(5));
        cache.put(&"a", Entry(3));
        assert_eq!(cache.take(&"a").map(|e| e.0), Some(5));
    }

    #[test]
    fn a_taken_state_is_given_once_and_put_back_in_its_place() {
        let cache = AggregateCache::new(100 * SHARDS);
        cache.put(&"a", Entry(1));
        assert_eq!(cache.take(&"a").map(|e| e.0), Some(1));
        assert!(
            cache.take(&"a").is_none(),
            "a second command on the aggregate meanwhile loads it from the store"
        );
        cache.put(&"a", Entry(2));
        assert_eq!(cache.take(&"a").map(|e| e.0), Some(2));
    }

    #[test]
    fn the_key_is_cloned_only_when_it_is_not_in_the_young_generation() {
        static CLONES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        #[derive(PartialEq, Eq, Hash)]
        struct Key(u32);
        impl Clone for Key {
            fn clone(&self) -> Self {
                CLONES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                Key(self.0)
            }
        }
        let cache = AggregateCache::new(100 * SHARDS);
        cache.put(&Key(1), Entry(1));
        for version in 2..10 {
            let taken = cache.take(&Key(1)).expect("cached");
            cache.put(&Key(1), Entry(taken.0.max(version)));
        }
        assert_eq!(cache.take(&Key(1)).map(|e| e.0), Some(9));
        assert_eq!(
            CLONES.load(std::sync::atomic::Ordering::Relaxed),
            1,
            "cloned when first put, not when put back"
        );
    }

    /// Threads released together take and put back one key as fast as they can: a state is
    /// only ever held by one of them, and every put back is kept.
    #[test]
    fn threads_racing_on_one_key_never_hold_its_state_together() {
        use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
        use std::sync::{Arc, Barrier};

        const THREADS: usize = 4;
        const ROUNDS: usize = 20_000;
        let cache = Arc::new(AggregateCache::new(100 * SHARDS));
        cache.put(&7u32, Entry(0));
        let held = Arc::new(AtomicBool::new(false));
        let (taken, missed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let barrier = Arc::new(Barrier::new(THREADS));
        let threads: Vec<_> = (0..THREADS)
            .map(|_| {
                let (cache, held, barrier) = (cache.clone(), held.clone(), barrier.clone());
                let (taken, missed) = (taken.clone(), missed.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    for _ in 0..ROUNDS {
                        let Some(entry) = cache.take(&7) else {
                            missed.fetch_add(1, Ordering::Relaxed);
                            std::hint::spin_loop();
                            continue;
                        };
                        assert!(!held.swap(true, Ordering::AcqRel), "held by two threads");
                        taken.fetch_add(1, Ordering::Relaxed);
                        held.store(false, Ordering::Release);
                        cache.put(&7, Entry(entry.0 + 1));
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        let (taken, missed) = (
            taken.load(Ordering::Relaxed),
            missed.load(Ordering::Relaxed),
        );
        assert!(
            missed > 0,
            "the race happened: {missed} takes found the state held by another thread"
        );
        assert_eq!(
            cache.take(&7).map(|entry| entry.0),
            Some(taken as u64),
            "every state put back was kept"
        );
    }

    #[test]
    fn zero_capacity_disables_it() {
        let cache = AggregateCache::new(0);
        cache.put(&"a", Entry(1));
        assert!(cache.take(&"a").is_none());
    }
}
