//! [`Consumer`]: the inbound half. A durable queue per service, bound to the routing keys its
//! handlers ask for; each message is handed to the handlers whose filter it passes, and
//! acknowledged once they all succeeded.
//!
//! | module | what lives there |
//! | --- | --- |
//! | this file | [`Consumer`] (the handlers before it starts), [`RunningConsumer`], [`ConsumerStats`] |
//! | `topology` | the queue, its dead-letter queue and bindings; a connection ready to consume |
//! | `delivery` | one message: decode, handle with retries, acknowledge or dead-letter |

mod delivery;
mod topology;

use std::collections::HashSet;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use eventful_core::handler::{NamedHandler, TypedHandler};
use eventful_core::{
    BoxError, Event, EventFilter, EventHandler, Policy, RecordedEvent, TypeName, Upcasters,
};
use futures::{FutureExt, StreamExt};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use self::topology::Link;
use crate::error::AmqpError;
use crate::health::{BrokerHealth, LinkState};
use crate::message;
use crate::settings::{AmqpSettings, Backoff};
use eventful_core::policy::PolicyHandler;

/// Attempts at one message per handler before it is dead-lettered, unless told otherwise.
/// Waits for a store that is away do not count.
pub const DEFAULT_ATTEMPTS: u32 = 5;

/// The waits between a handler's attempts, and while a store is away, unless told
/// otherwise: 100 ms doubling to 10 s.
pub const DEFAULT_RETRY: Backoff =
    Backoff::new(Duration::from_millis(100), Duration::from_secs(10));

/// Messages the broker sends ahead of their acknowledgement, unless told otherwise.
pub const DEFAULT_PREFETCH: u16 = 64;

/// Receives a service's share of other services' events from its queue.
///
/// ```no_run
/// use eventful_bus_amqp::{AmqpSettings, Consumer};
/// use eventful_core::{BoxError, RecordedEvent};
///
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let mut consumer = Consumer::new(AmqpSettings::new("amqp://guest:guest@127.0.0.1:5672/%2f"), "player_service");
/// consumer.subscribe_named(["session_ended"], "log_sessions", |event: RecordedEvent| async move {
///     println!("{} ended (correlation {:?})", event.stream_id, event.metadata.correlation_id);
///     Ok::<(), BoxError>(())
/// });
/// let running = consumer.start().await?; // the queue is bound to `*.session_ended`
/// // …
/// running.shutdown().await;
/// # Ok(()) }
/// ```
///
/// Delivery is at least once: a message whose acknowledgement was lost (a crash, a broken
/// connection) comes again, possibly to another instance of the service. So every handler
/// must be idempotent by event id. A [`Policy`] is, by construction: its commands are keyed
/// by the event's id and recorded once by the store. For anything else, put an
/// [`Inbox`](crate::Inbox) here and the handler on the service's bus (docs/rabbitmq.md has
/// the argument).
pub struct Consumer {
    settings: AmqpSettings,
    queue: String,
    bindings: Vec<String>,
    handlers: Vec<Arc<dyn EventHandler>>,
    upcasters: Upcasters,
    attempts: u32,
    retry: Backoff,
    prefetch: u16,
    invalid: Vec<AmqpError>,
}

impl Consumer {
    /// A consumer of queue `queue` (one per service: every instance of the service consumes
    /// from it, and each message goes to one of them).
    pub fn new(settings: AmqpSettings, queue: impl Into<String>) -> Self {
        Self {
            settings,
            queue: queue.into(),
            bindings: Vec::new(),
            handlers: Vec::new(),
            upcasters: Upcasters::new(),
            attempts: DEFAULT_ATTEMPTS,
            retry: DEFAULT_RETRY,
            prefetch: DEFAULT_PREFETCH,
            invalid: Vec::new(),
        }
    }

    /// Binds the queue to `pattern` as well (`game_session.*`, `#`), besides the keys the
    /// handlers ask for. Messages that pass no handler's filter are acknowledged unhandled.
    pub fn bind(&mut self, pattern: impl Into<String>) -> &mut Self {
        self.bindings.push(pattern.into());
        self
    }

    /// Adds a handler (an [`Inbox`](crate::Inbox), your own); the queue is bound to the
    /// routing keys its filter passes.
    pub fn handler(&mut self, handler: impl EventHandler) -> &mut Self {
        self.handlers.push(Arc::new(handler));
        self
    }

