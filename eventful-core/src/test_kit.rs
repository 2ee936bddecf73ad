//! Tests that read as the rule they check: `given(events).when(command).then_expect(events)`
//! for aggregates, and [`ProjectionFeed`] to feed a projection events by hand.
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

use chrono::Utc;

use crate::aggregate::Aggregate;
use crate::envelope::{Metadata, Position, RecordedEvent, Version};
use crate::event::Event;
use crate::names::StreamId;
use crate::projection::Projection;

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
    position: u64,
    versions: HashMap<StreamId, u64>,
}

impl<P: Projection> ProjectionFeed<P> {
    /// Starts feeding `projection`.
    pub fn new(projection: P) -> Self {
        Self {
            projection,
            position: 0,
            versions: HashMap::new(),
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
        let stream_id = StreamId::new(stream_id).unwrap_or_else(|error| panic!("{error}"));
        let aggregate_type = stream_id
            .split_once('-')
            .map_or(stream_id.as_str(), |(prefix, _)| prefix);
        let aggregate_type =
            crate::names::TypeName::new(aggregate_type).unwrap_or_else(|error| panic!("{error}"));
        for event in events {
            let version = self.versions.entry(stream_id.clone()).or_default();
            *version += 1;
            self.position += 1;
            let event_type = event.event_type();
            let recorded = RecordedEvent {
                event_id: crate::envelope::new_event_id(),
                stream_id: stream_id.clone(),
                aggregate_type: aggregate_type.clone(),
                event_type: event_type.name.clone(),
                schema_version: event_type.schema_version,
                version: Version::new(*version),
                position: Position::new(self.position),
                recorded_at: Utc::now(),
                metadata: Metadata::default(),
                payload: event,
            };
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
