//! # eventful-store-memory
//!
//! The embedded event store of eventful: every stream, snapshot and checkpoint in the
//! process's memory. It keeps every guarantee of the other stores (atomic appends, optimistic
//! concurrency, idempotent appends, gap-free versions, strictly ordered positions, live
//! subscriptions) and passes the same conformance suite, so code tested on it runs unchanged
//! on a durable store.
//!
//! ```
//! use eventful_core::{EventStore, ExpectedVersion, NewEvent, Payload, StreamId, TypeName, Version};
//! use eventful_store_memory::MemoryStore;
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let store = MemoryStore::new();
//! let stream = StreamId::new("player-1")?;
//! let event = NewEvent::new(
//!     TypeName::from_static("player"),
//!     TypeName::from_static("player_created"),
//!     1,
//!     Payload::from_json_slice(br#"{"name":"ana"}"#)?,
//! );
//! store.append(&stream, ExpectedVersion::NoStream, &[event]).await?;
//! assert_eq!(store.stream_version(&stream).await?, Version::new(1));
//! # Ok(()) }
//! # tokio::runtime::Runtime::new().unwrap().block_on(demo()).unwrap();
//! ```
//!
//! ## How it is laid out
//!
//! | module | what lives there |
//! | --- | --- |
//! | `log` | the log: events in position order, a position index per stream, interned type names |
//! | `ids` | the index of event ids: a sorted run of time-ordered ids, a hash table for the rest |
//! | `chunks` | the chunked vector the log grows in, without copying |
//! | `stream_table` | every stream's id and positions, found by the id, growing without a pause |
//! | `clock` | the time an append is recorded at, read cheaply |
//! | `payloads` | every payload's bytes, one after the other in chunks of their own |
//! | `shared` | shared handlers' progress: segments with their claims, parked events |
//! | `persist` | [`MemoryStore::save_to`] and [`MemoryStore::load_from`]: the whole store in a file |
//! | this file | [`MemoryStore`]: the lock around the log, live-append wake-ups, snapshots, checkpoints |
//!
//! Costs: an append is O(events appended) and a read of a stream O(events read), whatever
//! the size of the store. A read copies the payloads it returns into one buffer they share; a
//! replay through [`EventStore::visit_stream`] reads them in place, copying nothing. The store
//! holds at most `u32::MAX` events, each payload at most `u32::MAX` bytes.
//!
//! ## Payload formats
//!
//! New events are written in JSON unless the store is made with another format
//! ([`MemoryStore::with_payload_format`]): postcard takes a sixth of the bytes of the game
//! workload's events, and a replay runs more than twice as fast as with JSON, for a store
//! that only this program reads (docs/performance.md has the figures). Each event keeps its own format, so a store
//! reads back everything it holds whatever it writes now, and a saved file keeps JSON
//! payloads as JSON.
//!
//! ```
//! use eventful_core::{EventStore, PayloadFormat};
//! use eventful_store_memory::MemoryStore;
//!
//! let store = MemoryStore::with_payload_format(PayloadFormat::Postcard);
//! assert_eq!(store.payload_format(), PayloadFormat::Postcard);
//! ```
//!
//! Nothing is written to disk unless asked: [`MemoryStore::save_to`] writes the whole store
//! to a file and [`MemoryStore::load_from`] reads it back, so a demo survives a restart.

#![warn(clippy::unwrap_used)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod chunks;
mod clock;
mod ids;
mod log;
mod payloads;
mod persist;
mod shared;
mod stream_table;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use eventful_core::progress::{Claim, ClaimOutcome, ParkedEvent, SegmentProgress};
use eventful_core::{
    AllBatch, AppendResult, CheckpointStore, EventFilter, EventStore, EventVisitor,
    ExpectedVersion, NewEvent, PayloadFormat, Position, RecordedEvent, Snapshot, SnapshotStore,
    StoreError, StreamId, Version,
};
use parking_lot::{Mutex, RwLock};
use tokio::sync::Notify;
use uuid::Uuid;

use crate::log::Log;
pub use crate::persist::{Counts, Dropped, Inconsistency, PersistError, Salvage};
use crate::shared::Shared;

