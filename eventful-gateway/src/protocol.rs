//! The frames a client and the gateway exchange, version [`PROTOCOL_VERSION`]: JSON objects
//! tagged by `type`, the same over WebSocket (one frame per text message) and Server-Sent
//! Events (one frame per `data:` line). docs/gateway.md shows every frame with an example.
//!
//! A client sends [`ClientFrame`]s (WebSocket only); the gateway sends [`ServerFrame`]s.
//! Fields may be added to a frame within a version, so a client ignores fields it does not
//! know; a change that would break a client is a new version.

use chrono::{DateTime, Utc};
use eventful_core::{Position, RecordedEvent, Version};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use uuid::Uuid;

/// The version of the frames this crate speaks, announced in [`ServerFrame::Welcome`].
pub const PROTOCOL_VERSION: u32 = 1;

/// What a subscription follows.
///
/// Serialized as an object with one field: `{"stream":"player-7"}` or
/// `{"event_type":"leaderboard_changed"}`.
///
/// ```
/// use eventful_gateway::Topic;
///
/// let topic: Topic = serde_json::from_str(r#"{"stream":"player-7"}"#)?;
/// assert_eq!(topic, Topic::Stream("player-7".into()));
/// assert_eq!(topic.to_string(), "stream `player-7`");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Topic {
    /// Every event of one stream (a player, a game session).
    Stream(String),
    /// Every event of one type, whatever its stream (a public type, such as leaderboard
    /// changes).
    EventType(String),
}

impl std::fmt::Display for Topic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Stream(stream) => write!(f, "stream `{stream}`"),
            Self::EventType(event_type) => write!(f, "event type `{event_type}`"),
        }
    }
}

/// A frame a client sends over WebSocket.
///
/// ```
/// use eventful_core::Position;
/// use eventful_gateway::{ClientFrame, Topic};
///
/// let frame: ClientFrame = serde_json::from_str(
///     r#"{"type":"subscribe","id":"me","topic":{"stream":"player-7"},"after":41}"#,
/// )?;
/// assert_eq!(frame, ClientFrame::Subscribe {
///     id: "me".into(),
///     topic: Topic::Stream("player-7".into()),
///     after: Some(Position::new(41)),
/// });
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
#[non_exhaustive]
pub enum ClientFrame {
    /// Follow `topic`, under the client's name `id` for the subscription.
    Subscribe {
        /// The client's name for the subscription: events carry it, `unsubscribe` names it.
        id: String,
        /// What to follow.
        topic: Topic,
        /// Resume: every event of the topic after this position first, then live ones.
        /// Absent: live events only, from now. `0` is the whole history.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        after: Option<Position>,
    },
    /// Stop the subscription `id`.
    Unsubscribe {
        /// The subscription.
        id: String,
    },
}

/// A frame the gateway sends.
///
/// ```
/// use eventful_gateway::{ErrorCode, ServerFrame};
///
/// let refused = ServerFrame::Error {
///     code: ErrorCode::Forbidden,
///     message: "player `7` may not follow stream `player-8`".into(),
///     subscription: Some("other".into()),
/// };
/// let json = serde_json::to_string(&refused)?;
/// assert_eq!(
///     json,
///     r#"{"type":"error","code":"forbidden","message":"player `7` may not follow stream `player-8`","subscription":"other"}"#
/// );
/// assert_eq!(serde_json::from_str::<ServerFrame>(&json)?, refused);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ServerFrame {
    /// The token was accepted: the first frame of every connection.
    Welcome {
        /// The frames' version: [`PROTOCOL_VERSION`].
        protocol: u32,
        /// The token's subject (the player).
        subject: String,
        /// When the token expires; the gateway closes the connection then
        /// ([`CloseCode::TokenExpired`]).
        expires_at: DateTime<Utc>,
    },
    /// A subscription was accepted.
    Subscribed {
        /// The client's name for it.
        id: String,
        /// What it follows.
        topic: Topic,
        /// Events after this position follow: the `after` asked for, or the position the
        /// gateway had reached when the subscription started live — the position to resume
        /// after until the subscription's first event arrives.
        after: Position,
    },
    /// A subscription was stopped: no event of it follows this frame.
    Unsubscribed {
        /// The client's name for it.
        id: String,
    },
    /// An event of a subscription. Within a subscription, events arrive in position order,
    /// each once.
    Event {
        /// The subscription it is delivered for (over SSE, always `sse`).
        subscription: String,
        /// The event.
        event: EventEnvelope,
    },
    /// A client frame was refused; the connection goes on.
    Error {
        /// What went wrong, for programs.
        code: ErrorCode,
        /// What went wrong, for people.
        message: String,
        /// The subscription the refused frame named, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        subscription: Option<String>,
    },
    /// The gateway is ending the connection: the last frame before the close.
    Closing {
        /// Why, for programs (and how to come back).
        code: CloseCode,
        /// Why, for people.
        reason: String,
    },
}

