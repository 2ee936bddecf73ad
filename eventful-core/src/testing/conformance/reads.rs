//! Reads: streams from a version, the log in batches, time ranges, filters, the envelope.

use std::ops::ControlFlow;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use uuid::Uuid;

use super::{fresh_stream, numbered, numbers, raw_event, whole_log, whole_stream};
use crate::envelope::{ExpectedVersion, Metadata, Position, RecordedEvent, Version};
use crate::names::TypeName;
use crate::store::EventFilter;
use crate::streams::EventStoreExt;
use crate::testing::ConformanceStore;

/// What is appended reads back: from the stream, from the log, with the versions and
/// positions the append reported.
pub async fn append_and_read_back<S: ConformanceStore>(store: S) {
    let stream = fresh_stream("basic");
    let result = store
        .append(
            &stream,
            ExpectedVersion::NoStream,
            &[numbered("a", 1), numbered("b", 2)],
        )
        .await
        .unwrap_or_else(|error| panic!("append failed: {error}"));
    assert_eq!(result.last_version, Version::new(2));
    assert!(!result.already_stored);
    let events = whole_stream(&store, &stream).await;
    assert_eq!(numbers(&events), [1, 2]);
    assert_eq!(events[0].version, Version::new(1));
    assert_eq!(events[1].version, Version::new(2));
    assert_eq!(events[0].position, result.first_position);
    assert_eq!(events[1].position, result.first_position.next());
    assert_eq!(events[0].event_type, "a");
    assert_eq!(events[0].recorded_at, result.recorded_at);
    assert_eq!(
        store.stream_version(&stream).await.ok(),
        Some(Version::new(2))
    );
    assert_eq!(
        store.head_position().await.ok(),
        Some(result.first_position.next()),
        "the head is the last event's position"
    );
    let missing = fresh_stream("missing");
    assert_eq!(
        store.stream_version(&missing).await.ok(),
        Some(Version::NONE)
    );
    assert!(whole_stream(&store, &missing).await.is_empty());
}

/// Versions are 1, 2, 3, … per stream with no gaps; positions increase strictly along the
/// log, across streams, in the order appends become visible: each append is in the log once,
/// at the position it reported, and each stream's events come in version order. An append
/// made after reading the log is after everything read (so a policy's reaction is never
/// before its cause). Appends made one after the other by different processes with no read
/// between may be ordered either way in a store shared by several (the MongoDB store's
/// positions come from blocks): that is the order they became visible.
pub async fn versions_and_positions_are_ordered<S: ConformanceStore>(store: S) {
    let streams = [
        fresh_stream("order"),
        fresh_stream("order"),
        fresh_stream("order"),
    ];
    let mut reported = Vec::new();
    for round in 0..4u64 {
        for (i, stream) in streams.iter().enumerate() {
            let events = (0..=i as u64)
                .map(|k| numbered("o", round * 10 + k))
                .collect::<Vec<_>>();
            let result = store
                .append(stream, ExpectedVersion::Any, &events)
                .await
                .unwrap_or_else(|error| panic!("append failed: {error}"));
            reported.push(result.first_position);
        }
    }
    for (i, stream) in streams.iter().enumerate() {
        let events = whole_stream(&store, stream).await;
        let versions: Vec<u64> = events.iter().map(|event| event.version.get()).collect();
        let expected: Vec<u64> = (1..=(4 * (i as u64 + 1))).collect();
        assert_eq!(versions, expected, "stream {i} has gaps");
    }
    let log: Vec<_> = whole_log(&store, EventFilter::all())
        .await
        .into_iter()
        .filter(|event| streams.contains(&event.stream_id))
        .collect();
    assert!(
        log.windows(2)
            .all(|pair| pair[0].position < pair[1].position),
        "the log is not in strictly increasing position order"
    );
    assert_eq!(log.len(), 4 * (1 + 2 + 3));
    // Stream `i` appends `i + 1` events at a time: its appends start at versions 1, i + 2, …
    let mut starts: Vec<Position> = log
        .iter()
        .filter(|event| {
            let size = streams
                .iter()
                .position(|s| *s == event.stream_id)
                .unwrap_or(0) as u64
                + 1;
            (event.version.get() - 1) % size == 0
        })
        .map(|event| event.position)
        .collect();
    starts.sort_unstable();
    reported.sort_unstable();
    assert_eq!(starts, reported, "an append is not where it said it is");
    for stream in &streams {
        let versions: Vec<u64> = log
            .iter()
            .filter(|event| event.stream_id == *stream)
            .map(|event| event.version.get())
            .collect();
        assert!(
            versions.windows(2).all(|pair| pair[0] < pair[1]),
            "`{stream}` is out of order in the log: {versions:?}"
        );
    }
    let last_read = log.last().map(|event| event.position);
    for stream in &streams {
        let after = store
            .append(stream, ExpectedVersion::Any, &[numbered("o", 99)])
            .await
            .unwrap_or_else(|error| panic!("append failed: {error}"));
        assert!(
            Some(after.first_position) > last_read,
            "an append made after reading the log to {last_read:?} is at {}",
            after.first_position
        );
    }
}

