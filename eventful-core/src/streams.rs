//! Streaming reads and live subscriptions, built once on the [`EventStore`] primitives so that
//! every store hands over from catch-up to live the same way.

use std::collections::VecDeque;

use chrono::{DateTime, Utc};
use futures::stream::{self, BoxStream, StreamExt};

use crate::envelope::{Position, RecordedEvent, Version};
use crate::names::StreamId;
use crate::store::{EventFilter, EventStore, StoreError};

/// A stream of recorded events. It ends after the first error.
pub type EventStream = BoxStream<'static, Result<RecordedEvent, StoreError>>;

/// How many events one read of a streaming helper asks the store for.
pub const READ_BATCH: usize = 512;

/// Streaming reads and subscriptions for every cloneable store.
///
/// ```
/// use eventful_core::{EventFilter, EventStore, EventStoreExt, Position};
/// use futures::TryStreamExt;
///
/// async fn count_events(store: impl EventStore + Clone + 'static) -> Result<usize, eventful_core::StoreError> {
///     let events: Vec<_> = store.read_all_events(Position::START, EventFilter::all()).try_collect().await?;
///     Ok(events.len())
/// }
/// ```
pub trait EventStoreExt: EventStore + Clone + Sized + 'static {
    /// Every event of `stream_id` from version `from` on, as stored now.
    fn read_stream_events(&self, stream_id: StreamId, from: Version) -> EventStream {
        let store = self.clone();
        stream::unfold(
            (store, from, VecDeque::new(), false),
            move |(store, mut next, mut buffer, mut done)| {
                let stream_id = stream_id.clone();
                async move {
                    loop {
                        if let Some(event) = buffer.pop_front() {
                            return Some((Ok(event), (store, next, buffer, done)));
                        }
                        if done {
                            return None;
                        }
                        match store.read_stream(&stream_id, next, READ_BATCH).await {
                            Ok(events) => {
                                done = events.len() < READ_BATCH;
                                if let Some(last) = events.last() {
                                    next = last.version.next();
                                }
                                buffer.extend(events);
                            }
                            Err(error) => return Some((Err(error), (store, next, buffer, true))),
                        }
                    }
                }
            },
        )
        .boxed()
    }

    /// Every event matching `filter` from position `from` on, as far as the log reaches when
    /// the stream gets there; then the stream ends.
    fn read_all_events(&self, from: Position, filter: EventFilter) -> EventStream {
        all_events(self.clone(), from, filter, false)
    }

    /// Every event recorded in `[from, before)`, in position order.
    fn events_between(&self, from: DateTime<Utc>, before: DateTime<Utc>) -> EventStream {
        self.read_all_events(
            Position::START,
            EventFilter::all().recorded_between(from, before),
        )
    }

    /// Every event matching `filter` from position `from` on, then every event appended
    /// later, as it becomes visible: each exactly once, in position order, with no gap at the
    /// hand-over from catch-up to live. The stream ends only after an error.
    fn subscribe(&self, from: Position, filter: EventFilter) -> EventStream {
        all_events(self.clone(), from, filter, true)
    }
}

impl<S: EventStore + Clone + Sized + 'static> EventStoreExt for S {}

struct AllReader<S> {
    store: S,
    next: Position,
    filter: EventFilter,
    follow: bool,
    buffer: VecDeque<RecordedEvent>,
    done: bool,
}

fn all_events<S: EventStore + 'static>(
    store: S,
    from: Position,
    filter: EventFilter,
    follow: bool,
) -> EventStream {
    let reader = AllReader {
        store,
        next: from,
        filter,
        follow,
        buffer: VecDeque::new(),
        done: false,
    };
    stream::unfold(reader, |mut reader| async move {
        loop {
            if let Some(event) = reader.buffer.pop_front() {
                return Some((Ok(event), reader));
            }
            if reader.done {
                return None;
            }
            let batch = match reader
                .store
                .read_all(reader.next, &reader.filter, READ_BATCH)
                .await
            {
                Ok(batch) => batch,
                Err(error) => {
                    reader.done = true;
                    return Some((Err(error), reader));
                }
            };
            reader.next = reader.next.max(batch.next);
            reader.buffer.extend(batch.events);
            if batch.end_of_log {
                if !reader.follow {
                    reader.done = true;
                } else if reader.buffer.is_empty() {
                    let seen = Position::new(reader.next.get().saturating_sub(1));
                    reader.store.wait_for_append(seen).await;
                }
            }
        }
    })
    .boxed()
}
