//! # eventful-bus-amqp
//!
//! The RabbitMQ bridge between eventful services: each service keeps its own store, and
//! what one service declares public reaches the others through a topic exchange.
//!
//! - The [`Relay`] is the outbound half: a handler on the service's own bus, with durable
//!   and claimed progress (exactly one instance of the service publishes), that publishes
//!   each committed public event as a persistent message with routing key
//!   `<aggregate type>.<event type>`, and returns only once the broker confirmed it, so that
//!   its checkpoint moves past an event only when the broker has it. The store is the outbox.
//! - The [`Consumer`] is the inbound half: a durable queue per service, bound to the keys
//!   its handlers ask for, every instance of the service consuming from it. Each message is
//!   handed to the handlers (typed, by name, policies, an [`Inbox`]) with the sender's
//!   envelope — event id, correlation and causation ids, metadata — and acknowledged only
//!   after they succeeded. A message that cannot be decoded, or that a handler keeps failing
//!   on, goes to the dead-letter queue with the reason, and the consumer goes on.
//! - Both reconnect with backoff when the broker restarts or the connection drops; a bad
//!   URI, a refused login, an unreachable broker or a queue declared with other arguments is
//!   a typed [`AmqpError`] at start-up. [`Relay::health`] and [`RunningConsumer::health`]
//!   tell whether each is connected, for a readiness probe.
//!
//! ```no_run
//! use eventful_bus_amqp::{AmqpSettings, Consumer, Inbox, Relay};
//! use eventful_core::{EventBus, TypeName};
//! use eventful_store_memory::MemoryStore;
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let amqp = AmqpSettings::new("amqp://guest:guest@127.0.0.1:5672/%2f");
//!
//! // The game-session service publishes its results…
//! let sessions = MemoryStore::new();
//! let relay = Relay::builder(amqp.clone().with_connection_name("game_session"))
//!     .publish_types([TypeName::from_static("game_completed")])
//!     .connect()
//!     .await?;
//! let mut bus = EventBus::new(sessions.clone(), sessions);
//! bus.handler(relay);
//! let publishing = bus.start()?;
//!
//! // …and the player service records them in its own store, where its policies follow them.
//! let players = MemoryStore::new();
//! let mut consumer = Consumer::new(amqp.with_connection_name("player_service"), "player_service");
//! consumer.handler(Inbox::new(players.clone()).receive_types([TypeName::from_static("game_completed")]));
//! let consuming = consumer.start().await?;
//! # consuming.shutdown().await;
//! # publishing.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! Delivery is at least once; handling is idempotent by event id. A policy's commands are
//! keyed by the event's id, so a redelivered message records nothing twice; an [`Inbox`]
//! records each event id once in the receiving store, from where the service's bus hands it
//! to one instance. docs/rabbitmq.md has the message format, the topology and the argument.
//!
//! ## Map
//!
//! | module | what lives there |
//! | --- | --- |
//! | [`settings`] | [`AmqpSettings`] (URI, exchange, connection name) and [`Backoff`] |
//! | [`message`] | the message format: [`CONTENT_TYPE`](message::CONTENT_TYPE), [`FORMAT_VERSION`](message::FORMAT_VERSION), the body, the routing key |
//! | [`relay`] | [`Relay`]: committed public events to the exchange, confirmed |
//! | [`consumer`] | [`Consumer`], [`RunningConsumer`]: the queue, its handlers, acknowledgements and dead letters |
//! | [`inbox`] | [`Inbox`]: received events into the service's own store, each id once |
//! | [`health`] | [`BrokerHealth`]: each link's state for readiness (an `eventful_admin::HealthCheck` with the `admin` feature) |
//! | [`error`] | [`AmqpError`] |

#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(clippy::unwrap_used)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod connection;
pub mod consumer;
pub mod error;
pub mod health;
pub mod inbox;
pub mod message;
pub mod relay;
pub mod settings;

pub use crate::consumer::{Consumer, ConsumerEnd, ConsumerStats, RunningConsumer};
pub use crate::error::AmqpError;
pub use crate::health::{BrokerDown, BrokerHealth, LinkStatus};
pub use crate::inbox::Inbox;
pub use crate::message::MessageError;
pub use crate::relay::{Relay, RelayBuilder};
pub use crate::settings::{AmqpSettings, Backoff};
