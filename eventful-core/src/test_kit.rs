//! Tests that read as the rule they check: `given(events).when(command).then_expect(events)`
//! for aggregates, [`ProjectionFeed`] to feed a projection events by hand, and
//! `given_events(policy, stream, events).run()` then `expect_commands` / `expect_nothing` for
//! policies ([`given_events`]).
//!
//! ```
//! use eventful_core::test_kit::given;
//! # use eventful_core::{Aggregate, Command, Event, EventType, Payload, PayloadError, DecodeFailure, TypeName};
//! # #[derive(serde::Serialize, serde::Deserialize, Debug, Clone, PartialEq)]
//! # pub enum CounterEvent { Added { by: u32 } }
//! # impl Event for CounterEvent {
//! #     const EVENT_TYPES: &'static [EventType] = &[EventType::new("added", 1)];
//! #     fn event_type(&self) -> &'static EventType { &Self::EVENT_TYPES[0] }
//! #     fn encode(&self) -> Result<Payload, PayloadError> { Payload::encode_variant_content(self) }
//! #     fn decode(_: &str, p: &Payload) -> Result<Self, DecodeFailure> { Ok(p.decode_variant(0)?) }
//! # }
//! # #[derive(Default)] struct Counter { total: u32 }
//! # struct Add { counter: String, by: u32 }
//! # impl Command for Add { type Aggregate = Counter; fn aggregate_id(&self) -> &String { &self.counter } }
//! # #[derive(Debug, PartialEq, thiserror::Error)] #[error("over the limit")] struct OverLimit;
//! # impl Aggregate for Counter {
//! #     const TYPE: TypeName = TypeName::from_static("counter");
//! #     type Id = String; type Command = Add; type Event = CounterEvent; type Error = OverLimit;
//! #     fn handle(&self, c: &Add) -> Result<Vec<CounterEvent>, OverLimit> {
//! #         if self.total + c.by > 10 { return Err(OverLimit) }
//! #         Ok(vec![CounterEvent::Added { by: c.by }])
//! #     }
//! #     fn apply(&mut self, e: &CounterEvent) { let CounterEvent::Added { by } = e; self.total += by; }
//! # }
//!
//! given::<Counter>([CounterEvent::Added { by: 4 }])
//!     .when(Add { counter: "c".into(), by: 5 })
//!     .then_expect([CounterEvent::Added { by: 5 }]);
//!
//! given::<Counter>([CounterEvent::Added { by: 8 }])
//!     .when(Add { counter: "c".into(), by: 5 })
//!     .then_error(OverLimit);
//! ```

use std::collections::HashMap;
use std::fmt::Debug;

use std::sync::Arc;

use chrono::Utc;
use parking_lot::Mutex;

use crate::aggregate::Aggregate;
use crate::envelope::{Metadata, Position, RecordedEvent, Version};
use crate::event::Event;
use crate::names::StreamId;
use crate::policy::{Policy, Reaction, SentCommand};
use crate::projection::Projection;
use crate::upcast::BoxError;

/// An aggregate that has recorded `events`, ready for a command.
pub fn given<A: Aggregate>(events: impl IntoIterator<Item = A::Event>) -> Given<A> {
    let mut state = A::default();
    for event in events {
        state.apply(&event);
    }
    Given { state }
}

/// A new aggregate (no events yet), ready for a command.
pub fn given_no_events<A: Aggregate>() -> Given<A> {
    Given {
        state: A::default(),
    }
}

/// An aggregate in a known state; see [`given`].
pub struct Given<A> {
    state: A,
}

impl<A: Aggregate> Given<A> {
    /// Runs `command` against the state.
    pub fn when(self, command: impl Into<A::Command>) -> Then<A> {
        let result = self.state.handle(&command.into());
        Then {
            state: self.state,
            result,
        }
    }
}

/// What a command did; assert on it.
pub struct Then<A: Aggregate> {
    state: A,
    result: Result<Vec<A::Event>, A::Error>,
}

