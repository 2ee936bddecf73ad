//! The message format, version 1: one committed event per AMQP message, its whole envelope in
//! a JSON body, a few AMQP properties mirroring it for routing and inspection.
//!
//! The body is the contract; the properties are a convenience for tools such as the
//! management UI and are not read back, except the content type ([`CONTENT_TYPE`]), which says
//! how to read the body. The body is one JSON object: `format` (1, [`FORMAT_VERSION`]; a
//! reader refuses another), `event_id`, `stream_id`, `aggregate_type`, `event_type`,
//! `schema_version`, `version`, `position` (the sender's), `recorded_at` (RFC 3339, UTC),
//! `correlation_id` and `causation_id` (absent when none), `metadata` (strings), `payload`
//! (the event's JSON). The golden example (docs/rabbitmq.md has the field table):
//!
//! ```
//! use eventful_bus_amqp::message::{decode_body, encode_body};
//!
//! let golden = r#"{"format":1,"event_id":"01936f3e-8a3b-7c41-9a2e-5d1c0b7e4f21","stream_id":"game_results-3","aggregate_type":"game_results","event_type":"game_completed","schema_version":1,"version":2,"position":57,"recorded_at":"2026-11-25T16:28:28.923Z","correlation_id":"8f14e45f-ceea-467f-a5c4-1d5b2c3e9a70","causation_id":"01936f3e-8a3a-7f10-8c11-2b3a4c5d6e7f","metadata":{"region":"eu"},"payload":{"player_id":4,"session_id":3,"mode":"ranked","score":900,"placement":1}}"#;
//! let event = decode_body(golden.as_bytes())?;
//! assert_eq!((event.stream_id.as_str(), event.version.get(), event.position.get()), ("game_results-3", 2, 57));
//! assert_eq!(event.metadata.extra["region"], "eu");
//! assert_eq!(encode_body(&event)?, golden.as_bytes());
//! # Ok::<(), eventful_bus_amqp::MessageError>(())
//! ```

use chrono::{DateTime, Utc};
use eventful_core::{Metadata, Payload, Position, RecordedEvent, StreamId, TypeName, Version};
use lapin::BasicProperties;
use lapin::types::{AMQPValue, FieldTable};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use uuid::Uuid;

use crate::error::AmqpError;

/// The content type of every message the relay publishes: an eventful event envelope as JSON.
pub const CONTENT_TYPE: &str = "application/vnd.eventful.event+json";

/// The version of the body's format, in the body (`"format": 1`) and in the `eventful-format`
/// header. A reader refuses a format it does not know instead of guessing.
pub const FORMAT_VERSION: u32 = 1;

/// AMQP's delivery mode for a message the broker writes to disk before it confirms it.
const PERSISTENT: u8 = 2;

/// The longest routing key (and binding pattern) AMQP carries, in bytes.
pub const MAX_KEY_LEN: usize = 255;

/// The routing key of an event: `<aggregate type>.<event type>`, such as
/// `game_results.game_completed`, so that a binding pattern such as `*.game_completed` or
/// `game_session.*` matches by one part. A type name holding `.`, `*` or `#` (which type
/// names allow) would split or widen the parts, and is refused
/// ([`AmqpError::InvalidKeyPart`]), as is a key over [`MAX_KEY_LEN`] bytes
/// ([`AmqpError::KeyTooLong`]).
///
/// ```
/// use eventful_bus_amqp::AmqpError;
/// use eventful_bus_amqp::message::routing_key;
/// use eventful_core::TypeName;
///
/// let key = routing_key(&TypeName::from_static("game_session"), &TypeName::from_static("session_ended"))?;
/// assert_eq!(key, "game_session.session_ended");
/// assert!(matches!(
///     routing_key(&TypeName::from_static("game.session"), &TypeName::from_static("session_ended")),
///     Err(AmqpError::InvalidKeyPart { kind: "aggregate type", character: '.', .. })
/// ));
/// # Ok::<(), AmqpError>(())
/// ```
pub fn routing_key(aggregate_type: &TypeName, event_type: &TypeName) -> Result<String, AmqpError> {
    check_key_part("aggregate type", aggregate_type)?;
    check_key_part("event type", event_type)?;
    let key = format!("{aggregate_type}.{event_type}");
    check_key_len(&key)?;
    Ok(key)
}

/// Refuses a type name that a routing key cannot carry as one part.
pub(crate) fn check_key_part(kind: &'static str, name: &TypeName) -> Result<(), AmqpError> {
    let Some(character) = name.as_str().chars().find(|c| matches!(c, '.' | '*' | '#')) else {
        return Ok(());
    };
    let why = match character {
        '.' => "which separates a routing key's parts",
        '*' => "which a binding reads as a wildcard for one part",
        _ => "which a binding reads as a wildcard for any number of parts",
    };
    Err(AmqpError::InvalidKeyPart {
        kind,
        name: name.as_str().to_owned(),
        character,
        why,
    })
}

