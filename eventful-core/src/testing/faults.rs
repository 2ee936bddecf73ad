//! Store wrappers that fail on purpose, for testing what a component does when its store
//! misbehaves while the rest of it works:
//!
//! - [`FaultyStreamReads`]: stream reads hang or fail (a shard down, a read that never comes
//!   back) while the log and appends work;
//! - [`WriteOutage`]: appends and the head fail as a database that stopped answering does,
//!   while it is switched down or for a number of calls, while reads of what was stored answer
//!   (the outage comes between a handler's read of the log and its write).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use uuid::Uuid;

use crate::envelope::{ExpectedVersion, NewEvent, Position, RecordedEvent, Version};
use crate::names::StreamId;
use crate::payload::PayloadFormat;
use crate::store::{AllBatch, AppendResult, EventFilter, EventStore, StoreError};

/// What a [`StreamReadFault`] store's stream reads do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StreamReadFault {
    /// Never answer: a read that stays in progress for as long as it is waited on.
    Hang,
    /// Fail with [`StoreError::Unavailable`], the text given as its source.
    Unavailable(&'static str),
}

/// `store` with its stream reads (`read_stream`, and `visit_stream`, which reads through it)
/// answered by a [`StreamReadFault`]; appends, the log, versions and lookups forwarded.
///
/// ```
/// use eventful_core::testing::faults::{FaultyStreamReads, StreamReadFault};
/// use eventful_core::{EventStore, StoreError, StreamId, Version};
/// use eventful_store_memory::MemoryStore;
///
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let store = FaultyStreamReads::new(MemoryStore::new(), StreamReadFault::Unavailable("shard down"));
/// let read = store.read_stream(&StreamId::new("player-1")?, Version::new(1), 10).await;
/// assert!(matches!(read, Err(StoreError::Unavailable { .. })));
/// assert_eq!(store.head_position().await?.get(), 0, "the log still answers");
/// # Ok(()) }
/// # tokio::runtime::Runtime::new().unwrap().block_on(demo()).unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct FaultyStreamReads<S> {
    store: S,
    fault: StreamReadFault,
}

impl<S> FaultyStreamReads<S> {
    /// `store`, its stream reads answered by `fault`.
    pub fn new(store: S, fault: StreamReadFault) -> Self {
        Self { store, fault }
    }

    /// The store underneath.
    pub fn inner(&self) -> &S {
        &self.store
    }
}

impl<S: EventStore> EventStore for FaultyStreamReads<S> {
    async fn append(
        &self,
        stream_id: &StreamId,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
    ) -> Result<AppendResult, StoreError> {
        self.store.append(stream_id, expected, events).await
    }

    async fn read_stream(
        &self,
        _: &StreamId,
        _: Version,
        _: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        match self.fault {
            StreamReadFault::Hang => std::future::pending().await,
            StreamReadFault::Unavailable(reason) => Err(StoreError::Unavailable {
                source: reason.into(),
            }),
        }
    }

    async fn stream_version(&self, stream_id: &StreamId) -> Result<Version, StoreError> {
        self.store.stream_version(stream_id).await
    }

    async fn read_all(
        &self,
        from: Position,
        filter: &EventFilter,
        limit: usize,
    ) -> Result<AllBatch, StoreError> {
        self.store.read_all(from, filter, limit).await
    }

    async fn head_position(&self) -> Result<Position, StoreError> {
        self.store.head_position().await
    }

    async fn wait_for_append(&self, after: Position) {
        self.store.wait_for_append(after).await;
    }

    async fn find_event(
        &self,
        stream_id: &StreamId,
        event_id: Uuid,
    ) -> Result<Option<RecordedEvent>, StoreError> {
        self.store.find_event(stream_id, event_id).await
    }

    fn payload_format(&self) -> PayloadFormat {
        self.store.payload_format()
    }
}