    /// Adds a closure called with each event of Rust type `E`, decoded (through the
    /// upcasters), with the sender's envelope.
    pub fn subscribe<E, F, Fut>(&mut self, name: impl Into<String>, f: F) -> &mut Self
    where
        E: Event,
        F: Fn(RecordedEvent<E>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), BoxError>> + Send + 'static,
    {
        self.handler(TypedHandler::<E, F>::new(name, f))
    }

    /// Adds a closure called with each event stored under one of `event_types`, as sent.
    pub fn subscribe_named<F, Fut>(
        &mut self,
        event_types: impl IntoIterator<Item = impl AsRef<str>>,
        name: impl Into<String>,
        f: F,
    ) -> &mut Self
    where
        F: Fn(RecordedEvent) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), BoxError>> + Send + 'static,
    {
        let (handler, invalid) = NamedHandler::parsed(name, event_types, f);
        self.invalid.extend(
            invalid
                .into_iter()
                .map(|source| AmqpError::InvalidEventType {
                    handler: handler.name().to_owned(),
                    source,
                }),
        );
        self.handler(handler)
    }

    /// Adds a policy: its commands carry the sender's correlation id, the event as cause, and
    /// keys derived from the event's id, so a redelivery records nothing twice.
    pub fn policy(&mut self, policy: impl Policy) -> &mut Self {
        self.handler(PolicyHandler(policy))
    }

    /// Sets the upcasters typed handlers and policies decode with.
    pub fn with_upcasters(mut self, upcasters: Upcasters) -> Self {
        self.upcasters = upcasters;
        self
    }

    /// Sets how many times a handler tries one message (at least 1) before it is
    /// dead-lettered ([`DEFAULT_ATTEMPTS`] by default). Failures of a store that is away
    /// (`StoreError::Unavailable` or `Timeout`) are waited out and not counted; an event that
    /// does not decode to the handler's type, or a handler that panics, is dead-lettered at
    /// the first attempt.
    pub fn with_attempts(mut self, attempts: u32) -> Self {
        self.attempts = attempts.max(1);
        self
    }

    /// Sets the waits between those attempts and while a store is away ([`DEFAULT_RETRY`] by
    /// default).
    pub fn with_retry(mut self, retry: Backoff) -> Self {
        self.retry = retry;
        self
    }

    /// Sets how many messages the broker sends ahead of their acknowledgement (at least 1).
    pub fn with_prefetch(mut self, prefetch: u16) -> Self {
        self.prefetch = prefetch.max(1);
        self
    }

    /// The routing keys the queue is bound to: those given to [`bind`](Consumer::bind), and
    /// for each handler `<aggregate type>.<event type>` for the types its filter names (`*`
    /// for a part it leaves open, `#` for a filter that passes everything).
    ///
    /// ```
    /// use eventful_bus_amqp::{AmqpSettings, Consumer};
    /// use eventful_core::{BoxError, RecordedEvent};
    ///
    /// let mut consumer = Consumer::new(AmqpSettings::new("amqp://localhost"), "players");
    /// consumer.bind("game_session.*");
    /// consumer.subscribe_named(["game_completed"], "xp", |_: RecordedEvent| async { Ok::<(), BoxError>(()) });
    /// assert_eq!(consumer.routing_keys(), ["*.game_completed", "game_session.*"]);
    /// ```
    pub fn routing_keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = self.bindings.clone();
        for handler in &self.handlers {
            keys.extend(keys_of(&handler.filter()));
        }
        keys.sort();
        keys.dedup();
        keys
    }

    /// Connects, declares the queue, its dead-letter queue and bindings, and starts
    /// consuming on a task of its own. A bad URI, a refused login, an unreachable broker, a
    /// queue or exchange declared otherwise is an error now; so is a handler's type name that
    /// cannot be part of a routing key ([`AmqpError::InvalidKeyPart`]: a `.`, `*` or `#` in
    /// it) or a binding over 255 bytes ([`AmqpError::KeyTooLong`]). A connection lost later
    /// is opened again with backoff.
    ///
    /// ```
    /// use eventful_bus_amqp::{AmqpError, AmqpSettings, Consumer};
    /// use eventful_core::{BoxError, RecordedEvent};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let mut consumer = Consumer::new(AmqpSettings::new("amqp://localhost"), "players");
    /// consumer.subscribe_named(["game#completed"], "xp", |_: RecordedEvent| async { Ok::<(), BoxError>(()) });
    /// // Refused before connecting.
    /// assert!(matches!(
    ///     consumer.start().await,
    ///     Err(AmqpError::InvalidKeyPart { kind: "event type", character: '#', .. })
    /// ));
    /// # }
    /// ```
    pub async fn start(self) -> Result<RunningConsumer, AmqpError> {
        let keys = self.routing_keys();
        if let Some(invalid) = self.invalid.into_iter().next() {
            return Err(invalid);
        }
        for handler in &self.handlers {
            let filter = handler.filter();
            for aggregate_type in &filter.aggregate_types {
                message::check_key_part("aggregate type", aggregate_type)?;
            }
            for event_type in &filter.event_types {
                message::check_key_part("event type", event_type)?;
            }
        }
        for key in &keys {
            message::check_key_len(key)?;
        }
        if self.handlers.is_empty() {
            return Err(AmqpError::NoHandlers { queue: self.queue });
        }
        let mut names = HashSet::new();
        for handler in &self.handlers {
            if !names.insert(handler.name()) {
                return Err(AmqpError::DuplicateHandler {
                    queue: self.queue.clone(),
                    handler: handler.name().to_owned(),
                });
            }
        }
        let link = LinkState::connected_now(format!("amqp consumer {}", self.queue));
        let shared = Arc::new(Shared {
            settings: self.settings,
            queue: self.queue,
            keys,
            handlers: self.handlers,
            upcasters: self.upcasters,
            attempts: self.attempts,
            retry: self.retry,
            prefetch: self.prefetch,
            stats: Stats::default(),
            link,
        });
        let opened = topology::open(&shared).await?;
        let (stop, stop_rx) = watch::channel(false);
        let (ended_tx, ended) = watch::channel(None);
        let consuming = run(shared.clone(), opened, stop_rx);
        let ending = shared.clone();
        let task = tokio::spawn(async move {
            // Handlers' panics are caught with their message; one here is the consumer's own
            // bug, and is told to whoever watches `closed` rather than lost with the task.
            let end = match AssertUnwindSafe(consuming).catch_unwind().await {
                Ok(()) => ConsumerEnd::Stopped,
                Err(panic) => ConsumerEnd::Panicked(delivery::panic_text(&*panic).to_owned()),
            };
            ending.link.ended(match &end {
                ConsumerEnd::Stopped => "shut down".to_owned(),
                ConsumerEnd::Panicked(panic) => format!("the consumer panicked: {panic}"),
            });
            ended_tx.send_replace(Some(end));
        });
        Ok(RunningConsumer {
            shared,
            stop,
            task,
            ended,
        })
    }
}

