//! [`Relay`]: the outbound half. An [`EventHandler`] on the service's own bus that publishes
//! each committed public event to the topic exchange and returns only once the broker has
//! confirmed it, so that the bus saves the relay's position past an event only after the
//! broker has it.
//!
//! The store is the outbox: the relay follows the log from its saved position, so an event
//! committed just before a crash is published after the restart. Its progress is durable and
//! claimed, in one segment, so exactly one instance of a service publishes, in log order.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use async_trait::async_trait;
use eventful_core::bus::{HandlerSettings, OnFailure};
use eventful_core::telemetry::{DeliveryCounters, DeliveryKind, DeliveryOutcome};
use eventful_core::{
    BoxError, Event, EventFilter, EventHandler, RecordedEvent, TypeName, Upcasters,
};
use futures::StreamExt;
use futures::stream::BoxStream;
use lapin::options::{BasicPublishOptions, ConfirmSelectOptions};
use lapin::{Channel, Confirmation, Connection};
use tokio::sync::{Mutex, Notify};
use tracing::Instrument;

use crate::connection::{self, Target};
use crate::error::AmqpError;
use crate::health::{BrokerHealth, LinkState};
use crate::message::{self, check_key_part, routing_key};
use crate::settings::AmqpSettings;

/// The relay's handler name, unless told otherwise: the key of its progress in the
/// service's checkpoint store.
pub const DEFAULT_RELAY_NAME: &str = "amqp_relay";

/// Publishes a service's public events to RabbitMQ. Add it to the service's bus with
/// [`EventBus::handler`](eventful_core::EventBus::handler).
///
/// ```no_run
/// use eventful_bus_amqp::{AmqpSettings, Relay};
/// use eventful_core::{EventBus, TypeName};
/// use eventful_store_memory::MemoryStore;
///
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let store = MemoryStore::new();
/// let relay = Relay::builder(AmqpSettings::new("amqp://guest:guest@127.0.0.1:5672/%2f"))
///     .publish_types([TypeName::from_static("game_completed")])
///     .connect()
///     .await?; // a bad URI, a refused login or an unreachable broker is an error here
/// let mut bus = EventBus::new(store.clone(), store);
/// bus.handler(relay.clone());
/// let running = bus.start()?;
/// // … the service appends; the relay publishes `<aggregate type>.game_completed` …
/// relay.close(); // an event waiting for the broker gives up, before its checkpoint
/// running.shutdown().await;
/// # Ok(()) }
/// ```
///
/// Every call that publishes waits for the broker's confirm. While the broker is away it
/// reconnects with backoff and tries the same event again, in the call: the event is neither
/// skipped nor parked, and the bus does not move past it. A call that waits longer than the
/// bus's lease may let another instance take the relay over; the event it was on may then be
/// published twice, which consumers absorb (they are idempotent by event id).
///
/// A connection lost between events is opened again in the background, with the same
/// backoff, so that [`health`](Relay::health) comes back without an event to publish.
#[derive(Clone)]
pub struct Relay {
    inner: Arc<Inner>,
}

struct Inner {
    name: String,
    settings: AmqpSettings,
    target: Target,
    filter: EventFilter,
    link: Mutex<Option<Link>>,
    closed: AtomicBool,
    close: Notify,
    published: AtomicU64,
    reconnects: AtomicU64,
    /// Each publish increments one of these handles instead of looking its counter up by
    /// labels; registered at [`RelayBuilder::connect`], they count into the metrics recorder
    /// installed by then.
    deliveries: DeliveryCounters,
    require_route: bool,
    /// What [`Relay::health`] tells.
    health: LinkState,
}

/// One connection and its channel in confirm mode.
struct Link {
    connection: Connection,
    channel: Channel,
}

/// What a [`Relay`] will publish; [`Relay::builder`] starts one.
#[derive(Debug)]
#[must_use = "a builder does nothing until `connect`"]
pub struct RelayBuilder {
    name: String,
    settings: AmqpSettings,
    event_types: Vec<TypeName>,
    aggregate_types: Vec<TypeName>,
    require_route: bool,
}