/// Refuses a routing key or binding pattern that AMQP cannot carry.
pub(crate) fn check_key_len(key: &str) -> Result<(), AmqpError> {
    if key.len() > MAX_KEY_LEN {
        return Err(AmqpError::KeyTooLong {
            key: key.to_owned(),
            bytes: key.len(),
        });
    }
    Ok(())
}

/// Why a message could not be read as an event (it is dead-lettered with this reason).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MessageError {
    /// The message's content type is not [`CONTENT_TYPE`].
    #[error("content type `{found}` is not `{CONTENT_TYPE}`")]
    ContentType {
        /// The content type it came with (`none` when absent).
        found: String,
    },
    /// The body says a format version this reader does not know.
    #[error("message format {found} is not supported (this reader knows format {FORMAT_VERSION})")]
    UnsupportedFormat {
        /// The version in the body.
        found: u32,
    },
    /// The body is not an envelope of the format: bad JSON, a missing field, a bad name.
    #[error("the body is not an eventful event envelope: {0}")]
    Body(#[source] serde_json::Error),
    /// A stream id or type name in the body is not a valid one.
    #[error("the envelope holds an invalid name: {0}")]
    Name(#[from] eventful_core::NameError),
    /// The payload is not JSON eventful accepts.
    #[error("the payload is not valid: {0}")]
    Payload(#[from] eventful_core::PayloadError),
}

/// The body of format 1, as written.
#[derive(Serialize)]
struct Outgoing<'a> {
    format: u32,
    event_id: Uuid,
    stream_id: &'a str,
    aggregate_type: &'a str,
    event_type: &'a str,
    schema_version: u32,
    version: u64,
    position: u64,
    recorded_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    correlation_id: Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    causation_id: Option<Uuid>,
    metadata: &'a eventful_core::Entries,
    payload: &'a RawValue,
}

/// The body of format 1, as read (its `format` checked first, by [`FormatOnly`]).
#[derive(Deserialize)]
struct Incoming<'a> {
    event_id: Uuid,
    stream_id: String,
    aggregate_type: String,
    event_type: String,
    schema_version: u32,
    version: u64,
    position: u64,
    recorded_at: DateTime<Utc>,
    #[serde(default)]
    correlation_id: Option<Uuid>,
    #[serde(default)]
    causation_id: Option<Uuid>,
    #[serde(default)]
    metadata: eventful_core::Entries,
    #[serde(borrow)]
    payload: &'a RawValue,
}

/// Only the version, read first so that a newer format is refused by its version rather than
/// by whatever field it changed.
#[derive(Deserialize)]
struct FormatOnly {
    format: u32,
}

/// The body of the message for `event`.
///
/// ```
/// use eventful_bus_amqp::message::{decode_body, encode_body};
/// use eventful_core::{Metadata, Payload, Position, RecordedEvent, StreamId, TypeName, Version};
///
/// let event = RecordedEvent {
///     event_id: uuid::Uuid::nil(),
///     stream_id: StreamId::new("game_results-3")?,
///     aggregate_type: TypeName::from_static("game_results"),
///     event_type: TypeName::from_static("game_completed"),
///     schema_version: 1,
///     version: Version::new(1),
///     position: Position::new(42),
///     recorded_at: chrono::DateTime::UNIX_EPOCH,
///     metadata: Metadata::default(),
///     payload: Payload::from_json_slice(br#"{"score":900}"#)?,
/// };
/// let body = encode_body(&event)?;
/// assert_eq!(decode_body(&body)?, event);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn encode_body(event: &RecordedEvent) -> Result<Vec<u8>, MessageError> {
    // A payload is valid UTF-8 JSON by construction, so neither step fails on a real one.
    let json = String::from_utf8_lossy(event.payload.as_bytes()).into_owned();
    let payload = RawValue::from_string(json).map_err(MessageError::Body)?;
    let outgoing = Outgoing {
        format: FORMAT_VERSION,
        event_id: event.event_id,
        stream_id: event.stream_id.as_str(),
        aggregate_type: event.aggregate_type.as_str(),
        event_type: event.event_type.as_str(),
        schema_version: event.schema_version,
        version: event.version.get(),
        position: event.position.get(),
        recorded_at: event.recorded_at,
        correlation_id: event.metadata.correlation_id,
        causation_id: event.metadata.causation_id,
        metadata: &event.metadata.extra,
        payload: &payload,
    };
    serde_json::to_vec(&outgoing).map_err(MessageError::Body)
}

