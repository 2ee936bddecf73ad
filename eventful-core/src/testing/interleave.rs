//! [`Interleaved`]: a store wrapper that makes "concurrent" tasks really interleave, and counts
//! what the races did, so that a concurrency check can tell a race that was won correctly
//! from one that never happened.
//!
//! A store whose calls never wait (the memory store takes a lock and returns) lets a task run
//! from its first call to its last without giving its worker up: two tasks spawned "at once"
//! then often run one after the other, and a check of what happens when they race passes
//! without a race. `Interleaved` yields to the runtime before every call, so on a
//! multi-threaded runtime, with the tasks started together (a barrier), the other task gets a
//! turn between any two calls of this one. Use it for your own concurrency tests too.
//!
//! Over several instances of one store ([`Interleaved::over`]: handles with nothing shared
//! but the data, as separate processes have), each call goes to the next instance in turn, so
//! that the conformance suite run on it proves the guarantees across processes too.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use uuid::Uuid;

use crate::checkpoint::CheckpointStore;
use crate::envelope::{ExpectedVersion, NewEvent, Position, RecordedEvent, Version};
use crate::names::StreamId;
use crate::payload::PayloadFormat;
use crate::progress::{Claim, ClaimOutcome, ParkedEvent, SegmentProgress};
use crate::snapshot::{Snapshot, SnapshotStore};
use crate::store::{AllBatch, AppendResult, EventFilter, EventStore, EventVisitor, StoreError};

/// A store that yields before each call and counts how appends ended.
///
/// ```
/// use eventful_core::testing::interleave::Interleaved;
/// use eventful_core::{EventStore, ExpectedVersion, StreamId};
/// use eventful_store_memory::MemoryStore;
///
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let store = Interleaved::new(MemoryStore::new());
/// let stream = StreamId::new("player-1")?;
/// store.append(&stream, ExpectedVersion::NoStream, &[]).await?;
/// assert_eq!(store.seen().appends, 1);
/// # Ok(()) }
/// # tokio::runtime::Runtime::new().unwrap().block_on(demo()).unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct Interleaved<S> {
    instances: Arc<[S]>,
    turn: Arc<AtomicUsize>,
    counts: Arc<Counts>,
}

#[derive(Debug, Default)]
struct Counts {
    appends: AtomicU64,
    conflicts: AtomicU64,
    duplicates: AtomicU64,
    already_stored: AtomicU64,
}

/// How the appends through an [`Interleaved`] store ended, so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Seen {
    /// Appends made.
    pub appends: u64,
    /// Appends refused with [`StoreError::Conflict`].
    pub conflicts: u64,
    /// Appends refused with [`StoreError::DuplicateEvent`].
    pub duplicates: u64,
    /// Appends that found their events already stored.
    pub already_stored: u64,
}

impl<S> Interleaved<S> {
    /// `store`, yielding before each call.
    pub fn new(store: S) -> Self {
        Self::over(vec![store])
    }

    /// Several instances of one store, each call going to the next in turn, yielding before
    /// each.
    ///
    /// ```
    /// use eventful_core::testing::interleave::Interleaved;
    /// use eventful_core::{EventStore, ExpectedVersion, StreamId, Version};
    /// use eventful_store_memory::MemoryStore;
    ///
    /// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// let shared = MemoryStore::new();
    /// let store = Interleaved::over(vec![shared.clone(), shared]);
    /// let stream = StreamId::new("player-1")?;
    /// store.append(&stream, ExpectedVersion::NoStream, &[]).await?;
    /// assert_eq!(store.stream_version(&stream).await?, Version::NONE);
    /// # Ok(()) }
    /// # tokio::runtime::Runtime::new().unwrap().block_on(demo()).unwrap();
    /// ```
    ///
    /// # Panics
    ///
    /// When `instances` is empty.
    pub fn over(instances: Vec<S>) -> Self {
        assert!(!instances.is_empty(), "Interleaved::over needs an instance");
        Self {
            instances: instances.into(),
            turn: Arc::new(AtomicUsize::new(0)),
            counts: Arc::new(Counts::default()),
        }
    }

    /// The wrapped store (the first instance).
    pub fn inner(&self) -> &S {
        &self.instances[0]
    }

    /// The instance the next call goes to.
    fn next(&self) -> &S {
        let turn = self.turn.fetch_add(1, Ordering::Relaxed);
        &self.instances[turn % self.instances.len()]
    }

    /// How appends have ended so far (shared by every clone).
    pub fn seen(&self) -> Seen {
        let load = |counter: &AtomicU64| counter.load(Ordering::SeqCst);
        Seen {
            appends: load(&self.counts.appends),
            conflicts: load(&self.counts.conflicts),
            duplicates: load(&self.counts.duplicates),
            already_stored: load(&self.counts.already_stored),
        }
    }
}