/// Why a client frame was refused ([`ServerFrame::Error`]).
///
/// ```
/// use eventful_gateway::ErrorCode;
///
/// assert_eq!(serde_json::to_string(&ErrorCode::PositionUnavailable)?, r#""position_unavailable""#);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorCode {
    /// Not a frame of this protocol: not JSON, not text, an unknown type or a missing field.
    MalformedFrame,
    /// The token does not allow the topic.
    Forbidden,
    /// A subscription of this id is already running.
    DuplicateSubscription,
    /// No subscription of this id is running.
    UnknownSubscription,
    /// The connection follows as many topics as the gateway allows.
    TooManySubscriptions,
    /// The `after` position is past the end of the store's log — the store no longer has
    /// (or never had) the events the client says it saw — or resuming from it would read
    /// more than is left of the connection's catch-up budget. Subscribe without `after`.
    PositionUnavailable,
    /// The store failed: reading past events for a resume (the subscription was stopped), or
    /// what the access check needs. Subscribe again, after the last position received.
    StoreUnavailable,
}

/// Why the gateway ends a connection ([`ServerFrame::Closing`]), and the WebSocket close code
/// that follows it.
///
/// ```
/// use eventful_gateway::CloseCode;
///
/// assert_eq!(CloseCode::Lagging.websocket_code(), 4008);
/// assert_eq!(serde_json::to_string(&CloseCode::Lagging)?, r#""lagging""#);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum CloseCode {
    /// No token, or one that does not verify. Come back with a valid one.
    InvalidToken,
    /// The token has expired. Come back with a fresh one and the last positions.
    TokenExpired,
    /// The client fell too far behind the live events. Come back with the last positions:
    /// nothing is lost.
    Lagging,
    /// The server is stopping. Come back later with the last positions.
    ShuttingDown,
    /// The client asked for a protocol version this gateway does not speak.
    UnsupportedProtocol,
    /// The request to connect is not one the gateway takes (an unknown query parameter).
    /// Fix the client.
    MalformedRequest,
    /// The client sent a frame larger than the gateway takes. Send smaller frames.
    FrameTooLarge,
    /// Over SSE: reading the past events of a resume failed. Come back (an `EventSource`
    /// does, with `Last-Event-ID`) and resume from the last position.
    StoreUnavailable,
}

impl CloseCode {
    /// The WebSocket close code sent with it: the standard one where there is one — 1001
    /// (going away) for a shutdown, 1009 (message too big) for a frame too large, 1013 (try
    /// again later) for a store that failed — and 4000 and up (the application's range) for
    /// the others.
    pub fn websocket_code(self) -> u16 {
        match self {
            Self::MalformedRequest => 4000,
            Self::InvalidToken => 4001,
            Self::TokenExpired => 4002,
            Self::UnsupportedProtocol => 4003,
            Self::Lagging => 4008,
            Self::ShuttingDown => 1001,
            Self::FrameTooLarge => 1009,
            Self::StoreUnavailable => 1013,
        }
    }
}

/// An event as a client sees it: the envelope and the payload as JSON.
///
/// ```
/// use eventful_gateway::EventEnvelope;
///
/// let event: EventEnvelope = serde_json::from_str(r#"{
///     "event_id": "0190a3f2-7c4b-7d2e-9a1b-2c3d4e5f6a7b",
///     "event_type": "stats_updated",
///     "schema_version": 1,
///     "stream_id": "player-7",
///     "version": 12,
///     "position": 4711,
///     "recorded_at": "2025-06-01T12:00:00Z",
///     "payload": {"stats": {"xp": 1250}}
/// }"#)?;
/// assert_eq!(event.payload["stats"]["xp"], 1250);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct EventEnvelope {
    /// The event's id.
    pub event_id: Uuid,
    /// The stored type name of the event.
    pub event_type: String,
    /// The shape revision of the payload.
    pub schema_version: u32,
    /// The stream it belongs to.
    pub stream_id: String,
    /// Its version within the stream.
    pub version: Version,
    /// Its position in the store-wide order: what a client resumes after.
    pub position: Position,
    /// When the store recorded it (UTC).
    pub recorded_at: DateTime<Utc>,
    /// The event itself.
    pub payload: serde_json::Value,
}