/// A stream reads from any version, with a limit, in order; visiting it in place
/// (`visit_stream`) hands over the same events, envelope and all, between another stream's.
pub async fn read_stream_from_a_version<S: ConformanceStore>(store: S) {
    let stream = fresh_stream("from");
    let other = fresh_stream("from");
    for n in 1..=10 {
        for (stream, number) in [(&stream, n), (&other, 100 + n)] {
            store
                .append(stream, ExpectedVersion::Any, &[numbered("a", number)])
                .await
                .unwrap_or_else(|error| panic!("append failed: {error}"));
        }
    }
    let read = |from: u64, limit: usize| {
        let store = store.clone();
        let stream = stream.clone();
        async move {
            let events = store
                .read_stream(&stream, Version::new(from), limit)
                .await
                .unwrap_or_else(|error| panic!("{error}"));
            let mut visited = Vec::new();
            let count = store
                .visit_stream(&stream, Version::new(from), limit, &mut |event| {
                    visited.push(event.to_recorded());
                    ControlFlow::Continue(())
                })
                .await
                .unwrap_or_else(|error| panic!("{error}"));
            assert_eq!(
                (count, &visited),
                (events.len(), &events),
                "visit_stream from version {from}, at most {limit}, hands over what read_stream reads"
            );
            numbers(&events)
        }
    };
    assert_eq!(read(4, 3).await, [4, 5, 6]);
    assert_eq!(read(9, 100).await, [9, 10]);
    assert_eq!(read(11, 100).await, Vec::<u64>::new());
    assert_eq!(read(0, 2).await, [1, 2], "version 0 reads from the start");
    assert_eq!(read(1, 0).await, Vec::<u64>::new());
    let visited = store
        .visit_stream(&fresh_stream("from"), Version::new(1), 10, &mut |_| {
            ControlFlow::Continue(())
        })
        .await
        .unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(visited, 0, "a stream that does not exist visits nothing");
    let streamed: Vec<_> = store
        .read_stream_events(stream.clone(), Version::new(7))
        .try_collect()
        .await
        .unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(numbers(&streamed), [7, 8, 9, 10]);
}

/// The whole log reads in batches, each continuing where the last stopped, as a stream or
/// batch by batch.
pub async fn read_all_in_batches<S: ConformanceStore>(store: S) {
    let streams = [fresh_stream("batch"), fresh_stream("batch")];
    for chunk in 0..26u64 {
        let events = (0..50)
            .map(|i| numbered("b", chunk * 50 + i))
            .collect::<Vec<_>>();
        store
            .append(
                &streams[(chunk % 2) as usize],
                ExpectedVersion::Any,
                &events,
            )
            .await
            .unwrap_or_else(|error| panic!("append failed: {error}"));
    }
    let ours = |events: Vec<RecordedEvent>| -> Vec<RecordedEvent> {
        events
            .into_iter()
            .filter(|event| streams.contains(&event.stream_id))
            .collect()
    };
    let all = ours(whole_log(&store, EventFilter::all()).await);
    assert_eq!(numbers(&all), (0..1300).collect::<Vec<_>>());

    let mut by_batch = Vec::new();
    let mut from = Position::START;
    loop {
        let batch = store
            .read_all(from, &EventFilter::all(), 100)
            .await
            .unwrap_or_else(|error| panic!("{error}"));
        assert!(batch.events.len() <= 100, "a batch exceeded its limit");
        assert!(batch.next >= from, "a batch went backwards");
        if let Some(last) = batch.events.last() {
            assert!(batch.next > last.position, "`next` must be past the batch");
        }
        by_batch.extend(ours(batch.events));
        from = batch.next;
        if batch.end_of_log {
            break;
        }
    }
    assert_eq!(
        numbers(&by_batch),
        numbers(&all),
        "batches skipped or repeated events"
    );

    let middle = all[700].position;
    let rest: Vec<_> = store
        .read_all_events(middle, EventFilter::all())
        .try_collect()
        .await
        .unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(numbers(&ours(rest)), (700..1300).collect::<Vec<_>>());
}

