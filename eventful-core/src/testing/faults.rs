//! [`StreamReadFault`]: a store wrapper whose stream reads misbehave as told while everything
//! else is forwarded, for testing what a component does when a stream cannot be read (a
//! shard down, a read that never comes back) while the log and appends still work.

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