impl RelayBuilder {
    /// Counts an event as delivered only once a queue took it: each message is published
    /// `mandatory`, and one the broker returns (no queue bound for its key) is tried again
    /// with backoff, the relay's checkpoint staying before it, until a consumer has declared
    /// its queue. Without it, the broker confirms and drops such a message, as a topic
    /// exchange does, and the relay goes on.
    ///
    /// ```no_run
    /// use eventful_bus_amqp::{AmqpSettings, Relay};
    /// use eventful_core::TypeName;
    ///
    /// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// let relay = Relay::builder(AmqpSettings::new("amqp://guest:guest@127.0.0.1:5672/%2f"))
    ///     .publish_types([TypeName::from_static("game_completed")])
    ///     .require_route()
    ///     .connect()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn require_route(mut self) -> Self {
        self.require_route = true;
        self
    }

    /// Names the relay (the key of its progress): [`DEFAULT_RELAY_NAME`] unless told
    /// otherwise. Two relays on one bus, to two brokers, need two names.
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Publishes every event type of `E`.
    pub fn publish<E: Event>(mut self) -> Self {
        self.event_types.extend(
            E::EVENT_TYPES
                .iter()
                .map(|event_type| event_type.name.clone()),
        );
        self
    }

    /// Publishes events stored under these type names.
    pub fn publish_types(mut self, event_types: impl IntoIterator<Item = TypeName>) -> Self {
        self.event_types.extend(event_types);
        self
    }

    /// Publishes only events of streams of these aggregate types (of the types above).
    pub fn from_aggregates(mut self, aggregate_types: impl IntoIterator<Item = TypeName>) -> Self {
        self.aggregate_types.extend(aggregate_types);
        self
    }

    /// Connects and declares the exchanges: an unusable URI, a refused login, a broker that
    /// does not answer or an exchange declared otherwise is an error now, not later; so is a
    /// type name that cannot be part of a routing key ([`AmqpError::InvalidKeyPart`], or
    /// [`AmqpError::KeyTooLong`] for an aggregate and event type too long together).
    ///
    /// The relay's `eventful_deliveries_total{kind="relay"}` counters are registered here:
    /// install the process's metrics recorder before connecting.
    ///
    /// ```
    /// use eventful_bus_amqp::{AmqpError, AmqpSettings, Relay};
    /// use eventful_core::TypeName;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// // Refused before connecting.
    /// let refused = Relay::builder(AmqpSettings::new("amqp://guest:guest@127.0.0.1:5672/%2f"))
    ///     .publish_types([TypeName::from_static("game.completed")])
    ///     .connect()
    ///     .await;
    /// assert!(matches!(refused, Err(AmqpError::InvalidKeyPart { character: '.', .. })));
    /// # }
    /// ```
    pub async fn connect(self) -> Result<Relay, AmqpError> {
        if self.event_types.is_empty() {
            return Err(AmqpError::NothingToPublish { relay: self.name });
        }
        // Each pair's key checks both its parts and its length; with no aggregate named, the
        // event types are checked alone.
        for event_type in &self.event_types {
            check_key_part("event type", event_type)?;
            for aggregate_type in &self.aggregate_types {
                routing_key(aggregate_type, event_type)?;
            }
        }
        let target = connection::target(&self.settings)?;
        let link = open(&self.settings).await?;
        let mut event_types = self.event_types;
        event_types.sort();
        event_types.dedup();
        let health = LinkState::connected_now(format!("amqp relay {}", self.name));
        let relay = Relay {
            inner: Arc::new(Inner {
                name: self.name,
                settings: self.settings,
                target,
                filter: EventFilter::all()
                    .with_event_types(event_types)
                    .with_aggregate_types(self.aggregate_types),
                link: Mutex::new(Some(link)),
                closed: AtomicBool::new(false),
                close: Notify::new(),
                published: AtomicU64::new(0),
                reconnects: AtomicU64::new(0),
                deliveries: DeliveryCounters::new(DeliveryKind::Relay),
                require_route: self.require_route,
                health,
            }),
        };
        tokio::spawn(watch_link(
            Arc::downgrade(&relay.inner),
            relay.inner.health.health(),
        ));
        Ok(relay)
    }
}

/// Connects, declares the exchanges and puts a channel in confirm mode.
async fn open(settings: &AmqpSettings) -> Result<Link, AmqpError> {
    let connection = connection::connect(settings, "relay").await?;
    let channel = connection::channel(&connection).await?;
    connection::declare_exchanges(&channel, settings).await?;
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await
        .map_err(|source| AmqpError::Broker {
            operation: "confirm.select",
            source,
        })?;
    Ok(Link {
        connection,
        channel,
    })
}