/// `store` whose appends and head position fail with [`StoreError::Unavailable`]
/// (`connection refused`) while it is down ([`WriteOutage::set_down`]) or for its next calls
/// ([`WriteOutage::fail_next`]); reads, versions and lookups are forwarded. Clones share the
/// switch, so a test keeps one and hands the other to what it tests.
///
/// ```
/// use eventful_core::testing::faults::WriteOutage;
/// use eventful_core::{EventStore, ExpectedVersion, StoreError, StreamId};
/// use eventful_store_memory::MemoryStore;
///
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let store = WriteOutage::new(MemoryStore::new());
/// let stream = StreamId::new("player-1")?;
/// store.fail_next(1);
/// let refused = store.append(&stream, ExpectedVersion::Any, Vec::new()).await;
/// assert!(matches!(refused, Err(StoreError::Unavailable { .. })));
/// store.append(&stream, ExpectedVersion::Any, Vec::new()).await?; // back up
/// assert_eq!(store.refused(), 1);
/// # Ok(()) }
/// # tokio::runtime::Runtime::new().unwrap().block_on(demo()).unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct WriteOutage<S> {
    store: S,
    state: Arc<OutageState>,
}

#[derive(Debug, Default)]
struct OutageState {
    down: AtomicBool,
    failing_next: AtomicU32,
    refused: AtomicU32,
}

impl<S> WriteOutage<S> {
    /// `store`, answering until told otherwise.
    pub fn new(store: S) -> Self {
        Self {
            store,
            state: Arc::default(),
        }
    }

    /// Down (every append and head refused) or up again.
    pub fn set_down(&self, down: bool) {
        self.state.down.store(down, Ordering::SeqCst);
    }

    /// Refuses the next `calls` appends and heads, whatever the switch says, then answers.
    pub fn fail_next(&self, calls: u32) {
        self.state.failing_next.store(calls, Ordering::SeqCst);
    }

    /// How many calls were refused so far: proof that the outage was met.
    pub fn refused(&self) -> u32 {
        self.state.refused.load(Ordering::SeqCst)
    }

    /// The store underneath.
    pub fn inner(&self) -> &S {
        &self.store
    }

    fn check(&self) -> Result<(), StoreError> {
        let counted_down = self
            .state
            .failing_next
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| {
                left.checked_sub(1)
            })
            .is_ok();
        if counted_down || self.state.down.load(Ordering::SeqCst) {
            self.state.refused.fetch_add(1, Ordering::SeqCst);
            return Err(StoreError::Unavailable {
                source: "connection refused".into(),
            });
        }
        Ok(())
    }
}

impl<S: EventStore> EventStore for WriteOutage<S> {
    async fn append(
        &self,
        stream_id: &StreamId,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
    ) -> Result<AppendResult, StoreError> {
        self.check()?;
        self.store.append(stream_id, expected, events).await
    }

    async fn read_stream(
        &self,
        stream_id: &StreamId,
        from: Version,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        self.store.read_stream(stream_id, from, limit).await
    }

    async fn stream_version(&self, stream_id: &StreamId) -> Result<Version, StoreError> {
        self.store.stream_version(stream_id).await
    }

    async fn read_all(
        &self,
        from: Position,
        filter: &EventFilter,
        limit: usize,
    ) -> Result<AllBatch, StoreError> {
        self.store.read_all(from, filter, limit).await
    }

    async fn head_position(&self) -> Result<Position, StoreError> {
        self.check()?;
        self.store.head_position().await
    }

    async fn wait_for_append(&self, after: Position) {
        self.store.wait_for_append(after).await;
    }

    async fn find_event(
        &self,
        stream_id: &StreamId,
        event_id: Uuid,
    ) -> Result<Option<RecordedEvent>, StoreError> {
        self.store.find_event(stream_id, event_id).await
    }

    fn payload_format(&self) -> PayloadFormat {
        self.store.payload_format()
    }
}
