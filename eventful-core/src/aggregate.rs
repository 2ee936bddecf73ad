//! [`Aggregate`] (decide and evolve) and [`Command`] (which instance a request targets).

use std::fmt::{Debug, Display};
use std::hash::Hash;
use std::str::FromStr;

use crate::event::Event;
use crate::names::{NameError, StreamId, TypeName};

/// What can identify an aggregate instance: a player id, a session id, …
///
/// Implemented for every type with the listed traits; its `Display` form goes into the stream
/// id (`"player-42"`).
pub trait AggregateId: Clone + Eq + Hash + Display + Debug + Send + Sync + 'static {}

impl<T: Clone + Eq + Hash + Display + Debug + Send + Sync + 'static> AggregateId for T {}

/// A consistency boundary rebuilt from its own events: a player, a game session.
///
/// [`handle`](Aggregate::handle) decides (state + command → events, or a typed rejection) and
/// must be pure: it can run more than once for one command when a concurrent writer forces a
/// retry. [`apply`](Aggregate::apply) evolves (state + event → state) and cannot fail: an event
/// is a fact that already happened. `Default` is the state before the first event.
///
/// The `#[aggregate]` macro writes this from handler methods; by hand it looks like this:
///
/// ```
/// use eventful_core::{Aggregate, Command, TypeName};
/// # use eventful_core::{Event, EventType, Payload, PayloadError, DecodeFailure};
/// # #[derive(serde::Serialize, serde::Deserialize, Debug, Clone, PartialEq)]
/// # pub enum CounterEvent { Added { by: u32 } }
/// # impl Event for CounterEvent {
/// #     const EVENT_TYPES: &'static [EventType] = &[EventType::new("added", 1)];
/// #     fn event_type(&self) -> &'static EventType { &Self::EVENT_TYPES[0] }
/// #     fn encode(&self) -> Result<Payload, PayloadError> { Payload::encode_variant_content(self) }
/// #     fn decode(t: &str, p: &Payload) -> Result<Self, DecodeFailure> { Ok(p.decode_variant(0)?) }
/// # }
///
/// #[derive(Default)]
/// struct Counter { total: u32 }
///
/// struct Add { counter: String, by: u32 }
///
/// impl Command for Add {
///     type Aggregate = Counter;
///     fn aggregate_id(&self) -> &String { &self.counter }
/// }
///
/// #[derive(Debug, thiserror::Error)]
/// #[error("cannot add zero")]
/// struct AddZero;
///
/// impl Aggregate for Counter {
///     const TYPE: TypeName = TypeName::from_static("counter");
///     type Id = String;
///     type Command = Add;
///     type Event = CounterEvent;
///     type Error = AddZero;
///
///     fn handle(&self, command: &Add) -> Result<Vec<CounterEvent>, AddZero> {
///         if command.by == 0 { return Err(AddZero) }
///         Ok(vec![CounterEvent::Added { by: command.by }])
///     }
///
///     fn apply(&mut self, event: &CounterEvent) {
///         match event { CounterEvent::Added { by } => self.total += by }
///     }
/// }
/// ```
pub trait Aggregate: Default + Send + Sync + 'static {
    /// The aggregate type: names its streams (`"player-42"`) and is stored with every event.
    const TYPE: TypeName;

    /// Revision of the snapshot shape (the serialized state). Bump it when the state's fields
    /// change: snapshots of another revision are ignored and the stream is replayed instead.
    const SNAPSHOT_REVISION: u32 = 1;

    /// What identifies an instance.
    type Id: AggregateId;
    /// The requests it handles.
    type Command: Command<Aggregate = Self>;
    /// The facts it records.
    type Event: Event;
    /// Its rejections: why a command was refused.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Decides what `command` does to the current state: events to record, or a rejection.
    fn handle(&self, command: &Self::Command) -> Result<Vec<Self::Event>, Self::Error>;

    /// Evolves the state by one recorded event.
    fn apply(&mut self, event: &Self::Event);

    /// The stream holding instance `id`: `"<TYPE>-<id>"`. Keep this default: the repository
    /// also names streams this way from a borrowed id ([`Repository::load`] with a `&str` for
    /// a `String` id), and [`Aggregate::id_of`] reads ids back from it.
    ///
    /// [`Repository::load`]: crate::Repository::load
    fn stream_id(id: &Self::Id) -> Result<StreamId, NameError> {
        StreamId::for_aggregate(&Self::TYPE, id)
    }

    /// The instance whose stream `stream_id` is: the inverse of [`Aggregate::stream_id`], for
    /// read models and policies that want the typed id back from an event's stream.
    fn id_of(stream_id: &StreamId) -> Result<Self::Id, AggregateIdError>
    where
        Self::Id: FromStr,
        <Self::Id as FromStr>::Err: std::error::Error + Send + Sync + 'static,
    {
        let rendered = stream_id
            .strip_prefix(Self::TYPE.as_str())
            .and_then(|rest| rest.strip_prefix('-'))
            .ok_or_else(|| AggregateIdError::OtherAggregate {
                stream_id: stream_id.clone(),
                aggregate_type: Self::TYPE,
            })?;
        rendered
            .parse()
            .map_err(
                |source: <Self::Id as FromStr>::Err| AggregateIdError::Unparsable {
                    stream_id: stream_id.clone(),
                    aggregate_type: Self::TYPE,
                    source: Box::new(source),
                },
            )
    }
}

/// Why a stream id does not name an instance of an aggregate type.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AggregateIdError {
    /// The stream is not one of this aggregate type's (`"<TYPE>-…"`).
    #[error("stream `{stream_id}` is not a `{aggregate_type}` stream")]
    OtherAggregate {
        /// The stream.
        stream_id: StreamId,
        /// The aggregate type asked for.
        aggregate_type: TypeName,
    },
    /// What follows the aggregate type does not parse as the aggregate's id type.
    #[error("stream `{stream_id}` does not end in a `{aggregate_type}` id: {source}")]
    Unparsable {
        /// The stream.
        stream_id: StreamId,
        /// The aggregate type asked for.
        aggregate_type: TypeName,
        /// The id type's parse error.
        #[source]
        source: crate::upcast::BoxError,
    },
}

/// A request addressed to one aggregate instance.
///
/// `#[derive(Command)]` writes this from an `#[aggregate_id]` field.
pub trait Command: Send + Sync + 'static {
    /// The aggregate type it addresses.
    type Aggregate: Aggregate;

    /// The instance it addresses.
    fn aggregate_id(&self) -> &<Self::Aggregate as Aggregate>::Id;
}
