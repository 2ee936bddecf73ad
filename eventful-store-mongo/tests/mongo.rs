//! What the shared suite cannot see: several stores (processes) on one database, the stream
//! head cache and its pre-check, documents that do not decode, start-up errors, and the
//! documents as an operator sees them in the shell.

mod common;

use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};

use eventful_core::{
    EventFilter, EventStore, EventStoreExt, ExpectedVersion, NewEvent, Payload, Position, Snapshot,
    SnapshotStore, StoreError, StreamId, TypeName, Version,
};
use eventful_store_mongo::{MongoSettings, MongoStore, MongoStoreError};
use futures::StreamExt;
use mongodb::IndexModel;
use mongodb::bson::{self, Document, doc};

fn stream(name: &str) -> StreamId {
    StreamId::new(format!("{name}-{}", uuid::Uuid::new_v4().simple())).expect("a valid stream id")
}

fn event(n: u64) -> NewEvent {
    NewEvent::new(
        TypeName::from_static("test"),
        TypeName::from_static("numbered"),
        1,
        Payload::from_json_slice(format!(r#"{{"n":{n}}}"#).as_bytes()).expect("valid JSON"),
    )
}

fn number(event: &eventful_core::RecordedEvent) -> u64 {
    event.payload.to_value().expect("JSON")["n"]
        .as_u64()
        .expect("a number")
}

fn raw_events(store: &MongoStore) -> mongodb::Collection<Document> {
    store
        .database()
        .collection(store.settings().events_collection())
}

/// Three stores on one database (as three processes would be), two writers each, appending
/// to shared and own streams with `Any` and `Exact`, while a fourth store subscribes: the log
/// is exactly positions 1..=N with no hole and no repeat, the subscriber sees every event once
/// in that order, and every stream's versions have no gap.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_stores_on_one_database_keep_one_gapless_order() {
    const STORES: u64 = 3;
    const WRITERS_PER_STORE: u64 = 2;
    const APPENDS: u64 = 30;
    let Some(settings) = common::fresh_settings("several_stores_on_one_database") else {
        return;
    };
    let mut stores = Vec::new();
    for _ in 0..STORES {
        stores.push(common::connect(settings.clone()).await);
    }
    let watcher = common::connect(settings.clone()).await;
    let mut subscription = watcher.subscribe(Position::START, EventFilter::all());
    let shared = [stream("shared"), stream("shared")];
    let contested = stream("contested");
    let mut writers = Vec::new();
    for (s, store) in (0u64..).zip(&stores) {
        for w in 0..WRITERS_PER_STORE {
            let store = store.clone();
            let shared = shared.clone();
            let contested = contested.clone();
            writers.push(tokio::spawn(async move {
                let writer = s * WRITERS_PER_STORE + w;
                let own = stream("own");
                let mut written = 0u64;
                let next = |written: &mut u64| {
                    *written += 1;
                    event(writer * 1_000_000 + *written)
                };
                for i in 0..APPENDS {
                    let count = 1 + i % 3;
                    let batch = (0..count).map(|_| next(&mut written)).collect();
                    store
                        .append(&shared[(i % 2) as usize], ExpectedVersion::Any, batch)
                        .await
                        .unwrap_or_else(|error| panic!("an Any append failed: {error}"));
                    store
                        .append(
                            &own,
                            ExpectedVersion::Exact(Version::new(i)),
                            vec![next(&mut written)],
                        )
                        .await
                        .unwrap_or_else(|error| {
                            panic!("an Exact append to an own stream failed: {error}")
                        });
                    loop {
                        let version = store.stream_version(&contested).await.expect("a version");
                        match store
                            .append(
                                &contested,
                                ExpectedVersion::Exact(version),
                                vec![next(&mut written)],
                            )
                            .await
                        {
                            Ok(_) => break,
                            Err(StoreError::Conflict { actual, .. }) => assert!(actual > version),
                            Err(error) => panic!("a contested append failed: {error}"),
                        }
                        written -= 1;
                    }
                }
                written
            }));
        }
    }
    let mut total = 0;
    for writer in writers {
        total += writer.await.expect("a writer panicked");
    }
    let log: Vec<_> = watcher
        .read_all_events(Position::START, EventFilter::all())
        .map(|event| event.expect("the log reads"))
        .collect()
        .await;
    let positions: Vec<u64> = log.iter().map(|event| event.position.get()).collect();
    assert_eq!(
        positions,
        (1..=total).collect::<Vec<_>>(),
        "the log has a hole or a repeat"
    );
    let distinct: HashSet<u64> = log.iter().map(number).collect();
    assert_eq!(distinct.len() as u64, total, "an event was stored twice");

    let mut seen = Vec::new();
    tokio::time::timeout(Duration::from_secs(60), async {
        while (seen.len() as u64) < total {
            let event = subscription
                .next()
                .await
                .expect("the subscription ended")
                .expect("it reads");
            seen.push(event.position.get());
        }
    })
    .await
    .unwrap_or_else(|_| panic!("the subscriber saw {} of {total} events", seen.len()));
    assert_eq!(
        seen, positions,
        "the subscriber missed, repeated or reordered events"
    );

    let mut by_stream: BTreeMap<&StreamId, Vec<u64>> = BTreeMap::new();
    for event in &log {
        by_stream
            .entry(&event.stream_id)
            .or_default()
            .push(event.version.get());
    }
    for (stream_id, versions) in by_stream {
        assert_eq!(
            versions,
            (1..=versions.len() as u64).collect::<Vec<_>>(),
            "`{stream_id}` has gaps"
        );
    }
    common::drop_database(&watcher).await;
}

/// `Exact(v)` is inserted directly only when the store has seen the stream at `v`; otherwise
/// it reads the stream's head first, and a version the stream was never at (inside an append
/// of several events) is refused without a write.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exact_appends_check_the_stream_when_the_cache_cannot_vouch() {
    let Some(settings) = common::fresh_settings("exact_appends_check_the_stream") else {
        return;
    };
    let a = common::connect(settings.clone()).await;
    let b = common::connect(settings.clone()).await;
    let uncached = common::connect(settings.with_head_cache_capacity(0)).await;
    let s = stream("cache");
    let conflict = |result: Result<_, StoreError>, actual: u64| match result {
        Err(StoreError::Conflict { actual: a, .. }) => assert_eq!(a, Version::new(actual)),
        other => panic!("expected a conflict at {actual}, got {other:?}"),
    };
    a.append(&s, ExpectedVersion::NoStream, vec![event(1)])
        .await
        .expect("first append");
    b.append(&s, ExpectedVersion::Exact(Version::new(1)), vec![event(2)])
        .await
        .expect("b has not seen the stream, reads its head, and appends");
    conflict(
        a.append(&s, ExpectedVersion::Exact(Version::new(1)), vec![event(0)])
            .await,
        2,
    );
    a.append(&s, ExpectedVersion::Exact(Version::new(2)), vec![event(3)])
        .await
        .expect("a learnt the head from its conflict");
    uncached
        .append(
            &s,
            ExpectedVersion::Exact(Version::new(3)),
            vec![event(4), event(5)],
        )
        .await
        .expect("without a cache every Exact append reads the head first");
    conflict(
        uncached
            .append(&s, ExpectedVersion::Exact(Version::new(4)), vec![event(0)])
            .await,
        5,
    );
    conflict(
        a.append(&s, ExpectedVersion::Exact(Version::new(7)), vec![event(0)])
            .await,
        5,
    );
    let stored: Vec<u64> = a
        .read_stream(&s, Version::new(1), 100)
        .await
        .expect("reads")
        .iter()
        .map(number)
        .collect();
    assert_eq!(stored, [1, 2, 3, 4, 5], "refused appends wrote something");
    common::drop_database(&a).await;
}

