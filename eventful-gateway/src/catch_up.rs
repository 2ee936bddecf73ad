//! The past events of a resumed subscription: read from the store for the subscription alone,
//! between the position the client last saw and the position the hub had reached when the
//! subscription joined it, merged into one stream in position order.
//!
//! A stream topic reads its stream (a player's or a session's, short); an event type topic
//! reads the log from the client's position with a type filter. Both are reads the client's
//! own resume causes, once, in the store's batches.

use std::cmp::Ordering;
use std::future::ready;
use std::sync::Arc;

use eventful_core::{
    DynEventStore, EventFilter, EventStoreExt, EventStream, Position, RecordedEvent, StoreError,
    Version,
};
use futures::stream::{self, StreamExt};

use crate::topic::ValidTopic;

/// Every event of `topics` with a position in `(after, until]`, in position order, each
/// once; an error ends the stream.
pub(crate) fn catch_up(
    store: &Arc<dyn DynEventStore>,
    topics: &[ValidTopic],
    after: Position,
    until: Position,
) -> EventStream {
    let streams = topics
        .iter()
        .map(|topic| {
            let events = match topic {
                ValidTopic::Stream(stream) => {
                    store.read_stream_events(stream.clone(), Version::new(1))
                }
                ValidTopic::EventType(event_type) => store.read_all_events(
                    after.next(),
                    EventFilter::all().with_event_types([event_type.clone()]),
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
    use eventful_core::{Payload, StreamId, TypeName};
    use futures::TryStreamExt;

    fn event(position: u64) -> RecordedEvent {
        RecordedEvent {
            event_id: uuid::Uuid::from_u128(u128::from(position)),
            stream_id: StreamId::new("s-1").expect("valid"),
            aggregate_type: TypeName::from_static("s"),
            event_type: TypeName::from_static("t"),
            schema_version: 1,
            version: Version::new(position),
            position: Position::new(position),
            recorded_at: chrono::Utc::now(),
            metadata: Default::default(),
            payload: Payload::from_json_slice(b"{}").expect("valid"),
        }
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