impl Relay {
    /// A relay publishing through `settings`; name what it publishes, then
    /// [`connect`](RelayBuilder::connect).
    pub fn builder(settings: AmqpSettings) -> RelayBuilder {
        RelayBuilder {
            name: DEFAULT_RELAY_NAME.to_owned(),
            settings,
            event_types: Vec::new(),
            aggregate_types: Vec::new(),
            require_route: false,
        }
    }

    /// How many events it has published and seen confirmed, in this process.
    pub fn published(&self) -> u64 {
        self.inner.published.load(Ordering::Relaxed)
    }

    /// How many times it has connected again after losing the broker, in this process.
    pub fn reconnects(&self) -> u64 {
        self.inner.reconnects.load(Ordering::Relaxed)
    }

    /// Its link to the broker, for readiness: connected, reconnecting since when and why (the
    /// last error), or ended (closed, dropped). Named `amqp relay <relay name>`.
    ///
    /// ```no_run
    /// use eventful_bus_amqp::{AmqpSettings, LinkStatus, Relay};
    /// use eventful_core::TypeName;
    ///
    /// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// let relay = Relay::builder(AmqpSettings::new("amqp://guest:guest@127.0.0.1:5672/%2f"))
    ///     .publish_types([TypeName::from_static("game_completed")])
    ///     .connect()
    ///     .await?;
    /// let health = relay.health();
    /// assert_eq!(health.name(), "amqp relay amqp_relay");
    /// assert!(health.status().is_connected());
    /// relay.close();
    /// assert!(matches!(health.status(), LinkStatus::Ended { .. }));
    /// # Ok(()) }
    /// ```
    pub fn health(&self) -> BrokerHealth {
        self.inner.health.health()
    }

    /// Stops publishing: a call waiting for the broker gives up with [`AmqpError::Closed`]
    /// (its event stays before the relay's checkpoint, for the next start), and so does
    /// every later one. Call it before `RunningBus::shutdown` when the broker may be away,
    /// so that the shutdown need not wait for it.
    pub fn close(&self) {
        self.inner.closed.store(true, Ordering::SeqCst);
        self.inner.health.ended("the relay was closed");
        self.inner.close.notify_waiters();
    }

    fn closed(&self) -> Result<(), AmqpError> {
        if self.inner.closed.load(Ordering::SeqCst) {
            Err(AmqpError::Closed {
                relay: self.inner.name.clone(),
            })
        } else {
            Ok(())
        }
    }

    /// Publishes `event` and waits for the confirm, reconnecting with backoff as long as it
    /// takes; only a closed relay or an event that cannot be written as a message fails (its
    /// body, or its routing key: an aggregate type that cannot be part of one).
    /// The lock on the link keeps one publication at a time: the bus calls a one-segment
    /// handler one event at a time anyway, and so the broker receives them in log order.
    async fn publish(&self, event: &RecordedEvent) -> Result<(), AmqpError> {
        let body = message::encode_body(event)?;
        let properties = message::properties(event, self.inner.settings.connection_name.as_deref());
        let key = routing_key(&event.aggregate_type, &event.event_type)?;
        let mut failures = 0;
        let mut link = self.inner.link.lock().await;
        loop {
            let Some(current) = link.as_ref() else {
                *link = Some(self.reopen(&mut failures).await?);
                continue;
            };
            let message = Outgoing {
                event_id: event.event_id,
                key: &key,
                body: body.as_slice(),
                properties: properties.clone(),
                mandatory: self.inner.require_route,
            };
            let exchange = self.inner.settings.exchange();
            // Each attempt is one delivery in eventful's telemetry: a span carrying the
            // event's correlation id, and `eventful_deliveries_total{kind="relay"}`.
            let delivery = self.inner.deliveries.start(&key, event);
            let attempt = confirm(current, exchange, message).instrument(delivery.span().clone());
            let confirmed = match self.unless_closed(attempt).await {
                Ok(confirmed) => confirmed,
                Err(closed) => {
                    delivery.finish(DeliveryOutcome::Failed);
                    return Err(closed);
                }
            };
            match confirmed {
                Ok(()) => {
                    delivery.finish(DeliveryOutcome::Delivered);
                    self.inner.published.fetch_add(1, Ordering::Relaxed);
                    return Ok(());
                }
                Err(error) => {
                    delivery.finish(DeliveryOutcome::Failed);
                    failures += 1;
                    tracing::warn!(relay = %self.inner.name, event_id = %event.event_id, %error, "publish not confirmed; trying again");
                    // A message no queue took says nothing against the link: keep it.
                    if !matches!(error, AmqpError::Unroutable { .. })
                        && let Some(broken) = link.take()
                    {
                        self.inner.health.down(&error);
                        if broken.connection.status().connected() {
                            // A refusal on a healthy connection: a new link starts clean.
                            let _ = broken.connection.close(200, "reopening".into()).await;
                        }
                    }
                    self.pause(failures).await?;
                }
            }
        }
    }