/// A document that does not decode is a typed error naming its stream and version, from the
/// stream and from the log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_document_that_does_not_decode_names_its_stream_and_version() {
    let Some(store) = common::fresh_store("a_document_that_does_not_decode").await else {
        return;
    };
    let s = stream("corrupt");
    store
        .append(&s, ExpectedVersion::NoStream, vec![event(1)])
        .await
        .expect("append");
    let id = uuid::Uuid::new_v4().to_string();
    raw_events(&store)
        .insert_one(doc! {
            "_id": 2_i64, "last_position": 2_i64, "stream_id": s.as_str(),
            "first_version": 2_i64, "last_version": 2_i64, "recorded_at": bson::DateTime::now(),
            "aggregate_types": ["test"], "event_types": ["numbered"], "event_ids": [id.clone()],
            "events": [{
                "event_id": id, "event_type": "numbered", "aggregate_type": "test",
                "schema_version": 1_i64, "version": 2_i64, "position": 2_i64, "metadata": {},
                "payload": { "n": bson::DateTime::now() },
            }],
        })
        .await
        .expect("a hand-written document is inserted");
    for result in [
        store.read_stream(&s, Version::new(1), 10).await.map(|_| ()),
        store
            .read_all(Position::START, &EventFilter::all(), 10)
            .await
            .map(|_| ()),
    ] {
        match result {
            Err(StoreError::Corrupt { location, source }) => {
                assert!(
                    location.contains(s.as_str()) && location.contains("version 2"),
                    "{location}"
                );
                assert!(
                    source.to_string().contains("/n"),
                    "the path is named: {source}"
                );
            }
            other => panic!("expected a Corrupt error, got {other:?}"),
        }
    }
    let first = store
        .read_stream(&s, Version::new(1), 1)
        .await
        .expect("version 1 still reads");
    assert_eq!(first.len(), 1);
    common::drop_database(&store).await;
}

