//! The past events of a resumed subscription: read from the store for the subscription alone,
//! between the position the client last saw and the position the hub had reached when the
//! subscription joined it, merged into one stream in position order.
//!
//! A stream topic reads its stream from the first version after the client's position, found
//! by galloping back from the stream's end (a client resumes near it): a resume reads about
//! what it missed, whatever the stream's length. An event type topic reads the log from the
//! client's position with a type filter. Both are reads the client's own resume causes, once,
//! in the store's batches.

use std::cmp::Ordering;
use std::future::ready;
use std::sync::Arc;

use eventful_core::{
    DynEventStore, EventFilter, EventStore, EventStoreExt, EventStream, Position, RecordedEvent,
    StoreError, StreamId, TypeName, Version,
};
use futures::stream::{self, StreamExt};

use crate::topic::ValidTopic;

/// What the resume of one topic reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Past {
    /// A stream, from a version on.
    Stream { stream: StreamId, from: Version },
    /// The log's events of one type.
    EventType(TypeName),
}

/// What resuming `topics` after `after` (up to `until`) reads, and what that costs the store
/// in events: a stream topic the events from the version found for it to the stream's end, an
/// event type topic the positions in between.
pub(crate) async fn plan(
    store: &Arc<dyn DynEventStore>,
    topics: &[ValidTopic],
    after: Position,
    until: Position,
) -> Result<(Vec<Past>, u64), (StreamId, StoreError)> {
    let mut pasts = Vec::with_capacity(topics.len());
    let mut cost = 0u64;
    for topic in topics {
        match topic {
            ValidTopic::Stream(stream) => {
                let (from, last) = first_version_after(store, stream, after)
                    .await
                    .map_err(|error| (stream.clone(), error))?;
                cost = cost.saturating_add((last.get() + 1).saturating_sub(from.get()));
                pasts.push(Past::Stream {
                    stream: stream.clone(),
                    from,
                });
            }
            ValidTopic::EventType(event_type) => {
                cost = cost.saturating_add(until.get() - after.get());
                pasts.push(Past::EventType(event_type.clone()));
            }
        }
    }
    Ok((pasts, cost))
}

/// Every event of `pasts` with a position in `(after, until]`, in position order, each
/// once; an error ends the stream.
pub(crate) fn catch_up(
    store: &Arc<dyn DynEventStore>,
    pasts: Vec<Past>,
    after: Position,
    until: Position,
) -> EventStream {
    let streams = pasts
        .into_iter()
        .map(|past| {
            let events = match past {
                Past::Stream { stream, from } => store.read_stream_events(stream, from),
                Past::EventType(event_type) => store.read_all_events(
                    after.next(),
                    EventFilter::all().with_event_types([event_type]),
                ),
            };
            events
                .filter(move |read| ready(read.as_ref().map_or(true, |e| e.position > after)))
                .take_while(move |read| ready(read.as_ref().map_or(true, |e| e.position <= until)))
                .boxed()
        })
        .collect();
    merge_by_position(streams)
}

/// How far back from a stream's end the search for a resume's first version looks first.
const FIRST_LOOK_BACK: u64 = 64;

/// A version of `stream` at or before its first event after `after`, and the stream's last
/// version: the version after the last when the last is at or before `after` (the stream did
/// not move: nothing to read), else the start of a window at the stream's end that doubles
/// until its first event is at or before `after` (positions grow with versions), or the
/// stream's first version. A few one-event reads, and the stream is then read from at most
/// twice as far back as the resume needs, or 64 events back.
async fn first_version_after(
    store: &Arc<dyn DynEventStore>,
    stream: &StreamId,
    after: Position,
) -> Result<(Version, Version), StoreError> {
    let last = store.stream_version(stream).await?;
    if last.get() > FIRST_LOOK_BACK
        && after != Position::START
        && let Some(event) = store.read_stream(stream, last, 1).await?.first()
        && event.position <= after
    {
        return Ok((last.next(), last));
    }
    let mut back = FIRST_LOOK_BACK;
    loop {
        let from = last.get().saturating_sub(back - 1).max(1);
        if from == 1 || after == Position::START {
            return Ok((Version::new(1), last));
        }
        match store
            .read_stream(stream, Version::new(from), 1)
            .await?
            .first()
        {
            Some(event) if event.position > after => back = back.saturating_mul(2),
            _ => return Ok((Version::new(from), last)),
        }
    }
}

