//! One client connection, whatever carries it: its subscriptions, what each has delivered,
//! and the frames to send next. The WebSocket and SSE handlers drive it; it never writes to
//! the network itself, so a slow socket slows only its own connection.
//!
//! A subscription that resumes from a position first reads the store for the events the hub
//! dispatched before it joined (see [`crate::catch_up`]), while the hub's live events for it
//! wait in order; then those follow. Each subscription keeps the position of the last event
//! it sent, and sends only events after it: no gap, no duplicate. How a subscription starts —
//! its topics checked, allowed, costed and routed — is [`subscribe`].

mod subscribe;
#[cfg(test)]
mod tests;

use std::collections::{HashMap, VecDeque};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use chrono::Utc;
use eventful_core::telemetry::{self, DeliveryCounters, DeliveryOutcome, GatewayConnection};
use eventful_core::{Position, RecordedEvent, StoreError};
use futures::stream::{AbortHandle, BoxStream, SelectAll, StreamExt};
use tokio::time::{Instant, Sleep};
use tracing::Span;

use crate::auth::Claims;
use crate::gateway::Shared;
use crate::hub::{ConnectionId, Delivery, FeedId, Inbox, SharedEvent};
use crate::protocol::{
    ClientFrame, CloseCode, ErrorCode, PROTOCOL_VERSION, ServerFrame, envelope_json,
    event_frame_json,
};
use crate::refusal::{Closing, Refusal};

/// What carries a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Transport {
    /// Any number of subscriptions, started and stopped by client frames.
    WebSocket,
    /// One subscription, the request's; when it stops, the connection ends.
    Sse,
}

impl Transport {
    /// The `transport` label of the gateway's metrics.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Self::WebSocket => "websocket",
            Self::Sse => "sse",
        }
    }
}

/// The delivery of a frame being handed to the transport: an event frame's span and count,
/// nothing for the other frames (the default).
#[derive(Debug, Default)]
pub(crate) struct Handover(Option<telemetry::Delivery>);

impl Handover {
    /// The span to hand the frame over in.
    pub(crate) fn span(&self) -> Span {
        self.0
            .as_ref()
            .map_or_else(Span::none, |delivery| delivery.span().clone())
    }

    /// Records whether the transport took the frame.
    pub(crate) fn finish(self, handed_over: bool) {
        if let Some(delivery) = self.0 {
            delivery.finish(if handed_over {
                DeliveryOutcome::Delivered
            } else {
                DeliveryOutcome::Failed
            });
        }
    }
}

/// A frame to send.
#[derive(Debug)]
pub(crate) struct Outgoing {
    /// The frame's JSON text.
    pub(crate) json: String,
    /// For an event frame, the event's position.
    pub(crate) position: Option<Position>,
    /// A live event from the hub: it counts against the connection's queue until it is
    /// handed to the transport.
    live: bool,
    /// For an event frame, its `delivery` span and count, finished by the transport with
    /// whether the frame was handed over. A frame never handed over (the connection ended
    /// first) is not counted.
    pub(crate) handover: Handover,
}

/// What the connection does next.
#[derive(Debug)]
pub(crate) enum Step {
    /// Send this frame.
    Send(Outgoing),
    /// Send this closing frame, then close.
    Close(Closing),
}

/// One subscription.
struct Feed {
    name: String,
    /// `name` as a JSON string, for event frames.
    quoted: String,
    /// How many topics it follows.
    topics: usize,
    /// The position of the last event sent (or the `after` it started from).
    cursor: Position,
    /// While the subscription catches up: the live events that arrived meanwhile.
    held: Option<VecDeque<Arc<SharedEvent>>>,
    catching_up: Option<AbortHandle>,
}

/// An item of a catch-up: an event or an error, or `None` when it has ended.
type CatchUpItem = (FeedId, Option<Result<RecordedEvent, StoreError>>);

/// How long the expiry timer sleeps at most before it looks at the clock again (a timer
/// years away is not what tokio's timer wheel is for).
const EXPIRY_RECHECK: Duration = Duration::from_secs(24 * 60 * 60);

/// What woke a session waiting for work.
#[expect(
    clippy::large_enum_variant,
    reason = "made by the `select!` and matched at once, never kept: a catch-up's event is \
              moved out of it as it is, rather than boxed for each event"
)]
enum Woke {
    Closing(Option<String>),
    Expiry,
    Delivery(Option<Delivery>),
    CatchUp(Option<CatchUpItem>),
}

/// A client connection's subscriptions and outgoing frames.
pub(crate) struct Session {
    shared: Arc<Shared>,
    claims: Claims,
    transport: Transport,
    connection: ConnectionId,
    inbox: Inbox,
    feeds: HashMap<FeedId, Feed>,
    names: HashMap<String, FeedId>,
    next_feed: FeedId,
    /// The topics of every feed, together: what `max_subscriptions` bounds.
    topics: usize,
    /// What is left of the connection's catch-up budget, in events.
    budget_left: u64,
    catch_ups: SelectAll<BoxStream<'static, CatchUpItem>>,
    outbox: VecDeque<Outgoing>,
    /// Once set, the connection closes after the frames already in the outbox.
    ending: Option<Closing>,
    closing: tokio::sync::watch::Receiver<Option<String>>,
    expiry: Pin<Box<Sleep>>,
    /// Counts the connection in the gateway's metrics while it lives.
    _counted: GatewayConnection,
}

