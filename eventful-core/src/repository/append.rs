//! [`append_events`]: typed events into a stream under a [`CommandContext`], the one path by
//! which the repository and any other writer (an integration-event publisher, an importer)
//! turn domain events into stored ones.

use chrono::{DateTime, Utc};
use tracing::Instrument;

use super::context::{CommandContext, Committed};
use crate::envelope::{ExpectedVersion, NewEvent, Position, RecordedEvent, Version};
use crate::event::Event;
use crate::names::{StreamId, TypeName};
use crate::payload::{PayloadError, PayloadFormat};
use crate::store::{AppendResult, EventStore, StoreError};
use crate::telemetry::{EVENTS_APPENDED_TOTAL, spans};

/// Why [`append_events`] appended nothing.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AppendError {
    /// An event could not be serialized; nothing was appended.
    #[error("{0}")]
    Encode(#[from] EncodeError),
    /// The store refused or failed the append.
    #[error("{0}")]
    Store(#[from] StoreError),
}

/// An event that could not be serialized, and where it was going.
#[derive(Debug, thiserror::Error)]
#[error("cannot serialize event `{event_type}` for stream `{stream_id}`: {source}")]
#[non_exhaustive]
pub struct EncodeError {
    /// The stream appended to.
    pub stream_id: StreamId,
    /// The event's type.
    pub event_type: TypeName,
    /// The serializer's error.
    #[source]
    pub source: PayloadError,
}

/// Appends typed `events` to `stream_id`, all or none, as events of `aggregate_type`.
///
/// The events are written in the store's [`EventStore::payload_format`]. Each event gets
/// `context`'s metadata (correlation, causation, entries) and an id derived
/// from `context`'s idempotency key when it has one (the same key, stream and index always give
/// the same id, so running the same append again stores nothing new and reports
/// `already_applied`), a fresh time-ordered id otherwise. The store checks `expected`.
///
/// With `already_applied`, the returned events are those given, at the versions and positions
/// where the earlier append stored them; re-read them from the store if what was decided then
/// may differ from what was decided now.
///
/// The append runs in an `append` span, and the events it stores are counted in
/// [`EVENTS_APPENDED_TOTAL`] `{aggregate}`.
///
/// ```
/// use eventful_core::repository::append_events;
/// use eventful_core::{CommandContext, Event, ExpectedVersion, StreamId, TypeName, Uuid};
/// use eventful_store_memory::MemoryStore;
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
/// enum LeaderboardEvent {
///     ScoreSubmitted { player_id: u64, score: u32 },
/// }
///
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let store = MemoryStore::new();
/// let stream = StreamId::new("leaderboard-weekly")?;
/// let context = CommandContext::default().with_idempotency_key(Uuid::new_v4());
/// let events = vec![LeaderboardEvent::ScoreSubmitted { player_id: 7, score: 1_200 }];
/// let topic = TypeName::from_static("leaderboard");
/// let first = append_events(&store, &stream, &topic, ExpectedVersion::Any, events.clone(), &context).await?;
/// let again = append_events(&store, &stream, &topic, ExpectedVersion::Any, events, &context).await?;
/// assert!(!first.already_applied && again.already_applied);
/// assert_eq!(again.events[0].position, first.events[0].position);
/// # Ok(()) }
/// # tokio::runtime::Runtime::new().unwrap().block_on(demo()).unwrap();
/// ```
pub async fn append_events<E: Event>(
    store: &impl EventStore,
    stream_id: &StreamId,
    aggregate_type: &TypeName,
    expected: ExpectedVersion,
    events: Vec<E>,
    context: &CommandContext,
) -> Result<Committed<E>, AppendError> {
    let committed =
        append_traced(store, stream_id, aggregate_type, expected, events, context).await?;
    if !committed.already_applied {
        // A direct caller keeps no handle (the repository does): the name is shared into the
        // label, not copied.
        metrics::counter!(EVENTS_APPENDED_TOTAL, "aggregate" => aggregate_type.label())
            .increment(committed.events.len() as u64);
    }
    Ok(committed)
}

/// [`append_events`] in its `append` span, without counting: the repository counts with the
/// handle it keeps.
pub(super) async fn append_traced<E: Event>(
    store: &impl EventStore,
    stream_id: &StreamId,
    aggregate_type: &TypeName,
    expected: ExpectedVersion,
    events: Vec<E>,
    context: &CommandContext,
) -> Result<Committed<E>, AppendError> {
    let span = spans::append(stream_id, aggregate_type, expected, events.len(), context);
    let traced = !span.is_disabled();
    let format = store.payload_format();
    let encode = || encode(stream_id, aggregate_type, events, context, format);
    let encoded = if traced {
        span.in_scope(encode)
    } else {
        encode()
    };
    // Only the store's future is awaited, in place when the span is off (as for the command
    // around it): one future less nested in the command's, which is moved at every level.
    let appended = match encoded {
        Ok((new_events, pending)) => {
            let stored = if traced {
                store
                    .append(stream_id, expected, new_events.as_slice())
                    .instrument(span.clone())
                    .await
            } else {
                store
                    .append(stream_id, expected, new_events.as_slice())
                    .await
            };
            stored
                .map(|result| stamp(stream_id, pending, &result))
                .map_err(AppendError::Store)
        }
        Err(error) => Err(error),
    };
    let outcome = match &appended {
        Ok(committed) => {
            spans::record(&span, "version", committed.version.get());
            if let Some(first) = committed.events.first() {
                spans::record(&span, "first_position", first.position.get());
            }
            if committed.already_applied {
                "already_stored"
            } else {
                "ok"
            }
        }
        Err(AppendError::Store(StoreError::Conflict { .. })) => "conflict",
        Err(AppendError::Store(StoreError::DuplicateEvent { .. })) => "duplicate",
        Err(_) => "failed",
    };
    spans::record(&span, "outcome", outcome);
    appended
}

/// What a command appends: most commands decide one event, which is kept in place rather
/// than in a vector of its own (an allocation and its free were a twentieth of a command's
/// instructions).
enum NewEvents {
    One(NewEvent),
    Many(Vec<NewEvent>),
}

impl NewEvents {
    fn as_slice(&self) -> &[NewEvent] {
        match self {
            Self::One(event) => std::slice::from_ref(event),
            Self::Many(events) => events,
        }
    }
}

/// Serializes events in the store's `format` into what the store appends, and keeps them as
/// the caller gets them back once the store has given them versions, positions and a time.
fn encode<E: Event>(
    stream_id: &StreamId,
    aggregate_type: &TypeName,
    events: Vec<E>,
    context: &CommandContext,
    format: PayloadFormat,
) -> Result<(NewEvents, Vec<RecordedEvent<E>>), AppendError> {
    let header = Header {
        stream_id,
        aggregate_type,
        context,
    };
    let count = events.len();
    let mut pending = Vec::with_capacity(count);
    let mut events = events.into_iter();
    if count == 1
        && let Some(event) = events.next()
    {
        let new_event = header.new_event(0, &event, format)?;
        pending.push(header.pending(&new_event, event));
        return Ok((NewEvents::One(new_event), pending));
    }
    let mut new_events = Vec::with_capacity(count);
    for (index, event) in events.enumerate() {
        let new_event = header.new_event(index, &event, format)?;
        pending.push(header.pending(&new_event, event));
        new_events.push(new_event);
    }
    Ok((NewEvents::Many(new_events), pending))
}

/// What every event of one append shares. Its builders are inlined into both of `encode`'s
/// paths, so that an event is built where it is kept: built in a closure and returned, each
/// was moved twice more (more instructions than the allocation saved).
struct Header<'a> {
    stream_id: &'a StreamId,
    aggregate_type: &'a TypeName,
    context: &'a CommandContext,
}