    /// Opens the link again, with backoff, counting failures on from `failures`; only a
    /// closed relay stops it.
    async fn reopen(&self, failures: &mut u32) -> Result<Link, AmqpError> {
        loop {
            match self.unless_closed(open(&self.inner.settings)).await? {
                Ok(opened) => {
                    self.inner.reconnects.fetch_add(1, Ordering::Relaxed);
                    self.inner.health.connected();
                    tracing::info!(relay = %self.inner.name, endpoint = %self.inner.target.endpoint, "reconnected");
                    return Ok(opened);
                }
                Err(error) => {
                    *failures += 1;
                    tracing::warn!(relay = %self.inner.name, %error, "cannot reach the broker; retrying");
                    self.inner.health.down(&error);
                    self.pause(*failures).await?;
                }
            }
        }
    }

    /// After the connection reported `lost` (or at the start, `None`): unless a publication
    /// already replaced it, says the link is down and opens it again after the first wait,
    /// as a publication would. Returns the events of the connection then in use.
    async fn recover(
        &self,
        lost: Option<lapin::Error>,
    ) -> Result<BoxStream<'static, lapin::Event>, AmqpError> {
        let mut link = self.inner.link.lock().await;
        let up = link
            .as_ref()
            .is_some_and(|current| current.connection.status().connected());
        if !up {
            link.take();
            let reason = match &lost {
                Some(error) => format!("the connection was lost: {error}"),
                None => "the connection was lost".to_owned(),
            };
            tracing::warn!(relay = %self.inner.name, %reason, "lost the broker between events; reconnecting");
            self.inner.health.down(reason);
            let mut failures = 1;
            self.pause(failures).await?;
            *link = Some(self.reopen(&mut failures).await?);
        }
        match link.as_ref() {
            Some(current) => Ok(current.connection.events_listener().boxed()),
            None => Err(AmqpError::Closed {
                relay: self.inner.name.clone(),
            }),
        }
    }

    /// Runs `work` unless the relay is closed first (a connect to a host that does not answer,
    /// a confirm that does not come): closing gives up on it with [`AmqpError::Closed`].
    async fn unless_closed<T>(&self, work: impl Future<Output = T>) -> Result<T, AmqpError> {
        // Created before the check, so that a `close` between the two is not missed.
        let closing = self.inner.close.notified();
        self.closed()?;
        tokio::select! {
            output = work => Ok(output),
            () = closing => Err(AmqpError::Closed {
                relay: self.inner.name.clone(),
            }),
        }
    }

    /// Waits before attempt `failures + 1`, or fails at once if the relay is closed meanwhile.
    async fn pause(&self, failures: u32) -> Result<(), AmqpError> {
        let closing = self.inner.close.notified();
        self.closed()?;
        tokio::select! {
            () = tokio::time::sleep(self.inner.settings.reconnect.delay(failures)) => Ok(()),
            () = closing => self.closed(),
        }
    }
}

/// One event as a message, ready to publish.
struct Outgoing<'a> {
    event_id: uuid::Uuid,
    key: &'a str,
    body: &'a [u8],
    properties: lapin::BasicProperties,
    /// Published `mandatory`: a message no queue takes comes back ([`RelayBuilder::require_route`]).
    mandatory: bool,
}

