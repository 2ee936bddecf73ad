//! The [`EventStore`] trait that every store implements, what an append returns, how reads of
//! the whole log are filtered, and the [`StoreError`] every store speaks.
//!
//! A store implements a few batch-shaped primitives; the streaming reads and live
//! subscriptions built on them live in [`crate::streams`], written once for every store.

use std::fmt;
use std::future::Future;
use std::ops::ControlFlow;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::envelope::{EventRef, ExpectedVersion, NewEvent, Position, RecordedEvent, Version};
use crate::names::{StreamId, TypeName};
use crate::payload::PayloadFormat;
use crate::progress::Segment;
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
    /// An event id of the append is already stored somewhere the append would not put it, or
    /// appears twice in the append: a caller is reusing ids. Nothing of the append was
    /// written. (The same ids at the same versions of the same stream are a retry, and
    /// succeed with [`AppendResult::already_stored`].)
    #[error(
        "event {event_id} cannot be appended to stream `{stream_id}`: {duplicate}; nothing was written"
    )]
    DuplicateEvent {
        /// The stream appended to.
        stream_id: StreamId,
        /// The offending event id.
        event_id: Uuid,
        /// Where the id is already.
        duplicate: Duplicate,
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
        /// Which record.
        location: RecordLocation,
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
    /// Nothing was written.
    #[error("the event store is full: it holds at most {limit} {what}")]
    CapacityExceeded {
        /// What is counted (`"events"`).
        what: &'static str,
        /// How many it holds at most.
        limit: u64,
    },
    /// A snapshot of a version its stream has not reached (or of a stream that does not
    /// exist): loading from it would start the aggregate ahead of its events. Nothing was
    /// saved.
    #[error(
        "a snapshot of stream `{stream_id}` at version {version} is beyond the stream, which is \
         at version {stream_version}; nothing was saved"
    )]
    SnapshotBeyondStream {
        /// The snapshot's stream.
        stream_id: StreamId,
        /// The version the snapshot says it covers.
        version: Version,
        /// The stream's version ([`Version::NONE`]: no such stream).
        stream_version: Version,
    },
    /// A position saved past the head of the log: a handler resuming from it would skip every
    /// event until the log reached it. Nothing was saved.
    #[error(
        "`{name}` cannot be saved at position {position}, past the head of the log \
         ({head}); nothing was saved"
    )]
    PositionBeyondHead {
        /// The checkpoint's name, or the handler's.
        name: String,
        /// The position asked for.
        position: Position,
        /// The head of the log.
        head: Position,
    },
    /// A save of a handler's progress by an instance that no longer holds the segment's
    /// claim (its lease ran out and another instance took it). Nothing was saved; the
    /// instance stops working on the segment.
    #[error(
        "instance `{owner}` no longer holds segment {segment} of handler `{handler}`{}",
        holder.as_ref().map(|holder| format!(" (`{holder}` does)")).unwrap_or_default()
    )]
    ClaimLost {
        /// The handler.
        handler: String,
        /// The segment.
        segment: Segment,
        /// The instance that tried to save.
        owner: String,
        /// Who holds the claim now, if anyone.
        holder: Option<String>,
    },
    /// Any other failure of the backend.
    #[error("event store failure: {source}")]
    Backend {
        /// The underlying error.
        #[source]
        source: BoxError,
    },
}

/// Where an event id of a refused append already is ([`StoreError::DuplicateEvent`]).
///
/// ```
/// use eventful_core::{Duplicate, StreamId, Version};
///
/// let stored = Duplicate::Stored { stream_id: StreamId::new("player-1")?, version: Version::new(3) };
/// assert_eq!(stored.to_string(), "it is already stored in stream `player-1` at version 3");
/// # Ok::<(), eventful_core::NameError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Duplicate {
    /// The id appears twice in the append itself.
    InAppend,
    /// The id is stored in this stream at this version.
    Stored {
        /// The stream holding it (the one appended to, or another).
        stream_id: StreamId,
        /// Its version there.
        version: Version,
    },
}

impl fmt::Display for Duplicate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InAppend => f.write_str("the id appears twice in the append"),
            Self::Stored { stream_id, version } => {
                write!(
                    f,
                    "it is already stored in stream `{stream_id}` at version {version}"
                )
            }
        }
    }
}

