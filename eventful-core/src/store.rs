//! The [`EventStore`] trait that every store implements, what an append returns, how reads of
//! the whole log are filtered, and the [`StoreError`] every store speaks.
//!
//! A store implements a few batch-shaped primitives; the streaming reads and live
//! subscriptions built on them live in [`crate::streams`], written once for every store.

use std::future::Future;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use uuid::Uuid;

use crate::envelope::{ExpectedVersion, NewEvent, Position, RecordedEvent, Version};
use crate::names::{StreamId, TypeName};
use crate::upcast::BoxError;

/// What a store reports about a successful append.
///
/// The events of one append get consecutive versions and consecutive positions, so the
/// `i`-th event (from 0) of an append of `n` has version `last_version - (n - 1 - i)` and
/// position `first_position + i`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppendResult {
    /// The version of the last event of the append; for an append of no events, the
    /// stream's current version.
    pub last_version: Version,
    /// The position of the first event of the append; for an append of no events,
    /// [`Position::START`].
    pub first_position: Position,
    /// When the store recorded the events.
    pub recorded_at: DateTime<Utc>,
    /// The events were already stored by an earlier call (same ids, same stream, same order)
    /// and nothing was written: the versions and positions are those stored then.
    pub already_stored: bool,
}

/// Which events a read of the whole log returns. The default matches every event.
///
/// ```
/// use eventful_core::{EventFilter, TypeName};
///
/// let completed = EventFilter::default()
///     .with_event_types([TypeName::from_static("game_completed")]);
/// assert!(completed.event_types.contains(&TypeName::from_static("game_completed")));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct EventFilter {
    /// Only events of these types; empty means every type.
    pub event_types: Vec<TypeName>,
    /// Only events of streams of these aggregate types; empty means every aggregate type.
    pub aggregate_types: Vec<TypeName>,
    /// Only events recorded at or after this time.
    pub recorded_from: Option<DateTime<Utc>>,
    /// Only events recorded before this time.
    pub recorded_before: Option<DateTime<Utc>>,
}

impl EventFilter {
    /// Every event.
    pub fn all() -> Self {
        Self::default()
    }

    /// Only events of these types.
    pub fn with_event_types(mut self, types: impl IntoIterator<Item = TypeName>) -> Self {
        self.event_types = types.into_iter().collect();
        self
    }

    /// Only events of streams of these aggregate types.
    pub fn with_aggregate_types(mut self, types: impl IntoIterator<Item = TypeName>) -> Self {
        self.aggregate_types = types.into_iter().collect();
        self
    }

    /// Only events recorded in `[from, before)`.
    pub fn recorded_between(mut self, from: DateTime<Utc>, before: DateTime<Utc>) -> Self {
        self.recorded_from = Some(from);
        self.recorded_before = Some(before);
        self
    }

    /// Whether an event with this envelope passes.
    pub fn matches<P>(&self, event: &RecordedEvent<P>) -> bool {
        self.matches_parts(&event.event_type, &event.aggregate_type, event.recorded_at)
    }

    /// Whether an event of this type, aggregate type and time passes: for stores that test
    /// before they build a [`RecordedEvent`].
    pub fn matches_parts(
        &self,
        event_type: &str,
        aggregate_type: &str,
        recorded_at: DateTime<Utc>,
    ) -> bool {
        (self.event_types.is_empty() || self.event_types.iter().any(|t| t == event_type))
            && (self.aggregate_types.is_empty()
                || self.aggregate_types.iter().any(|t| t == aggregate_type))
            && self.recorded_from.is_none_or(|from| recorded_at >= from)
            && self
                .recorded_before
                .is_none_or(|before| recorded_at < before)
    }
}