/// Events recorded in a time range read back exactly, in position order.
pub async fn read_a_time_range<S: ConformanceStore>(store: S) {
    let stream = fresh_stream("time");
    let mut times = Vec::new();
    for round in 0..3u64 {
        let events = (0..3)
            .map(|i| numbered("t", round * 3 + i))
            .collect::<Vec<_>>();
        let result = store
            .append(&stream, ExpectedVersion::Any, &events)
            .await
            .unwrap_or_else(|error| panic!("append failed: {error}"));
        times.push(result.recorded_at);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let stored = whole_stream(&store, &stream).await;
    for (i, event) in stored.iter().enumerate() {
        assert_eq!(
            event.recorded_at,
            times[i / 3],
            "the stored time differs from the one the append reported"
        );
    }
    let between = |from: DateTime<Utc>, before: DateTime<Utc>| {
        let store = store.clone();
        let stream = stream.clone();
        async move {
            let events: Vec<_> = store
                .events_between(from, before)
                .try_collect()
                .await
                .unwrap_or_else(|error| panic!("{error}"));
            let ours: Vec<_> = events
                .into_iter()
                .filter(|e| e.stream_id == stream)
                .collect();
            numbers(&ours)
        }
    };
    assert_eq!(between(times[1], times[2]).await, [3, 4, 5]);
    assert_eq!(between(times[0], times[2]).await, [0, 1, 2, 3, 4, 5]);
    let after = times[2] + chrono::Duration::milliseconds(1);
    assert_eq!(between(times[1], after).await, [3, 4, 5, 6, 7, 8]);
    assert!(
        between(after, after + chrono::Duration::hours(1))
            .await
            .is_empty()
    );
}

/// Reads of the log filter by event type and by aggregate type.
pub async fn filter_by_event_and_aggregate_type<S: ConformanceStore>(store: S) {
    let players = fresh_stream("fplayer");
    let sessions = fresh_stream("fsession");
    let marker = Uuid::new_v4().simple().to_string();
    let player_type = format!("p{}", &marker[..8]);
    let session_type = format!("s{}", &marker[..8]);
    let json = |n: u64| format!(r#"{{"n":{n}}}"#);
    store
        .append(
            &players,
            ExpectedVersion::NoStream,
            &[
                raw_event(&player_type, "created", &json(1)),
                raw_event(&player_type, "scored", &json(2)),
            ],
        )
        .await
        .unwrap_or_else(|error| panic!("append failed: {error}"));
    store
        .append(
            &sessions,
            ExpectedVersion::NoStream,
            &[
                raw_event(&session_type, "created", &json(3)),
                raw_event(&session_type, "scored", &json(4)),
                raw_event(&session_type, "ended", &json(5)),
            ],
        )
        .await
        .unwrap_or_else(|error| panic!("append failed: {error}"));
    let name = |s: &str| TypeName::new(s).unwrap_or_else(|error| panic!("{error}"));
    let read = |filter: EventFilter| {
        let store = store.clone();
        async move { numbers(&whole_log(&store, filter).await) }
    };
    let by_aggregate = EventFilter::all().with_aggregate_types([name(&session_type)]);
    assert_eq!(read(by_aggregate.clone()).await, [3, 4, 5]);
    let both = by_aggregate.with_event_types([name("scored"), name("ended")]);
    assert_eq!(read(both).await, [4, 5]);
    let two_aggregates = EventFilter::all()
        .with_aggregate_types([name(&player_type), name(&session_type)])
        .with_event_types([name("scored")]);
    assert_eq!(read(two_aggregates).await, [2, 4]);
    let nothing = EventFilter::all().with_aggregate_types([name(&format!("none{marker}"))]);
    assert!(read(nothing).await.is_empty());
}

/// An event is found by its id in its stream, and not in another stream.
pub async fn find_an_event_by_id<S: ConformanceStore>(store: S) {
    let stream = fresh_stream("find");
    let other = fresh_stream("find");
    let wanted = numbered("a", 2);
    let id = wanted.event_id;
    store
        .append(
            &stream,
            ExpectedVersion::NoStream,
            &[numbered("a", 1), wanted, numbered("a", 3)],
        )
        .await
        .unwrap_or_else(|error| panic!("append failed: {error}"));
    store
        .append(&other, ExpectedVersion::NoStream, &[numbered("a", 4)])
        .await
        .unwrap_or_else(|error| panic!("append failed: {error}"));
    let found = store
        .find_event(&stream, id)
        .await
        .unwrap_or_else(|error| panic!("{error}"))
        .unwrap_or_else(|| panic!("event {id} not found in its stream"));
    assert_eq!(found.version, Version::new(2));
    assert_eq!(numbers(&[found]), [2]);
    assert!(store.find_event(&other, id).await.ok().flatten().is_none());
    assert!(
        store
            .find_event(&stream, Uuid::new_v4())
            .await
            .ok()
            .flatten()
            .is_none()
    );
}

/// Every field of the envelope survives the store: ids, names, schema version, correlation,
/// causation, free-form metadata, payload; the time is UTC and taken at the append.
pub async fn envelope_round_trips<S: ConformanceStore>(store: S) {
    let stream = fresh_stream("envelope");
    let correlation = Uuid::new_v4();
    let causation = Uuid::new_v4();
    let mut extra = crate::envelope::Entries::new();
    extra.insert("client".to_owned(), "ios-2.4.1".to_owned());
    extra.insert("région".to_owned(), "eu-west ✓".to_owned());
    extra.insert("empty".to_owned(), String::new());
    let json = r#"{"name":"Zoë 🎮","score":9007199254740991,"ratio":0.25,"tags":["a","b"],"nested":{"ok":true,"none":null}}"#;
    let event = raw_event("envelope_test", "everything_set", json).with_metadata(Metadata {
        correlation_id: Some(correlation),
        causation_id: Some(causation),
        extra: extra.clone(),
    });
    let event = crate::envelope::NewEvent {
        schema_version: 7,
        ..event
    };
    let plain = raw_event("envelope_test", "nothing_set", "{}");
    let sent = [event.clone(), plain.clone()];
    let before = Utc::now() - chrono::Duration::milliseconds(1);
    store
        .append(&stream, ExpectedVersion::NoStream, &[event, plain])
        .await
        .unwrap_or_else(|error| panic!("append failed: {error}"));
    let after = Utc::now() + chrono::Duration::milliseconds(1);

    let from_stream = whole_stream(&store, &stream).await;
    let from_log: Vec<_> = whole_log(&store, EventFilter::all())
        .await
        .into_iter()
        .filter(|event| event.stream_id == stream)
        .collect();
    let found = store
        .find_event(&stream, sent[0].event_id)
        .await
        .unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(from_stream, from_log, "the stream and the log disagree");
    assert_eq!(found.as_ref(), from_stream.first(), "find_event disagrees");
    for (stored, sent) in from_stream.iter().zip(&sent) {
        assert_eq!(stored.event_id, sent.event_id);
        assert_eq!(stored.stream_id, stream);
        assert_eq!(stored.aggregate_type, sent.aggregate_type);
        assert_eq!(stored.event_type, sent.event_type);
        assert_eq!(stored.schema_version, sent.schema_version);
        assert_eq!(
            stored.metadata, sent.metadata,
            "metadata changed in the store"
        );
        let stored_json: serde_json::Value =
            stored.payload.decode().unwrap_or_else(|e| panic!("{e}"));
        let sent_json: serde_json::Value = sent.payload.decode().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(stored_json, sent_json, "the payload changed in the store");
        assert!(
            stored.recorded_at >= before && stored.recorded_at <= after,
            "recorded_at {} is not the time of the append ({before} .. {after})",
            stored.recorded_at
        );
    }
    assert_eq!(from_stream[0].metadata.extra, extra);
}