/// The routing-key patterns an event filter asks for.
fn keys_of(filter: &EventFilter) -> Vec<String> {
    let aggregates: Vec<&str> = if filter.aggregate_types.is_empty() {
        vec!["*"]
    } else {
        filter
            .aggregate_types
            .iter()
            .map(TypeName::as_str)
            .collect()
    };
    if filter.event_types.is_empty() {
        if filter.aggregate_types.is_empty() {
            return vec!["#".to_owned()];
        }
        return aggregates
            .iter()
            .map(|aggregate| format!("{aggregate}.*"))
            .collect();
    }
    aggregates
        .iter()
        .flat_map(|aggregate| {
            filter
                .event_types
                .iter()
                .map(move |event_type| format!("{aggregate}.{event_type}"))
        })
        .collect()
}

/// What the consumer's task holds.
pub(crate) struct Shared {
    pub(crate) settings: AmqpSettings,
    pub(crate) queue: String,
    pub(crate) keys: Vec<String>,
    pub(crate) handlers: Vec<Arc<dyn EventHandler>>,
    pub(crate) upcasters: Upcasters,
    pub(crate) attempts: u32,
    pub(crate) retry: Backoff,
    pub(crate) prefetch: u16,
    pub(crate) stats: Stats,
    /// What [`RunningConsumer::health`] tells.
    pub(crate) link: LinkState,
}

#[derive(Default)]
pub(crate) struct Stats {
    pub(crate) handled: AtomicU64,
    pub(crate) dead_lettered: AtomicU64,
    pub(crate) redelivered: AtomicU64,
    pub(crate) reconnects: AtomicU64,
}

/// What a consumer has done since it started, in this process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct ConsumerStats {
    /// Messages every matching handler succeeded on, acknowledged.
    pub handled: u64,
    /// Messages sent to the dead-letter queue (undecodable, or a handler kept failing).
    pub dead_lettered: u64,
    /// Messages the broker marked as delivered before (to this or another instance).
    pub redelivered: u64,
    /// Times the connection was opened again after it was lost.
    pub reconnects: u64,
}