/// The in-memory event, snapshot and checkpoint store. Clones share the same store.
#[derive(Clone, Default)]
pub struct MemoryStore {
    inner: Arc<Inner>,
}

/// On a cache line of its own, the fields every append writes: `head`, the log's lock (a
/// lock's word comes before what it guards) and the first fields of the log.
#[derive(Default)]
#[repr(C, align(64))]
struct Inner {
    /// Position of the last visible event, readable without the lock; written under the log's
    /// write lock.
    head: AtomicU64,
    log: RwLock<Log>,
    /// Tasks inside `wait_for_append`: appends wake them only when there are some, since
    /// waking takes a lock. Every append reads it under the log's write lock; waiters count
    /// themselves in under its read lock.
    waiting: AtomicUsize,
    appended: Notify,
    snapshots: Mutex<HashMap<StreamId, Snapshot>>,
    checkpoints: Mutex<HashMap<String, Position>>,
    shared: Shared,
    /// What repositories write new events in.
    format: PayloadFormat,
}

impl MemoryStore {
    /// An empty store, whose new events are written in JSON.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty store whose new events are written in `format` (see the crate's docs): what
    /// [`EventStore::payload_format`] tells repositories.
    pub fn with_payload_format(format: PayloadFormat) -> Self {
        Self {
            inner: Arc::new(Inner {
                format,
                ..Inner::default()
            }),
        }
    }
}

/// How many times an append tries the log's lock, a spin apart, before it sleeps until the lock
/// is free (a few microseconds on this generation of machines).
const WRITE_SPINS: u32 = 512;

impl Inner {
    /// The log's write lock. An append holds it for well under a microsecond, longer when the
    /// cache lines it writes must first come from a core far away, or when the log grows onto
    /// a fresh page: past parking_lot's own short spin a waiting writer sleeps, and a system
    /// call must wake it. Trying again for a few microseconds first keeps the sleep for a
    /// holder that really is slow: without it two tasks did 0.82 times as much on cores far
    /// apart (docs/performance.md).
    fn write_log(&self) -> parking_lot::RwLockWriteGuard<'_, Log> {
        for _ in 0..WRITE_SPINS {
            if let Some(log) = self.log.try_write() {
                return log;
            }
            std::hint::spin_loop();
        }
        self.log.write()
    }
}

impl MemoryStore {
    /// Refuses a position past the head of the log. A store that holds no events is not the
    /// log (it keeps the checkpoints of another store's handlers) and cannot tell.
    fn within_the_log(&self, name: &str, position: Position) -> Result<(), StoreError> {
        let head = Position::new(self.inner.head.load(Ordering::Acquire));
        if head != Position::START && position > head {
            return Err(StoreError::PositionBeyondHead {
                name: name.to_owned(),
                position,
                head,
            });
        }
        Ok(())
    }
}

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryStore")
            .field("events", &self.inner.head.load(Ordering::Acquire))
            .finish_non_exhaustive()
    }
}

impl EventStore for MemoryStore {
    async fn append(
        &self,
        stream_id: &StreamId,
        expected: ExpectedVersion,
        events: &[NewEvent],
    ) -> Result<AppendResult, StoreError> {
        // The clock is read outside the lock: appends by other tasks wait only for the
        // copying in.
        let now = clock::now();
        let (result, wanted, waiting) = {
            let mut log = self.inner.write_log();
            let result = log.append(stream_id, expected, events, now)?;
            self.inner.head.store(log.head(), Ordering::Release);
            // Read under the lock, as waiters count themselves in and read `head` under it:
            // either a waiter counted itself in before this append, and is woken below, or
            // it reads the head this append wrote. (Without the lock, both sides would need a
            // sequentially consistent write, a locked instruction on every append.)
            let waiting = self.inner.waiting.load(Ordering::Relaxed) > 0;
            (result, log.wanted(events.len()), waiting)
        };
        if wanted.any() {
            // Made while no append waits for it: other tasks' appends go on meanwhile.
            let made = wanted.make();
            self.inner.write_log().give(made);
        }
        if !result.already_stored && result.first_position != Position::START && waiting {
            self.inner.appended.notify_waiters();
        }
        Ok(result)
    }