/// A server that does not answer is a typed error at start-up, within the server selection
/// timeout. Needs no server.
#[tokio::test]
async fn an_unreachable_server_is_a_typed_error_at_connect() {
    let started = Instant::now();
    let settings = MongoSettings::new("mongodb://127.0.0.1:9/?directConnection=true")
        .with_server_selection_timeout(Duration::from_millis(300));
    match MongoStore::connect(settings).await {
        Err(error @ MongoStoreError::Unreachable { .. }) => {
            assert!(matches!(
                StoreError::from(error),
                StoreError::Unavailable { .. }
            ));
        }
        other => panic!("expected Unreachable, got {other:?}"),
    }
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
}

/// Settings MongoDB would refuse are refused before any I/O. Needs no server.
#[tokio::test]
async fn bad_settings_are_refused_before_connecting() {
    for settings in [
        MongoSettings::new("mongodb://127.0.0.1:9").with_database("game.events"),
        MongoSettings::new("mongodb://127.0.0.1:9").with_events_collection(""),
        MongoSettings::new("http://127.0.0.1:9"),
    ] {
        match MongoStore::connect(settings).await {
            Err(MongoStoreError::InvalidSettings { .. }) => {}
            other => panic!("expected InvalidSettings, got {other:?}"),
        }
    }
}

/// A unique index that exists without its uniqueness is refused at start-up: the store's
/// guarantees rest on it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_non_unique_index_where_a_unique_one_belongs_is_refused() {
    let Some(settings) = common::fresh_settings("a_non_unique_index") else {
        return;
    };
    let client = mongodb::Client::with_uri_str(settings.uri())
        .await
        .expect("a client");
    let database = client.database(settings.database().expect("a database"));
    database
        .collection::<Document>(settings.events_collection())
        .create_index(
            IndexModel::builder()
                .keys(doc! { "stream_id": 1, "first_version": 1 })
                .build(),
        )
        .await
        .expect("an index is created");
    match MongoStore::connect(settings).await {
        Err(MongoStoreError::Index { keys, .. }) => {
            assert_eq!(keys, "{stream_id: 1, first_version: 1}");
        }
        other => panic!("expected an Index error, got {other:?}"),
    }
    database.drop().await.expect("the test database drops");
}

