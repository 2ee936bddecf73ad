//! The one follower of the log and the fan-out from it: [`follow`] reads every event once,
//! from one store subscription, and [`Hub::dispatch`] hands it to the connections whose
//! subscriptions want it, through each connection's bounded queue.
//!
//! The store's load is one subscription whatever the number of clients; a client costs the
//! gateway a queue and an entry in two indexes (by stream, by event type), and an event costs
//! one lookup in each plus one queue push per interested subscription. The hub never waits
//! on a client: a full queue drops the connection, which is told it lagged.
//!
//! A connection's queue is full when `queue_capacity` live events wait for it: in its
//! channel, or taken out of it and held by a subscription that is still catching up, or
//! made into frames not yet handed to the socket. The hub counts them in when it queues them,
//! the session counts them out when it hands them on (or has no more use for them), so the
//! bound holds for all of them together.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use eventful_core::telemetry::{
    DeliveryCounters, DeliveryKind, DeliveryOutcome, slow_client_dropped,
};
use eventful_core::{DynEventStore, EventFilter, EventStoreExt, Position, RecordedEvent};
use futures::StreamExt;
use parking_lot::Mutex;
use serde_json::value::RawValue;
use tokio::sync::{mpsc, watch};

use crate::protocol::envelope_json;
use crate::topic::ValidTopic;

/// A connection, numbered by the hub.
pub(crate) type ConnectionId = u64;
/// A subscription of a connection, numbered by the connection.
pub(crate) type FeedId = u64;

/// An event ready to send: its envelope serialized once for every client, and the event,
/// whose ids and correlation the `delivery` span of each client's copy shows.
#[derive(Debug)]
pub(crate) struct SharedEvent {
    pub(crate) position: Position,
    pub(crate) envelope: Box<RawValue>,
    pub(crate) event: RecordedEvent,
}

/// One event for one subscription of a connection.
#[derive(Debug)]
pub(crate) struct Delivery {
    pub(crate) feed: FeedId,
    pub(crate) event: Arc<SharedEvent>,
}

/// A connection's side of its queue. It closes when the hub drops the connection, which the
/// hub does only when the queue was full: the connection lagged.
#[derive(Debug)]
pub(crate) struct Inbox {
    deliveries: mpsc::Receiver<Delivery>,
    waiting: Arc<AtomicUsize>,
}

impl Inbox {
    /// The next delivery; `None` once the hub has dropped the connection. Cancel-safe.
    pub(crate) async fn recv(&mut self) -> Option<Delivery> {
        self.deliveries.recv().await
    }

    /// `events` live events received from this inbox are no longer waiting: handed to the
    /// socket, or not to be sent at all.
    pub(crate) fn release(&self, events: usize) {
        self.waiting.fetch_sub(events, Ordering::AcqRel);
    }
}

/// The hub's side of a connection's queue.
struct Outlet {
    queue: mpsc::Sender<Delivery>,
    /// Live events queued for the connection and not yet released by it.
    waiting: Arc<AtomicUsize>,
    /// `websocket` or `sse`, for the metrics.
    transport: &'static str,
    /// Who the client is (its token's subject): where a delivery to it goes.
    client: Arc<str>,
    /// Every route of the connection, to remove them with it.
    routes: Vec<(FeedId, ValidTopic)>,
}

/// Which subscriptions want which events, and how far dispatch has got, under one lock so
/// that a subscription starts exactly after an event.
#[derive(Default)]
struct Routes {
    dispatched: Position,
    next_connection: ConnectionId,
    outlets: HashMap<ConnectionId, Outlet>,
    by_stream: HashMap<String, Vec<(ConnectionId, FeedId)>>,
    by_event_type: HashMap<String, Vec<(ConnectionId, FeedId)>>,
}

impl Routes {
    fn index(&mut self, topic: &ValidTopic) -> &mut HashMap<String, Vec<(ConnectionId, FeedId)>> {
        match topic {
            ValidTopic::Stream(_) => &mut self.by_stream,
            ValidTopic::EventType(_) => &mut self.by_event_type,
        }
    }

    fn unroute(&mut self, connection: ConnectionId, feed: FeedId, topic: &ValidTopic) {
        let index = self.index(topic);
        if let Some(targets) = index.get_mut(topic.name()) {
            targets.retain(|&target| target != (connection, feed));
            if targets.is_empty() {
                index.remove(topic.name());
            }
        }
    }

    fn remove_outlet(&mut self, connection: ConnectionId) {
        if let Some(outlet) = self.outlets.remove(&connection) {
            for (feed, topic) in &outlet.routes {
                self.unroute(connection, *feed, topic);
            }
        }
    }
}

