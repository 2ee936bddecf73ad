//! [`Projection`]: a named read model fed from the log, and [`rebuild`] to build one again
//! from the first event.

use async_trait::async_trait;
use futures::TryStreamExt;

use crate::bus::HandlerSettings;
use crate::envelope::{Position, RecordedEvent};
use crate::event::Event;
use crate::handler::{EventHandler, filter_for};
use crate::store::{EventFilter, EventStore};
use crate::streams::EventStoreExt;
use crate::upcast::{BoxError, Upcasters};

/// A read model built from events of type `Self::Event`: a leaderboard, the list of active
/// sessions, a player's match history.
///
/// Its state lives behind `&self` (a lock, a database), so queries read it while the bus
/// feeds it. Register it with [`EventBus::projection`](crate::EventBus::projection); build it
/// again from the log with [`rebuild`].
///
/// ```
/// use std::collections::BTreeMap;
/// use async_trait::async_trait;
/// use parking_lot::Mutex;
/// use eventful_core::{BoxError, Projection, RecordedEvent};
/// # use eventful_core::{Event, EventType, Payload, PayloadError, DecodeFailure};
/// # #[derive(serde::Serialize, serde::Deserialize, Debug)]
/// # pub enum PlayerEvent { XpGained { amount: u64 } }
/// # impl Event for PlayerEvent {
/// #     const EVENT_TYPES: &'static [EventType] = &[EventType::new("xp_gained", 1)];
/// #     fn event_type(&self) -> &'static EventType { &Self::EVENT_TYPES[0] }
/// #     fn encode(&self) -> Result<Payload, PayloadError> { Payload::encode_variant_content(self) }
/// #     fn decode(_: &str, p: &Payload) -> Result<Self, DecodeFailure> { Ok(p.decode_variant(0)?) }
/// # }
///
/// #[derive(Default)]
/// struct XpTotals(Mutex<BTreeMap<String, u64>>);
///
/// #[async_trait]
/// impl Projection for XpTotals {
///     type Event = PlayerEvent;
///     fn name(&self) -> &str { "xp_totals" }
///     async fn apply(&self, event: &RecordedEvent<PlayerEvent>) -> Result<(), BoxError> {
///         let PlayerEvent::XpGained { amount } = event.payload;
///         *self.0.lock().entry(event.stream_id.to_string()).or_default() += amount;
///         Ok(())
///     }
///     async fn reset(&self) -> Result<(), BoxError> {
///         self.0.lock().clear();
///         Ok(())
///     }
/// }
/// ```
#[async_trait]
pub trait Projection: Send + Sync + 'static {
    /// The events it reads; others are not delivered.
    type Event: Event;

    /// Unique, stable name: the checkpoint key.
    fn name(&self) -> &str;

    /// Folds one event into the read model.
    async fn apply(&self, event: &RecordedEvent<Self::Event>) -> Result<(), BoxError>;

    /// Clears the read model, before it is built again from the first event (a rebuild, or a
    /// restart of a projection with volatile progress).
    async fn reset(&self) -> Result<(), BoxError>;
}

/// A shared projection is a projection: register `Arc<P>` and keep a clone to query it.
#[async_trait]
impl<P: Projection> Projection for std::sync::Arc<P> {
    type Event = P::Event;

    fn name(&self) -> &str {
        (**self).name()
    }

    async fn apply(&self, event: &RecordedEvent<Self::Event>) -> Result<(), BoxError> {
        (**self).apply(event).await
    }

    async fn reset(&self) -> Result<(), BoxError> {
        (**self).reset().await
    }
}

/// Runs a [`Projection`] as an [`EventHandler`].
pub(crate) struct ProjectionHandler<P>(pub(crate) P);

#[async_trait]
impl<P: Projection> EventHandler for ProjectionHandler<P> {
    fn name(&self) -> &str {
        self.0.name()
    }

    fn filter(&self) -> EventFilter {
        filter_for::<P::Event>()
    }

    async fn handle(&self, event: &RecordedEvent, upcasters: &Upcasters) -> Result<(), BoxError> {
        let decoded = upcasters.decode_recorded::<P::Event>(event.clone())?;
        self.0.apply(&decoded).await
    }

    async fn reset(&self) -> Result<(), BoxError> {
        self.0.reset().await
    }

    /// A read model is most often kept in memory, empty at every start: volatile progress,
    /// so that it is rebuilt from the first event rather than resumed from a checkpoint that
    /// outlived it. Give a durable read model durable progress with
    /// [`EventBus::configure`](crate::EventBus::configure).
    fn settings(&self) -> HandlerSettings {
        HandlerSettings::volatile()
    }
}

/// Clears `projection` and feeds it every event of its types from the first one to the
/// current end of the log. Returns the position it reached.
///
/// It keeps no checkpoint: use it to build a second copy of a read model (to compare, or to
/// swap in), or on a projection that is not running on a bus.
pub async fn rebuild<S, P>(
    store: &S,
    upcasters: &Upcasters,
    projection: &P,
) -> Result<Position, RebuildError>
where
    S: EventStore + Clone + 'static,
    P: Projection,
{
    let name = || projection.name().to_owned();
    projection
        .reset()
        .await
        .map_err(|source| RebuildError::Reset {
            projection: name(),
            source,
        })?;
    let mut events = store.read_all_events(Position::START, filter_for::<P::Event>());
    let mut reached = Position::START;
    while let Some(event) = events.try_next().await? {
        reached = event.position;
        let decoded = upcasters.decode_recorded::<P::Event>(event)?;
        projection
            .apply(&decoded)
            .await
            .map_err(|source| RebuildError::Apply {
                projection: name(),
                position: reached,
                source,
            })?;
    }
    Ok(reached)
}

/// Why [`rebuild`] stopped. An `Error`, so `?` turns it into the `Box<dyn Error>` of a test or
/// a `main`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RebuildError {
    /// The projection could not clear what it had built.
    #[error("projection `{projection}` could not reset: {source}")]
    Reset {
        /// The projection's name.
        projection: String,
        /// Its error.
        #[source]
        source: BoxError,
    },
    /// The projection failed on an event.
    #[error("projection `{projection}` failed on the event at position {position}: {source}")]
    Apply {
        /// The projection's name.
        projection: String,
        /// The event's position.
        position: Position,
        /// Its error.
        #[source]
        source: BoxError,
    },
    /// A stored event no longer decodes.
    #[error("{0}")]
    Decode(#[from] crate::event::DecodeError),
    /// The store failed.
    #[error("{0}")]
    Store(#[from] crate::store::StoreError),
}