/// Why a consumer's task ended.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConsumerEnd {
    /// It was shut down, or its [`RunningConsumer`] dropped.
    Stopped,
    /// The consumer itself panicked, with this message (a handler's panic is not this: that
    /// message is dead-lettered and the consumer goes on). The messages it had not
    /// acknowledged come again, to other instances or after a restart.
    Panicked(String),
}

/// A consumer at work; [`shutdown`](RunningConsumer::shutdown) stops it.
pub struct RunningConsumer {
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
    ended: watch::Receiver<Option<ConsumerEnd>>,
}

impl RunningConsumer {
    /// The queue it consumes.
    pub fn queue(&self) -> &str {
        &self.shared.queue
    }

    /// The routing keys the queue is bound to.
    pub fn routing_keys(&self) -> &[String] {
        &self.shared.keys
    }

    /// The queue dead letters go to: the queue's name and `.dead-letter`.
    pub fn dead_letter_queue(&self) -> String {
        topology::dead_letter_queue(&self.shared.queue)
    }

    /// What it has done so far.
    pub fn stats(&self) -> ConsumerStats {
        let stats = &self.shared.stats;
        ConsumerStats {
            handled: stats.handled.load(Ordering::Relaxed),
            dead_lettered: stats.dead_lettered.load(Ordering::Relaxed),
            redelivered: stats.redelivered.load(Ordering::Relaxed),
            reconnects: stats.reconnects.load(Ordering::Relaxed),
        }
    }

    /// Its link to the broker, for readiness: connected, reconnecting since when and why, or
    /// ended (shut down, panicked). Named `amqp consumer <queue>`.
    ///
    /// ```no_run
    /// # use eventful_bus_amqp::{AmqpSettings, Consumer};
    /// # use eventful_core::{BoxError, RecordedEvent};
    /// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// # let mut consumer = Consumer::new(AmqpSettings::new("amqp://localhost"), "players");
    /// # consumer.subscribe_named(["game_completed"], "xp", |_: RecordedEvent| async { Ok::<(), BoxError>(()) });
    /// let running = consumer.start().await?;
    /// let health = running.health(); // cheap to clone, to keep beside the admin API
    /// if let Err(down) = health.check() {
    ///     eprintln!("{down}"); // amqp consumer players: reconnecting since …: …
    /// }
    /// # Ok(()) }
    /// ```
    pub fn health(&self) -> BrokerHealth {
        self.shared.link.health()
    }

    /// Why its task ended, if it has: `None` while it consumes (or waits to reconnect).
    pub fn end(&self) -> Option<ConsumerEnd> {
        self.ended.borrow().clone()
    }

    /// Resolves when its task ends, with why: watch it beside the service's other tasks, so
    /// that a consumer that died does not go unnoticed.
    ///
    /// ```no_run
    /// # use eventful_bus_amqp::{AmqpSettings, Consumer};
    /// # use eventful_core::{BoxError, RecordedEvent};
    /// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// # let mut consumer = Consumer::new(AmqpSettings::new("amqp://localhost"), "players");
    /// # consumer.subscribe_named(["game_completed"], "xp", |_: RecordedEvent| async { Ok::<(), BoxError>(()) });
    /// let running = consumer.start().await?;
    /// let end = running.closed().await; // only once it stopped
    /// eprintln!("the consumer ended: {end:?}");
    /// # Ok(()) }
    /// ```
    pub async fn closed(&self) -> ConsumerEnd {
        let mut ended = self.ended.clone();
        match ended.wait_for(Option::is_some).await {
            Ok(end) => end.clone().unwrap_or(ConsumerEnd::Stopped),
            // The task is gone without a word: it was aborted with the runtime.
            Err(_) => ConsumerEnd::Stopped,
        }
    }

    /// Finishes the message it is on, closes the connection (the broker sends the messages
    /// it had sent ahead to the other instances, or again later) and waits for the task.
    pub async fn shutdown(self) {
        self.stop.send_replace(true);
        // A panicked task has nothing left to stop.
        let _ = self.task.await;
    }
}

/// Resolves when `stop` turns true (or its sender is gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    // An error means the running consumer was dropped: stop as well.
    let _ = stop.wait_for(|stop| *stop).await;
}