impl<A: Aggregate> Then<A>
where
    A::Event: PartialEq + Debug,
    A::Error: Debug,
{
    /// Asserts that the command recorded exactly `expected`, and that each of them survives
    /// being stored and read back (its serialization round-trips).
    ///
    /// # Panics
    ///
    /// When the command was rejected, recorded other events, or an event does not round-trip.
    #[track_caller]
    pub fn then_expect(self, expected: impl IntoIterator<Item = A::Event>) -> A {
        let expected: Vec<_> = expected.into_iter().collect();
        let events = match self.result {
            Ok(events) => events,
            Err(error) => {
                panic!("expected events {expected:?}, but the command was rejected: {error:?}")
            }
        };
        assert_eq!(
            events, expected,
            "the command recorded other events than expected"
        );
        let mut state = self.state;
        for event in &events {
            assert_round_trips(event);
            state.apply(event);
        }
        state
    }

    /// Asserts that the command was rejected with `expected`.
    ///
    /// # Panics
    ///
    /// When the command recorded events or was rejected with another error.
    #[track_caller]
    pub fn then_error(self, expected: A::Error)
    where
        A::Error: PartialEq,
    {
        match self.result {
            Ok(events) => {
                panic!("expected the error {expected:?}, but the command recorded {events:?}")
            }
            Err(error) => assert_eq!(
                error, expected,
                "the command was rejected with another error"
            ),
        }
    }

    /// Asserts that the command was rejected with an error for which `check` holds.
    ///
    /// # Panics
    ///
    /// When the command recorded events or `check` is false.
    #[track_caller]
    pub fn then_error_matches(self, check: impl FnOnce(&A::Error) -> bool) {
        match self.result {
            Ok(events) => panic!("expected an error, but the command recorded {events:?}"),
            Err(error) => assert!(check(&error), "unexpected error: {error:?}"),
        }
    }

    /// The raw outcome, for assertions of your own.
    pub fn result(self) -> Result<Vec<A::Event>, A::Error> {
        self.result
    }
}

#[track_caller]
fn assert_round_trips<E: Event + PartialEq + Debug>(event: &E) {
    let event_type = event.event_type();
    let payload = event
        .encode()
        .unwrap_or_else(|error| panic!("{event:?} does not serialize: {error}"));
    let back = E::decode(&event_type.name, &payload).unwrap_or_else(|error| {
        panic!("{event:?} serializes as {payload} but does not read back: {error}")
    });
    assert_eq!(&back, event, "{event:?} reads back as something else");
}

/// Feeds a projection events by hand, with made-up envelopes, to inspect what it builds.
///
/// ```
/// # use eventful_core::{BoxError, Projection, RecordedEvent};
/// # use eventful_core::{Event, EventType, Payload, PayloadError, DecodeFailure};
/// # #[derive(serde::Serialize, serde::Deserialize, Debug)]
/// # pub enum PlayerEvent { XpGained { amount: u64 } }
/// # impl Event for PlayerEvent {
/// #     const EVENT_TYPES: &'static [EventType] = &[EventType::new("xp_gained", 1)];
/// #     fn event_type(&self) -> &'static EventType { &Self::EVENT_TYPES[0] }
/// #     fn encode(&self) -> Result<Payload, PayloadError> { Payload::encode_variant_content(self) }
/// #     fn decode(_: &str, p: &Payload) -> Result<Self, DecodeFailure> { Ok(p.decode_variant(0)?) }
/// # }
/// # #[derive(Default)] struct TotalXp(std::sync::atomic::AtomicU64);
/// # #[eventful_core::async_trait]
/// # impl Projection for TotalXp {
/// #     type Event = PlayerEvent;
/// #     fn name(&self) -> &str { "total_xp" }
/// #     async fn apply(&self, e: &RecordedEvent<PlayerEvent>) -> Result<(), BoxError> {
/// #         let PlayerEvent::XpGained { amount } = e.payload;
/// #         self.0.fetch_add(amount, std::sync::atomic::Ordering::Relaxed); Ok(())
/// #     }
/// #     async fn reset(&self) -> Result<(), BoxError> { Ok(()) }
/// # }
/// use eventful_core::test_kit::ProjectionFeed;
///
/// # async fn demo() {
/// let mut feed = ProjectionFeed::new(TotalXp::default());
/// feed.feed("player-1", [PlayerEvent::XpGained { amount: 5 }, PlayerEvent::XpGained { amount: 7 }]).await;
/// assert_eq!(feed.projection().0.load(std::sync::atomic::Ordering::Relaxed), 12);
/// # }
/// # tokio::runtime::Runtime::new().unwrap().block_on(demo());
/// ```
pub struct ProjectionFeed<P> {
    projection: P,
    envelopes: Envelopes,
}

