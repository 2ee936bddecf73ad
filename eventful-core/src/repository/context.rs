//! What goes into a command besides the command ([`CommandContext`]) and what comes out of it
//! ([`Committed`], [`Loaded`]).

use uuid::Uuid;

use crate::envelope::{Metadata, RecordedEvent, Version};
use crate::names::StreamId;

/// Correlation, causation, free-form metadata and an idempotency key for one command.
///
/// ```
/// use eventful_core::CommandContext;
/// use uuid::Uuid;
///
/// let request_id = Uuid::new_v4();
/// let context = CommandContext::default()
///     .with_correlation_id(request_id)
///     .with_entry("client", "android-3.1")
///     .with_idempotency_key(request_id);
/// assert_eq!(context.metadata.correlation_id, Some(request_id));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CommandContext {
    /// Copied to every event the command records.
    pub metadata: Metadata,
    /// When set, the events' ids are derived from it, so that running the command again with
    /// the same key (after a crash, a timeout, a redelivery) records nothing new and returns
    /// what the first run recorded.
    pub idempotency_key: Option<Uuid>,
}

impl CommandContext {
    /// The context of a command caused by `event`: same correlation id (the event's own id
    /// when it has none), causation id the event's id.
    pub fn caused_by<P>(event: &RecordedEvent<P>) -> Self {
        let correlation = event.metadata.correlation_id.unwrap_or(event.event_id);
        Self::default()
            .with_correlation_id(correlation)
            .with_causation_id(event.event_id)
    }

    /// Sets the correlation id.
    pub fn with_correlation_id(mut self, id: Uuid) -> Self {
        self.metadata.correlation_id = Some(id);
        self
    }

    /// Sets the causation id.
    pub fn with_causation_id(mut self, id: Uuid) -> Self {
        self.metadata.causation_id = Some(id);
        self
    }

    /// Adds a free-form metadata entry.
    pub fn with_entry(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.metadata.extra.insert(key.into(), value.into());
        self
    }

    /// Makes the command idempotent under `key`.
    pub fn with_idempotency_key(mut self, key: Uuid) -> Self {
        self.idempotency_key = Some(key);
        self
    }

    /// The id of the `index`-th event the command records in `stream_id`: derived from the
    /// idempotency key when there is one, fresh and time-ordered otherwise.
    pub(crate) fn event_id(&self, stream_id: &StreamId, index: usize) -> Uuid {
        match self.idempotency_key {
            Some(key) => derived_event_id(key, stream_id, index),
            None => crate::envelope::new_event_id(),
        }
    }
}

pub(crate) fn derived_event_id(key: Uuid, stream_id: &StreamId, index: usize) -> Uuid {
    Uuid::new_v5(&key, format!("{stream_id}#{index}").as_bytes())
}

/// What a command recorded.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Committed<E> {
    /// The aggregate's stream.
    pub stream_id: StreamId,
    /// The stream's version after the command (unchanged if it recorded nothing).
    pub version: Version,
    /// The events recorded, with their versions and positions.
    pub events: Vec<RecordedEvent<E>>,
    /// The command had already run under the same idempotency key: `events` are those it
    /// recorded then, and nothing new was written.
    pub already_applied: bool,
}

/// An aggregate's state with the stream version it reflects.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Loaded<A> {
    /// The aggregate's stream.
    pub stream_id: StreamId,
    /// The last event version folded into `state`; [`Version::NONE`] for a new aggregate.
    pub version: Version,
    /// The state.
    pub state: A,
}

impl<A: Default> Loaded<A> {
    pub(crate) fn empty(stream_id: StreamId) -> Self {
        Self {
            stream_id,
            version: Version::NONE,
            state: A::default(),
        }
    }
}

impl<A> super::cache::Versioned for Loaded<A> {
    fn version(&self) -> Version {
        self.version
    }
}