/// The fan-out: routes, and the queue of each connection.
pub(crate) struct Hub {
    routes: Mutex<Routes>,
    queue_capacity: usize,
    deliveries: DeliveryCounters,
}

impl Hub {
    /// A hub whose follower starts after `head`, with queues of `queue_capacity` events.
    pub(crate) fn new(head: Position, queue_capacity: usize) -> Self {
        Self {
            routes: Mutex::new(Routes {
                dispatched: head,
                ..Routes::default()
            }),
            queue_capacity,
            deliveries: DeliveryCounters::new(DeliveryKind::Gateway),
        }
    }

    /// The counters of deliveries to clients, registered once with the metrics recorder
    /// there was when the gateway started.
    pub(crate) fn deliveries(&self) -> &DeliveryCounters {
        &self.deliveries
    }

    /// The position of the last event dispatched.
    pub(crate) fn dispatched(&self) -> Position {
        self.routes.lock().dispatched
    }

    /// A new connection of `client` over `transport` (`websocket`, `sse`), with its queue.
    pub(crate) fn connect(
        &self,
        transport: &'static str,
        client: Arc<str>,
    ) -> (ConnectionId, Inbox) {
        let (queue, deliveries) = mpsc::channel(self.queue_capacity);
        let waiting = Arc::new(AtomicUsize::new(0));
        let mut routes = self.routes.lock();
        let connection = routes.next_connection;
        routes.next_connection += 1;
        routes.outlets.insert(
            connection,
            Outlet {
                queue,
                waiting: Arc::clone(&waiting),
                transport,
                client,
                routes: Vec::new(),
            },
        );
        (
            connection,
            Inbox {
                deliveries,
                waiting,
            },
        )
    }

    /// Whether the hub still routes to `connection`.
    #[cfg(test)]
    pub(crate) fn is_connected(&self, connection: ConnectionId) -> bool {
        self.routes.lock().outlets.contains_key(&connection)
    }

    /// Removes the connection and its routes.
    pub(crate) fn disconnect(&self, connection: ConnectionId) {
        self.routes.lock().remove_outlet(connection);
    }

    /// Routes events of `topics` to `feed` of `connection` from the next dispatched event on,
    /// and returns the position of the last event dispatched before: the subscription gets
    /// every event after it, none before. A topic named twice is routed once. `None` when
    /// the hub has already dropped the connection.
    pub(crate) fn add_feed(
        &self,
        connection: ConnectionId,
        feed: FeedId,
        topics: &[ValidTopic],
    ) -> Option<Position> {
        let mut routes = self.routes.lock();
        let outlet = routes.outlets.get_mut(&connection)?;
        let mut added: Vec<&ValidTopic> = Vec::with_capacity(topics.len());
        for topic in topics {
            if !added.contains(&topic) {
                added.push(topic);
            }
        }
        outlet
            .routes
            .extend(added.iter().map(|&topic| (feed, topic.clone())));
        for topic in added {
            routes
                .index(topic)
                .entry(topic.name().to_owned())
                .or_default()
                .push((connection, feed));
        }
        Some(routes.dispatched)
    }

    /// Stops routing to `feed` of `connection`.
    pub(crate) fn remove_feed(&self, connection: ConnectionId, feed: FeedId) {
        let mut routes = self.routes.lock();
        let Some(outlet) = routes.outlets.get_mut(&connection) else {
            return;
        };
        let (removed, kept) = std::mem::take(&mut outlet.routes)
            .into_iter()
            .partition::<Vec<_>, _>(|(routed, _)| *routed == feed);
        outlet.routes = kept;
        for (_, topic) in &removed {
            routes.unroute(connection, feed, topic);
        }
    }