impl<P: Projection> ProjectionFeed<P> {
    /// Starts feeding `projection`.
    pub fn new(projection: P) -> Self {
        Self {
            projection,
            envelopes: Envelopes::default(),
        }
    }

    /// Feeds `events` as the next events of `stream_id` (versions and positions continue
    /// from what was fed before).
    ///
    /// # Panics
    ///
    /// When `stream_id` is not a valid stream id or the projection returns an error.
    pub async fn feed(
        &mut self,
        stream_id: &str,
        events: impl IntoIterator<Item = P::Event>,
    ) -> &mut Self {
        for event in events {
            let recorded = self.envelopes.wrap(stream_id, event, Metadata::default());
            if let Err(error) = self.projection.apply(&recorded).await {
                panic!("projection `{}` failed: {error}", self.projection.name());
            }
        }
        self
    }

    /// The projection, to inspect.
    pub fn projection(&self) -> &P {
        &self.projection
    }

    /// The projection, handed back.
    pub fn into_projection(self) -> P {
        self.projection
    }
}

/// Envelopes for events fed by hand: versions per stream and positions continue from what was
/// fed before, ids are fresh, the time is now.
#[derive(Default)]
struct Envelopes {
    position: u64,
    versions: HashMap<StreamId, u64>,
}

impl Envelopes {
    /// # Panics
    ///
    /// When `stream_id` is not a valid stream id.
    fn wrap<E: Event>(
        &mut self,
        stream_id: &str,
        event: E,
        metadata: Metadata,
    ) -> RecordedEvent<E> {
        let stream_id = StreamId::new(stream_id).unwrap_or_else(|error| panic!("{error}"));
        let aggregate_type = stream_id
            .split_once('-')
            .map_or(stream_id.as_str(), |(prefix, _)| prefix);
        let aggregate_type =
            crate::names::TypeName::new(aggregate_type).unwrap_or_else(|error| panic!("{error}"));
        let version = self.versions.entry(stream_id.clone()).or_default();
        *version += 1;
        self.position += 1;
        let event_type = event.event_type();
        RecordedEvent {
            event_id: crate::envelope::new_event_id(),
            stream_id,
            aggregate_type,
            event_type: event_type.name.clone(),
            schema_version: event_type.schema_version,
            version: Version::new(*version),
            position: Position::new(self.position),
            recorded_at: Utc::now(),
            metadata,
            payload: event,
        }
    }
}