/// One batch of a read of the whole log.
#[derive(Debug, Clone, PartialEq)]
pub struct AllBatch {
    /// Matching events, in position order.
    pub events: Vec<RecordedEvent>,
    /// Where to read next: every matching event below it has been returned, in this batch or
    /// an earlier one, and no event will later become visible below it.
    pub next: Position,
    /// The read reached the end of what was visible: reading again from `next` now would
    /// return nothing new.
    pub end_of_log: bool,
}

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The stream was not at the expected version. Nothing of the append was written.
    #[error(
        "wrong expected version for stream `{stream_id}`: expected {expected}, \
         but it is at version {actual}"
    )]
    Conflict {
        /// The stream appended to.
        stream_id: StreamId,
        /// What the append expected.
        expected: ExpectedVersion,
        /// The stream's version when the append was refused.
        actual: Version,
    },
    /// Some but not all of an append's events are already stored, or one event id appears
    /// twice: a caller is reusing ids. Nothing of the append was written.
    #[error(
        "event {event_id} cannot be appended to stream `{stream_id}`: {reason}; \
         nothing was written"
    )]
    DuplicateEvent {
        /// The stream appended to.
        stream_id: StreamId,
        /// The offending event id.
        event_id: Uuid,
        /// Where it is already stored, or that it is repeated within the append.
        reason: String,
    },
    /// The store cannot hold what it was given (a payload outside what its format can
    /// represent, such as an integer above `i64::MAX` in BSON). Nothing was written.
    #[error("stream `{stream_id}`: the store cannot hold this: {source}")]
    Unstorable {
        /// The stream written to.
        stream_id: StreamId,
        /// What cannot be held, and where.
        #[source]
        source: BoxError,
    },
    /// A stored record could not be read back as an event.
    #[error("stored record at {location} does not decode: {source}")]
    Corrupt {
        /// Which record: its stream and version, or its position.
        location: String,
        /// What was wrong with it.
        #[source]
        source: BoxError,
    },
    /// The store cannot be reached.
    #[error("the event store is unavailable: {source}")]
    Unavailable {
        /// The underlying error.
        #[source]
        source: BoxError,
    },
    /// An operation took longer than the store allows.
    #[error("{operation} timed out: {source}")]
    Timeout {
        /// What was being done.
        operation: &'static str,
        /// The underlying error.
        #[source]
        source: BoxError,
    },
    /// The credentials were refused or lack a right the store needs.
    #[error("the event store refused access: {source}")]
    Unauthorized {
        /// The underlying error.
        #[source]
        source: BoxError,
    },
    /// The store has reached a limit of its own (such as the memory store's event count).
    #[error("the event store is full: {limit}")]
    CapacityExceeded {
        /// Which limit.
        limit: String,
    },
    /// Any other failure of the backend.
    #[error("event store failure: {source}")]
    Backend {
        /// The underlying error.
        #[source]
        source: BoxError,
    },
}

/// An append-only log of event streams with optimistic concurrency.
///
/// Every implementation keeps the guarantees of the design document, checked by the
/// conformance suite in `eventful_core::testing` (feature `testing`):
///
/// - an append is atomic: all its events become visible together or none does;
/// - the expected version is checked by the store, and a mismatch is [`StoreError::Conflict`];
/// - appending events already stored in that stream (same ids, same order) writes nothing and
///   reports [`AppendResult::already_stored`];
/// - versions start at 1 with no gaps; positions increase strictly in the order appends
///   become visible, so a reader that has seen position `p` never later sees a new event
///   below `p`.
///
/// Implement the methods with `async fn`. Generic code (`Repository<A, S>`) calls them
/// without boxing; to choose a store at run time, use `Arc<dyn DynEventStore>`, which is an
/// event store too. Stores are usually cheap handles (`Clone`, an `Arc` inside).
///
/// ```
/// use eventful_core::{DynEventStore, EventStore, Version};
/// use eventful_store_memory::MemoryStore;
/// use std::sync::Arc;
///
/// # async fn demo() -> Result<(), eventful_core::StoreError> {
/// let store: Arc<dyn DynEventStore> = Arc::new(MemoryStore::new());
/// let stream = eventful_core::StreamId::new("player-1").expect("valid");
/// assert_eq!(store.stream_version(&stream).await?, Version::NONE);
/// # Ok(()) }
/// # tokio::runtime::Runtime::new().unwrap().block_on(demo()).unwrap();
/// ```
pub trait EventStore: Send + Sync {
    /// Appends `events` to `stream_id` if its version satisfies `expected`.
    fn append(
        &self,
        stream_id: &StreamId,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
    ) -> impl Future<Output = Result<AppendResult, StoreError>> + Send;

