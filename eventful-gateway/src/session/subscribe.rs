//! How a subscription starts: its topics are checked and made distinct, counted against the
//! connection's limit, put to the [`Access`](crate::Access) check, routed by the hub from an
//! exact position, and — for a resume — costed against the connection's catch-up budget
//! before its past is read from the store.

use std::collections::VecDeque;

use eventful_core::{EventStore, Position};
use futures::stream::{AbortHandle, Abortable, StreamExt};

use super::{Feed, Session};
use crate::auth::Claims;
use crate::catch_up::{catch_up, plan};
use crate::gateway::Shared;
use crate::hub::FeedId;
use crate::protocol::{ErrorCode, ServerFrame, Topic, quoted};
use crate::refusal::Refusal;
use crate::topic::ValidTopic;

impl Session {
    /// Starts subscription `name` to `topics` (a topic named twice counts once), resuming
    /// after `after` if given, and queues its `subscribed` frames, one per topic. Sends
    /// nothing when the hub has already dropped the connection for lagging: the close
    /// comes next, and a confirmation would name a position nothing follows.
    pub(crate) async fn subscribe(
        &mut self,
        name: &str,
        topics: &[Topic],
        after: Option<Position>,
    ) -> Result<(), Refusal> {
        let limit = self.shared.settings.max_subscriptions;
        let (topics, valid) = distinct(topics, limit, self.topics)?;
        if self.names.contains_key(name) {
            let message = format!("subscription `{name}` is already running");
            return Err(Refusal::new(ErrorCode::DuplicateSubscription, message));
        }
        for topic in &topics {
            check_access(&self.shared, &self.claims, topic).await?;
        }
        let feed_id = self.next_feed;
        self.next_feed += 1;
        let Some(live_after) = self.shared.hub.add_feed(self.connection, feed_id, &valid) else {
            return Ok(());
        };
        let mut feed = Feed {
            name: name.to_owned(),
            quoted: quoted(name),
            topics: topics.len(),
            cursor: live_after,
            held: None,
            catching_up: None,
        };
        if let Some(after) = after
            && let Err(refusal) = self
                .resume(&mut feed, feed_id, &valid, after, live_after)
                .await
        {
            self.shared.hub.remove_feed(self.connection, feed_id);
            return Err(refusal);
        }
        let after = feed.cursor;
        self.names.insert(name.to_owned(), feed_id);
        self.topics += feed.topics;
        self.feeds.insert(feed_id, feed);
        for topic in topics {
            self.push(&ServerFrame::Subscribed {
                id: name.to_owned(),
                topic: topic.clone(),
                after,
            });
        }
        Ok(())
    }

    /// Starts `feed` after `after` instead of live: past the hub's position, it waits for
    /// the hub if the store has that far; before it, it reads the past from the store, within
    /// the connection's catch-up budget, while the live events wait.
    async fn resume(
        &mut self,
        feed: &mut Feed,
        feed_id: FeedId,
        topics: &[ValidTopic],
        after: Position,
        live_after: Position,
    ) -> Result<(), Refusal> {
        if after > live_after {
            // Past what the hub has dispatched: fine if the store has it (the hub is a little
            // behind), refused if the log does not reach it.
            let head = self.shared.store.head_position().await.map_err(|error| {
                let message = format!("the store could not be asked for its head: {error}");
                Refusal::new(ErrorCode::StoreUnavailable, message)
            })?;
            if after > head {
                let message = format!(
                    "position {after} is past the end of the log (at {head}): the store no \
                     longer has the events this client saw; subscribe without `after` and \
                     reload"
                );
                return Err(Refusal::new(ErrorCode::PositionUnavailable, message));
            }
            feed.cursor = after;
            return Ok(());
        }
        feed.cursor = after;
        if after == live_after {
            return Ok(());
        }
        let (pasts, cost) = plan(&self.shared.store, topics, after, live_after)
            .await
            .map_err(|(stream, error)| {
                let message = format!("the store could not say where `{stream}` resumes: {error}");
                Refusal::new(ErrorCode::StoreUnavailable, message)
            })?;
        if cost > self.budget_left {
            let message = format!(
                "resuming after position {after} would read {cost} events from the store, more \
                 than the {} left of this connection's catch-up budget ({}): subscribe without \
                 `after` and load the current state another way",
                self.budget_left, self.shared.settings.catch_up_budget
            );
            return Err(Refusal::new(ErrorCode::PositionUnavailable, message));
        }
        self.budget_left -= cost;
        let past = catch_up(&self.shared.store, pasts, after, live_after);
        let (handle, registration) = AbortHandle::new_pair();
        let items = Abortable::new(past, registration)
            .map(move |read| (feed_id, Some(read)))
            .chain(futures::stream::once(async move { (feed_id, None) }));
        self.catch_ups.push(items.boxed());
        feed.held = Some(VecDeque::new());
        feed.catching_up = Some(handle);
        Ok(())
    }
}

/// Refuses `topic` unless the gateway's access allows it for `claims`.
async fn check_access(shared: &Shared, claims: &Claims, topic: &Topic) -> Result<(), Refusal> {
    let subject = &claims.sub;
    match shared.settings.access.allows(claims, topic).await {
        Ok(true) => Ok(()),
        Ok(false) => {
            let message = format!("the token of `{subject}` does not allow {topic}");
            Err(Refusal::new(ErrorCode::Forbidden, message))
        }
        Err(error) => {
            let message =
                format!("whether the token of `{subject}` allows {topic} is unknown: {error}");
            Err(Refusal::new(ErrorCode::StoreUnavailable, message))
        }
    }
}

/// `topics` each once, in the order first named, with their checked names; refused when
/// they would take a connection that follows `following` topics past `limit` (found before
/// the rest is looked at, so a query of thousands of topics costs no more than the limit).
fn distinct(
    topics: &[Topic],
    limit: usize,
    following: usize,
) -> Result<(Vec<&Topic>, Vec<ValidTopic>), Refusal> {
    let room = limit.saturating_sub(following);
    let mut distinct: Vec<&Topic> = Vec::new();
    let mut valid = Vec::new();
    for topic in topics {
        if distinct.contains(&topic) {
            continue;
        }
        if distinct.len() == room {
            let message = format!(
                "a connection follows at most {limit} topics (this one follows {following}, and \
                 asked for more than {room} more)"
            );
            return Err(Refusal::new(ErrorCode::TooManySubscriptions, message));
        }
        let checked = ValidTopic::new(topic).map_err(|error| {
            Refusal::new(ErrorCode::MalformedFrame, format!("{topic}: {error}"))
        })?;
        distinct.push(topic);
        valid.push(checked);
    }
    Ok((distinct, valid))
}