/// Streams each in position order merged into one in position order; an event in several
/// comes once. An error of any ends the merge after it.
fn merge_by_position(mut streams: Vec<EventStream>) -> EventStream {
    if streams.len() == 1 {
        return streams.remove(0);
    }
    let heads: Vec<Option<RecordedEvent>> = streams.iter().map(|_| None).collect();
    let ended = vec![false; streams.len()];
    let state = (streams, heads, ended, false);
    stream::unfold(
        state,
        |(mut streams, mut heads, mut ended, failed)| async move {
            if failed {
                return None;
            }
            for index in 0..streams.len() {
                if heads[index].is_none() && !ended[index] {
                    match streams[index].next().await {
                        Some(Ok(event)) => heads[index] = Some(event),
                        Some(Err(error)) => {
                            return Some((
                                Err::<RecordedEvent, StoreError>(error),
                                (streams, heads, ended, true),
                            ));
                        }
                        None => ended[index] = true,
                    }
                }
            }
            let lowest = heads
                .iter()
                .filter_map(|head| head.as_ref().map(|event| event.position))
                .min()?;
            let mut taken = None;
            for head in &mut heads {
                if head.as_ref().map(|event| event.position.cmp(&lowest)) == Some(Ordering::Equal) {
                    // The same event from another topic is dropped: it comes once.
                    let event = head.take();
                    taken = taken.or(event);
                }
            }
            taken.map(|event| (Ok(event), (streams, heads, ended, false)))
        },
    )
    .boxed()
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::TryStreamExt;

    fn event(position: u64) -> RecordedEvent {
        crate::hub::tests::event("s-1", "t", position)
    }

    fn of(positions: &[u64]) -> EventStream {
        let events: Vec<_> = positions.iter().map(|&p| Ok(event(p))).collect();
        stream::iter(events).boxed()
    }

    #[tokio::test]
    async fn merged_streams_come_in_position_order_once_each() {
        let merged: Vec<u64> = merge_by_position(vec![
            of(&[1, 4, 6, 9]),
            of(&[2, 4, 5]),
            of(&[]),
            of(&[9, 10]),
        ])
        .map_ok(|event| event.position.get())
        .try_collect()
        .await
        .expect("no error");
        assert_eq!(merged, [1, 2, 4, 5, 6, 9, 10]);
    }

    /// A store with `len` events in stream `s-1`, each followed by one elsewhere; the
    /// positions of `s-1`'s.
    async fn interleaved(len: u64) -> (Arc<dyn DynEventStore>, Vec<Position>) {
        use eventful_core::{ExpectedVersion, NewEvent, Payload};
        let store = eventful_store_memory::MemoryStore::new();
        let new = || {
            NewEvent::new(
                TypeName::from_static("s"),
                TypeName::from_static("t"),
                1,
                Payload::from_json_slice(b"{}").expect("json"),
            )
        };
        let (mine, other) = (
            StreamId::new("s-1").expect("id"),
            StreamId::new("o-1").expect("id"),
        );
        let mut positions = Vec::new();
        for _ in 0..len {
            let appended = store
                .append(&mine, ExpectedVersion::Any, &[new()])
                .await
                .expect("appended");
            positions.push(appended.first_position);
            store
                .append(&other, ExpectedVersion::Any, &[new()])
                .await
                .expect("appended");
        }
        (Arc::new(store), positions)
    }

    async fn resumed(store: &Arc<dyn DynEventStore>, after: Position) -> (u64, Vec<Position>) {
        let until = store.head_position().await.expect("head");
        let topic = ValidTopic::Stream(StreamId::new("s-1").expect("id"));
        let (pasts, cost) = plan(store, &[topic], after, until).await.expect("planned");
        let read: Vec<Position> = catch_up(store, pasts, after, until)
            .map_ok(|event| event.position)
            .try_collect()
            .await
            .expect("read");
        (cost, read)
    }

    #[tokio::test]
    async fn a_resume_reads_about_what_it_missed_whatever_the_stream_length() {
        let (store, positions) = interleaved(1_000).await;
        // Nothing new on the stream, though the log moved on: nothing read.
        let (cost, read) = resumed(&store, positions[999].next()).await;
        assert_eq!((cost, read.len()), (0, 0));
        // 5 missed: one window of 64.
        let (cost, read) = resumed(&store, positions[994]).await;
        assert_eq!(read, positions[995..]);
        assert_eq!(cost, FIRST_LOOK_BACK);
        // 100 missed: the window doubled to 128, under twice what was missed.
        let (cost, read) = resumed(&store, positions[899]).await;
        assert_eq!(read, positions[900..]);
        assert!((100..=200).contains(&cost), "cost {cost}");
        // From the start: the whole stream.
        let (cost, read) = resumed(&store, Position::START).await;
        assert_eq!((cost, read), (1_000, positions.clone()));
    }

    #[tokio::test]
    async fn an_error_ends_the_merge() {
        let failing = stream::iter(vec![
            Ok(event(3)),
            Err(StoreError::Unavailable {
                source: "down".into(),
            }),
        ])
        .boxed();
        let read: Vec<_> = merge_by_position(vec![of(&[1, 5]), failing])
            .collect()
            .await;
        let positions: Vec<_> = read[..2]
            .iter()
            .map(|event| event.as_ref().expect("an event").position.get())
            .collect();
        assert_eq!(positions, [1, 3], "{read:?}");
        assert!(read[2].is_err(), "then the error");
        assert_eq!(read.len(), 3, "and nothing after it");
    }
}