    /// Up to `limit` events of `stream_id` from version `from` (inclusive), in order. A stream
    /// that does not exist has no events.
    fn read_stream(
        &self,
        stream_id: &StreamId,
        from: Version,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<RecordedEvent>, StoreError>> + Send;

    /// The stream's current version; [`Version::NONE`] when it does not exist.
    fn stream_version(
        &self,
        stream_id: &StreamId,
    ) -> impl Future<Output = Result<Version, StoreError>> + Send;

    /// Up to `limit` events of every stream matching `filter`, from position `from`
    /// (inclusive), in position order.
    fn read_all(
        &self,
        from: Position,
        filter: &EventFilter,
        limit: usize,
    ) -> impl Future<Output = Result<AllBatch, StoreError>> + Send;

    /// The position of the last visible event; [`Position::START`] when the store is empty.
    fn head_position(&self) -> impl Future<Output = Result<Position, StoreError>> + Send;

    /// Waits until an event after `after` may be visible: at once if one is, when an append
    /// makes one so, or after the store's polling interval. Callers read again after it.
    fn wait_for_append(&self, after: Position) -> impl Future<Output = ()> + Send;

    /// The event with id `event_id` in `stream_id`, if it is stored there.
    fn find_event(
        &self,
        stream_id: &StreamId,
        event_id: Uuid,
    ) -> impl Future<Output = Result<Option<RecordedEvent>, StoreError>> + Send;
}

impl<S: EventStore + ?Sized> EventStore for Arc<S> {
    fn append(
        &self,
        stream_id: &StreamId,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
    ) -> impl Future<Output = Result<AppendResult, StoreError>> + Send {
        (**self).append(stream_id, expected, events)
    }

    fn read_stream(
        &self,
        stream_id: &StreamId,
        from: Version,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<RecordedEvent>, StoreError>> + Send {
        (**self).read_stream(stream_id, from, limit)
    }

    fn stream_version(
        &self,
        stream_id: &StreamId,
    ) -> impl Future<Output = Result<Version, StoreError>> + Send {
        (**self).stream_version(stream_id)
    }

    fn read_all(
        &self,
        from: Position,
        filter: &EventFilter,
        limit: usize,
    ) -> impl Future<Output = Result<AllBatch, StoreError>> + Send {
        (**self).read_all(from, filter, limit)
    }

    fn head_position(&self) -> impl Future<Output = Result<Position, StoreError>> + Send {
        (**self).head_position()
    }

    fn wait_for_append(&self, after: Position) -> impl Future<Output = ()> + Send {
        (**self).wait_for_append(after)
    }

    fn find_event(
        &self,
        stream_id: &StreamId,
        event_id: Uuid,
    ) -> impl Future<Output = Result<Option<RecordedEvent>, StoreError>> + Send {
        (**self).find_event(stream_id, event_id)
    }
}

/// The object-safe form of [`EventStore`], for choosing a store at run time:
/// `Arc<dyn DynEventStore>` is an [`EventStore`]. Every event store implements it; its
/// methods box their futures, so generic code should prefer [`EventStore`].
pub trait DynEventStore: Send + Sync {
    /// [`EventStore::append`], boxed.
    fn append_boxed<'a>(
        &'a self,
        stream_id: &'a StreamId,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
    ) -> BoxFuture<'a, Result<AppendResult, StoreError>>;

    /// [`EventStore::read_stream`], boxed.
    fn read_stream_boxed<'a>(
        &'a self,
        stream_id: &'a StreamId,
        from: Version,
        limit: usize,
    ) -> BoxFuture<'a, Result<Vec<RecordedEvent>, StoreError>>;