impl Session {
    /// A session over `transport` for a verified token; its first frame is the welcome.
    pub(crate) fn open(shared: Arc<Shared>, claims: Claims, transport: Transport) -> Self {
        let (connection, inbox) = shared
            .hub
            .connect(transport.label(), Arc::from(claims.sub.as_str()));
        shared.open_sessions.fetch_add(1, Ordering::AcqRel);
        let closing = shared.closing.subscribe();
        let welcome = ServerFrame::Welcome {
            protocol: PROTOCOL_VERSION,
            subject: claims.sub.clone(),
            expires_at: claims.expires_at(),
        };
        let mut session = Self {
            expiry: Box::pin(tokio::time::sleep(Duration::ZERO)),
            budget_left: shared.settings.catch_up_budget,
            _counted: GatewayConnection::open(transport.label()),
            shared,
            claims,
            transport,
            connection,
            inbox,
            feeds: HashMap::new(),
            names: HashMap::new(),
            next_feed: 0,
            topics: 0,
            catch_ups: SelectAll::new(),
            outbox: VecDeque::new(),
            ending: None,
            closing,
        };
        session.arm_expiry();
        session.push(&welcome);
        session
    }

    /// The time left on the token, plus the verifier's leeway.
    fn token_left(&self) -> Option<Duration> {
        time_left(
            self.claims.exp,
            self.shared.settings.verifier.leeway_secs(),
            Utc::now().timestamp_millis(),
        )
    }

    fn arm_expiry(&mut self) {
        let wait = self.token_left().unwrap_or_default().min(EXPIRY_RECHECK);
        self.expiry.as_mut().reset(Instant::now() + wait);
    }

    fn push(&mut self, frame: &ServerFrame) {
        self.outbox.push_back(Outgoing {
            json: frame.to_json(),
            position: None,
            live: false,
            handover: Handover::default(),
        });
    }

    fn push_error(&mut self, refusal: Refusal) {
        self.push(&refusal.frame());
    }

    /// What to do next: the next frame to send, or why to close. Cancel-safe: everything
    /// it has taken in is kept in the session.
    pub(crate) async fn next_step(&mut self) -> Step {
        loop {
            if let Some(outgoing) = self.outbox.pop_front() {
                if outgoing.live {
                    self.inbox.release(1);
                }
                return Step::Send(outgoing);
            }
            if let Some(ending) = self.ending.take() {
                return Step::Close(ending);
            }
            let woke = tokio::select! {
                reason = self.closing.wait_for(Option::is_some) => {
                    Woke::Closing(reason.ok().and_then(|reason| reason.clone()))
                }
                () = self.expiry.as_mut() => Woke::Expiry,
                delivery = self.inbox.recv() => Woke::Delivery(delivery),
                item = self.catch_ups.next(), if !self.catch_ups.is_empty() => Woke::CatchUp(item),
            };
            match woke {
                Woke::Closing(reason) => {
                    return Step::Close(Closing::new(
                        CloseCode::ShuttingDown,
                        reason.unwrap_or_else(|| String::from("the gateway stopped")),
                    ));
                }
                Woke::Expiry => {
                    if self.token_left().is_none_or(|left| left.is_zero()) {
                        return Step::Close(Closing::new(
                            CloseCode::TokenExpired,
                            format!("the token expired at {}", self.claims.expires_at()),
                        ));
                    }
                    self.arm_expiry();
                }
                Woke::Delivery(Some(delivery)) => self.deliver(delivery),
                // The hub drops a connection's queue only when it overflowed.
                Woke::Delivery(None) => return self.lagging(),
                Woke::CatchUp(Some((feed, item))) => self.caught_up(feed, item),
                Woke::CatchUp(None) => {}
            }
        }
    }

    fn lagging(&self) -> Step {
        Step::Close(Closing::new(
            CloseCode::Lagging,
            format!(
                "more than {} events were waiting for this connection; resume each subscription \
                 after the last position it received",
                self.shared.settings.queue_capacity
            ),
        ))
    }

    /// A live event from the hub.
    fn deliver(&mut self, delivery: Delivery) {
        let Some(feed) = self.feeds.get_mut(&delivery.feed) else {
            self.inbox.release(1);
            return; // unsubscribed since the hub queued it
        };
        match &mut feed.held {
            // Still waiting, still counted.
            Some(held) => held.push_back(delivery.event),
            None => match feed.send_shared(
                &delivery.event,
                self.shared.hub.deliveries(),
                &self.claims.sub,
            ) {
                Some(outgoing) => self.outbox.push_back(outgoing),
                None => self.inbox.release(1),
            },
        }
    }