/// A policy given events, as a test sees it: `given_events(policy, "game_results-5", [...])`,
/// then [`PolicyTest::run`] reacts to each and lists the commands the policy sent through
/// [`Reaction::send`] — with their contexts, so that correlation and causation can be checked
/// — or none.
///
/// The commands run for real, on whatever repositories the policy holds (a
/// `MemoryStore` in a test), so a policy that reads other state first finds it.
///
/// ```
/// use eventful_core::test_kit::given_events;
/// # use eventful_core::{Policy, Reaction, RecordedEvent, BoxError, Repository};
/// # use eventful_core::{Aggregate, Command, Event, EventType, Payload, PayloadError, DecodeFailure, TypeName};
/// # use eventful_store_memory::MemoryStore;
/// # #[derive(serde::Serialize, serde::Deserialize, Debug, Clone, PartialEq)]
/// # pub enum CounterEvent { Added { by: u32 } }
/// # impl Event for CounterEvent {
/// #     const EVENT_TYPES: &'static [EventType] = &[EventType::new("added", 1)];
/// #     fn event_type(&self) -> &'static EventType { &Self::EVENT_TYPES[0] }
/// #     fn encode(&self) -> Result<Payload, PayloadError> { Payload::encode_variant_content(self) }
/// #     fn decode(_: &str, p: &Payload) -> Result<Self, DecodeFailure> { Ok(p.decode_variant(0)?) }
/// # }
/// # #[derive(Default)] struct Counter { total: u32 }
/// # #[derive(Debug, Clone, PartialEq)] struct Add { counter: String, by: u32 }
/// # impl Command for Add { type Aggregate = Counter; fn aggregate_id(&self) -> &String { &self.counter } }
/// # #[derive(Debug, PartialEq, thiserror::Error)] #[error("over the limit")] struct OverLimit;
/// # impl Aggregate for Counter {
/// #     const TYPE: TypeName = TypeName::from_static("counter");
/// #     type Id = String; type Command = Add; type Event = CounterEvent; type Error = OverLimit;
/// #     fn handle(&self, c: &Add) -> Result<Vec<CounterEvent>, OverLimit> { Ok(vec![CounterEvent::Added { by: c.by }]) }
/// #     fn apply(&mut self, e: &CounterEvent) { let CounterEvent::Added { by } = e; self.total += by; }
/// # }
/// /// Every addition to a counter is mirrored on the counter `total`.
/// struct Mirror { counters: Repository<Counter, MemoryStore> }
///
/// #[async_trait::async_trait]
/// impl Policy for Mirror {
///     type Event = CounterEvent;
///     fn name(&self) -> &str { "mirror" }
///     async fn react(&self, event: &RecordedEvent<CounterEvent>, reaction: &Reaction) -> Result<(), BoxError> {
///         let CounterEvent::Added { by } = event.payload;
///         reaction.send(&self.counters, Add { counter: "total".into(), by }).await?;
///         Ok(())
///     }
/// }
///
/// # async fn demo() -> Result<(), BoxError> {
/// let mirror = Mirror { counters: Repository::new(MemoryStore::new()) };
/// let reactions = given_events(mirror, "counter-a", [CounterEvent::Added { by: 2 }]).run().await?;
/// reactions.expect_commands([Add { counter: "total".into(), by: 2 }]);
/// let sent = &reactions.sent()[0];
/// assert_eq!(sent.context.metadata.causation_id, Some(reactions.given()[0].event_id));
/// # Ok(()) }
/// # tokio::runtime::Runtime::new().unwrap().block_on(demo()).unwrap();
/// ```
pub fn given_events<P: Policy>(
    policy: P,
    stream_id: &str,
    events: impl IntoIterator<Item = P::Event>,
) -> PolicyTest<P> {
    PolicyTest {
        policy,
        envelopes: Envelopes::default(),
        given: Vec::new(),
    }
    .and(stream_id, events)
}

/// A policy and the events it will be given; see [`given_events`].
pub struct PolicyTest<P: Policy> {
    policy: P,
    envelopes: Envelopes,
    given: Vec<RecordedEvent<P::Event>>,
}

impl<P: Policy> PolicyTest<P> {
    /// More events, of another stream (or the same: versions continue), each with a fresh
    /// correlation id as a request from outside would carry.
    ///
    /// # Panics
    ///
    /// When `stream_id` is not a valid stream id.
    pub fn and(mut self, stream_id: &str, events: impl IntoIterator<Item = P::Event>) -> Self {
        for event in events {
            let metadata = Metadata::default().with_correlation_id(uuid::Uuid::new_v4());
            let recorded = self.envelopes.wrap(stream_id, event, metadata);
            self.given.push(recorded);
        }
        self
    }

