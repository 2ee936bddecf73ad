//! Upcasting: reading events written in an older shape as the current one.
//!
//! Stored events are never rewritten. Each event carries the schema version it was written
//! with; an [`Upcasters`] chain registered for `(type, version)` turns the old payload into the
//! next version's shape, step by step, every time it is read.
//!
//! Steps work on JSON values. A JSON payload is read into one as it is; a payload in a format
//! that does not describe itself (postcard) is read as the old shape's Rust type, given once
//! per `(type, version)` with [`Upcasters::with_shape`].

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::envelope::{EventRef, RecordedEvent};
use crate::event::{DecodeError, DecodeFailure, Event};
use crate::names::TypeName;
use crate::payload::{Payload, PayloadError, PayloadFormat, PayloadRef};

/// Any error an upcasting function returns.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

type Step = dyn Fn(Value) -> Result<Value, BoxError> + Send + Sync;

/// Reads a payload of a format that does not describe itself as an old shape's JSON value.
type ShapeReader = fn(PayloadRef<'_>) -> Result<Value, PayloadError>;

fn read_shaped<Old: DeserializeOwned + Serialize>(
    payload: PayloadRef<'_>,
) -> Result<Value, PayloadError> {
    let old: Old = payload.decode()?;
    serde_json::to_value(&old).map_err(PayloadError::Serialize)
}

/// An upcasting step that failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UpcastError {
    /// The function registered for this step refused the payload.
    #[error("upcasting `{event_type}` from schema version {from_version} failed: {source}")]
    Step {
        /// The type name the step was registered for.
        event_type: TypeName,
        /// The version it upcasts from.
        from_version: u32,
        /// What the function said.
        #[source]
        source: BoxError,
    },
    /// The stored payload is not valid JSON, or the step's result could not be serialized.
    #[error("upcasting `{event_type}` from schema version {from_version}: {source}")]
    Payload {
        /// The type name the step was registered for.
        event_type: TypeName,
        /// The version it upcasts from.
        from_version: u32,
        /// The JSON error.
        #[source]
        source: crate::payload::PayloadError,
    },
    /// The stored payload is in a format that does not describe itself, and no shape was
    /// given to read it as ([`Upcasters::with_shape`]).
    #[error(
        "upcasting `{event_type}` from schema version {from_version}: its payload is {format}, \
         which only its own type reads; give that shape with `Upcasters::with_shape`"
    )]
    Unshaped {
        /// The type name the step was registered for.
        event_type: TypeName,
        /// The version it upcasts from.
        from_version: u32,
        /// The payload's format.
        format: PayloadFormat,
    },
}

#[derive(Clone)]
struct Registered {
    to_type: TypeName,
    step: Arc<Step>,
}

/// The upcasting steps of a program, keyed by `(event type, schema version)`.
///
/// Each step takes a payload of `from_version` to `from_version + 1`, optionally under a new
/// type name. Cloning shares the steps.
///
/// ```
/// use eventful_core::{Upcasters, TypeName};
/// use serde_json::json;
///
/// // Version 1 of `player_created` had no email; version 2 does.
/// let upcasters = Upcasters::new().register(
///     TypeName::from_static("player_created"),
///     1,
///     |mut payload| {
///         payload["email"] = json!("");
///         Ok(payload)
///     },
/// );
/// assert!(upcasters.has_steps_for("player_created"));
/// ```
#[derive(Clone, Default)]
pub struct Upcasters {
    steps: Arc<HashMap<TypeName, BTreeMap<u32, Registered>>>,
    shapes: Arc<HashMap<(TypeName, u32), ShapeReader>>,
}

impl Upcasters {
    /// No steps: payloads are read as written.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds the step from `from_version` to `from_version + 1` of `event_type`.
    pub fn register(
        self,
        event_type: TypeName,
        from_version: u32,
        step: impl Fn(Value) -> Result<Value, BoxError> + Send + Sync + 'static,
    ) -> Self {
        let to_type = event_type.clone();
        self.register_renaming(event_type, from_version, to_type, step)
    }

    /// Adds a step that also renames the type: events stored as `event_type` at
    /// `from_version` are read as `to_type` at `from_version + 1`.
    pub fn register_renaming(
        mut self,
        event_type: TypeName,
        from_version: u32,
        to_type: TypeName,
        step: impl Fn(Value) -> Result<Value, BoxError> + Send + Sync + 'static,
    ) -> Self {
        Arc::make_mut(&mut self.steps)
            .entry(event_type)
            .or_default()
            .insert(
                from_version,
                Registered {
                    to_type,
                    step: Arc::new(step),
                },
            );
        self
    }