    /// An item of a subscription's catch-up.
    fn caught_up(&mut self, feed_id: FeedId, item: Option<Result<RecordedEvent, StoreError>>) {
        let Some(feed) = self.feeds.get_mut(&feed_id) else {
            return;
        };
        match item {
            Some(Ok(event)) => {
                if event.position <= feed.cursor {
                    return;
                }
                match envelope_json(&event) {
                    Ok(envelope) => {
                        feed.cursor = event.position;
                        self.outbox.push_back(Outgoing {
                            json: event_frame_json(&feed.quoted, &envelope),
                            position: Some(event.position),
                            live: false,
                            handover: Handover(Some(
                                self.shared.hub.deliveries().start(&self.claims.sub, &event),
                            )),
                        });
                    }
                    Err(error) => {
                        let message = format!(
                            "the event at position {} cannot be sent: {error}",
                            event.position
                        );
                        self.fail_feed(feed_id, message);
                    }
                }
            }
            Some(Err(error)) => {
                let message = format!("reading the events to resume from failed: {error}");
                self.fail_feed(feed_id, message);
            }
            None => {
                feed.catching_up = None;
                let held = feed.held.take().unwrap_or_default();
                let deliveries = self.shared.hub.deliveries();
                for event in held {
                    match feed.send_shared(&event, deliveries, &self.claims.sub) {
                        Some(outgoing) => self.outbox.push_back(outgoing),
                        None => self.inbox.release(1),
                    }
                }
            }
        }
    }

    /// Stops a subscription whose catch-up failed, with a `store_unavailable` error. Over
    /// SSE the connection is that one subscription: it closes too, so that the
    /// `EventSource` comes back by itself with `Last-Event-ID` instead of waiting on a
    /// stream that will send nothing more.
    fn fail_feed(&mut self, feed_id: FeedId, message: String) {
        let Some(name) = self.feeds.get(&feed_id).map(|feed| feed.name.clone()) else {
            return;
        };
        self.stop_feed(feed_id);
        if self.transport == Transport::Sse {
            let reason = format!("{message}; come back with the last position to resume");
            self.ending = Some(Closing::new(CloseCode::StoreUnavailable, reason));
        }
        self.push_error(Refusal::new(ErrorCode::StoreUnavailable, message).of(&name));
    }

    /// A text frame from the client.
    pub(crate) async fn on_text(&mut self, text: &str) {
        match serde_json::from_str::<ClientFrame>(text) {
            Ok(ClientFrame::Subscribe { id, topic, after }) => {
                if let Err(refusal) = self.subscribe(&id, &[topic], after).await {
                    self.push_error(refusal.of(&id));
                }
            }
            Ok(ClientFrame::Unsubscribe { id }) => match self.names.get(&id) {
                Some(&feed) => {
                    self.stop_feed(feed);
                    self.push(&ServerFrame::Unsubscribed { id });
                }
                None => {
                    let message = format!("no subscription `{id}` is running");
                    self.push_error(Refusal::new(ErrorCode::UnknownSubscription, message).of(&id));
                }
            },
            Err(error) => self.refuse_frame(format!(
                "not a frame of protocol {PROTOCOL_VERSION}: {error}"
            )),
        }
    }

    /// Answers a client frame that is not one of the protocol's.
    pub(crate) fn refuse_frame(&mut self, message: String) {
        self.push_error(Refusal::new(ErrorCode::MalformedFrame, message));
    }

    /// Stops a subscription: no more of its events are sent.
    fn stop_feed(&mut self, feed_id: FeedId) {
        self.shared.hub.remove_feed(self.connection, feed_id);
        if let Some(feed) = self.feeds.remove(&feed_id) {
            self.names.remove(&feed.name);
            self.topics -= feed.topics;
            self.inbox.release(feed.held.map_or(0, |held| held.len()));
            if let Some(catching_up) = feed.catching_up {
                catching_up.abort();
            }
        }
    }
}

impl Feed {
    /// The frame of a live event for `client`, if it is after what the subscription has
    /// sent.
    fn send_shared(
        &mut self,
        event: &SharedEvent,
        deliveries: &DeliveryCounters,
        client: &str,
    ) -> Option<Outgoing> {
        if event.position <= self.cursor {
            return None;
        }
        self.cursor = event.position;
        Some(Outgoing {
            json: event_frame_json(&self.quoted, &event.envelope),
            position: Some(event.position),
            live: true,
            handover: Handover(Some(deliveries.start(client, &event.event))),
        })
    }
}

/// The time from `now_millis` to `exp_secs + leeway_secs`, `None` once it has passed. The
/// token's `exp` is the client's number: any `i64` the signature covers, so the arithmetic
/// saturates instead of overflowing.
fn time_left(exp_secs: i64, leeway_secs: u64, now_millis: i64) -> Option<Duration> {
    let leeway = i64::try_from(leeway_secs).unwrap_or(i64::MAX);
    let end_millis = exp_secs.saturating_add(leeway).saturating_mul(1000);
    u64::try_from(end_millis.saturating_sub(now_millis))
        .ok()
        .map(Duration::from_millis)
}

impl Drop for Session {
    fn drop(&mut self) {
        self.shared.hub.disconnect(self.connection);
        if self.shared.open_sessions.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.shared.all_closed.notify_waiters();
        }
    }
}
