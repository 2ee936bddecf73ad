//! [`Policy`]: a reaction to an event of one aggregate with commands on others (game
//! completed → award xp to each player), carrying correlation and causation along and safe to
//! run again on redelivery.

use std::any::Any;
use std::fmt::Debug;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use parking_lot::Mutex;

use async_trait::async_trait;
use uuid::Uuid;

use crate::aggregate::Aggregate;
use crate::bus::{HandlerSettings, OnFailure};
use crate::envelope::RecordedEvent;
use crate::event::Event;
use crate::handler::{EventHandler, filter_for};
use crate::repository::{CommandContext, CommandError, Committed, Repository};
use crate::store::EventFilter;
use crate::store::EventStore;
use crate::upcast::{BoxError, Upcasters};

/// Reacts to events of type `Self::Event` by running commands.
///
/// Every command it runs should go through [`Reaction::send`] (or use a context from
/// [`Reaction::command_context`]): the context carries
/// the triggering event's correlation id, sets the causation id to the event's id, and makes
/// the command idempotent, so that a redelivered event (after a crash between the command and
/// the checkpoint) records nothing twice. For that, issue the same commands in the same order
/// for the same event.
///
/// ```
/// use async_trait::async_trait;
/// use eventful_core::{BoxError, Policy, Reaction, RecordedEvent, Repository};
/// use eventful_store_memory::MemoryStore;
/// # use eventful_core::{Aggregate, Command, Event, EventType, Payload, PayloadError, DecodeFailure, TypeName};
/// # #[derive(serde::Serialize, serde::Deserialize, Debug)]
/// # pub struct GameCompleted { pub player_id: String, pub score: u64 }
/// # impl Event for GameCompleted {
/// #     const EVENT_TYPES: &'static [EventType] = &[EventType::new("game_completed", 1)];
/// #     fn event_type(&self) -> &'static EventType { &Self::EVENT_TYPES[0] }
/// #     fn encode(&self) -> Result<Payload, PayloadError> { Payload::encode(self) }
/// #     fn decode(_: &str, p: &Payload) -> Result<Self, DecodeFailure> { Ok(p.decode()?) }
/// # }
/// # #[derive(serde::Serialize, serde::Deserialize, Debug, Clone, PartialEq)]
/// # pub enum PlayerEvent { XpGained { amount: u64 } }
/// # impl Event for PlayerEvent {
/// #     const EVENT_TYPES: &'static [EventType] = &[EventType::new("xp_gained", 1)];
/// #     fn event_type(&self) -> &'static EventType { &Self::EVENT_TYPES[0] }
/// #     fn encode(&self) -> Result<Payload, PayloadError> { Payload::encode_variant_content(self) }
/// #     fn decode(_: &str, p: &Payload) -> Result<Self, DecodeFailure> { Ok(p.decode_variant(0)?) }
/// # }
/// # #[derive(Default)] pub struct Player { xp: u64 }
/// # #[derive(Debug, Clone)] pub struct GainXp { player_id: String, amount: u64 }
/// # impl Command for GainXp { type Aggregate = Player; fn aggregate_id(&self) -> &String { &self.player_id } }
/// # #[derive(Debug, thiserror::Error)] #[error("never")] pub struct Never;
/// # impl Aggregate for Player {
/// #     const TYPE: TypeName = TypeName::from_static("player");
/// #     type Id = String; type Command = GainXp; type Event = PlayerEvent; type Error = Never;
/// #     fn handle(&self, c: &GainXp) -> Result<Vec<PlayerEvent>, Never> { Ok(vec![PlayerEvent::XpGained { amount: c.amount }]) }
/// #     fn apply(&mut self, e: &PlayerEvent) { let PlayerEvent::XpGained { amount } = e; self.xp += amount; }
/// # }
///
/// struct AwardXp {
///     players: Repository<Player, MemoryStore>,
/// }
///
/// #[async_trait]
/// impl Policy for AwardXp {
///     type Event = GameCompleted;
///     fn name(&self) -> &str { "award_xp" }
///     async fn react(&self, event: &RecordedEvent<GameCompleted>, reaction: &Reaction) -> Result<(), BoxError> {
///         let gain = GainXp { player_id: event.payload.player_id.clone(), amount: event.payload.score };
///         // The reaction's context: the event's correlation, the event as cause, and an
///         // idempotency key, so a redelivered event awards nothing twice.
///         reaction.send(&self.players, gain).await?;
///         Ok(())
///     }
/// }
///
/// # async fn demo() -> Result<(), BoxError> {
/// let policy = AwardXp { players: Repository::new(MemoryStore::new()) };
/// let completed = GameCompleted { player_id: "7".into(), score: 120 };
/// let reactions = eventful_core::test_kit::given_events(policy, "session-1", [completed]).run().await?;
/// assert_eq!(reactions.commands::<GainXp>()[0].amount, 120);
/// # Ok(()) }
/// # tokio::runtime::Runtime::new().unwrap().block_on(demo()).unwrap();
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
    /// Set by the test kit, which lists the commands a policy sends.
    sent: Option<Arc<Mutex<Vec<SentCommand>>>>,
}