/// The envelope of an event serialized once, shared by every delivery of it: the payload's
/// stored JSON goes in as it is, never parsed into values.
#[derive(Serialize)]
struct EnvelopeOut<'a> {
    event_id: Uuid,
    event_type: &'a str,
    schema_version: u32,
    stream_id: &'a str,
    version: Version,
    position: Position,
    recorded_at: DateTime<Utc>,
    payload: &'a RawValue,
}

/// `event`'s envelope as the JSON of an [`EventEnvelope`]; an error when its stored payload
/// is not JSON text (which a store never hands out: it checks payloads on the way in).
pub(crate) fn envelope_json(event: &RecordedEvent) -> Result<Box<RawValue>, serde_json::Error> {
    let payload: &RawValue = serde_json::from_slice(event.payload.as_bytes())?;
    serde_json::value::to_raw_value(&EnvelopeOut {
        event_id: event.event_id,
        event_type: &event.event_type,
        schema_version: event.schema_version,
        stream_id: event.stream_id.as_str(),
        version: event.version,
        position: event.position,
        recorded_at: event.recorded_at,
        payload,
    })
}

/// A subscription's name as a JSON string, made once per subscription so that each event
/// frame is a concatenation.
pub(crate) fn quoted(name: &str) -> String {
    // Serializing a `str` cannot fail.
    serde_json::to_string(name).unwrap_or_default()
}

/// The JSON text of an event frame: `quoted_subscription` from [`quoted`], `envelope` from
/// [`envelope_json`].
pub(crate) fn event_frame_json(quoted_subscription: &str, envelope: &RawValue) -> String {
    const HEAD: &str = r#"{"type":"event","subscription":"#;
    const MIDDLE: &str = r#","event":"#;
    let envelope = envelope.get();
    let mut json = String::with_capacity(
        HEAD.len() + quoted_subscription.len() + MIDDLE.len() + envelope.len() + 1,
    );
    json.push_str(HEAD);
    json.push_str(quoted_subscription);
    json.push_str(MIDDLE);
    json.push_str(envelope);
    json.push('}');
    json
}

