//! A [`Policy`] made an [`EventHandler`] for events that come from the broker. (Closures,
//! typed or by stored name, are core's [`TypedHandler`](eventful_core::handler::TypedHandler)
//! and [`NamedHandler`](eventful_core::handler::NamedHandler), as on the bus.)

use async_trait::async_trait;
use eventful_core::handler::filter_for;
use eventful_core::{
    BoxError, EventFilter, EventHandler, Policy, Reaction, RecordedEvent, Upcasters,
};

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
