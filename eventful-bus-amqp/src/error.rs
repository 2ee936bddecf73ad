//! [`AmqpError`]: why the bridge could not start, publish or consume.

use uuid::Uuid;

use crate::message::{MAX_KEY_LEN, MessageError};

/// Why the bridge could not connect, publish or consume.
///
/// The first four are start-up mistakes to fix in the configuration, and are returned at once
/// by [`Relay::connect`](crate::Relay) and [`Consumer::start`](crate::Consumer::start) rather
/// than retried; a connection lost later is retried with backoff and never returned.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AmqpError {
    /// The URI is not an AMQP URI.
    #[error("`{uri}` is not an AMQP URI (amqp://user:password@host:port/vhost): {reason}")]
    InvalidUri {
        /// The URI, its password hidden.
        uri: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Nothing answers at the URI's host and port, or the connection broke while opening.
    #[error("RabbitMQ at {endpoint} cannot be reached: {source}")]
    Unreachable {
        /// `host:port/vhost`.
        endpoint: String,
        /// The underlying error.
        #[source]
        source: lapin::Error,
    },
    /// The broker refused the login (wrong user or password) or the virtual host.
    #[error("RabbitMQ at {endpoint} refused user `{user}`: {reason}")]
    AccessRefused {
        /// `host:port/vhost`.
        endpoint: String,
        /// The user the URI names.
        user: String,
        /// The broker's reply.
        reason: String,
    },
    /// The queue exists with other arguments or properties than this consumer declares it
    /// with (someone else's queue of the same name, or one declared by an older version).
    #[error("queue `{queue}` exists with other arguments than this consumer's: {reason}")]
    QueueConflict {
        /// The queue.
        queue: String,
        /// The broker's reply, naming the argument.
        reason: String,
    },
    /// The exchange exists with another type or other properties.
    #[error("exchange `{exchange}` exists with another type or other properties: {reason}")]
    ExchangeConflict {
        /// The exchange.
        exchange: String,
        /// The broker's reply.
        reason: String,
    },
    /// A relay was built with no event type to publish.
    #[error("relay `{relay}` publishes nothing: name the public event types")]
    NothingToPublish {
        /// The relay.
        relay: String,
    },
    /// A consumer was built with no handler.
    #[error("the consumer of queue `{queue}` has no handler")]
    NoHandlers {
        /// The queue.
        queue: String,
    },
    /// A consumer was given two handlers of one name.
    #[error("the consumer of queue `{queue}` has two handlers named `{handler}`")]
    DuplicateHandler {
        /// The queue.
        queue: String,
        /// The name.
        handler: String,
    },
    /// An event type name given to the bridge is not a valid one.
    #[error("invalid event type for `{handler}`: {source}")]
    InvalidEventType {
        /// The relay or handler it was given to.
        handler: String,
        /// What is wrong with it.
        #[source]
        source: eventful_core::NameError,
    },
    /// An aggregate or event type name holds a character that a routing key
    /// (`<aggregate type>.<event type>`) cannot carry as it is: `.` separates the key's
    /// parts, `*` and `#` are wildcards in bindings. Refused when a relay connects (for the
    /// types it is given), when a consumer starts (for its handlers' types), and when the
    /// relay is handed an event of such a type: then the relay's handler stops on it (the
    /// event stays before its checkpoint) rather than publish it under a wrong key.
    #[error("{kind} `{name}` cannot be part of a routing key: it holds `{character}`, {why}")]
    InvalidKeyPart {
        /// `"aggregate type"` or `"event type"`.
        kind: &'static str,
        /// The name.
        name: String,
        /// The first offending character: `.`, `*` or `#`.
        character: char,
        /// What that character does in a routing key.
        why: &'static str,
    },
    /// A routing key or binding pattern is longer than AMQP's 255 bytes (two type names of up
    /// to 128 bytes each and the `.` can be 257). Refused at the same moments as
    /// [`InvalidKeyPart`](AmqpError::InvalidKeyPart).
    #[error("routing key `{key}` is {bytes} bytes long; AMQP allows {MAX_KEY_LEN}")]
    KeyTooLong {
        /// The key.
        key: String,
        /// Its length in bytes.
        bytes: usize,
    },
    /// The broker refused to take a message (a negative confirm: a full disk, a queue
    /// limit). The relay tries it again.
    #[error("the broker refused event {event_id}")]
    Refused {
        /// The event.
        event_id: Uuid,
    },
    /// No queue is bound for the event's routing key, and the relay requires one
    /// ([`RelayBuilder::require_route`](crate::RelayBuilder::require_route)). The relay tries
    /// it again.
    #[error("no queue takes event {event_id} (routing key `{routing_key}`)")]
    Unroutable {
        /// The event.
        event_id: Uuid,
        /// Its routing key.
        routing_key: String,
    },
    /// The dead-letter exchange has no queue bound for a dead letter (its queue was
    /// deleted): the broker returned it. The message stays in its queue, unacknowledged,
    /// and comes again.
    #[error("no dead-letter queue takes the dead letters of queue `{queue}`")]
    DeadLetterUnroutable {
        /// The queue the message came from.
        queue: String,
    },
    /// The broker refused to take a dead letter (a negative confirm); the message stays in
    /// its queue, unacknowledged, and comes again.
    #[error("the broker refused a dead letter of queue `{queue}`")]
    DeadLetterRefused {
        /// The queue the message came from.
        queue: String,
    },
    /// The broker ended the consumer's delivery stream (the connection or channel closed).
    #[error("the broker stopped delivering from queue `{queue}`")]
    DeliveriesEnded {
        /// The queue.
        queue: String,
    },
    /// The relay was closed ([`Relay::close`](crate::Relay::close)); the event was not
    /// published and stays before the relay's checkpoint.
    #[error("relay `{relay}` is closed")]
    Closed {
        /// The relay.
        relay: String,
    },
    /// An event could not be written as a message.
    #[error(transparent)]
    Message(#[from] MessageError),
    /// Any other failure of the broker or the connection, during `operation`.
    #[error("RabbitMQ failed during {operation}: {source}")]
    Broker {
        /// What was being done (`"queue.declare"`, `"basic.publish"`, …).
        operation: &'static str,
        /// The underlying error.
        #[source]
        source: lapin::Error,
    },
}