    /// Reacts to every given event in order; stops at the first error the policy returns.
    pub async fn run(self) -> Result<Reactions<P::Event>, ReactionFailed> {
        let sent = Arc::new(Mutex::new(Vec::new()));
        for event in &self.given {
            let reaction = Reaction::recording(self.policy.name(), event, sent.clone());
            self.policy
                .react(event, &reaction)
                .await
                .map_err(|source| ReactionFailed {
                    policy: self.policy.name().to_owned(),
                    stream_id: event.stream_id.clone(),
                    version: event.version,
                    source,
                })?;
        }
        let sent = std::mem::take(&mut *sent.lock());
        Ok(Reactions {
            given: self.given,
            sent,
        })
    }
}

/// A policy of a [`PolicyTest`] failed on a given event. An `Error`, so that `?` turns it
/// into the `Box<dyn Error>` of a test.
#[derive(Debug, thiserror::Error)]
#[error("policy `{policy}` failed on version {version} of stream `{stream_id}`: {source}")]
pub struct ReactionFailed {
    /// The policy's name.
    pub policy: String,
    /// The given event's stream.
    pub stream_id: StreamId,
    /// Its version.
    pub version: Version,
    /// The policy's error.
    #[source]
    pub source: BoxError,
}

/// What a policy did with the events it was given: the commands it sent, in order.
#[derive(Debug)]
pub struct Reactions<E> {
    given: Vec<RecordedEvent<E>>,
    sent: Vec<SentCommand>,
}

impl<E> Reactions<E> {
    /// The events the policy was given, with their envelopes (ids, correlation).
    pub fn given(&self) -> &[RecordedEvent<E>] {
        &self.given
    }

    /// Every command sent, with its context.
    pub fn sent(&self) -> &[SentCommand] {
        &self.sent
    }

    /// The commands of type `C` sent, in order.
    pub fn commands<C: Clone + 'static>(&self) -> Vec<C> {
        self.sent
            .iter()
            .filter_map(|sent| sent.command.downcast_ref::<C>().cloned())
            .collect()
    }

    /// Asserts that the policy sent exactly `expected`, in order, and nothing else, each with
    /// the correlation of the event that caused it and that event as its cause.
    ///
    /// # Panics
    ///
    /// When it sent other commands, more, fewer, or with another context.
    pub fn expect_commands<C>(&self, expected: impl IntoIterator<Item = C>)
    where
        C: Clone + PartialEq + Debug + 'static,
    {
        let expected: Vec<C> = expected.into_iter().collect();
        let described: Vec<&str> = self
            .sent
            .iter()
            .map(|sent| sent.described.as_str())
            .collect();
        assert_eq!(
            self.sent.len(),
            expected.len(),
            "the policy sent {described:?}, expected {expected:?}"
        );
        assert_eq!(
            self.commands::<C>(),
            expected,
            "the policy sent {described:?}"
        );
        for sent in &self.sent {
            let cause = sent.context.metadata.causation_id;
            let trigger = self
                .given
                .iter()
                .find(|event| Some(event.event_id) == cause);
            let trigger = trigger.unwrap_or_else(|| {
                panic!(
                    "`{}` was sent with a cause that is no given event",
                    sent.described
                )
            });
            assert_eq!(
                sent.context.metadata.correlation_id, trigger.metadata.correlation_id,
                "`{}` lost its trigger's correlation id",
                sent.described
            );
        }
    }

    /// Asserts that the policy sent no command.
    ///
    /// # Panics
    ///
    /// When it sent one.
    pub fn expect_nothing(&self) {
        let described: Vec<&str> = self
            .sent
            .iter()
            .map(|sent| sent.described.as_str())
            .collect();
        assert!(described.is_empty(), "the policy sent {described:?}");
    }
}
