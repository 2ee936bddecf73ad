//! One client connection, whatever carries it: its subscriptions, what each has delivered,
//! and the frames to send next. The WebSocket and SSE handlers drive it; it never writes to
//! the network itself, so a slow socket slows only its own connection.
//!
//! A subscription that resumes from a position first reads the store for the events the hub
//! dispatched before it joined (see [`crate::catch_up`]), while the hub's live events for it
//! wait in order; then those follow. Each subscription keeps the position of the last event
//! it sent, and sends only events after it: no gap, no duplicate.

use std::collections::{HashMap, VecDeque};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use chrono::Utc;
use eventful_core::{EventStore, Position, RecordedEvent, StoreError};
use futures::stream::{AbortHandle, Abortable, BoxStream, SelectAll, StreamExt};
use tokio::time::{Instant, Sleep};

use crate::auth::Claims;
use crate::catch_up::catch_up;
use crate::gateway::Shared;
use crate::hub::{ConnectionId, Delivery, FeedId, Inbox, SharedEvent};
use crate::protocol::{
    ClientFrame, CloseCode, ErrorCode, PROTOCOL_VERSION, ServerFrame, Topic, envelope_json,
    event_frame_json, quoted,
};
use crate::topic::ValidTopic;

/// A frame to send.
#[derive(Debug)]
pub(crate) struct Outgoing {
    /// The frame's JSON text.
    pub(crate) json: String,
    /// For an event frame, the event's position.
    pub(crate) position: Option<Position>,
}

/// What the connection does next.
#[derive(Debug)]
pub(crate) enum Step {
    /// Send this frame.
    Send(Outgoing),
    /// Send a [`ServerFrame::Closing`] of this code and reason, then close.
    Close(CloseCode, String),
}

/// A subscription refused: the error frame's code and message.
#[derive(Debug)]
pub(crate) struct Refusal {
    pub(crate) code: ErrorCode,
    pub(crate) message: String,
}

impl Refusal {
    fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

/// One subscription.
struct Feed {
    name: String,
    /// `name` as a JSON string, for event frames.
    quoted: String,
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
    connection: ConnectionId,
    inbox: Inbox,
    feeds: HashMap<FeedId, Feed>,
    names: HashMap<String, FeedId>,
    next_feed: FeedId,
    catch_ups: SelectAll<BoxStream<'static, CatchUpItem>>,
    /// Live events held by catching-up subscriptions, all together.
    held: usize,
    outbox: VecDeque<Outgoing>,
    closing: tokio::sync::watch::Receiver<Option<String>>,
    expiry: Pin<Box<Sleep>>,
}

impl Session {
    /// A session for a verified token; its first frame is the welcome.
    pub(crate) fn open(shared: Arc<Shared>, claims: Claims) -> Self {
        let (connection, inbox) = shared.hub.connect();
        shared.open_sessions.fetch_add(1, Ordering::AcqRel);
        let closing = shared.closing.subscribe();
        let welcome = ServerFrame::Welcome {
            protocol: PROTOCOL_VERSION,
            subject: claims.sub.clone(),
            expires_at: claims.expires_at(),
        };
        let mut session = Self {
            expiry: Box::pin(tokio::time::sleep(Duration::ZERO)),
            shared,
            claims,
            connection,
            inbox,
            feeds: HashMap::new(),
            names: HashMap::new(),
            next_feed: 0,
            catch_ups: SelectAll::new(),
            held: 0,
            outbox: VecDeque::new(),
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
        });
    }

    fn push_error(&mut self, refusal: Refusal, subscription: Option<String>) {
        self.push(&ServerFrame::Error {
            code: refusal.code,
            message: refusal.message,
            subscription,
        });
    }

