//! The [`Event`] trait, the [`DecodeError`] of a stored event that cannot be read back, and the
//! process-wide registry of event types that `#[derive(Event)]` fills through `inventory`.

use std::collections::HashMap;
use std::fmt;
use std::sync::OnceLock;

use crate::envelope::{EventRef, Position, RecordedEvent, Version};
use crate::names::{StreamId, TypeName};
use crate::payload::{Payload, PayloadError, PayloadFormat, PayloadRef};
use crate::upcast::UpcastError;

/// One stored event type: its name and the schema version new events of it are written with.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EventType {
    /// The stored type name, such as `"xp_gained"`.
    pub name: TypeName,
    /// The current shape revision; older stored payloads are upcast to it on read.
    pub schema_version: u32,
}

impl EventType {
    /// An event type from a literal name; usable in `const`s, where the name is checked at
    /// compile time.
    pub const fn new(name: &'static str, schema_version: u32) -> Self {
        Self {
            name: TypeName::from_static(name),
            schema_version,
        }
    }
}

/// A domain event: serializable, with a stable stored type name per variant and a schema
/// version.
///
/// `#[derive(Event)]` writes this for an enum (one event type per variant) or a struct (one
/// event type). By hand it looks like this:
///
/// ```
/// use eventful_core::{Event, EventType, Payload, PayloadError, DecodeFailure};
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Serialize, Deserialize, Debug, PartialEq)]
/// enum PlayerEvent {
///     Created { name: String },
///     XpGained { amount: u64 },
/// }
///
/// impl Event for PlayerEvent {
///     const EVENT_TYPES: &'static [EventType] =
///         &[EventType::new("player_created", 1), EventType::new("xp_gained", 1)];
///
///     fn event_type(&self) -> &'static EventType {
///         match self {
///             Self::Created { .. } => &Self::EVENT_TYPES[0],
///             Self::XpGained { .. } => &Self::EVENT_TYPES[1],
///         }
///     }
///
///     fn encode(&self) -> Result<Payload, PayloadError> {
///         Payload::encode_variant_content(self)
///     }
///
///     fn decode(event_type: &str, payload: &Payload) -> Result<Self, DecodeFailure> {
///         let index = match event_type {
///             "player_created" => 0,
///             "xp_gained" => 1,
///             _ => return Err(DecodeFailure::unknown_type::<Self>(event_type)),
///         };
///         Ok(payload.decode_variant(index)?)
///     }
/// }
///
/// let payload = PlayerEvent::XpGained { amount: 3 }.encode()?;
/// assert_eq!(payload.as_bytes(), br#"{"amount":3}"#);
/// assert_eq!(PlayerEvent::decode("xp_gained", &payload)?, PlayerEvent::XpGained { amount: 3 });
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait Event: Sized + Send + Sync + 'static {
    /// Every event type this Rust type produces, in declaration order.
    const EVENT_TYPES: &'static [EventType];

    /// The stored type of this value: one of [`Event::EVENT_TYPES`].
    fn event_type(&self) -> &'static EventType;

    /// Serializes this value's payload (without the type name, which is stored beside it).
    fn encode(&self) -> Result<Payload, PayloadError>;

    /// Reads back a payload stored under `event_type`, already upcast to the current schema,
    /// in whatever format it was written ([`Payload::decode_variant`] reads each).
    fn decode(event_type: &str, payload: &Payload) -> Result<Self, DecodeFailure>;

    /// Serializes this value's payload in `format`: what a repository calls, with the format
    /// of the store it appends to ([`EventStore::payload_format`](crate::EventStore::payload_format)).
    ///
    /// `#[derive(Event)]` writes every format. By default it is [`Event::encode`] (JSON)
    /// whatever the format asked for, which every store reads back, since each payload
    /// carries its format: a type that writes only JSON still works on a store that prefers
    /// postcard.
    fn encode_as(&self, format: PayloadFormat) -> Result<Payload, PayloadError> {
        let _ = format;
        self.encode()
    }

    /// Reads back a payload borrowed from the store that keeps it, as [`Event::decode`]
    /// does: how a repository replays a stream without copying it
    /// ([`EventStore::visit_stream`](crate::EventStore::visit_stream)).
    ///
    /// `#[derive(Event)]` reads it in place. By default the bytes are copied and handed to
    /// [`Event::decode`].
    fn decode_ref(event_type: &str, payload: PayloadRef<'_>) -> Result<Self, DecodeFailure> {
        Self::decode(event_type, &payload.to_payload())
    }

    /// Whether `event_type` is one of [`Event::EVENT_TYPES`].
    fn has_type(event_type: &str) -> bool {
        Self::EVENT_TYPES.iter().any(|t| t.name == event_type)
    }
}