impl<S: EventStore> EventStore for Interleaved<S> {
    async fn append(
        &self,
        stream_id: &StreamId,
        expected: ExpectedVersion,
        events: &[NewEvent],
    ) -> Result<AppendResult, StoreError> {
        tokio::task::yield_now().await;
        let result = self.next().append(stream_id, expected, events).await;
        let counts = &self.counts;
        counts.appends.fetch_add(1, Ordering::SeqCst);
        match &result {
            Ok(appended) if appended.already_stored => &counts.already_stored,
            Err(StoreError::Conflict { .. }) => &counts.conflicts,
            Err(StoreError::DuplicateEvent { .. }) => &counts.duplicates,
            _ => return result,
        }
        .fetch_add(1, Ordering::SeqCst);
        result
    }

    async fn read_stream(
        &self,
        stream_id: &StreamId,
        from: Version,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        tokio::task::yield_now().await;
        self.next().read_stream(stream_id, from, limit).await
    }

    async fn stream_version(&self, stream_id: &StreamId) -> Result<Version, StoreError> {
        tokio::task::yield_now().await;
        self.next().stream_version(stream_id).await
    }

    async fn read_all(
        &self,
        from: Position,
        filter: &EventFilter,
        limit: usize,
    ) -> Result<AllBatch, StoreError> {
        tokio::task::yield_now().await;
        self.next().read_all(from, filter, limit).await
    }

    async fn head_position(&self) -> Result<Position, StoreError> {
        tokio::task::yield_now().await;
        self.next().head_position().await
    }

    async fn wait_for_append(&self, after: Position) {
        tokio::task::yield_now().await;
        self.next().wait_for_append(after).await;
    }

    async fn find_event(
        &self,
        stream_id: &StreamId,
        event_id: Uuid,
    ) -> Result<Option<RecordedEvent>, StoreError> {
        tokio::task::yield_now().await;
        self.next().find_event(stream_id, event_id).await
    }

    async fn visit_stream<F: EventVisitor + ?Sized>(
        &self,
        stream_id: &StreamId,
        from: Version,
        limit: usize,
        visit: &mut F,
    ) -> Result<usize, StoreError> {
        tokio::task::yield_now().await;
        self.next()
            .visit_stream(stream_id, from, limit, visit)
            .await
    }

    fn payload_format(&self) -> PayloadFormat {
        self.inner().payload_format()
    }
}

impl<S: SnapshotStore> SnapshotStore for Interleaved<S> {
    async fn save_snapshot(&self, snapshot: Snapshot) -> Result<(), StoreError> {
        tokio::task::yield_now().await;
        self.next().save_snapshot(snapshot).await
    }

    async fn load_snapshot(&self, stream_id: &StreamId) -> Result<Option<Snapshot>, StoreError> {
        tokio::task::yield_now().await;
        self.next().load_snapshot(stream_id).await
    }
}

impl<S: CheckpointStore> CheckpointStore for Interleaved<S> {
    async fn load_checkpoint(&self, name: &str) -> Result<Option<Position>, StoreError> {
        tokio::task::yield_now().await;
        self.next().load_checkpoint(name).await
    }

    async fn save_checkpoint(&self, name: &str, position: Position) -> Result<(), StoreError> {
        tokio::task::yield_now().await;
        self.next().save_checkpoint(name, position).await
    }

    async fn delete_checkpoint(&self, name: &str) -> Result<(), StoreError> {
        tokio::task::yield_now().await;
        self.next().delete_checkpoint(name).await
    }

    async fn claim(&self, claim: &Claim) -> Result<ClaimOutcome, StoreError> {
        tokio::task::yield_now().await;
        self.next().claim(claim).await
    }

    async fn save_claimed(&self, claim: &Claim, position: Position) -> Result<(), StoreError> {
        tokio::task::yield_now().await;
        self.next().save_claimed(claim, position).await
    }

    async fn release(&self, claim: &Claim) -> Result<(), StoreError> {
        tokio::task::yield_now().await;
        self.next().release(claim).await
    }

    async fn segments(&self, handler: &str) -> Result<Vec<SegmentProgress>, StoreError> {
        tokio::task::yield_now().await;
        self.next().segments(handler).await
    }

    async fn put_segments(
        &self,
        handler: &str,
        segments: Vec<SegmentProgress>,
    ) -> Result<(), StoreError> {
        tokio::task::yield_now().await;
        self.next().put_segments(handler, segments).await
    }

    async fn park(&self, parked: ParkedEvent) -> Result<(), StoreError> {
        tokio::task::yield_now().await;
        self.next().park(parked).await
    }

    async fn parked(&self, handler: &str) -> Result<Vec<ParkedEvent>, StoreError> {
        tokio::task::yield_now().await;
        self.next().parked(handler).await
    }

    async fn unpark(&self, handler: &str, event_id: Uuid) -> Result<bool, StoreError> {
        tokio::task::yield_now().await;
        self.next().unpark(handler, event_id).await
    }
}