/// Consumes until stopped, opening the connection again with backoff whenever it is lost.
async fn run(shared: Arc<Shared>, first: Link, mut stop: watch::Receiver<bool>) {
    let mut link = Some(first);
    let mut failures = 0;
    loop {
        if *stop.borrow() {
            return;
        }
        let current = match link.take() {
            Some(current) => current,
            None => {
                let opened = tokio::select! {
                    opened = topology::open(&shared) => opened,
                    () = stopped(&mut stop) => return,
                };
                match opened {
                    Ok(opened) => {
                        shared.stats.reconnects.fetch_add(1, Ordering::Relaxed);
                        shared.link.connected();
                        tracing::info!(queue = %shared.queue, "reconnected");
                        opened
                    }
                    Err(error) => {
                        failures += 1;
                        tracing::warn!(queue = %shared.queue, %error, "cannot reach the broker; retrying");
                        shared.link.down(error);
                        let pause = tokio::time::sleep(shared.settings.reconnect.delay(failures));
                        tokio::select! {
                            () = pause => continue,
                            () = stopped(&mut stop) => return,
                        }
                    }
                }
            }
        };
        match serve(&shared, current, &mut stop).await {
            Served::Stopped => return,
            Served::Lost(error) => {
                failures = 1;
                tracing::warn!(queue = %shared.queue, %error, "lost the broker; reconnecting");
                shared.link.down(error);
                let pause = tokio::time::sleep(shared.settings.reconnect.delay(failures));
                tokio::select! {
                    () = pause => {}
                    () = stopped(&mut stop) => return,
                }
            }
        }
    }
}

enum Served {
    Stopped,
    Lost(AmqpError),
}

/// Handles deliveries on one connection until it is lost or the consumer stops.
async fn serve(shared: &Shared, mut link: Link, stop: &mut watch::Receiver<bool>) -> Served {
    loop {
        let next = tokio::select! {
            next = link.deliveries.next() => next,
            () = stopped(stop) => {
                link.close().await;
                return Served::Stopped;
            }
        };
        let delivery = match next {
            Some(Ok(delivery)) => delivery,
            Some(Err(source)) => {
                return Served::Lost(AmqpError::Broker {
                    operation: "basic.consume",
                    source,
                });
            }
            None => {
                return Served::Lost(AmqpError::DeliveriesEnded {
                    queue: shared.queue.clone(),
                });
            }
        };
        if let Err(error) = delivery::handle(shared, &link, delivery, stop).await {
            return Served::Lost(error);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A consumer of `filter`'s events that never connects.
    fn consumer_of(filter: EventFilter) -> Consumer {
        struct Filtered(EventFilter);

        #[async_trait::async_trait]
        impl EventHandler for Filtered {
            fn name(&self) -> &str {
                "filtered"
            }

            fn filter(&self) -> EventFilter {
                self.0.clone()
            }

            async fn handle(&self, _: &RecordedEvent, _: &Upcasters) -> Result<(), BoxError> {
                Ok(())
            }
        }

        let mut consumer = Consumer::new(
            AmqpSettings::new("amqp://guest:guest@127.0.0.1:1/%2f"),
            "players",
        );
        consumer.handler(Filtered(filter));
        consumer
    }

    async fn refusal(consumer: Consumer) -> AmqpError {
        match consumer.start().await {
            Err(error) => error,
            Ok(_) => panic!("started"),
        }
    }

    #[tokio::test]
    async fn type_names_a_binding_cannot_carry_are_refused_before_connecting() {
        let name = |name: &str| TypeName::new(name).expect("a type name");
        let refused = refusal(consumer_of(
            EventFilter::all().with_aggregate_types([name("game.session")]),
        ))
        .await;
        assert!(
            matches!(&refused, AmqpError::InvalidKeyPart { kind: "aggregate type", name, character: '.', .. } if name == "game.session"),
            "{refused}"
        );
        let refused = refusal(consumer_of(
            EventFilter::all().with_event_types([name("game_*")]),
        ))
        .await;
        assert!(
            matches!(
                refused,
                AmqpError::InvalidKeyPart {
                    kind: "event type",
                    character: '*',
                    ..
                }
            ),
            "{refused}"
        );
        let refused = refusal(consumer_of(
            EventFilter::all()
                .with_aggregate_types([name(&"a".repeat(128))])
                .with_event_types([name(&"e".repeat(128))]),
        ))
        .await;
        assert!(
            matches!(refused, AmqpError::KeyTooLong { bytes: 257, .. }),
            "{refused}"
        );
        let mut widened = consumer_of(EventFilter::all());
        widened.bind("x".repeat(256));
        assert!(matches!(
            refusal(widened).await,
            AmqpError::KeyTooLong { bytes: 256, .. }
        ));
        // Good names get as far as the broker that is not there.
        let unreachable = refusal(consumer_of(
            EventFilter::all().with_event_types([name("game_completed")]),
        ))
        .await;
        assert!(
            matches!(unreachable, AmqpError::Unreachable { .. }),
            "{unreachable}"
        );
    }
}
