//! [`EventHandler`]: one named consumer of the log, the unit the [`EventBus`](crate::EventBus)
//! runs. Typed closures, projections and policies all become handlers.

use std::future::Future;
use std::marker::PhantomData;
use std::sync::Arc;

use async_trait::async_trait;

use crate::bus::HandlerSettings;
use crate::envelope::RecordedEvent;
use crate::event::Event;
use crate::names::{NameError, TypeName};
use crate::store::EventFilter;
use crate::upcast::{BoxError, Upcasters};

/// A named consumer of recorded events.
///
/// Its name keys its progress, so it must be unique on a bus and stable across restarts (and
/// the same in every instance of a service).
/// Delivery is at least once: after a crash, the events since the last saved checkpoint are
/// delivered again, so a handler either is idempotent or remembers `event.position`.
///
/// ```
/// use async_trait::async_trait;
/// use eventful_core::{BoxError, EventFilter, EventHandler, RecordedEvent, Upcasters};
///
/// struct Audit;
///
/// #[async_trait]
/// impl EventHandler for Audit {
///     fn name(&self) -> &str { "audit" }
///     fn filter(&self) -> EventFilter { EventFilter::all() }
///     async fn handle(&self, event: &RecordedEvent, _: &Upcasters) -> Result<(), BoxError> {
///         println!("{} {}@{}", event.event_type, event.stream_id, event.version);
///         Ok(())
///     }
/// }
/// ```
#[async_trait]
pub trait EventHandler: Send + Sync + 'static {
    /// Unique, stable name: the checkpoint key.
    fn name(&self) -> &str;

    /// Which events it receives.
    fn filter(&self) -> EventFilter;

    /// Handles one event. An error is retried; then, as the handler's
    /// [`OnFailure`](crate::bus::OnFailure) says, it stops this handler at this event (its
    /// checkpoint stays before it, and the error is reported to whoever waits on the bus), or
    /// the event is parked and the handler goes on.
    async fn handle(&self, event: &RecordedEvent, upcasters: &Upcasters) -> Result<(), BoxError>;

    /// Called before the handler is fed again from the start of the log: clear what was built.
    /// [`RunningBus::rebuild`](crate::RunningBus::rebuild) calls it, and so does
    /// [`RunningBus::restart`](crate::RunningBus::restart) for a volatile handler. The default
    /// does nothing, for handlers with nothing to rebuild.
    async fn reset(&self) -> Result<(), BoxError> {
        Ok(())
    }

    /// How the bus runs it unless told otherwise ([`EventBus::configure`](crate::EventBus::configure)):
    /// by default durable progress in one segment, stopping on an event it keeps failing on.
    /// Projections default to volatile progress, policies to parking what they cannot handle.
    fn settings(&self) -> HandlerSettings {
        HandlerSettings::durable()
    }
}

/// The filter that passes exactly the event types of `E`.
pub fn filter_for<E: Event>() -> EventFilter {
    EventFilter::all().with_event_types(E::EVENT_TYPES.iter().map(|t| t.name.clone()))
}

/// A handler made of a closure over decoded events of type `E`: what
/// [`EventBus::subscribe`](crate::EventBus::subscribe) runs, and what a bridge from a broker
/// can make of the same closure. Its filter passes exactly `E`'s event types; each event is
/// upcast and decoded before the closure sees it.
///
/// ```
/// use eventful_core::handler::TypedHandler;
/// use eventful_core::{BoxError, Event, EventHandler, RecordedEvent};
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Event, Serialize, Deserialize, Debug, Clone)]
/// enum PlayerEvent {
///     XpGained { amount: u64 },
/// }
///
/// let handler = TypedHandler::new("log_xp", |event: RecordedEvent<PlayerEvent>| async move {
///     println!("{}: {:?}", event.stream_id, event.payload);
///     Ok::<(), BoxError>(())
/// });
/// assert_eq!(handler.name(), "log_xp");
/// assert_eq!(handler.filter(), eventful_core::handler::filter_for::<PlayerEvent>());
/// ```
pub struct TypedHandler<E, F> {
    name: String,
    f: F,
    event: PhantomData<fn() -> E>,
}