    async fn read_stream(
        &self,
        stream_id: &StreamId,
        from: Version,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        Ok(self.inner.log.read().read_stream(stream_id, from, limit))
    }

    async fn stream_version(&self, stream_id: &StreamId) -> Result<Version, StoreError> {
        Ok(self.inner.log.read().stream_version(stream_id))
    }

    async fn read_all(
        &self,
        from: Position,
        filter: &EventFilter,
        limit: usize,
    ) -> Result<AllBatch, StoreError> {
        Ok(self.inner.log.read().read_all(from, filter, limit))
    }

    async fn head_position(&self) -> Result<Position, StoreError> {
        Ok(Position::new(self.inner.head.load(Ordering::Acquire)))
    }

    async fn wait_for_append(&self, after: Position) {
        let appended = self.inner.appended.notified();
        tokio::pin!(appended);
        // Registered before the check, so an append between the check and the wait wakes it.
        appended.as_mut().enable();
        let (_waiting, head) = {
            // Under the log's read lock: see `append`.
            let _log = self.inner.log.read();
            let waiting = Waiting::enter(&self.inner.waiting);
            (waiting, self.inner.head.load(Ordering::Relaxed))
        };
        if head > after.get() {
            return;
        }
        appended.await;
    }

    async fn find_event(
        &self,
        stream_id: &StreamId,
        event_id: Uuid,
    ) -> Result<Option<RecordedEvent>, StoreError> {
        Ok(self.inner.log.read().find_event(stream_id, event_id))
    }

    async fn visit_stream<F: EventVisitor + ?Sized>(
        &self,
        stream_id: &StreamId,
        from: Version,
        limit: usize,
        visit: &mut F,
    ) -> Result<usize, StoreError> {
        Ok(self
            .inner
            .log
            .read()
            .visit_stream(stream_id, from, limit, visit))
    }

    fn payload_format(&self) -> PayloadFormat {
        self.inner.format
    }
}

/// Counts a task in `wait_for_append` for as long as it is there (also when its future is
/// dropped mid-wait).
struct Waiting<'a>(&'a AtomicUsize);