    /// Reads payloads of `event_type` at schema version `version` that are in a format that
    /// does not describe itself (postcard) as `Old`, the Rust type that wrote them, before the
    /// step from `version` runs on its JSON value. JSON payloads need no shape.
    ///
    /// ```
    /// use eventful_core::{Payload, PayloadFormat, TypeName, Upcasters};
    /// use serde::{Deserialize, Serialize};
    /// use serde_json::json;
    ///
    /// /// `xp_gained` as version 1 wrote it.
    /// #[derive(Serialize, Deserialize)]
    /// struct XpGainedV1 { amount: u32 }
    ///
    /// let xp_gained = TypeName::from_static("xp_gained");
    /// let upcasters = Upcasters::new()
    ///     .register(xp_gained.clone(), 1, |mut payload| {
    ///         payload["source"] = json!("legacy");
    ///         Ok(payload)
    ///     })
    ///     .with_shape::<XpGainedV1>(xp_gained.clone(), 1);
    /// let old = Payload::encode_as(&XpGainedV1 { amount: 5 }, PayloadFormat::Postcard)?;
    /// let (_, version, upcast) = upcasters.upcast(&xp_gained, 1, &old)?.expect("a step applies");
    /// assert_eq!((version, upcast.to_value()?), (2, json!({"amount": 5, "source": "legacy"})));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn with_shape<Old: DeserializeOwned + Serialize>(
        mut self,
        event_type: TypeName,
        version: u32,
    ) -> Self {
        Arc::make_mut(&mut self.shapes).insert((event_type, version), read_shaped::<Old>);
        self
    }

    /// The first step's JSON value of a stored payload.
    fn read_old(
        &self,
        event_type: &TypeName,
        version: u32,
        payload: PayloadRef<'_>,
    ) -> Result<Value, UpcastError> {
        let payload_error = |source| UpcastError::Payload {
            event_type: event_type.clone(),
            from_version: version,
            source,
        };
        if payload.format().is_self_describing() {
            return payload.to_value().map_err(payload_error);
        }
        match self.shapes.get(&(event_type.clone(), version)) {
            Some(read) => read(payload).map_err(payload_error),
            None => Err(UpcastError::Unshaped {
                event_type: event_type.clone(),
                from_version: version,
                format: payload.format(),
            }),
        }
    }

    fn step(&self, event_type: &str, from_version: u32) -> Option<&Registered> {
        self.steps.get(event_type)?.get(&from_version)
    }

    /// Whether any step is registered for `event_type`.
    pub fn has_steps_for(&self, event_type: &str) -> bool {
        self.steps.contains_key(event_type)
    }

    /// Runs every step that applies, returning the final type name, schema version and
    /// payload, or `None` when no step applies (the event is read as written).
    pub fn upcast(
        &self,
        event_type: &TypeName,
        schema_version: u32,
        payload: &Payload,
    ) -> Result<Option<(TypeName, u32, Payload)>, UpcastError> {
        self.upcast_ref(event_type, schema_version, payload.as_payload_ref())
    }

    /// [`Upcasters::upcast`] of a borrowed payload. The upcast payload is JSON.
    pub fn upcast_ref(
        &self,
        event_type: &TypeName,
        schema_version: u32,
        payload: PayloadRef<'_>,
    ) -> Result<Option<(TypeName, u32, Payload)>, UpcastError> {
        let Some(mut registered) = self.step(event_type, schema_version) else {
            return Ok(None);
        };
        let mut current_type = event_type.clone();
        let mut version = schema_version;
        let mut value = self.read_old(event_type, schema_version, payload)?;
        loop {
            value = (registered.step)(value).map_err(|source| UpcastError::Step {
                event_type: current_type.clone(),
                from_version: version,
                source,
            })?;
            current_type = registered.to_type.clone();
            version += 1;
            match self.step(&current_type, version) {
                Some(next) => registered = next,
                None => break,
            }
        }
        let payload = Payload::encode(&value).map_err(|source| UpcastError::Payload {
            event_type: current_type.clone(),
            from_version: version,
            source,
        })?;
        Ok(Some((current_type, version, payload)))
    }

    /// Reads a stored event as `E`, upcasting it first.
    ///
    /// ```
    /// # use eventful_core::{Upcasters, RecordedEvent, Event, DecodeError};
    /// fn read<E: Event>(upcasters: &Upcasters, event: &RecordedEvent) -> Result<E, DecodeError> {
    ///     upcasters.decode(event)
    /// }
    /// ```
    pub fn decode<E: Event>(&self, event: &RecordedEvent) -> Result<E, DecodeError> {
        let decoded = if self.steps.is_empty() {
            E::decode(&event.event_type, &event.payload)
        } else {
            match self.upcast(&event.event_type, event.schema_version, &event.payload) {
                Ok(None) => E::decode(&event.event_type, &event.payload),
                Ok(Some((event_type, _, payload))) => E::decode(&event_type, &payload),
                Err(error) => Err(DecodeFailure::Upcast(error)),
            }
        };
        decoded.map_err(|failure| DecodeError::at(event, failure))
    }

    /// Reads a borrowed stored event as `E`, upcasting it first: [`Upcasters::decode`] for a
    /// store's visitor ([`EventStore::visit_stream`](crate::EventStore::visit_stream)).
    pub fn decode_ref<E: Event>(&self, event: &EventRef<'_>) -> Result<E, DecodeError> {
        let decoded = if self.steps.is_empty() {
            E::decode_ref(event.event_type, event.payload)
        } else {
            match self.upcast_ref(event.event_type, event.schema_version, event.payload) {
                Ok(None) => E::decode_ref(event.event_type, event.payload),
                Ok(Some((event_type, _, payload))) => E::decode(&event_type, &payload),
                Err(error) => Err(DecodeFailure::Upcast(error)),
            }
        };
        decoded.map_err(|failure| DecodeError::at_ref(event, failure))
    }

    /// Reads a stored event as `E` and keeps its envelope.
    pub fn decode_recorded<E: Event>(
        &self,
        event: RecordedEvent,
    ) -> Result<RecordedEvent<E>, DecodeError> {
        let decoded = self.decode(&event)?;
        Ok(event.map_payload(|_| decoded))
    }
}

impl fmt::Debug for Upcasters {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut list = f.debug_list();
        for (event_type, steps) in self.steps.iter() {
            for (version, registered) in steps {
                list.entry(&format_args!(
                    "{event_type} v{version} -> {} v{}",
                    registered.to_type,
                    version + 1
                ));
            }
        }
        list.finish()
    }
}