/// Which stored record a [`StoreError::Corrupt`] is about.
///
/// ```
/// use eventful_core::{Position, RecordLocation};
///
/// assert_eq!(RecordLocation::Position(Position::new(9)).to_string(), "position 9");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RecordLocation {
    /// An event of a stream.
    Event {
        /// The stream.
        stream_id: StreamId,
        /// The event's version.
        version: Version,
    },
    /// The record at a global position.
    Position(Position),
    /// Somewhere in a stream, when the record itself cannot be told.
    Stream(StreamId),
    /// A record known only by the store's own key for it (a document `_id`).
    Key(String),
}

impl fmt::Display for RecordLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Event { stream_id, version } => {
                write!(f, "stream `{stream_id}` version {version}")
            }
            Self::Position(position) => write!(f, "position {position}"),
            Self::Stream(stream_id) => write!(f, "stream `{stream_id}`"),
            Self::Key(key) => write!(f, "key {key}"),
        }
    }
}

/// What [`EventStore::visit_stream`] hands each event to, as a trait object: it returns
/// [`ControlFlow::Break`] to stop the visit. [`DynEventStore::visit_stream_boxed`] takes one;
/// `visit_stream` itself takes any [`EventVisitor`], so that a store's loop can inline it.
pub type StreamVisitor<'v> = dyn FnMut(EventRef<'_>) -> ControlFlow<()> + Send + 'v;