/// The event a body of format 1 carries: the sender's envelope, whole (its stream, version
/// and position are the sender's).
pub fn decode_body(body: &[u8]) -> Result<RecordedEvent, MessageError> {
    let FormatOnly { format } = serde_json::from_slice(body).map_err(MessageError::Body)?;
    if format != FORMAT_VERSION {
        return Err(MessageError::UnsupportedFormat { found: format });
    }
    let incoming: Incoming<'_> = serde_json::from_slice(body).map_err(MessageError::Body)?;
    Ok(RecordedEvent {
        event_id: incoming.event_id,
        stream_id: StreamId::new(incoming.stream_id)?,
        aggregate_type: TypeName::new(incoming.aggregate_type)?,
        event_type: TypeName::new(incoming.event_type)?,
        schema_version: incoming.schema_version,
        version: Version::new(incoming.version),
        position: Position::new(incoming.position),
        recorded_at: incoming.recorded_at,
        metadata: Metadata {
            correlation_id: incoming.correlation_id,
            causation_id: incoming.causation_id,
            extra: incoming.metadata,
        },
        payload: Payload::from_json_slice(incoming.payload.get().as_bytes())?,
    })
}

/// The AMQP properties of the message for `event`, published by `app_id`: persistent, the
/// content type, the event id as message id, the correlation id, the event type as type, the
/// recorded time (seconds), and the format, causation id, stream and position as headers.
pub(crate) fn properties(event: &RecordedEvent, app_id: Option<&str>) -> BasicProperties {
    let mut headers = FieldTable::default();
    headers.insert(
        "eventful-format".into(),
        AMQPValue::LongUInt(FORMAT_VERSION),
    );
    headers.insert(
        "eventful-stream-id".into(),
        AMQPValue::LongString(event.stream_id.as_str().into()),
    );
    headers.insert(
        "eventful-position".into(),
        AMQPValue::LongLongInt(i64::try_from(event.position.get()).unwrap_or(i64::MAX)),
    );
    if let Some(causation) = event.metadata.causation_id {
        headers.insert(
            "eventful-causation-id".into(),
            AMQPValue::LongString(causation.to_string().into()),
        );
    }
    let mut properties = BasicProperties::default()
        .with_content_type(CONTENT_TYPE.into())
        .with_delivery_mode(PERSISTENT)
        .with_message_id(event.event_id.to_string().into())
        .with_type(event.event_type.as_str().into())
        .with_timestamp(u64::try_from(event.recorded_at.timestamp()).unwrap_or(0))
        .with_headers(headers);
    if let Some(correlation) = event.metadata.correlation_id {
        properties = properties.with_correlation_id(correlation.to_string().into());
    }
    if let Some(app_id) = app_id {
        properties = properties.with_app_id(app_id.into());
    }
    properties
}