/// Publishes one message, persistent, and waits for the broker's confirm. A message no queue
/// is bound for is confirmed too, and dropped by the broker, unless it is `mandatory`: then it
/// comes back with the confirm, and is [`AmqpError::Unroutable`].
async fn confirm(link: &Link, exchange: &str, message: Outgoing<'_>) -> Result<(), AmqpError> {
    let Outgoing {
        event_id,
        key,
        body,
        properties,
        mandatory,
    } = message;
    let options = BasicPublishOptions {
        mandatory,
        ..BasicPublishOptions::default()
    };
    let broker = |source| AmqpError::Broker {
        operation: "basic.publish",
        source,
    };
    let pending = link
        .channel
        .basic_publish(exchange.into(), key.into(), options, body, properties)
        .await
        .map_err(broker)?;
    match pending.await.map_err(broker)? {
        Confirmation::Ack(Some(_)) if mandatory => Err(AmqpError::Unroutable {
            event_id,
            routing_key: key.to_owned(),
        }),
        Confirmation::Ack(_) => Ok(()),
        Confirmation::Nack(_) | Confirmation::NotRequested => Err(AmqpError::Refused { event_id }),
    }
}

/// Watches the relay's connection between events: when it reports an error, the link is
/// opened again without waiting for an event to publish. Holds the relay only while it
/// recovers, and ends with it (closed, or every handle dropped, even while the broker is
/// away and the recovery would wait for it).
async fn watch_link(relay: Weak<Inner>, mut health: BrokerHealth) {
    let mut lost = None;
    loop {
        let Some(inner) = relay.upgrade() else {
            return;
        };
        let held = Relay { inner };
        let recovered = tokio::select! {
            recovered = held.recover(lost.take()) => recovered,
            () = abandoned(&relay) => return,
        };
        // Between recoveries the watch holds the relay only weakly.
        drop(held);
        let Ok(events) = recovered else {
            // Closed: nothing reconnects any more.
            return;
        };
        let mut errors = std::pin::pin!(events.filter_map(|event| async move {
            match event {
                lapin::Event::Error(error) => Some(error),
                _ => None,
            }
        }));
        tokio::select! {
            error = errors.next() => lost = error,
            () = health.ended() => return,
        }
    }
}

/// How often a recovery looks whether anything but itself still holds the relay.
const ABANDONED_CHECK: Duration = Duration::from_millis(100);

/// Returns once the recovery holds the last handle of the relay (`relay` counts it).
async fn abandoned(relay: &Weak<Inner>) {
    while relay.strong_count() > 1 {
        tokio::time::sleep(ABANDONED_CHECK).await;
    }
}

#[async_trait]
impl EventHandler for Relay {
    fn name(&self) -> &str {
        &self.inner.name
    }

    fn filter(&self) -> EventFilter {
        self.inner.filter.clone()
    }

    async fn handle(&self, event: &RecordedEvent, _: &Upcasters) -> Result<(), BoxError> {
        Ok(self.publish(event).await?)
    }

    /// Durable (claimed: one instance publishes), one segment (log order), and stop on an
    /// event it cannot publish: an outbox must not skip one.
    fn settings(&self) -> HandlerSettings {
        HandlerSettings::durable().with_on_failure(OnFailure::Stop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn connect(builder: RelayBuilder) -> AmqpError {
        match builder.connect().await {
            Err(error) => error,
            Ok(_) => panic!("connected"),
        }
    }

    #[tokio::test]
    async fn type_names_a_routing_key_cannot_carry_are_refused_before_connecting() {
        // Nothing listens here: a refusal is the names', before any connection.
        let relay = || Relay::builder(AmqpSettings::new("amqp://guest:guest@127.0.0.1:1/%2f"));
        let refused = connect(relay().publish_types([TypeName::from_static("won*")])).await;
        assert!(
            matches!(&refused, AmqpError::InvalidKeyPart { kind: "event type", name, character: '*', .. } if name == "won*"),
            "{refused}"
        );
        let refused = connect(
            relay()
                .publish_types([TypeName::from_static("won")])
                .from_aggregates([TypeName::from_static("game.session")]),
        )
        .await;
        assert_eq!(
            refused.to_string(),
            "aggregate type `game.session` cannot be part of a routing key: it holds `.`, which separates a routing key's parts"
        );
        let long = |c: &str| TypeName::new(c.repeat(128)).expect("128 bytes is a type name");
        let refused = connect(
            relay()
                .publish_types([long("e")])
                .from_aggregates([long("a")]),
        )
        .await;
        assert!(
            matches!(refused, AmqpError::KeyTooLong { bytes: 257, .. }),
            "{refused}"
        );
        // Good names get as far as the broker that is not there.
        let unreachable = connect(relay().publish_types([long("e")])).await;
        assert!(
            matches!(unreachable, AmqpError::Unreachable { .. }),
            "{unreachable}"
        );
    }
}