impl<'a> Waiting<'a> {
    fn enter(counter: &'a AtomicUsize) -> Self {
        counter.fetch_add(1, Ordering::Relaxed);
        Self(counter)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl SnapshotStore for MemoryStore {
    async fn save_snapshot(&self, snapshot: Snapshot) -> Result<(), StoreError> {
        let (stream_version, holds_the_log) = {
            let log = self.inner.log.read();
            (log.stream_version(&snapshot.stream_id), log.head() > 0)
        };
        // A store with no events keeps another store's snapshots and cannot tell.
        if holds_the_log && (snapshot.version > stream_version || snapshot.version == Version::NONE)
        {
            return Err(StoreError::SnapshotBeyondStream {
                stream_id: snapshot.stream_id,
                version: snapshot.version,
                stream_version,
            });
        }
        let mut snapshots = self.inner.snapshots.lock();
        match snapshots.get(&snapshot.stream_id) {
            Some(kept) if kept.version > snapshot.version => {}
            _ => {
                snapshots.insert(snapshot.stream_id.clone(), snapshot);
            }
        }
        Ok(())
    }

    async fn load_snapshot(&self, stream_id: &StreamId) -> Result<Option<Snapshot>, StoreError> {
        Ok(self.inner.snapshots.lock().get(stream_id).cloned())
    }
}

impl CheckpointStore for MemoryStore {
    async fn load_checkpoint(&self, name: &str) -> Result<Option<Position>, StoreError> {
        Ok(self.inner.checkpoints.lock().get(name).copied())
    }

    async fn save_checkpoint(&self, name: &str, position: Position) -> Result<(), StoreError> {
        self.within_the_log(name, position)?;
        self.inner
            .checkpoints
            .lock()
            .insert(name.to_owned(), position);
        Ok(())
    }

    async fn delete_checkpoint(&self, name: &str) -> Result<(), StoreError> {
        self.inner.checkpoints.lock().remove(name);
        Ok(())
    }

    async fn claim(&self, claim: &Claim) -> Result<ClaimOutcome, StoreError> {
        Ok(self.inner.shared.claim(claim))
    }

    async fn save_claimed(&self, claim: &Claim, position: Position) -> Result<(), StoreError> {
        self.within_the_log(&claim.handler, position)?;
        self.inner.shared.save_claimed(claim, position)
    }

    async fn release(&self, claim: &Claim) -> Result<(), StoreError> {
        self.inner.shared.release(claim);
        Ok(())
    }

    async fn segments(&self, handler: &str) -> Result<Vec<SegmentProgress>, StoreError> {
        Ok(self.inner.shared.segments(handler))
    }

    async fn put_segments(
        &self,
        handler: &str,
        segments: Vec<SegmentProgress>,
    ) -> Result<(), StoreError> {
        for progress in &segments {
            self.within_the_log(handler, progress.position)?;
        }
        self.inner.shared.put_segments(handler, segments);
        Ok(())
    }

    async fn park(&self, parked: ParkedEvent) -> Result<(), StoreError> {
        self.inner.shared.park(parked);
        Ok(())
    }

    async fn parked(&self, handler: &str) -> Result<Vec<ParkedEvent>, StoreError> {
        Ok(self.inner.shared.parked(handler))
    }

    async fn unpark(&self, handler: &str, event_id: Uuid) -> Result<bool, StoreError> {
        Ok(self.inner.shared.unpark(handler, event_id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_every_append_writes_is_on_one_cache_line() {
        let inner = Inner::default();
        let start = &inner as *const Inner as usize;
        let log = inner.log.data_ptr() as usize - start;
        assert_eq!(start % 64, 0, "the line starts with the store");
        assert!(
            log + Log::HOT_END <= 64,
            "the log at {log}, its hot fields to {}",
            log + Log::HOT_END
        );
    }

    /// A waiter counting itself in while an append writes the head, on two threads released
    /// together: either the append sees the waiter and wakes it, or the waiter sees the
    /// append. A wake-up lost between them would leave the waiter asleep until its timeout.
    #[test]
    fn a_waiter_racing_an_append_is_woken_or_sees_it() {
        use eventful_core::{Payload, TypeName};
        use std::future::Future;
        use std::sync::Barrier;
        use std::task::Poll;
        use std::time::Duration;

        const ROUNDS: usize = 3_000;
        let runtime = || {
            tokio::runtime::Builder::new_current_thread()
                .enable_time()
                .build()
                .unwrap()
        };
        let stream = StreamId::new("race").unwrap();
        let event = NewEvent::new(
            TypeName::from_static("race"),
            TypeName::from_static("raced"),
            1,
            Payload::from_json_slice(b"{}").unwrap(),
        );
        let (mut at_once, mut woken) = (0, 0);
        for round in 0..ROUNDS {
            let store = MemoryStore::new();
            let barrier = Arc::new(Barrier::new(2));
            let waiter = {
                let (store, barrier) = (store.clone(), barrier.clone());
                std::thread::spawn(move || {
                    let runtime = runtime();
                    barrier.wait();
                    runtime.block_on(async {
                        let mut wait = std::pin::pin!(store.wait_for_append(Position::START));
                        let ready = std::future::poll_fn(|cx| {
                            Poll::Ready(wait.as_mut().poll(cx).is_ready())
                        })
                        .await;
                        if ready {
                            return Some(true);
                        }
                        tokio::time::timeout(Duration::from_secs(10), wait)
                            .await
                            .ok()
                            .map(|()| false)
                    })
                })
            };
            let runtime = runtime();
            barrier.wait();
            runtime
                .block_on(store.append(&stream, ExpectedVersion::Any, std::slice::from_ref(&event)))
                .unwrap();
            match waiter.join().unwrap() {
                Some(true) => at_once += 1,
                Some(false) => woken += 1,
                None => panic!("round {round}: the waiter missed the append"),
            }
        }
        assert!(
            at_once > 0 && woken > 0,
            "the race went both ways: {at_once} saw the append at once, {woken} were woken"
        );
    }
}