/// A command a policy sent through [`Reaction::send`], as the policy test kit
/// ([`crate::test_kit::given_events`]) lists it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SentCommand {
    /// The command (downcast it, or use [`Reactions::commands`](crate::test_kit::Reactions::commands)).
    pub command: Arc<dyn Any + Send + Sync>,
    /// Its `Debug` form, for messages.
    pub described: String,
    /// The context it was sent with: correlation, causation, idempotency key.
    pub context: CommandContext,
}

impl Reaction {
    /// The reaction of policy `policy` to `event`.
    pub fn new<P>(policy: &str, event: &RecordedEvent<P>) -> Self {
        Self {
            base: CommandContext::caused_by(event),
            key: Uuid::new_v5(&event.event_id, policy.as_bytes()),
            issued: AtomicU32::new(0),
            sent: None,
        }
    }

    /// A reaction whose [`send`](Reaction::send)s are listed in `sent`.
    pub(crate) fn recording<P>(
        policy: &str,
        event: &RecordedEvent<P>,
        sent: Arc<Mutex<Vec<SentCommand>>>,
    ) -> Self {
        Self {
            sent: Some(sent),
            ..Self::new(policy, event)
        }
    }

    /// Runs `command` on `repository` with the next [`command_context`](Reaction::command_context):
    /// the way a policy sends its commands, so that the policy test kit sees them.
    pub async fn send<A, S>(
        &self,
        repository: &Repository<A, S>,
        command: impl Into<A::Command>,
    ) -> Result<Committed<A::Event>, CommandError<A::Error>>
    where
        A: Aggregate,
        A::Command: Clone + Debug,
        S: EventStore,
    {
        let command = command.into();
        let context = self.command_context();
        if let Some(sent) = &self.sent {
            sent.lock().push(SentCommand {
                described: format!("{command:?}"),
                command: Arc::new(command.clone()),
                context: context.clone(),
            });
        }
        repository.execute_with(command, context).await
    }

    /// [`send`](Reaction::send), for a command the aggregate may refuse in a way the policy
    /// expects (a player who already left the session): such a refusal is `Ok(None)` and
    /// the policy goes on, any other failure is returned.
    pub async fn send_allowing<A, S>(
        &self,
        repository: &Repository<A, S>,
        command: impl Into<A::Command>,
        expected: impl FnOnce(&A::Error) -> bool,
    ) -> Result<Option<Committed<A::Event>>, CommandError<A::Error>>
    where
        A: Aggregate,
        A::Command: Clone + Debug,
        S: EventStore,
    {
        match self.send(repository, command).await {
            Ok(committed) => Ok(Some(committed)),
            Err(error) if error.rejection().is_some_and(expected) => {
                tracing::debug!(%error, "an expected rejection; the policy goes on");
                Ok(None)
            }
            Err(error) => Err(error),
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

/// Runs a [`Policy`] as an [`EventHandler`]: what the bus's `policy` runs, and a bridge's
/// consumer of events from elsewhere (each event decoded through the upcasters, the reaction
/// keyed by the event's id, so a redelivered event sends the same keyed commands).
///
/// ```
/// use async_trait::async_trait;
/// use eventful_core::policy::PolicyHandler;
/// use eventful_core::{BoxError, Event, EventHandler, Policy, Reaction, RecordedEvent};
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Event, Serialize, Deserialize, Debug, Clone)]
/// enum SessionEvent {
///     GameCompleted { score: u64 },
/// }
///
/// struct Cheer;
///
/// #[async_trait]
/// impl Policy for Cheer {
///     type Event = SessionEvent;
///     fn name(&self) -> &str { "cheer" }
///     async fn react(&self, _: &RecordedEvent<SessionEvent>, _: &Reaction) -> Result<(), BoxError> {
///         Ok(())
///     }
/// }
///
/// let handler = PolicyHandler(Cheer);
/// assert_eq!(handler.name(), "cheer");
/// assert_eq!(handler.filter(), eventful_core::handler::filter_for::<SessionEvent>());
/// ```
pub struct PolicyHandler<P>(pub P);

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