    /// [`EventStore::stream_version`], boxed.
    fn stream_version_boxed<'a>(
        &'a self,
        stream_id: &'a StreamId,
    ) -> BoxFuture<'a, Result<Version, StoreError>>;

    /// [`EventStore::read_all`], boxed.
    fn read_all_boxed<'a>(
        &'a self,
        from: Position,
        filter: &'a EventFilter,
        limit: usize,
    ) -> BoxFuture<'a, Result<AllBatch, StoreError>>;

    /// [`EventStore::head_position`], boxed.
    fn head_position_boxed(&self) -> BoxFuture<'_, Result<Position, StoreError>>;

    /// [`EventStore::wait_for_append`], boxed.
    fn wait_for_append_boxed(&self, after: Position) -> BoxFuture<'_, ()>;

    /// [`EventStore::find_event`], boxed.
    fn find_event_boxed<'a>(
        &'a self,
        stream_id: &'a StreamId,
        event_id: Uuid,
    ) -> BoxFuture<'a, Result<Option<RecordedEvent>, StoreError>>;
}

impl<S: EventStore> DynEventStore for S {
    fn append_boxed<'a>(
        &'a self,
        stream_id: &'a StreamId,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
    ) -> BoxFuture<'a, Result<AppendResult, StoreError>> {
        Box::pin(self.append(stream_id, expected, events))
    }

    fn read_stream_boxed<'a>(
        &'a self,
        stream_id: &'a StreamId,
        from: Version,
        limit: usize,
    ) -> BoxFuture<'a, Result<Vec<RecordedEvent>, StoreError>> {
        Box::pin(self.read_stream(stream_id, from, limit))
    }

    fn stream_version_boxed<'a>(
        &'a self,
        stream_id: &'a StreamId,
    ) -> BoxFuture<'a, Result<Version, StoreError>> {
        Box::pin(self.stream_version(stream_id))
    }

    fn read_all_boxed<'a>(
        &'a self,
        from: Position,
        filter: &'a EventFilter,
        limit: usize,
    ) -> BoxFuture<'a, Result<AllBatch, StoreError>> {
        Box::pin(self.read_all(from, filter, limit))
    }

    fn head_position_boxed(&self) -> BoxFuture<'_, Result<Position, StoreError>> {
        Box::pin(self.head_position())
    }

    fn wait_for_append_boxed(&self, after: Position) -> BoxFuture<'_, ()> {
        Box::pin(self.wait_for_append(after))
    }

    fn find_event_boxed<'a>(
        &'a self,
        stream_id: &'a StreamId,
        event_id: Uuid,
    ) -> BoxFuture<'a, Result<Option<RecordedEvent>, StoreError>> {
        Box::pin(self.find_event(stream_id, event_id))
    }
}

impl<'s> EventStore for dyn DynEventStore + 's {
    async fn append(
        &self,
        stream_id: &StreamId,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
    ) -> Result<AppendResult, StoreError> {
        self.append_boxed(stream_id, expected, events).await
    }

    async fn read_stream(
        &self,
        stream_id: &StreamId,
        from: Version,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        self.read_stream_boxed(stream_id, from, limit).await
    }

    async fn stream_version(&self, stream_id: &StreamId) -> Result<Version, StoreError> {
        self.stream_version_boxed(stream_id).await
    }

    async fn read_all(
        &self,
        from: Position,
        filter: &EventFilter,
        limit: usize,
    ) -> Result<AllBatch, StoreError> {
        self.read_all_boxed(from, filter, limit).await
    }

    async fn head_position(&self) -> Result<Position, StoreError> {
        self.head_position_boxed().await
    }

    async fn wait_for_append(&self, after: Position) {
        self.wait_for_append_boxed(after).await
    }

    async fn find_event(
        &self,
        stream_id: &StreamId,
        event_id: Uuid,
    ) -> Result<Option<RecordedEvent>, StoreError> {
        self.find_event_boxed(stream_id, event_id).await
    }
}
