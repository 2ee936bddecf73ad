//! [`Inbox`]: a consumer handler that records each received event in the receiving service's
//! own store, under the sender's event id, so that every handler of the service's bus — a
//! closure, a read model, a policy — sees it once in total, as it sees the service's own
//! events.
//!
//! Why this makes redelivery harmless: a store holds an event id at most once (DESIGN.md,
//! guarantee 10). A redelivered message, or the same message handled by two instances of the
//! service at once, appends an id the stream already holds; the store refuses to store it
//! again, and the inbox takes that refusal for what it is, a message received before. The
//! bus's handlers then follow the log with claimed progress, which hands each event to one
//! instance.

use async_trait::async_trait;
use eventful_core::{
    BoxError, Duplicate, Event, EventFilter, EventHandler, EventStore, ExpectedVersion, NewEvent,
    RecordedEvent, StoreError, TypeName, Upcasters,
};

/// The inbox's handler name, unless told otherwise.
pub const DEFAULT_INBOX_NAME: &str = "inbox";

/// Appends received events to `store`, each to the stream it came from (the sender's stream
/// id, with the receiver's own versions), keeping its id, types, schema version, correlation,
/// causation, metadata and payload. Add it to a [`Consumer`](crate::Consumer) with
/// [`Consumer::handler`](crate::Consumer::handler); the queue is bound to the types it
/// receives.
///
/// ```
/// use eventful_bus_amqp::Inbox;
/// use eventful_core::{EventHandler, TypeName};
/// use eventful_store_memory::MemoryStore;
///
/// let inbox = Inbox::new(MemoryStore::new()).receive_types([TypeName::from_static("game_completed")]);
/// assert_eq!(inbox.filter().event_types, [TypeName::from_static("game_completed")]);
/// ```
///
/// A service receives other services' aggregates, so the streams never mix with its own; an
/// event whose id the store holds in another stream is refused
/// ([`StoreError::DuplicateEvent`]) and dead-lettered.
#[derive(Debug, Clone)]
pub struct Inbox<S> {
    store: S,
    name: String,
    event_types: Vec<TypeName>,
}

impl<S: EventStore + 'static> Inbox<S> {
    /// An inbox on `store`, receiving nothing yet: name the types with
    /// [`receive`](Inbox::receive) or [`receive_types`](Inbox::receive_types).
    pub fn new(store: S) -> Self {
        Self {
            store,
            name: DEFAULT_INBOX_NAME.to_owned(),
            event_types: Vec::new(),
        }
    }

    /// Names it (two inboxes on one consumer need two names).
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Receives every event type of `E`.
    pub fn receive<E: Event>(mut self) -> Self {
        self.event_types.extend(
            E::EVENT_TYPES
                .iter()
                .map(|event_type| event_type.name.clone()),
        );
        self
    }

    /// Receives events stored under these type names.
    pub fn receive_types(mut self, event_types: impl IntoIterator<Item = TypeName>) -> Self {
        self.event_types.extend(event_types);
        self
    }

    /// Appends `event` unless the store holds it already.
    async fn record(&self, event: &RecordedEvent) -> Result<(), StoreError> {
        let received = NewEvent::new(
            event.aggregate_type.clone(),
            event.event_type.clone(),
            event.schema_version,
            event.payload.clone(),
        )
        .with_event_id(event.event_id)
        .with_metadata(event.metadata.clone());
        match self
            .store
            .append(&event.stream_id, ExpectedVersion::Any, &[received])
            .await
        {
            Ok(_) => Ok(()),
            Err(StoreError::DuplicateEvent {
                duplicate: Duplicate::Stored { stream_id, .. },
                ..
            }) if stream_id == event.stream_id => {
                tracing::debug!(event_id = %event.event_id, %stream_id, "received before; nothing to record");
                Ok(())
            }
            Err(error) => Err(error),
        }
    }
}

#[async_trait]
impl<S: EventStore + 'static> EventHandler for Inbox<S> {
    fn name(&self) -> &str {
        &self.name
    }

    fn filter(&self) -> EventFilter {
        EventFilter::all().with_event_types(self.event_types.iter().cloned())
    }

    async fn handle(&self, event: &RecordedEvent, _: &Upcasters) -> Result<(), BoxError> {
        Ok(self.record(event).await?)
    }
}

#[cfg(test)]
mod tests {
    use eventful_core::{Metadata, Payload, Position, StreamId, Version};
    use eventful_store_memory::MemoryStore;

    use super::*;

    fn received(stream: &str, version: u64) -> RecordedEvent {
        RecordedEvent {
            event_id: eventful_core::envelope::new_event_id(),
            stream_id: StreamId::new(stream).expect("stream"),
            aggregate_type: TypeName::from_static("game_results"),
            event_type: TypeName::from_static("game_completed"),
            schema_version: 1,
            version: Version::new(version),
            position: Position::new(version * 10),
            recorded_at: chrono::Utc::now(),
            metadata: Metadata::default().with_correlation_id(uuid::Uuid::new_v4()),
            payload: Payload::from_json_slice(br#"{"score":1}"#).expect("payload"),
        }
    }

    #[tokio::test]
    async fn a_redelivered_event_is_recorded_once_with_its_envelope() {
        let store = MemoryStore::new();
        let inbox = Inbox::new(store.clone());
        let first = received("game_results-1", 4);
        let second = received("game_results-1", 9);
        for event in [&first, &first, &second, &first] {
            inbox.record(event).await.expect("recorded");
        }
        let stream = store
            .read_stream(&first.stream_id, Version::new(1), 10)
            .await
            .expect("read");
        let ids: Vec<_> = stream.iter().map(|event| event.event_id).collect();
        assert_eq!(ids, [first.event_id, second.event_id]);
        assert_eq!(stream[0].metadata, first.metadata);
        assert_eq!(stream[0].payload, first.payload);
        assert_eq!(
            stream[0].version,
            Version::new(1),
            "the receiver's own versions"
        );
    }

    #[tokio::test]
    async fn an_id_stored_in_another_stream_is_refused() {
        let store = MemoryStore::new();
        let inbox = Inbox::new(store.clone());
        let event = received("game_results-1", 1);
        inbox.record(&event).await.expect("recorded");
        let mut elsewhere = event.clone();
        elsewhere.stream_id = StreamId::new("game_results-2").expect("stream");
        assert!(matches!(
            inbox.record(&elsewhere).await,
            Err(StoreError::DuplicateEvent { .. })
        ));
    }
}