impl<E, F> TypedHandler<E, F> {
    /// A handler named `name` (its progress's key) that calls `f` with each event of `E`.
    pub fn new(name: impl Into<String>, f: F) -> Self {
        Self {
            name: name.into(),
            f,
            event: PhantomData,
        }
    }
}

#[async_trait]
impl<E, F, Fut> EventHandler for TypedHandler<E, F>
where
    E: Event,
    F: Fn(RecordedEvent<E>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), BoxError>> + Send,
{
    fn name(&self) -> &str {
        &self.name
    }

    fn filter(&self) -> EventFilter {
        filter_for::<E>()
    }

    async fn handle(&self, event: &RecordedEvent, upcasters: &Upcasters) -> Result<(), BoxError> {
        let decoded = upcasters.decode_recorded::<E>(event.clone())?;
        (self.f)(decoded).await
    }
}

/// A handler made of a closure over events of some stored type names, as they were stored
/// (no Rust type needed, nothing decoded): what
/// [`EventBus::subscribe_named`](crate::EventBus::subscribe_named) runs.
///
/// ```
/// use eventful_core::handler::NamedHandler;
/// use eventful_core::{BoxError, EventHandler, RecordedEvent, TypeName};
///
/// let handler = NamedHandler::new(
///     "log_sessions",
///     vec![TypeName::from_static("session_ended")],
///     |event: RecordedEvent| async move {
///         println!("{} ended", event.stream_id);
///         Ok::<(), BoxError>(())
///     },
/// );
/// assert_eq!(handler.name(), "log_sessions");
/// ```
pub struct NamedHandler<F> {
    name: String,
    event_types: Vec<TypeName>,
    f: F,
}

impl<F> NamedHandler<F> {
    /// A handler named `name` (its progress's key) that calls `f` with each event of one of
    /// `event_types`.
    pub fn new(name: impl Into<String>, event_types: Vec<TypeName>, f: F) -> Self {
        Self {
            name: name.into(),
            event_types,
            f,
        }
    }

    /// A handler of the names in `event_types` that are valid type names, and the errors of
    /// those that are not (for a builder to report when it starts).
    ///
    /// ```
    /// use eventful_core::handler::NamedHandler;
    /// use eventful_core::{BoxError, EventHandler, RecordedEvent};
    ///
    /// let (handler, invalid) = NamedHandler::parsed("log", ["session_ended", ""], |_: RecordedEvent| async {
    ///     Ok::<(), BoxError>(())
    /// });
    /// assert_eq!(handler.filter().event_types.len(), 1);
    /// assert_eq!(invalid.len(), 1, "an empty name is not a type name");
    /// ```
    pub fn parsed(
        name: impl Into<String>,
        event_types: impl IntoIterator<Item = impl AsRef<str>>,
        f: F,
    ) -> (Self, Vec<NameError>) {
        let mut types = Vec::new();
        let mut invalid = Vec::new();
        for event_type in event_types {
            match TypeName::new(event_type.as_ref()) {
                Ok(event_type) => types.push(event_type),
                Err(error) => invalid.push(error),
            }
        }
        (Self::new(name, types, f), invalid)
    }
}

#[async_trait]
impl<F, Fut> EventHandler for NamedHandler<F>
where
    F: Fn(RecordedEvent) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), BoxError>> + Send,
{
    fn name(&self) -> &str {
        &self.name
    }

    fn filter(&self) -> EventFilter {
        EventFilter::all().with_event_types(self.event_types.iter().cloned())
    }

    async fn handle(&self, event: &RecordedEvent, _: &Upcasters) -> Result<(), BoxError> {
        (self.f)(event.clone()).await
    }
}

#[async_trait]
impl<H: EventHandler + ?Sized> EventHandler for Arc<H> {
    fn name(&self) -> &str {
        (**self).name()
    }

    fn filter(&self) -> EventFilter {
        (**self).filter()
    }

    async fn handle(&self, event: &RecordedEvent, upcasters: &Upcasters) -> Result<(), BoxError> {
        (**self).handle(event, upcasters).await
    }

    async fn reset(&self) -> Result<(), BoxError> {
        (**self).reset().await
    }

    fn settings(&self) -> HandlerSettings {
        (**self).settings()
    }
}
