//! Publishing an integration event: appending it to the publisher's own topic stream
//! (`<topic>-<key>`), from where every service's bus reads it in log order.
//!
//! There is no broker: the bus follows the store's log, so an event is "sent" once it is
//! committed, and a subscriber that was down reads it when it comes back.

use std::fmt::Display;

use eventful_core::repository::{AppendError, append_events};
use eventful_core::{
    CommandContext, Event, EventStore, ExpectedVersion, NameError, Position, StreamId, TypeName,
    Uuid, Version,
};

/// Why events could not be published; nothing was appended.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PublishError {
    /// The topic and key do not make a valid stream id.
    #[error("cannot publish on topic `{topic}` with key `{key}`: {source}")]
    InvalidStream {
        /// The topic.
        topic: TypeName,
        /// The key.
        key: String,
        /// What is wrong with the stream id.
        #[source]
        source: NameError,
    },
    /// An event could not be serialized, or the store refused or failed the append.
    #[error(transparent)]
    Append(#[from] AppendError),
}

/// What a publication appended.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Published {
    /// The topic stream.
    pub stream_id: StreamId,
    /// The ids of the events, in order.
    pub event_ids: Vec<Uuid>,
    /// The stream's version after the last of them.
    pub last_version: Version,
    /// The position of the first of them in the store.
    pub first_position: Position,
    /// They had been published before under the same idempotency key; nothing new was
    /// appended.
    pub already_published: bool,
}

/// Publishes events of one topic.
///
/// ```
/// use eventful_core::{CommandContext, EventStore, TypeName};
/// use eventful_examples::ids::PlayerId;
/// use eventful_examples::integration::AchievementUnlockedEvent;
/// use eventful_examples::publish::Publisher;
/// use eventful_store_memory::MemoryStore;
///
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let store = MemoryStore::new();
/// let achievements = Publisher::new(store.clone(), TypeName::from_static("achievements"));
/// let unlocked = AchievementUnlockedEvent { player_id: PlayerId(7), achievement_id: "first_win".into() };
/// let published = achievements.publish(&PlayerId(7), &[unlocked], &CommandContext::default()).await?;
/// assert_eq!(published.stream_id.as_str(), "achievements-7");
/// # Ok(()) }
/// # tokio::runtime::Runtime::new().unwrap().block_on(demo()).unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct Publisher<S> {
    store: S,
    topic: TypeName,
}

impl<S: EventStore> Publisher<S> {
    /// A publisher of `topic` on `store`; `topic` is also the events' aggregate type.
    pub fn new(store: S, topic: TypeName) -> Self {
        Self { store, topic }
    }

    /// The topic.
    pub fn topic(&self) -> &TypeName {
        &self.topic
    }

    /// Appends `events`, all or none, to stream `<topic>-<key>` with `context`'s correlation
    /// and causation.
    ///
    /// With an idempotency key in `context` (a policy's [`Reaction::command_context`]), the
    /// events' ids derive from it, so publishing again for the same trigger appends nothing.
    ///
    /// [`Reaction::command_context`]: eventful_core::Reaction::command_context
    pub async fn publish<E: Event + Clone>(
        &self,
        key: &impl Display,
        events: &[E],
        context: &CommandContext,
    ) -> Result<Published, PublishError> {
        let stream_id = StreamId::for_aggregate(self.topic.as_str(), key).map_err(|source| {
            PublishError::InvalidStream {
                topic: self.topic.clone(),
                key: key.to_string(),
                source,
            }
        })?;
        let committed = append_events(
            &self.store,
            &stream_id,
            &self.topic,
            ExpectedVersion::Any,
            events.to_vec(),
            context,
        )
        .await?;
        let first_position = committed
            .events
            .first()
            .map_or(Position::START, |event| event.position);
        let event_ids = committed
            .events
            .iter()
            .map(|event| event.event_id)
            .collect();
        Ok(Published {
            stream_id,
            event_ids,
            last_version: committed.version,
            first_position,
            already_published: committed.already_applied,
        })
    }
}
