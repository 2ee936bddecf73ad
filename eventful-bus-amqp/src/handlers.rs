//! The shapes a consumer's handlers come in, each made an [`EventHandler`]: a closure over
//! decoded events of one Rust type, a closure over events by stored type name, a [`Policy`].
//! They are what the bus makes of the same things, for events that come from the broker.

use std::future::Future;
use std::marker::PhantomData;

use async_trait::async_trait;
use eventful_core::handler::filter_for;
use eventful_core::{
    BoxError, Event, EventFilter, EventHandler, Policy, Reaction, RecordedEvent, TypeName,
    Upcasters,
};

/// A closure over decoded events of type `E`.
pub(crate) struct Typed<E, F> {
    name: String,
    f: F,
    event: PhantomData<fn() -> E>,
}

impl<E, F> Typed<E, F> {
    pub(crate) fn new(name: String, f: F) -> Self {
        Self {
            name,
            f,
            event: PhantomData,
        }
    }
}

#[async_trait]
impl<E, F, Fut> EventHandler for Typed<E, F>
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

/// A closure over events of some stored type names, as they came.
pub(crate) struct Named<F> {
    name: String,
    event_types: Vec<TypeName>,
    f: F,
}

impl<F> Named<F> {
    pub(crate) fn new(name: String, event_types: Vec<TypeName>, f: F) -> Self {
        Self {
            name,
            event_types,
            f,
        }
    }
}

#[async_trait]
impl<F, Fut> EventHandler for Named<F>
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

/// A policy, reacting to events from the broker with the sender's correlation id and the
/// event's id as causation, and idempotency keys derived from the event's id: a redelivered
/// message sends the same keyed commands, which record nothing the second time.
pub(crate) struct PolicyHandler<P>(pub(crate) P);

#[async_trait]
impl<P: Policy> EventHandler for PolicyHandler<P> {
    fn name(&self) -> &str {
        self.0.name()
    }

    fn filter(&self) -> EventFilter {
        filter_for::<P::Event>()
    }

    async fn handle(&self, event: &RecordedEvent, upcasters: &Upcasters) -> Result<(), BoxError> {
        let decoded = upcasters.decode_recorded::<P::Event>(event.clone())?;
        let reaction = Reaction::new(self.0.name(), &decoded);
        self.0.react(&decoded, &reaction).await
    }
}