/// Payloads and envelopes are real BSON: an operator finds events by payload field, dates
/// are dates, ids are strings.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn documents_are_queryable_in_the_shell() {
    let Some(store) = common::fresh_store("documents_are_queryable").await else {
        return;
    };
    let s = stream("shell");
    let correlation = uuid::Uuid::new_v4();
    let sent = NewEvent::new(
        TypeName::from_static("player"),
        TypeName::from_static("xp_gained"),
        1,
        Payload::from_json_slice(br#"{"amount":100,"source":{"kind":"quest"}}"#).expect("JSON"),
    )
    .with_metadata(eventful_core::Metadata::default().with_correlation_id(correlation));
    store
        .append(&s, ExpectedVersion::NoStream, vec![sent.clone()])
        .await
        .expect("append");
    let found = raw_events(&store)
        .find_one(doc! { "events.payload.source.kind": "quest" })
        .await
        .expect("the query runs")
        .expect("the payload is queryable by field");
    assert_eq!(found.get_str("stream_id").ok(), Some(s.as_str()));
    assert!(
        found.get_datetime("recorded_at").is_ok(),
        "recorded_at is a BSON date"
    );
    let first = found.get_array("events").expect("events")[0]
        .as_document()
        .expect("an event")
        .clone();
    assert_eq!(
        first.get_str("event_id").ok(),
        Some(sent.event_id.to_string().as_str())
    );
    let correlation_text = correlation.to_string();
    assert_eq!(
        first
            .get_document("metadata")
            .and_then(|m| m.get_str("correlation_id"))
            .ok(),
        Some(correlation_text.as_str())
    );
    common::drop_database(&store).await;
}

/// An integer no BSON type holds is refused at append with the stream, event and path, and
/// nothing is written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unrepresentable_payload_is_refused_and_writes_nothing() {
    let Some(store) = common::fresh_store("an_unrepresentable_payload").await else {
        return;
    };
    let s = stream("huge");
    let huge = NewEvent::new(
        TypeName::from_static("test"),
        TypeName::from_static("huge"),
        1,
        Payload::from_json_slice(br#"{"n":18446744073709551615}"#).expect("valid JSON"),
    );
    match store
        .append(&s, ExpectedVersion::NoStream, vec![event(1), huge])
        .await
    {
        Err(error @ StoreError::Unstorable { .. }) => {
            let message = error.to_string();
            assert!(
                message.contains(s.as_str()) && message.contains("huge"),
                "{message}"
            );
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert_eq!(
        store.stream_version(&s).await.expect("reads"),
        Version::NONE
    );
    assert_eq!(store.head_position().await.expect("reads"), Position::START);
    common::drop_database(&store).await;
}

/// A snapshot is replaced by one of the same or a higher version, never by an older one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_older_snapshot_never_replaces_a_newer_one() {
    let Some(store) = common::fresh_store("an_older_snapshot").await else {
        return;
    };
    let s = stream("snap");
    let snapshot = |version: u64, revision: u32| Snapshot {
        stream_id: s.clone(),
        aggregate_type: TypeName::from_static("player"),
        version: Version::new(version),
        revision,
        taken_at: chrono::Utc::now(),
        payload: Payload::from_json_slice(format!(r#"{{"v":{version}}}"#).as_bytes())
            .expect("JSON"),
    };
    let kept = || async {
        store
            .load_snapshot(&s)
            .await
            .expect("loads")
            .map(|k| (k.version.get(), k.revision))
    };
    assert_eq!(kept().await, None);
    store.save_snapshot(snapshot(10, 1)).await.expect("saves");
    store
        .save_snapshot(snapshot(5, 1))
        .await
        .expect("an older save is not an error");
    assert_eq!(kept().await, Some((10, 1)));
    store.save_snapshot(snapshot(10, 2)).await.expect("saves");
    assert_eq!(kept().await, Some((10, 2)));
    store.save_snapshot(snapshot(20, 2)).await.expect("saves");
    assert_eq!(kept().await, Some((20, 2)));
    let loaded = store.load_snapshot(&s).await.expect("loads").expect("kept");
    assert_eq!(loaded.payload.as_bytes(), br#"{"v":20}"#);
    common::drop_database(&store).await;
}