    /// What to do next: the next frame to send, or why to close. Cancel-safe: everything
    /// it has taken in is kept in the session.
    pub(crate) async fn next_step(&mut self) -> Step {
        loop {
            if let Some(outgoing) = self.outbox.pop_front() {
                return Step::Send(outgoing);
            }
            if self.held > self.shared.settings.queue_capacity {
                return self.lagging();
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
                    return Step::Close(
                        CloseCode::ShuttingDown,
                        reason.unwrap_or_else(|| String::from("the gateway stopped")),
                    );
                }
                Woke::Expiry => {
                    if self.token_left().is_none_or(|left| left.is_zero()) {
                        return Step::Close(
                            CloseCode::TokenExpired,
                            format!("the token expired at {}", self.claims.expires_at()),
                        );
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
        Step::Close(
            CloseCode::Lagging,
            format!(
                "more than {} events were waiting for this connection; resume each subscription \
                 after the last position it received",
                self.shared.settings.queue_capacity
            ),
        )
    }

    /// A live event from the hub.
    fn deliver(&mut self, delivery: Delivery) {
        let Some(feed) = self.feeds.get_mut(&delivery.feed) else {
            return; // unsubscribed since the hub queued it
        };
        match &mut feed.held {
            Some(held) => {
                held.push_back(delivery.event);
                self.held += 1;
            }
            None => {
                if let Some(outgoing) = feed.send_shared(&delivery.event) {
                    self.outbox.push_back(outgoing);
                }
            }
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
                        });
                    }
                    Err(error) => {
                        let name = feed.name.clone();
                        self.stop_feed(feed_id);
                        let message = format!(
                            "the event at position {} cannot be sent: {error}",
                            event.position
                        );
                        self.push_error(
                            Refusal::new(ErrorCode::StoreUnavailable, message),
                            Some(name),
                        );
                    }
                }
            }
            Some(Err(error)) => {
                let name = feed.name.clone();
                self.stop_feed(feed_id);
                let message = format!("reading the events to resume from failed: {error}");
                self.push_error(
                    Refusal::new(ErrorCode::StoreUnavailable, message),
                    Some(name),
                );
            }
            None => {
                feed.catching_up = None;
                let held = feed.held.take().unwrap_or_default();
                self.held -= held.len();
                for event in held {
                    if let Some(outgoing) = feed.send_shared(&event) {
                        self.outbox.push_back(outgoing);
                    }
                }
            }
        }
    }

    /// A text frame from the client.
    pub(crate) async fn on_text(&mut self, text: &str) {
        match serde_json::from_str::<ClientFrame>(text) {
            Ok(ClientFrame::Subscribe { id, topic, after }) => {
                match self
                    .subscribe(&id, std::slice::from_ref(&topic), after)
                    .await
                {
                    Ok(after) => self.push_subscribed(&id, topic, after),
                    Err(refusal) => self.push_error(refusal, Some(id)),
                }
            }
            Ok(ClientFrame::Unsubscribe { id }) => match self.names.get(&id) {
                Some(&feed) => {
                    self.stop_feed(feed);
                    self.push(&ServerFrame::Unsubscribed { id });
                }
                None => {
                    let message = format!("no subscription `{id}` is running");
                    self.push_error(
                        Refusal::new(ErrorCode::UnknownSubscription, message),
                        Some(id),
                    );
                }
            },
            Err(error) => self.refuse_frame(format!(
                "not a frame of protocol {PROTOCOL_VERSION}: {error}"
            )),
        }
    }

    /// Confirms that subscription `id` follows `topic` after `after`.
    pub(crate) fn push_subscribed(&mut self, id: &str, topic: Topic, after: Position) {
        self.push(&ServerFrame::Subscribed {
            id: id.to_owned(),
            topic,
            after,
        });
    }

    /// Answers a client frame that is not one of the protocol's.
    pub(crate) fn refuse_frame(&mut self, message: String) {
        self.push_error(Refusal::new(ErrorCode::MalformedFrame, message), None);
    }

    /// Starts subscription `name` to `topics`, resuming after `after` if given; returns the
    /// position its events follow.
    pub(crate) async fn subscribe(
        &mut self,
        name: &str,
        topics: &[Topic],
        after: Option<Position>,
    ) -> Result<Position, Refusal> {
        let valid = topics
            .iter()
            .map(|topic| {
                ValidTopic::new(topic).map_err(|error| {
                    Refusal::new(ErrorCode::MalformedFrame, format!("{topic}: {error}"))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        if self.names.contains_key(name) {
            let message = format!("subscription `{name}` is already running");
            return Err(Refusal::new(ErrorCode::DuplicateSubscription, message));
        }
        let limit = self.shared.settings.max_subscriptions;
        if self.feeds.len() >= limit {
            let message = format!("a connection holds at most {limit} subscriptions");
            return Err(Refusal::new(ErrorCode::TooManySubscriptions, message));
        }
        for topic in topics {
            if !self
                .shared
                .settings
                .access
                .allows(&self.claims, topic)
                .await
            {
                let message = format!("the token of `{}` does not allow {topic}", self.claims.sub);
                return Err(Refusal::new(ErrorCode::Forbidden, message));
            }
        }
        let feed_id = self.next_feed;
        self.next_feed += 1;
        let Some(live_after) = self.shared.hub.add_feed(self.connection, feed_id, &valid) else {
            // The hub has dropped this connection for lagging: the close comes next.
            return Ok(after.unwrap_or_default());
        };
        let mut feed = Feed {
            name: name.to_owned(),
            quoted: quoted(name),
            cursor: live_after,
            held: None,
            catching_up: None,
        };
        match after {
            None => {}
            Some(after) if after > live_after => {
                // Past what the hub has dispatched: fine if the store has it (the hub is a
                // little behind), refused if the log does not reach it.
                let head = match self.shared.store.head_position().await {
                    Ok(head) => head,
                    Err(error) => {
                        self.shared.hub.remove_feed(self.connection, feed_id);
                        let message = format!("the store could not be asked for its head: {error}");
                        return Err(Refusal::new(ErrorCode::StoreUnavailable, message));
                    }
                };
                if after > head {
                    self.shared.hub.remove_feed(self.connection, feed_id);
                    let message = format!(
                        "position {after} is past the end of the log (at {head}): the store no \
                         longer has the events this client saw; subscribe without `after` and \
                         reload"
                    );
                    return Err(Refusal::new(ErrorCode::PositionUnavailable, message));
                }
                feed.cursor = after;
            }
            Some(after) => {
                feed.cursor = after;
                if after < live_after {
                    let past = catch_up(&self.shared.store, &valid, after, live_after);
                    let (handle, registration) = AbortHandle::new_pair();
                    let items = Abortable::new(past, registration)
                        .map(move |read| (feed_id, Some(read)))
                        .chain(futures::stream::once(async move { (feed_id, None) }));
                    self.catch_ups.push(items.boxed());
                    feed.held = Some(VecDeque::new());
                    feed.catching_up = Some(handle);
                }
            }
        }
        let after = feed.cursor;
        self.names.insert(name.to_owned(), feed_id);
        self.feeds.insert(feed_id, feed);
        Ok(after)
    }

    /// Stops a subscription: no more of its events are sent.
    fn stop_feed(&mut self, feed_id: FeedId) {
        self.shared.hub.remove_feed(self.connection, feed_id);
        if let Some(feed) = self.feeds.remove(&feed_id) {
            self.names.remove(&feed.name);
            self.held -= feed.held.map_or(0, |held| held.len());
            if let Some(catching_up) = feed.catching_up {
                catching_up.abort();
            }
        }
    }
}

impl Feed {
    /// The frame of a live event, if it is after what the subscription has sent.
    fn send_shared(&mut self, event: &SharedEvent) -> Option<Outgoing> {
        if event.position <= self.cursor {
            return None;
        }
        self.cursor = event.position;
        Some(Outgoing {
            json: event_frame_json(&self.quoted, &event.envelope),
            position: Some(event.position),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_time_left_on_a_token_saturates_at_the_ends_of_the_clock() {
        let now = 1_750_000_000_000;
        assert_eq!(
            time_left(1_750_000_010, 5, now),
            Some(Duration::from_secs(15))
        );
        assert_eq!(time_left(1_749_999_990, 0, now), None, "expired");
        let far = time_left(i64::MAX, u64::MAX, now).expect("far away");
        assert!(far > Duration::from_secs(100 * 365 * 24 * 3600), "{far:?}");
        assert_eq!(time_left(i64::MIN, 0, now), None);
        assert_eq!(
            time_left(0, 0, i64::MIN),
            Some(Duration::from_millis(i64::MAX as u64))
        );
    }
}