    /// Hands `event` to every subscription that wants it. A connection whose queue is full
    /// is dropped, and so told it lagged; so is one whose side is gone. The event that found
    /// a queue full is a `dropped` delivery; the events already in that queue are not counted
    /// (the client comes back for them).
    pub(crate) fn dispatch(&self, event: &RecordedEvent) {
        let mut routes = self.routes.lock();
        routes.dispatched = event.position;
        let by_stream = routes.by_stream.get(event.stream_id.as_str());
        let by_type = routes.by_event_type.get(event.event_type.as_str());
        let mut targets: Vec<(ConnectionId, FeedId)> = match (by_stream, by_type) {
            (None, None) => return,
            (Some(one), None) | (None, Some(one)) => one.clone(),
            (Some(streams), Some(types)) => streams.iter().chain(types).copied().collect(),
        };
        if by_stream.is_some() && by_type.is_some() {
            // A subscription to both the stream and the type gets the event once.
            targets.sort_unstable();
            targets.dedup();
        }
        let envelope = match envelope_json(event) {
            Ok(envelope) => envelope,
            Err(error) => {
                tracing::error!(
                    position = %event.position,
                    stream = %event.stream_id,
                    %error,
                    "event not delivered: its stored payload is not JSON text"
                );
                return;
            }
        };
        let shared = Arc::new(SharedEvent {
            position: event.position,
            envelope,
            event: event.clone(),
        });
        for (connection, feed) in targets {
            let Some(outlet) = routes.outlets.get(&connection) else {
                continue; // dropped at an earlier target of this event
            };
            // Only the hub counts in, under the lock: the check and the count are one step.
            if outlet.waiting.load(Ordering::Acquire) >= self.queue_capacity {
                slow_client_dropped(outlet.transport);
                self.deliveries
                    .start(&outlet.client, event)
                    .finish(DeliveryOutcome::Dropped);
                routes.remove_outlet(connection);
                continue;
            }
            outlet.waiting.fetch_add(1, Ordering::AcqRel);
            let delivery = Delivery {
                feed,
                event: Arc::clone(&shared),
            };
            // With the count below the capacity the channel has room: an error is a
            // connection on its way out.
            if outlet.queue.try_send(delivery).is_err() {
                routes.remove_outlet(connection);
            }
        }
    }
}

/// Backoff of the follower after a failed read of the store: from the first to the last.
const RETRY_FIRST: Duration = Duration::from_millis(100);
const RETRY_LAST: Duration = Duration::from_secs(5);

/// Follows the store's log from after the hub's position and dispatches every event, until
/// `stop` holds a reason. A failed read is retried with backoff from the last event dispatched,
/// so nothing is skipped or repeated.
pub(crate) async fn follow(
    hub: Arc<Hub>,
    store: Arc<dyn DynEventStore>,
    mut stop: watch::Receiver<Option<String>>,
) {
    let mut retry = RETRY_FIRST;
    loop {
        let mut events = store.subscribe(hub.dispatched().next(), EventFilter::all());
        loop {
            tokio::select! {
                _ = stop.wait_for(Option::is_some) => return,
                next = events.next() => match next {
                    Some(Ok(event)) => {
                        hub.dispatch(&event);
                        retry = RETRY_FIRST;
                    }
                    Some(Err(error)) => {
                        tracing::warn!(%error, after = %hub.dispatched(), "gateway: reading the log failed; retrying");
                        break;
                    }
                    None => break,
                },
            }
        }
        tokio::select! {
            _ = stop.wait_for(Option::is_some) => return,
            () = tokio::time::sleep(retry) => {}
        }
        retry = (retry * 2).min(RETRY_LAST);
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use eventful_core::{Payload, StreamId, TypeName, Version};
    use futures::FutureExt;

    /// A stored event of `stream` at `position` (its version too), for the crate's tests.
    pub(crate) fn event(stream: &str, event_type: &str, position: u64) -> RecordedEvent {
        RecordedEvent {
            event_id: uuid::Uuid::from_u128(u128::from(position)),
            stream_id: StreamId::new(stream).expect("valid"),
            aggregate_type: TypeName::from_static("player"),
            event_type: TypeName::new(event_type).expect("valid"),
            schema_version: 1,
            version: Version::new(position),
            position: Position::new(position),
            recorded_at: chrono::Utc::now(),
            metadata: Default::default(),
            payload: Payload::from_json_slice(b"{}").expect("valid"),
        }
    }

    #[tokio::test]
    async fn a_topic_named_twice_in_one_feed_is_routed_once() {
        let hub = Hub::new(Position::START, 8);
        let (connection, mut inbox) = hub.connect("sse", Arc::from("7"));
        let stream = ValidTopic::Stream(StreamId::new("player-7").expect("valid"));
        let board = ValidTopic::EventType(TypeName::from_static("leaderboard_changed"));
        let topics = [stream.clone(), board.clone(), stream, board];
        assert_eq!(hub.add_feed(connection, 0, &topics), Some(Position::START));
        // One of the player's own events (found by stream only), then a board event (by
        // type only): each once.
        hub.dispatch(&event("player-7", "xp_gained", 1));
        hub.dispatch(&event("leaderboard-1", "leaderboard_changed", 2));
        for position in [1, 2] {
            let delivery = inbox.recv().now_or_never().flatten().expect("a delivery");
            assert_eq!(
                (delivery.feed, delivery.event.position.get()),
                (0, position)
            );
        }
        assert!(inbox.recv().now_or_never().is_none(), "and no copy");
        hub.remove_feed(connection, 0);
        assert!(
            hub.routes.lock().by_stream.is_empty(),
            "no route left behind"
        );
        assert!(hub.routes.lock().by_event_type.is_empty());
    }
}