/// The event a delivered message carries, checking its content type first.
pub(crate) fn decode(
    properties: &BasicProperties,
    body: &[u8],
) -> Result<RecordedEvent, MessageError> {
    match properties.content_type() {
        Some(content_type) if content_type.as_str() == CONTENT_TYPE => decode_body(body),
        other => Err(MessageError::ContentType {
            found: other
                .as_ref()
                .map_or_else(|| "none".to_owned(), |found| found.as_str().to_owned()),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event() -> RecordedEvent {
        RecordedEvent {
            event_id: Uuid::parse_str("01936f3e-8a3b-7c41-9a2e-5d1c0b7e4f21").expect("uuid"),
            stream_id: StreamId::new("game_results-3").expect("stream"),
            aggregate_type: TypeName::from_static("game_results"),
            event_type: TypeName::from_static("game_completed"),
            schema_version: 1,
            version: Version::new(2),
            position: Position::new(57),
            recorded_at: DateTime::parse_from_rfc3339("2026-11-25T16:28:28.923Z")
                .expect("time")
                .with_timezone(&Utc),
            metadata: Metadata::default()
                .with_correlation_id(
                    Uuid::parse_str("8f14e45f-ceea-467f-a5c4-1d5b2c3e9a70").expect("uuid"),
                )
                .with_causation_id(
                    Uuid::parse_str("01936f3e-8a3a-7f10-8c11-2b3a4c5d6e7f").expect("uuid"),
                )
                .with_entry("region", "eu"),
            payload: Payload::from_json_slice(
                br#"{"player_id":4,"session_id":3,"mode":"ranked","score":900,"placement":1}"#,
            )
            .expect("payload"),
        }
    }

    /// The golden example of docs/rabbitmq.md: a change to the format breaks this test first.
    const GOLDEN: &str = r#"{"format":1,"event_id":"01936f3e-8a3b-7c41-9a2e-5d1c0b7e4f21","stream_id":"game_results-3","aggregate_type":"game_results","event_type":"game_completed","schema_version":1,"version":2,"position":57,"recorded_at":"2026-11-25T16:28:28.923Z","correlation_id":"8f14e45f-ceea-467f-a5c4-1d5b2c3e9a70","causation_id":"01936f3e-8a3a-7f10-8c11-2b3a4c5d6e7f","metadata":{"region":"eu"},"payload":{"player_id":4,"session_id":3,"mode":"ranked","score":900,"placement":1}}"#;

    #[test]
    fn the_body_is_the_golden_example_and_reads_back() {
        let body = encode_body(&event()).expect("encodes");
        assert_eq!(std::str::from_utf8(&body).expect("utf-8"), GOLDEN);
        assert_eq!(decode_body(GOLDEN.as_bytes()).expect("decodes"), event());
    }

    #[test]
    fn an_event_without_metadata_reads_back() {
        let mut bare = event();
        bare.metadata = Metadata::default();
        let body = encode_body(&bare).expect("encodes");
        assert_eq!(decode_body(&body).expect("decodes"), bare);
    }

    #[test]
    fn another_format_or_content_type_or_body_is_refused() {
        let newer = GOLDEN.replace(r#""format":1"#, r#""format":2,"new_field":true"#);
        assert!(matches!(
            decode_body(newer.as_bytes()),
            Err(MessageError::UnsupportedFormat { found: 2 })
        ));
        let plain = BasicProperties::default().with_content_type("text/plain".into());
        assert!(matches!(
            decode(&plain, GOLDEN.as_bytes()),
            Err(MessageError::ContentType { found }) if found == "text/plain"
        ));
        assert!(matches!(
            decode(&BasicProperties::default(), GOLDEN.as_bytes()),
            Err(MessageError::ContentType { found }) if found == "none"
        ));
        assert!(matches!(
            decode_body(b"{\"format\":1}"),
            Err(MessageError::Body(_))
        ));
        let bad_stream = GOLDEN.replace("game_results-3", "");
        assert!(matches!(
            decode_body(bad_stream.as_bytes()),
            Err(MessageError::Name(_))
        ));
    }

    #[test]
    fn a_routing_key_is_two_parts_of_type_names_without_dots_or_wildcards() {
        let name = |name: &str| TypeName::new(name).expect("a type name");
        assert_eq!(
            routing_key(&name("game_results"), &name("game_completed")).expect("a key"),
            "game_results.game_completed"
        );
        for (aggregate, event, kind, character) in [
            ("game.results", "game_completed", "aggregate type", '.'),
            ("game_results", "game.completed", "event type", '.'),
            ("game*", "game_completed", "aggregate type", '*'),
            ("game_results", "#", "event type", '#'),
        ] {
            match routing_key(&name(aggregate), &name(event)) {
                Err(AmqpError::InvalidKeyPart {
                    kind: refused,
                    name: named,
                    character: found,
                    ..
                }) => {
                    assert_eq!((refused, found), (kind, character));
                    assert_eq!(
                        named,
                        if kind == "event type" {
                            event
                        } else {
                            aggregate
                        }
                    );
                }
                other => panic!("{aggregate}.{event}: {other:?}"),
            }
        }
        let (aggregate, event) = (name(&"a".repeat(127)), name(&"e".repeat(127)));
        assert_eq!(
            routing_key(&aggregate, &event).expect("255 bytes").len(),
            255
        );
        let longer = name(&"e".repeat(128));
        match routing_key(&aggregate, &longer) {
            Err(AmqpError::KeyTooLong { key, bytes: 256 }) => assert!(key.ends_with("eee")),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_properties_mirror_the_envelope() {
        let properties = properties(&event(), Some("game_session"));
        assert_eq!(
            properties.content_type().as_ref().map(|t| t.as_str()),
            Some(CONTENT_TYPE)
        );
        assert_eq!(*properties.delivery_mode(), Some(PERSISTENT));
        assert_eq!(
            properties.message_id().as_ref().map(|id| id.as_str()),
            Some("01936f3e-8a3b-7c41-9a2e-5d1c0b7e4f21")
        );
        assert_eq!(
            properties.kind().as_ref().map(|kind| kind.as_str()),
            Some("game_completed")
        );
        assert_eq!(
            properties.app_id().as_ref().map(|id| id.as_str()),
            Some("game_session")
        );
        let headers = properties.headers().clone().unwrap_or_default();
        assert_eq!(
            headers.inner().get("eventful-format"),
            Some(&AMQPValue::LongUInt(FORMAT_VERSION))
        );
    }
}
