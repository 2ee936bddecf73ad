//! [`Policy`]: a reaction to an event of one aggregate with commands on others (game
//! completed → award xp to each player), carrying correlation and causation along and safe to
//! run again on redelivery.

use std::sync::atomic::{AtomicU32, Ordering};

use async_trait::async_trait;
use uuid::Uuid;

use crate::bus::{HandlerSettings, OnFailure};
use crate::envelope::RecordedEvent;
use crate::event::Event;
use crate::handler::{EventHandler, filter_for};
use crate::repository::CommandContext;
use crate::store::EventFilter;
use crate::upcast::{BoxError, Upcasters};

/// Reacts to events of type `Self::Event` by running commands.
///
/// Every command it runs should use a context from [`Reaction::command_context`]: it carries
/// the triggering event's correlation id, sets the causation id to the event's id, and makes
/// the command idempotent, so that a redelivered event (after a crash between the command and
/// the checkpoint) records nothing twice. For that, issue the same commands in the same order
/// for the same event.
///
/// ```
/// use std::sync::Arc;
/// use async_trait::async_trait;
/// use eventful_core::{BoxError, Policy, Reaction, RecordedEvent};
/// # use eventful_core::{Event, EventType, Payload, PayloadError, DecodeFailure};
/// # #[derive(serde::Serialize, serde::Deserialize, Debug)]
/// # pub struct GameCompleted { pub player_id: String, pub score: u64 }
/// # impl Event for GameCompleted {
/// #     const EVENT_TYPES: &'static [EventType] = &[EventType::new("game_completed", 1)];
/// #     fn event_type(&self) -> &'static EventType { &Self::EVENT_TYPES[0] }
/// #     fn encode(&self) -> Result<Payload, PayloadError> { Payload::encode(self) }
/// #     fn decode(_: &str, p: &Payload) -> Result<Self, DecodeFailure> { Ok(p.decode()?) }
/// # }
///
/// struct AwardXp;
///
/// #[async_trait]
/// impl Policy for AwardXp {
///     type Event = GameCompleted;
///     fn name(&self) -> &str { "award_xp" }
///     async fn react(&self, event: &RecordedEvent<GameCompleted>, reaction: &Reaction) -> Result<(), BoxError> {
///         let context = reaction.command_context();
///         // players.execute_with(GainXp { player_id: event.payload.player_id.clone(), .. }, context).await?;
///         assert_eq!(context.metadata.causation_id, Some(event.event_id));
///         Ok(())
///     }
/// }
/// ```
#[async_trait]
pub trait Policy: Send + Sync + 'static {
    /// The events it reacts to.
    type Event: Event;

    /// Unique, stable name: the checkpoint key, and part of every idempotency key.
    fn name(&self) -> &str;

    /// Reacts to one event.
    async fn react(
        &self,
        event: &RecordedEvent<Self::Event>,
        reaction: &Reaction,
    ) -> Result<(), BoxError>;
}

/// The contexts for the commands of one reaction.
#[derive(Debug)]
pub struct Reaction {
    base: CommandContext,
    key: Uuid,
    issued: AtomicU32,
}

impl Reaction {
    /// The reaction of policy `policy` to `event`.
    pub fn new<P>(policy: &str, event: &RecordedEvent<P>) -> Self {
        Self {
            base: CommandContext::caused_by(event),
            key: Uuid::new_v5(&event.event_id, policy.as_bytes()),
            issued: AtomicU32::new(0),
        }
    }

    /// The context for the next command: correlation and causation from the event, and an
    /// idempotency key that is the same for the n-th command of every delivery of the event.
    pub fn command_context(&self) -> CommandContext {
        let n = self.issued.fetch_add(1, Ordering::Relaxed);
        let key = Uuid::new_v5(&self.key, &n.to_be_bytes());
        self.base.clone().with_idempotency_key(key)
    }
}

/// Runs a [`Policy`] as an [`EventHandler`].
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

    /// A policy's commands outlive the process, and one event it cannot act on must not hold
    /// back the others: durable progress, parking.
    fn settings(&self) -> HandlerSettings {
        HandlerSettings::durable().with_on_failure(OnFailure::Park)
    }
}