/// What went wrong reading back one stored event.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeFailure {
    /// The stored type name is not one this Rust type knows.
    #[error("`{event_type}` is not an event type of {rust_type} (known: {})", names(.known))]
    UnknownType {
        /// The stored type name.
        event_type: String,
        /// The Rust type it was read as.
        rust_type: &'static str,
        /// The types that Rust type knows.
        known: &'static [EventType],
    },
    /// The payload no longer fits the type's shape.
    #[error(transparent)]
    Payload(#[from] PayloadError),
    /// An upcaster refused the payload.
    #[error(transparent)]
    Upcast(#[from] UpcastError),
}

impl DecodeFailure {
    /// The error for a type name that `E` does not know.
    pub fn unknown_type<E: Event>(event_type: &str) -> Self {
        Self::UnknownType {
            event_type: event_type.to_owned(),
            rust_type: std::any::type_name::<E>(),
            known: E::EVENT_TYPES,
        }
    }
}

fn names(types: &[EventType]) -> String {
    types
        .iter()
        .map(|t| t.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// A stored event that could not be read back, with where it is.
///
/// Nothing is changed in the store when this is returned: the event stays as it was written,
/// for an upcaster or a fixed build to read.
#[derive(Debug, thiserror::Error)]
#[error(
    "cannot decode event `{event_type}` (schema version {schema_version}) at version {version} \
     (position {position}) of stream `{stream_id}`: {failure}"
)]
pub struct DecodeError {
    /// The stream holding the event.
    pub stream_id: StreamId,
    /// The event's version in that stream.
    pub version: Version,
    /// The event's store-wide position.
    pub position: Position,
    /// The stored type name.
    pub event_type: TypeName,
    /// The schema version it was written with.
    pub schema_version: u32,
    /// What went wrong (boxed: errors travel by value through every `Result` of the
    /// command path, and should stay small).
    #[source]
    pub failure: Box<DecodeFailure>,
}

impl DecodeError {
    /// The error for `event`, located by its envelope.
    pub fn at<P>(event: &RecordedEvent<P>, failure: impl Into<DecodeFailure>) -> Self {
        Self {
            stream_id: event.stream_id.clone(),
            version: event.version,
            position: event.position,
            event_type: event.event_type.clone(),
            schema_version: event.schema_version,
            failure: Box::new(failure.into()),
        }
    }

    /// The error for a borrowed `event`, located by its envelope.
    pub fn at_ref(event: &EventRef<'_>, failure: impl Into<DecodeFailure>) -> Self {
        Self {
            stream_id: event.stream_id.clone(),
            version: event.version,
            position: event.position,
            event_type: event.event_type.clone(),
            schema_version: event.schema_version,
            failure: Box::new(failure.into()),
        }
    }
}

/// One Rust event type in the process-wide registry, submitted by `#[derive(Event)]`.
///
/// The registry lets code that only has a stored type name (a by-name subscriber, a tool
/// printing any stream, an upcaster) find the Rust type that reads it.
pub struct EventRegistration {
    /// The Rust type's path, as `std::any::type_name` gives it.
    pub rust_type: fn() -> &'static str,
    /// The event types it produces.
    pub event_types: &'static [EventType],
    /// Decodes a payload of one of those types and formats it with `Debug`.
    pub describe: fn(&str, &Payload) -> Result<String, DecodeFailure>,
}

impl EventRegistration {
    /// The registration of `E`, for `inventory::submit!`.
    pub const fn of<E: Event + fmt::Debug>() -> Self {
        Self {
            rust_type: std::any::type_name::<E>,
            event_types: E::EVENT_TYPES,
            describe: |event_type, payload| {
                E::decode(event_type, payload).map(|event| format!("{event:?}"))
            },
        }
    }
}

impl fmt::Debug for EventRegistration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventRegistration")
            .field("rust_type", &(self.rust_type)())
            .field("event_types", &self.event_types)
            .finish_non_exhaustive()
    }
}

inventory::collect!(EventRegistration);

/// Every event type registered in this program, looked up by stored name.
///
/// ```
/// use eventful_core::EventRegistry;
///
/// for (name, registration) in EventRegistry::global().iter() {
///     println!("{name} is read by {}", (registration.rust_type)());
/// }
/// ```
#[derive(Debug)]
pub struct EventRegistry {
    by_name: HashMap<&'static str, &'static EventRegistration>,
    collisions: Vec<(
        &'static str,
        &'static EventRegistration,
        &'static EventRegistration,
    )>,
}

impl EventRegistry {
    /// The registry of this program, built on first use from every `#[derive(Event)]`.
    pub fn global() -> &'static EventRegistry {
        static REGISTRY: OnceLock<EventRegistry> = OnceLock::new();
        REGISTRY.get_or_init(|| Self::build(inventory::iter::<EventRegistration>))
    }

    fn build(registrations: impl IntoIterator<Item = &'static EventRegistration>) -> Self {
        let mut by_name = HashMap::new();
        let mut collisions = Vec::new();
        for registration in registrations {
            for event_type in registration.event_types {
                let name: &'static str = event_type.name.as_str();
                if let Some(previous) = by_name.insert(name, registration)
                    && !std::ptr::eq(previous, registration)
                {
                    collisions.push((name, previous, registration));
                }
            }
        }
        Self {
            by_name,
            collisions,
        }
    }

    /// The registration that reads `event_type`.
    pub fn lookup(&self, event_type: &str) -> Option<&'static EventRegistration> {
        self.by_name.get(event_type).copied()
    }

    /// Formats a stored payload with the `Debug` of the Rust type that reads it.
    pub fn describe(
        &self,
        event_type: &str,
        payload: &Payload,
    ) -> Option<Result<String, DecodeFailure>> {
        self.lookup(event_type)
            .map(|registration| (registration.describe)(event_type, payload))
    }

    /// Every registered type name with its registration, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &'static EventRegistration)> + '_ {
        self.by_name.iter().map(|(name, reg)| (*name, *reg))
    }

    /// Type names that two different Rust types both claim: each is a bug to fix, since a
    /// by-name reader cannot tell which one wrote an event.
    pub fn collisions(
        &self,
    ) -> &[(
        &'static str,
        &'static EventRegistration,
        &'static EventRegistration,
    )] {
        &self.collisions
    }
}
