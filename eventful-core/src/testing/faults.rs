//! [`FaultyStore`]: a store wrapper that fails on purpose, for testing what a component does
//! when its store misbehaves while the rest of it works: stream reads that hang or fail (a
//! shard down, a read that never comes back) while the log answers, and appends and the head
//! refused as by a database that stopped answering, while it is switched down or for a number
//! of calls, while reads of what was stored answer (the outage comes between a handler's read
//! of the log and its write).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use uuid::Uuid;

use crate::envelope::{ExpectedVersion, NewEvent, Position, RecordedEvent, Version};
use crate::names::StreamId;
use crate::payload::PayloadFormat;
use crate::store::{AllBatch, AppendResult, EventFilter, EventStore, StoreError};

/// What a [`FaultyStore`]'s stream reads do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StreamReadFault {
    /// Never answer: a read that stays in progress for as long as it is waited on.
    Hang,
    /// Fail with [`StoreError::Unavailable`], the text given as its source.
    Unavailable(&'static str),
}

/// `store` with the faults it is given; what has none is forwarded.
///
/// - Stream reads (`read_stream`, and `visit_stream`, which reads through it) answered by a
///   [`StreamReadFault`] ([`FaultyStore::with_stream_reads`]).
/// - Appends and the head position refused with [`StoreError::Unavailable`]
///   (`connection refused`) while writes are down ([`FaultyStore::set_writes_down`]) or for
///   the next calls ([`FaultyStore::fail_next_writes`]).
///
/// Clones share the switch, so a test keeps one and hands the other to what it tests.
///
/// ```
/// use eventful_core::testing::faults::{FaultyStore, StreamReadFault};
/// use eventful_core::{EventStore, ExpectedVersion, StoreError, StreamId, Version};
/// use eventful_store_memory::MemoryStore;
///
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let store = FaultyStore::new(MemoryStore::new())
///     .with_stream_reads(StreamReadFault::Unavailable("shard down"));
/// let stream = StreamId::new("player-1")?;
/// let read = store.read_stream(&stream, Version::new(1), 10).await;
/// assert!(matches!(read, Err(StoreError::Unavailable { .. })));
///
/// store.fail_next_writes(1);
/// let refused = store.append(&stream, ExpectedVersion::Any, &[]).await;
/// assert!(matches!(refused, Err(StoreError::Unavailable { .. })));
/// store.append(&stream, ExpectedVersion::Any, &[]).await?; // back up
/// assert_eq!(store.refused_writes(), 1);
/// # Ok(()) }
/// # tokio::runtime::Runtime::new().unwrap().block_on(demo()).unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct FaultyStore<S> {
    store: S,
    stream_reads: Option<StreamReadFault>,
    writes: Arc<WriteOutage>,
}

#[derive(Debug, Default)]
struct WriteOutage {
    down: AtomicBool,
    failing_next: AtomicU32,
    refused: AtomicU32,
}

impl<S> FaultyStore<S> {
    /// `store`, with no fault yet.
    pub fn new(store: S) -> Self {
        Self {
            store,
            stream_reads: None,
            writes: Arc::default(),
        }
    }

    /// Stream reads answered by `fault`.
    pub fn with_stream_reads(mut self, fault: StreamReadFault) -> Self {
        self.stream_reads = Some(fault);
        self
    }

    /// Writes down (every append and head refused) or up again.
    pub fn set_writes_down(&self, down: bool) {
        self.writes.down.store(down, Ordering::SeqCst);
    }

    /// Refuses the next `calls` appends and heads, whatever the switch says, then answers.
    pub fn fail_next_writes(&self, calls: u32) {
        self.writes.failing_next.store(calls, Ordering::SeqCst);
    }

    /// How many appends and heads were refused so far: proof that the outage was met.
    pub fn refused_writes(&self) -> u32 {
        self.writes.refused.load(Ordering::SeqCst)
    }

    /// The store underneath.
    pub fn inner(&self) -> &S {
        &self.store
    }

    fn check_write(&self) -> Result<(), StoreError> {
        let writes = &self.writes;
        let counted_down = writes
            .failing_next
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| {
                left.checked_sub(1)
            })
            .is_ok();
        if counted_down || writes.down.load(Ordering::SeqCst) {
            writes.refused.fetch_add(1, Ordering::SeqCst);
            return Err(StoreError::Unavailable {
                source: "connection refused".into(),
            });
        }
        Ok(())
    }
}

impl<S: EventStore> EventStore for FaultyStore<S> {
    async fn append(
        &self,
        stream_id: &StreamId,
        expected: ExpectedVersion,
        events: &[NewEvent],
    ) -> Result<AppendResult, StoreError> {
        self.check_write()?;
        self.store.append(stream_id, expected, events).await
    }

    async fn read_stream(
        &self,
        stream_id: &StreamId,
        from: Version,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        match self.stream_reads {
            None => self.store.read_stream(stream_id, from, limit).await,
            Some(StreamReadFault::Hang) => std::future::pending().await,
            Some(StreamReadFault::Unavailable(reason)) => Err(StoreError::Unavailable {
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
        self.check_write()?;
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