/// Any function [`EventStore::visit_stream`] can hand events to: one of an [`EventRef`] that
/// returns [`ControlFlow::Break`] to stop the visit, a closure or a [`StreamVisitor`]. Every
/// such function is one; a store's `visit_stream` names the bound with it.
///
/// ```
/// use std::ops::ControlFlow;
///
/// use eventful_core::{EventRef, EventVisitor};
///
/// fn visit_none<F: EventVisitor + ?Sized>(_visit: &mut F) {}
///
/// let mut seen = 0;
/// visit_none(&mut |_event: EventRef<'_>| {
///     seen += 1;
///     ControlFlow::Continue(())
/// });
/// assert_eq!(seen, 0);
/// ```
pub trait EventVisitor: FnMut(EventRef<'_>) -> ControlFlow<()> + Send {}

impl<F: FnMut(EventRef<'_>) -> ControlFlow<()> + Send + ?Sized> EventVisitor for F {}

/// An append-only log of event streams with optimistic concurrency.
///
/// Every implementation keeps the guarantees of the design document, checked by the
/// conformance suite in `eventful_core::testing` (feature `testing`):
///
/// - an append is atomic: all its events become visible together or none does;
/// - the expected version is checked by the store, and a mismatch is [`StoreError::Conflict`];
/// - an event id is stored at most once in the store: appending events already stored at the
///   same versions of that stream (same ids, same order) writes nothing and reports
///   [`AppendResult::already_stored`], and the same ids anywhere else are
///   [`StoreError::DuplicateEvent`], nothing written;
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
    /// Appends `events` to `stream_id` if its version satisfies `expected`. The store copies
    /// what it keeps; the caller keeps its events (to retry, to log what failed).
    fn append(
        &self,
        stream_id: &StreamId,
        expected: ExpectedVersion,
        events: &[NewEvent],
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

    /// Hands up to `limit` events of `stream_id` from version `from` (inclusive), in order,
    /// to `visit`, borrowed where they are kept; stops after the first for which `visit`
    /// breaks. Returns how many it handed over. This is how a repository replays a stream.
    /// `visit` is generic (a closure, or a [`StreamVisitor`] trait object) so that a store's
    /// loop can inline it: called through a trait object, a replayed event cost about 20
    /// instructions more, 7% of its replay.
    ///
    /// The default reads them with [`EventStore::read_stream`]. A store that keeps events in
    /// memory can hand them in place, with nothing copied or counted per event (the memory
    /// store does, under its read lock: `visit` should be quick, and should not call the
    /// store).
    ///
    /// ```
    /// use std::ops::ControlFlow;
    /// use eventful_core::{EventStore, StreamId, Version};
    ///
    /// async fn bytes_in<S: EventStore>(store: &S, stream: &StreamId) -> Result<usize, eventful_core::StoreError> {
    ///     let mut total = 0;
    ///     store.visit_stream(stream, Version::new(1), 1_000, &mut |event| {
    ///         total += event.payload.as_bytes().len();
    ///         ControlFlow::Continue(())
    ///     }).await?;
    ///     Ok(total)
    /// }
    /// ```
    fn visit_stream<F: EventVisitor + ?Sized>(
        &self,
        stream_id: &StreamId,
        from: Version,
        limit: usize,
        visit: &mut F,
    ) -> impl Future<Output = Result<usize, StoreError>> + Send {
        async move {
            let events = self.read_stream(stream_id, from, limit).await?;
            let mut visited = 0;
            for event in &events {
                visited += 1;
                if visit(event.as_event_ref()).is_break() {
                    break;
                }
            }
            Ok(visited)
        }
    }

    /// The format new events are written in for this store: what a repository encodes the
    /// events it appends to it in. Every payload carries its own format, so the store reads
    /// back whatever it holds. JSON unless the store says otherwise (the memory store can
    /// keep postcard, `MemoryStore::with_payload_format`).
    ///
    /// ```
    /// use eventful_core::{EventStore, PayloadFormat};
    ///
    /// let store = eventful_store_memory::MemoryStore::new();
    /// assert_eq!(store.payload_format(), PayloadFormat::Json);
    /// ```
    fn payload_format(&self) -> PayloadFormat {
        PayloadFormat::Json
    }
}

crate::dyn_form::object_safe! {
    /// The object-safe form of [`EventStore`], for choosing a store at run time:
    /// `Arc<dyn DynEventStore>` is an [`EventStore`]. Every event store implements it; its
    /// methods box their futures, so generic code should prefer [`EventStore`].
    ///
    /// ```
    /// use eventful_core::{DynEventStore, EventStore, Position};
    /// use eventful_store_memory::MemoryStore;
    /// use std::sync::Arc;
    ///
    /// # async fn demo() -> Result<(), eventful_core::StoreError> {
    /// let store: Arc<dyn DynEventStore> = Arc::new(MemoryStore::new());
    /// assert_eq!(store.head_position().await?, Position::START);
    /// # Ok(()) }
    /// # tokio::runtime::Runtime::new().unwrap().block_on(demo()).unwrap();
    /// ```
    EventStore => DynEventStore {
        fn append(&self, stream_id: &StreamId, expected: ExpectedVersion, events: &[NewEvent])
            -> Result<AppendResult, StoreError> => append_boxed;
        fn read_stream(&self, stream_id: &StreamId, from: Version, limit: usize)
            -> Result<Vec<RecordedEvent>, StoreError> => read_stream_boxed;
        fn stream_version(&self, stream_id: &StreamId) -> Result<Version, StoreError>
            => stream_version_boxed;
        fn read_all(&self, from: Position, filter: &EventFilter, limit: usize)
            -> Result<AllBatch, StoreError> => read_all_boxed;
        fn head_position(&self) -> Result<Position, StoreError> => head_position_boxed;
        fn wait_for_append(&self, after: Position) -> () => wait_for_append_boxed;
        fn find_event(&self, stream_id: &StreamId, event_id: Uuid)
            -> Result<Option<RecordedEvent>, StoreError> => find_event_boxed;
        sync fn payload_format(&self) -> PayloadFormat => dyn_payload_format;
    }
    by_hand {
        dyn: {
            /// [`EventStore::visit_stream`], with its future boxed and its visitor a trait object.
            async fn visit_stream_boxed(
                &self,
                stream_id: &StreamId,
                from: Version,
                limit: usize,
                visit: &mut StreamVisitor<'_>,
            ) -> Result<usize, StoreError>;
        }
        for_store: {
            async fn visit_stream_boxed(
                &self,
                stream_id: &StreamId,
                from: Version,
                limit: usize,
                visit: &mut StreamVisitor<'_>,
            ) -> Result<usize, StoreError> {
                <S as EventStore>::visit_stream(self, stream_id, from, limit, visit).await
            }
        }
        for_dyn: {
            async fn visit_stream<F: EventVisitor + ?Sized>(
                &self,
                stream_id: &StreamId,
                from: Version,
                limit: usize,
                visit: &mut F,
            ) -> Result<usize, StoreError> {
                self.visit_stream_boxed(stream_id, from, limit, &mut |event| visit(event))
                    .await
            }
        }
        for_arc: {
            async fn visit_stream<F: EventVisitor + ?Sized>(
                &self,
                stream_id: &StreamId,
                from: Version,
                limit: usize,
                visit: &mut F,
            ) -> Result<usize, StoreError> {
                (**self).visit_stream(stream_id, from, limit, visit).await
            }
        }
    }
}