impl Header<'_> {
    /// The `index`th event of the append, serialized.
    #[inline(always)]
    fn new_event<E: Event>(
        &self,
        index: usize,
        event: &E,
        format: PayloadFormat,
    ) -> Result<NewEvent, AppendError> {
        let event_type = event.event_type();
        let payload = event.encode_as(format).map_err(|source| EncodeError {
            stream_id: self.stream_id.clone(),
            event_type: event_type.name.clone(),
            source,
        })?;
        Ok(NewEvent {
            event_id: self.context.event_id(self.stream_id, index),
            aggregate_type: self.aggregate_type.clone(),
            event_type: event_type.name.clone(),
            schema_version: event_type.schema_version,
            metadata: self.context.metadata.clone(),
            payload,
        })
    }

    /// `event` as the caller gets it back, once the store stamps it.
    #[inline(always)]
    fn pending<E>(&self, new_event: &NewEvent, event: E) -> RecordedEvent<E> {
        RecordedEvent {
            event_id: new_event.event_id,
            stream_id: self.stream_id.clone(),
            aggregate_type: self.aggregate_type.clone(),
            event_type: new_event.event_type.clone(),
            schema_version: new_event.schema_version,
            version: Version::NONE,
            position: Position::START,
            recorded_at: DateTime::<Utc>::UNIX_EPOCH,
            metadata: self.context.metadata.clone(),
            payload: event,
        }
    }
}

/// The pending events with what the store assigned them.
fn stamp<E>(
    stream_id: &StreamId,
    mut events: Vec<RecordedEvent<E>>,
    result: &AppendResult,
) -> Committed<E> {
    let count = events.len() as u64;
    let first_version = (result.last_version.get() + 1).saturating_sub(count);
    for (offset, event) in (0u64..).zip(events.iter_mut()) {
        event.version = Version::new(first_version + offset);
        event.position = Position::new(result.first_position.get() + offset);
        event.recorded_at = result.recorded_at;
    }
    Committed {
        stream_id: stream_id.clone(),
        version: result.last_version,
        events,
        already_applied: result.already_stored,
    }
}