impl ServerFrame {
    /// The frame as JSON text.
    pub(crate) fn to_json(&self) -> String {
        // Every field serializes (strings, numbers, a timestamp), so this never falls back.
        serde_json::to_string(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use eventful_core::{Payload, StreamId, TypeName};

    fn recorded() -> RecordedEvent {
        RecordedEvent {
            event_id: Uuid::from_u128(0x0190_a3f2_7c4b_7d2e_9a1b_2c3d_4e5f_6a7b),
            stream_id: StreamId::new("player-7").expect("valid"),
            aggregate_type: TypeName::from_static("player"),
            event_type: TypeName::from_static("stats_updated"),
            schema_version: 1,
            version: Version::new(12),
            position: Position::new(4711),
            recorded_at: DateTime::parse_from_rfc3339("2025-06-01T12:00:00Z")
                .expect("valid")
                .with_timezone(&Utc),
            metadata: Default::default(),
            payload: Payload::from_json_slice(br#"{"stats":{"xp":1250}}"#).expect("valid"),
        }
    }

    /// The protocol's page, whose examples are what a client is written from.
    const GUIDE: &str = include_str!("../../docs/gateway.md");

    /// The golden event frame: the one event frame of the guide.
    fn golden() -> &'static str {
        let mut events = json_examples(GUIDE)
            .into_iter()
            .filter(|(_, line)| line.starts_with(r#"{"type":"event""#));
        let golden = events.next().expect("the guide shows an event frame").1;
        assert!(events.next().is_none(), "the guide shows one event frame");
        golden
    }

    /// Every line of the guide's ```json blocks, with the heading of the section above it.
    fn json_examples(guide: &str) -> Vec<(&str, &str)> {
        let mut examples = Vec::new();
        let (mut heading, mut in_json) = ("", false);
        for line in guide.lines() {
            if let Some(title) = line.strip_prefix('#') {
                heading = title.trim_start_matches('#').trim();
            } else if line.starts_with("```") {
                in_json = !in_json && line == "```json";
            } else if in_json && !line.trim().is_empty() {
                examples.push((heading, line));
            }
        }
        examples
    }

    #[test]
    fn the_shared_envelope_is_the_event_frame_of_the_protocol() {
        let envelope = envelope_json(&recorded()).expect("JSON payload");
        let json = event_frame_json(&quoted("me"), &envelope);
        assert_eq!(json, golden());
        let frame: ServerFrame = serde_json::from_str(&json).expect("a server frame");
        let ServerFrame::Event {
            subscription,
            event,
        } = &frame
        else {
            panic!("an event frame: {frame:?}");
        };
        assert_eq!(subscription, "me");
        assert_eq!(event.position, Position::new(4711));
        assert_eq!(event.payload["stats"]["xp"], 1250);
        assert_eq!(
            frame.to_json(),
            golden(),
            "round trip through the typed frame"
        );
    }

    #[test]
    fn every_frame_the_guide_shows_is_a_frame_of_the_protocol() {
        let examples = json_examples(GUIDE);
        let (mut client, mut server) = (0, 0);
        for (heading, line) in &examples {
            if heading.starts_with("Client") {
                let frame: ClientFrame = serde_json::from_str(line)
                    .unwrap_or_else(|error| panic!("{heading}: {line}: {error}"));
                assert_eq!(
                    serde_json::to_value(&frame).expect("serializes"),
                    serde_json::from_str::<serde_json::Value>(line).expect("JSON"),
                    "{line}"
                );
                client += 1;
            } else {
                let frame: ServerFrame = serde_json::from_str(line)
                    .unwrap_or_else(|error| panic!("{heading}: {line}: {error}"));
                assert_eq!(
                    serde_json::to_value(&frame).expect("serializes"),
                    serde_json::from_str::<serde_json::Value>(line).expect("JSON"),
                    "{line}"
                );
                server += 1;
            }
        }
        // Every frame type both ways is shown: a guide that lost its examples fails here.
        assert!(
            client >= 4 && server >= 6,
            "{client} client and {server} server frames found"
        );
    }

    #[test]
    fn client_frames_round_trip_and_refuse_what_is_not_theirs() {
        for frame in [
            ClientFrame::Subscribe {
                id: "s".into(),
                topic: Topic::EventType("leaderboard_changed".into()),
                after: None,
            },
            ClientFrame::Subscribe {
                id: "s".into(),
                topic: Topic::Stream("player-1".into()),
                after: Some(Position::START),
            },
            ClientFrame::Unsubscribe { id: "s".into() },
        ] {
            let json = serde_json::to_string(&frame).expect("serializes");
            assert_eq!(
                serde_json::from_str::<ClientFrame>(&json).expect(&json),
                frame
            );
        }
        for garbage in [
            "",
            "null",
            "[]",
            r#"{"type":"subscribe"}"#,
            r#"{"type":"dance","id":"s"}"#,
            r#"{"type":"subscribe","id":"s","topic":{"table":"x"}}"#,
            r#"{"type":"unsubscribe","id":"s","extra":1}"#,
            r#"{"type":"subscribe","id":"s","topic":{"stream":"p"},"after":-1}"#,
        ] {
            assert!(
                serde_json::from_str::<ClientFrame>(garbage).is_err(),
                "{garbage} accepted"
            );
        }
    }

    #[test]
    fn server_frames_round_trip() {
        let frames = [
            ServerFrame::Welcome {
                protocol: PROTOCOL_VERSION,
                subject: "7".into(),
                expires_at: recorded().recorded_at,
            },
            ServerFrame::Subscribed {
                id: "me".into(),
                topic: Topic::Stream("player-7".into()),
                after: Position::new(3),
            },
            ServerFrame::Unsubscribed { id: "me".into() },
            ServerFrame::Closing {
                code: CloseCode::ShuttingDown,
                reason: "maintenance".into(),
            },
        ];
        for frame in frames {
            let json = frame.to_json();
            assert_eq!(
                serde_json::from_str::<ServerFrame>(&json).expect(&json),
                frame
            );
        }
    }
}
