//! What the shared suite cannot see: several stores (processes) on one database, the stream
//! head cache and its pre-check, documents that do not decode, start-up errors, and the
//! documents as an operator sees them in the shell.

mod common;

use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};

use eventful_core::{
    Duplicate, EventFilter, EventStore, EventStoreExt, ExpectedVersion, NewEvent, Payload,
    Position, RecordLocation, Snapshot, SnapshotStore, StoreError, StreamId, TypeName, Version,
};
use eventful_store_mongo::{
    BsonProblem, DecodeProblem, IndexProblem, MongoSettings, MongoStore, MongoStoreError,
    SettingsProblem,
};
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
/// holds every event once, in increasing positions, the subscriber sees every event once in
/// that order, and every stream's versions have no gap and come in order in the log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_stores_on_one_database_keep_one_order() {
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
                    let batch = (0..count).map(|_| next(&mut written)).collect::<Vec<_>>();
                    store
                        .append(&shared[(i % 2) as usize], ExpectedVersion::Any, &batch)
                        .await
                        .unwrap_or_else(|error| panic!("an Any append failed: {error}"));
                    store
                        .append(
                            &own,
                            ExpectedVersion::Exact(Version::new(i)),
                            &[next(&mut written)],
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
                                &[next(&mut written)],
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
        positions.len() as u64,
        total,
        "an event is missing or repeated"
    );
    assert!(
        positions.windows(2).all(|pair| pair[0] < pair[1]),
        "the log is out of order"
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
    a.append(&s, ExpectedVersion::NoStream, &[event(1)])
        .await
        .expect("first append");
    b.append(&s, ExpectedVersion::Exact(Version::new(1)), &[event(2)])
        .await
        .expect("b has not seen the stream, reads its head, and appends");
    conflict(
        a.append(&s, ExpectedVersion::Exact(Version::new(1)), &[event(0)])
            .await,
        2,
    );
    a.append(&s, ExpectedVersion::Exact(Version::new(2)), &[event(3)])
        .await
        .expect("a learnt the head from its conflict");
    uncached
        .append(
            &s,
            ExpectedVersion::Exact(Version::new(3)),
            &[event(4), event(5)],
        )
        .await
        .expect("without a cache every Exact append reads the head first");
    conflict(
        uncached
            .append(&s, ExpectedVersion::Exact(Version::new(4)), &[event(0)])
            .await,
        5,
    );
    conflict(
        a.append(&s, ExpectedVersion::Exact(Version::new(7)), &[event(0)])
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
        .append(&s, ExpectedVersion::NoStream, &[event(1)])
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
    // The log delivers the events before the document, and the read that starts at it fails.
    let before = store
        .read_all(Position::START, &EventFilter::all(), 10)
        .await
        .expect("the event before the document reads");
    assert_eq!(
        (before.events.len(), before.next, before.end_of_log),
        (1, Position::new(2), false)
    );
    for result in [
        store.read_stream(&s, Version::new(1), 10).await.map(|_| ()),
        store
            .read_all(before.next, &EventFilter::all(), 10)
            .await
            .map(|_| ()),
    ] {
        match result {
            Err(StoreError::Corrupt { location, source }) => {
                assert_eq!(
                    location,
                    RecordLocation::Event {
                        stream_id: s.clone(),
                        version: Version::new(2)
                    }
                );
                assert!(
                    source.to_string().contains("/n"),
                    "the path is named: {source}"
                );
                match source.downcast_ref::<MongoStoreError>() {
                    Some(MongoStoreError::Undecodable {
                        problem: DecodeProblem::NoJsonForm { path, .. },
                        ..
                    }) => assert_eq!(path, "/n"),
                    other => panic!("expected a payload value with no JSON form, got {other:?}"),
                }
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
    let refused = |settings| async {
        match MongoStore::connect(settings).await {
            Err(MongoStoreError::InvalidSettings { setting, problem }) => (setting, problem),
            other => panic!("expected InvalidSettings, got {other:?}"),
        }
    };
    assert_eq!(
        refused(MongoSettings::new("mongodb://127.0.0.1:9").with_database("game.events")).await,
        (
            "database",
            SettingsProblem::ForbiddenCharacter {
                name: "game.events".to_owned(),
                character: '.'
            }
        )
    );
    assert_eq!(
        refused(MongoSettings::new("mongodb://127.0.0.1:9").with_events_collection("")).await,
        ("events collection", SettingsProblem::EmptyName)
    );
    assert!(matches!(
        refused(MongoSettings::new("http://127.0.0.1:9")).await,
        ("uri", SettingsProblem::Uri { .. })
    ));
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
        Err(error @ MongoStoreError::Index { .. }) => {
            assert!(
                error
                    .to_string()
                    .starts_with("index {stream_id: 1, first_version: 1} of collection"),
                "{error}"
            );
            assert!(matches!(
                error,
                MongoStoreError::Index {
                    keys: ["stream_id", "first_version"],
                    problem: IndexProblem::NotUnique,
                    ..
                }
            ));
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
        .append(&s, ExpectedVersion::NoStream, std::slice::from_ref(&sent))
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
        .append(&s, ExpectedVersion::NoStream, &[event(1), huge])
        .await
    {
        Err(error @ StoreError::Unstorable { .. }) => {
            let message = error.to_string();
            assert!(
                message.contains(s.as_str()) && message.contains("huge"),
                "{message}"
            );
            let StoreError::Unstorable { source, .. } = error else {
                unreachable!()
            };
            match source.downcast_ref::<MongoStoreError>() {
                Some(MongoStoreError::Unrepresentable {
                    problem: BsonProblem::IntegerAboveI64 { path, value },
                    ..
                }) => assert_eq!((path.as_str(), *value), ("/n", u64::MAX)),
                other => panic!("expected an integer above i64::MAX, got {other:?}"),
            }
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
    // A snapshot may not be ahead of its stream.
    store
        .append(
            &s,
            ExpectedVersion::NoStream,
            &(1..=20).map(event).collect::<Vec<_>>(),
        )
        .await
        .expect("append");
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

/// The indexes of the events collection as (name, keys, unique).
async fn event_indexes(store: &MongoStore) -> Vec<(String, Document, bool)> {
    use futures::TryStreamExt;
    raw_events(store)
        .list_indexes()
        .await
        .expect("indexes list")
        .try_collect::<Vec<IndexModel>>()
        .await
        .expect("indexes list")
        .into_iter()
        .map(|model| {
            let options = model.options.unwrap_or_default();
            (
                options.name.unwrap_or_default(),
                model.keys,
                options.unique == Some(true),
            )
        })
        .collect()
}

/// A database of an earlier version, with event ids unique per stream only, gets the
/// store-wide index at start-up and loses the old one; its events stay findable and its ids
/// are then refused in other streams.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_per_stream_event_ids_index_of_earlier_versions_is_replaced() {
    let Some(settings) = common::fresh_settings("the_per_stream_event_ids_index") else {
        return;
    };
    let store = common::connect(settings.clone()).await;
    let home = stream("home");
    let sent = event(1);
    store
        .append(
            &home,
            ExpectedVersion::NoStream,
            std::slice::from_ref(&sent),
        )
        .await
        .expect("append");
    // Turn the database into what an earlier version left.
    for (name, keys, _) in event_indexes(&store).await {
        if keys == doc! { "event_ids": 1 } {
            raw_events(&store)
                .drop_index(name)
                .await
                .expect("the index drops");
        }
    }
    raw_events(&store)
        .create_index(
            IndexModel::builder()
                .keys(doc! { "stream_id": 1, "event_ids": 1 })
                .options(
                    mongodb::options::IndexOptions::builder()
                        .unique(true)
                        .name("eventful_stream_event_ids".to_owned())
                        .build(),
                )
                .build(),
        )
        .await
        .expect("the old index is created");
    drop(store);

    let store = common::connect(settings).await;
    let indexes = event_indexes(&store).await;
    assert!(
        indexes
            .iter()
            .any(|(_, keys, unique)| *keys == doc! { "event_ids": 1 } && *unique),
        "no unique store-wide event ids index: {indexes:?}"
    );
    assert!(
        !indexes
            .iter()
            .any(|(_, keys, _)| *keys == doc! { "stream_id": 1, "event_ids": 1 }),
        "the old index is still there: {indexes:?}"
    );
    let found = store
        .find_event(&home, sent.event_id)
        .await
        .expect("finds")
        .expect("the event is found");
    assert_eq!(found.version, Version::new(1));
    match store
        .append(
            &stream("away"),
            ExpectedVersion::Any,
            std::slice::from_ref(&sent),
        )
        .await
    {
        Err(StoreError::DuplicateEvent {
            duplicate: Duplicate::Stored { stream_id, version },
            ..
        }) => assert_eq!((stream_id, version), (home, Version::new(1))),
        other => panic!("expected a DuplicateEvent, got {other:?}"),
    }
    common::drop_database(&store).await;
}

/// The same ids at the same versions are a retry even when they were stored by several
/// appends, and a retry from inside an append reports its own versions and positions.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_may_span_several_appends() {
    let Some(store) = common::fresh_store("a_retry_may_span_several_appends").await else {
        return;
    };
    let s = stream("span");
    let (a, b, c) = (event(1), event(2), event(3));
    let first = store
        .append(&s, ExpectedVersion::NoStream, &[a.clone(), b.clone()])
        .await
        .expect("append");
    store
        .append(
            &s,
            ExpectedVersion::Exact(Version::new(2)),
            std::slice::from_ref(&c),
        )
        .await
        .expect("append");
    let across = store
        .append(
            &s,
            ExpectedVersion::Exact(Version::new(1)),
            &[b.clone(), c.clone()],
        )
        .await
        .expect("a retry across two appends");
    assert!(across.already_stored);
    assert_eq!(across.last_version, Version::new(3));
    assert_eq!(across.first_position.get(), first.first_position.get() + 1);
    let whole = store
        .append(&s, ExpectedVersion::Any, &[a.clone(), b, c])
        .await
        .expect("a retry of everything");
    assert!(whole.already_stored);
    assert_eq!(whole.first_position, first.first_position);
    assert_eq!(
        store.stream_version(&s).await.expect("reads"),
        Version::new(3)
    );
    common::drop_database(&store).await;
}

/// A store that has never seen a stream refuses an id stored there by another store, in a
/// new stream and in an existing one, whatever its head cache believes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_id_stored_by_another_store_is_refused() {
    let Some(settings) = common::fresh_settings("an_id_stored_by_another_store") else {
        return;
    };
    let a = common::connect(settings.clone()).await;
    let b = common::connect(settings).await;
    let home = stream("home");
    let away = stream("away");
    let sent = event(1);
    b.append(&away, ExpectedVersion::NoStream, &[event(2)])
        .await
        .expect("append");
    let stored = a
        .append(
            &home,
            ExpectedVersion::NoStream,
            std::slice::from_ref(&sent),
        )
        .await
        .expect("append");

    let refused_at = |result: Result<_, StoreError>| match result {
        Err(StoreError::DuplicateEvent {
            event_id,
            duplicate: Duplicate::Stored { stream_id, version },
            ..
        }) => {
            assert_eq!(event_id, sent.event_id);
            (stream_id, version.get())
        }
        other => panic!("expected a DuplicateEvent, got {other:?}"),
    };
    for expected in [
        ExpectedVersion::NoStream,
        ExpectedVersion::Exact(Version::new(1)),
        ExpectedVersion::Any,
    ] {
        assert_eq!(
            refused_at(b.append(&away, expected, std::slice::from_ref(&sent)).await),
            (home.clone(), 1),
            "{expected}"
        );
    }
    assert_eq!(
        refused_at(
            b.append(
                &stream("new"),
                ExpectedVersion::NoStream,
                &[event(3), sent.clone()]
            )
            .await
        ),
        (home.clone(), 1)
    );
    assert_eq!(
        b.stream_version(&away).await.expect("reads"),
        Version::new(1)
    );
    assert_eq!(
        b.head_position().await.expect("reads"),
        stored.first_position,
        "the refused appends stored nothing"
    );
    common::drop_database(&a).await;
}

/// The probe at connect leaves no scratch collection behind, and agrees with the server:
/// the store says the server enforces unique multikey indexes exactly when a second document
/// sharing one array element with a first is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_probe_agrees_with_the_server_and_leaves_nothing_behind() {
    let Some(store) = common::fresh_store("the_probe_agrees_with_the_server").await else {
        return;
    };
    let names = store
        .database()
        .list_collection_names()
        .await
        .expect("collections list");
    assert!(
        !names.iter().any(|name| name.starts_with("eventful_probe")),
        "a scratch collection was left: {names:?}"
    );
    let s1 = stream("probe");
    let s2 = stream("probe");
    let (x, y, z) = (event(1), event(2), event(3));
    store
        .append(&s1, ExpectedVersion::NoStream, &[x.clone(), y.clone()])
        .await
        .expect("append");
    // Straight to the collection, past the store: does the index refuse a shared id?
    let raw = raw_events(&store)
        .insert_one(doc! {
            "_id": 100_i64, "last_position": 101_i64, "stream_id": s2.as_str(),
            "first_version": 1_i64, "last_version": 2_i64, "recorded_at": bson::DateTime::now(),
            "aggregate_types": ["test"], "event_types": ["numbered"],
            "event_ids": [y.event_id.to_string(), z.event_id.to_string()], "events": [],
        })
        .await;
    let refused = match raw {
        Ok(_) => false,
        Err(error) => match error.kind.as_ref() {
            mongodb::error::ErrorKind::Write(mongodb::error::WriteFailure::WriteError(write)) => {
                assert_eq!(write.code, 11000, "{error}");
                true
            }
            _ => panic!("the insert failed otherwise: {error}"),
        },
    };
    assert_eq!(
        store.server_enforces_unique_event_ids(),
        refused,
        "the probe and the events collection's index disagree"
    );
    common::drop_database(&store).await;
}

/// Two stores (as two processes would be) appending one new id at once, each to a stream of
/// its own and beside an id of its own (so that no server refuses the second document as an
/// identical array): in every round exactly one stores it, and the other is refused with
/// where it is. On MongoDB the index decides; on a server that does not enforce it, the
/// position each append claims does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_stores_racing_with_the_same_ids_store_them_once() {
    const ROUNDS: usize = 20;
    let Some(settings) = common::fresh_settings("two_stores_racing_with_the_same_ids") else {
        return;
    };
    let stores = [
        common::connect(settings.clone()).await,
        common::connect(settings).await,
    ];
    for round in 0..ROUNDS {
        let shared = event(2);
        let batches = [
            vec![event(1), shared.clone()],
            vec![event(3), shared.clone()],
        ];
        let streams = [stream("left"), stream("right")];
        let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(2));
        let runs: Vec<_> = stores
            .iter()
            .zip(&streams)
            .zip(&batches)
            .map(|((store, stream_id), events)| {
                let (store, stream_id) = (store.clone(), stream_id.clone());
                let (events, barrier) = (events.clone(), barrier.clone());
                tokio::spawn(async move {
                    barrier.wait().await;
                    store
                        .append(&stream_id, ExpectedVersion::Any, &events)
                        .await
                })
            })
            .collect();
        let mut results = Vec::new();
        for run in runs {
            results.push(run.await.expect("a run panicked"));
        }
        let winners: Vec<usize> = (0..2).filter(|i| results[*i].is_ok()).collect();
        assert_eq!(winners.len(), 1, "round {round}: {results:?}");
        let winner = winners[0];
        match &results[1 - winner] {
            Err(StoreError::DuplicateEvent {
                event_id,
                duplicate: Duplicate::Stored { stream_id, version },
                ..
            }) => {
                assert_eq!(*event_id, shared.event_id, "round {round}");
                assert_eq!(stream_id, &streams[winner], "round {round}");
                assert_eq!(*version, Version::new(2), "round {round}");
            }
            other => panic!("round {round}: expected a DuplicateEvent, got {other:?}"),
        }
        assert_eq!(
            stores[0]
                .stream_version(&streams[1 - winner])
                .await
                .expect("reads"),
            Version::NONE,
            "round {round}: the refused append wrote"
        );
    }
    common::drop_database(&stores[0]).await;
}

/// What a careless operator, a crash or a bad migration does to an append's document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Damage {
    NoLastPosition,
    NullLastPosition,
    NegativeLastPosition,
    TextLastPosition,
    NoLastVersion,
    NoFirstVersion,
    EventsNotAnArray,
    NoEvents,
}

impl Damage {
    const ALL: [Damage; 8] = [
        Damage::NoLastPosition,
        Damage::NullLastPosition,
        Damage::NegativeLastPosition,
        Damage::TextLastPosition,
        Damage::NoLastVersion,
        Damage::NoFirstVersion,
        Damage::EventsNotAnArray,
        Damage::NoEvents,
    ];

    fn apply(self, document: &mut Document) {
        match self {
            Damage::NoLastPosition => drop(document.remove("last_position")),
            Damage::NullLastPosition => drop(document.insert("last_position", bson::Bson::Null)),
            Damage::NegativeLastPosition => drop(document.insert("last_position", -1_i64)),
            Damage::TextLastPosition => drop(document.insert("last_position", "5")),
            Damage::NoLastVersion => drop(document.remove("last_version")),
            Damage::NoFirstVersion => drop(document.remove("first_version")),
            Damage::EventsNotAnArray => drop(document.insert("events", "garbage")),
            Damage::NoEvents => drop(document.insert("events", bson::Bson::Array(Vec::new()))),
        }
    }

    /// Whether `problem` says what this damage did.
    fn reported_by(self, problem: &DecodeProblem) -> bool {
        use bson::spec::ElementType;
        match (self, problem) {
            (Damage::NoLastPosition, DecodeProblem::MissingField { field }) => {
                field == "last_position"
            }
            (Damage::NullLastPosition, DecodeProblem::WrongType { field, found, .. }) => {
                field == "last_position" && *found == ElementType::Null
            }
            (Damage::NegativeLastPosition, DecodeProblem::OutOfRange { field, value, .. }) => {
                field == "last_position" && *value == -1
            }
            (Damage::TextLastPosition, DecodeProblem::WrongType { field, found, .. }) => {
                field == "last_position" && *found == ElementType::String
            }
            (Damage::NoLastVersion, DecodeProblem::MissingField { field }) => {
                field == "last_version"
            }
            (Damage::NoFirstVersion, DecodeProblem::MissingField { field }) => {
                field == "first_version"
            }
            (Damage::EventsNotAnArray, DecodeProblem::WrongType { field, found, .. }) => {
                field == "events" && *found == ElementType::String
            }
            (Damage::NoEvents, DecodeProblem::EventCount { found, expected }) => {
                (*found, *expected) == (0, 1)
            }
            _ => false,
        }
    }
}

/// Rewrites the append document at `position` with `damage` done to it, past the store.
async fn damage(store: &MongoStore, position: u64, damage: Damage) {
    let id = i64::try_from(position).expect("a position");
    let mut document = raw_events(store)
        .find_one(doc! { "_id": id })
        .await
        .expect("the document reads")
        .unwrap_or_else(|| panic!("no document at position {position}"));
    damage.apply(&mut document);
    document.insert("_id", id);
    raw_events(store)
        .delete_one(doc! { "_id": id })
        .await
        .expect("the document is deleted");
    raw_events(store)
        .insert_one(document)
        .await
        .unwrap_or_else(|error| panic!("the damaged document ({damage:?}) is inserted: {error}"));
}

/// Asserts that `error` is the store's typed error for the document at `position`, and
/// returns its problem.
fn corrupt_at(error: &StoreError, location: &RecordLocation) -> DecodeProblem {
    match error {
        StoreError::Corrupt {
            location: found,
            source,
        } => {
            assert_eq!(found, location, "{error}");
            match source.downcast_ref::<MongoStoreError>() {
                Some(MongoStoreError::Undecodable { problem, .. }) => problem.clone(),
                other => panic!("expected Undecodable, got {other:?}"),
            }
        }
        other => panic!("expected Corrupt at {location}, got {other:?}"),
    }
}

/// Reads the log with `read_all` from the start until a read fails: the positions read
/// before, and the error. The log ending first fails the test.
async fn read_log_until_error(store: &MongoStore, filter: &EventFilter) -> (Vec<u64>, StoreError) {
    let mut positions = Vec::new();
    let mut next = Position::START;
    for _ in 0..100 {
        match store.read_all(next, filter, 100).await {
            Ok(batch) => {
                positions.extend(batch.events.iter().map(|event| event.position.get()));
                assert!(
                    !batch.end_of_log,
                    "the log ended at {} without an error, after {positions:?}",
                    batch.next
                );
                assert!(batch.next >= next, "the read went back");
                next = batch.next;
            }
            Err(error) => return (positions, error),
        }
    }
    panic!("no error after 100 reads: {positions:?}");
}

/// Drains `events` until its error, failing the test if it ends or waits too long first:
/// the positions before the error, and the error.
async fn until_error(mut events: eventful_core::EventStream) -> (Vec<u64>, StoreError) {
    let mut positions = Vec::new();
    let drained = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(event) = events.next().await {
            match event {
                Ok(event) => positions.push(event.position.get()),
                Err(error) => return Some(error),
            }
        }
        None
    })
    .await;
    match drained {
        Ok(Some(error)) => (positions, error),
        Ok(None) => panic!("the stream ended without an error, after {positions:?}"),
        Err(_) => panic!("no error within 30 s (it waits for ever), after {positions:?}"),
    }
}

/// Appends to `damaged` and `other` in turn, one event each, five times: `damaged` holds
/// versions 1..=5, `other` too; the positions of the ten appends, in order (increasing, but
/// not always consecutive: a store closes the positions it leaves unused for a while).
async fn five_and_five(store: &MongoStore) -> (StreamId, StreamId, Vec<uuid::Uuid>, Vec<u64>) {
    let (damaged, other) = (stream("damaged"), stream("other"));
    let mut ids = Vec::new();
    let mut positions = Vec::new();
    for i in 0..5 {
        let sent = event(i + 1);
        ids.push(sent.event_id);
        let appended = store
            .append(&damaged, ExpectedVersion::Exact(Version::new(i)), &[sent])
            .await
            .expect("append");
        positions.push(appended.first_position.get());
        let appended = store
            .append(
                &other,
                ExpectedVersion::Exact(Version::new(i)),
                &[event(100 + i)],
            )
            .await
            .expect("append");
        positions.push(appended.first_position.get());
        if i == 1 {
            // Long enough for the store to close the positions it holds unused: the reads
            // below then pass gap documents too.
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    (damaged, other, ids, positions)
}

/// A document damaged between good ones is never skipped: every read that reaches it fails
/// with a typed error naming its `_id` (position 5) and what is wrong — the log, whether read
/// in batches, streamed, subscribed to, filtered by type or by time; the stream; the event by
/// id — and the log's readers get every event before it first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_document_between_good_ones_is_an_error_on_every_read() {
    let numbered = || EventFilter::all().with_event_types([TypeName::from_static("numbered")]);
    for kind in Damage::ALL {
        let Some(store) = common::fresh_store("a_damaged_document_between_good_ones").await else {
            return;
        };
        let started = chrono::Utc::now() - chrono::Duration::seconds(5);
        let (s, _, ids, positions) = five_and_five(&store).await;
        damage(&store, positions[4], kind).await;
        let at = RecordLocation::Position(Position::new(positions[4]));
        let check = |what: &str, error: &StoreError| {
            let problem = corrupt_at(error, &at);
            assert!(
                kind.reported_by(&problem),
                "{kind:?}, {what}: the problem is {problem:?}"
            );
            assert!(
                error
                    .to_string()
                    .contains(&format!("position {}", positions[4])),
                "{error}"
            );
        };
        let before = &positions[..4];

        let (read, error) = read_log_until_error(&store, &EventFilter::all()).await;
        assert_eq!(read, before, "{kind:?}: read_all");
        check("read_all", &error);
        let (read, error) =
            until_error(store.read_all_events(Position::START, EventFilter::all())).await;
        assert_eq!(read, before, "{kind:?}: read_all_events");
        check("read_all_events", &error);
        let (read, error) = until_error(store.subscribe(Position::START, EventFilter::all())).await;
        assert_eq!(read, before, "{kind:?}: subscribe");
        check("subscribe", &error);
        let (read, error) =
            until_error(store.subscribe(Position::new(positions[2]), EventFilter::all())).await;
        assert_eq!(read, &positions[2..4], "{kind:?}: subscribe from the third");
        check("subscribe from 3", &error);

        // A filtered read delivers what is before the document too: it accounts for every
        // position, as the log's read does.
        let filtered_before: &[u64] = before;
        for (what, filter) in [
            ("by type", numbered()),
            (
                "by time",
                EventFilter::all().recorded_between(started, chrono::Utc::now()),
            ),
        ] {
            let (read, error) = read_log_until_error(&store, &filter).await;
            assert_eq!(read, filtered_before, "{kind:?}, {what}");
            check(what, &error);
            let (read, error) = until_error(store.subscribe(Position::START, filter)).await;
            assert_eq!(read, filtered_before, "{kind:?}, {what}: subscribe");
            check(what, &error);
        }

        let error = store
            .read_stream(&s, Version::new(1), 100)
            .await
            .expect_err("read_stream fails");
        check("read_stream", &error);
        let (read, error) = until_error(store.read_stream_events(s.clone(), Version::new(1))).await;
        assert!(
            read.is_empty(),
            "{kind:?}: read_stream_events read {read:?}"
        );
        check("read_stream_events", &error);
        let error = store
            .find_event(&s, ids[2])
            .await
            .expect_err("find_event fails");
        check("find_event", &error);
        let fine = store
            .find_event(&s, ids[3])
            .await
            .expect("another event is found")
            .expect("it is there");
        assert_eq!(fine.version, Version::new(4));
        common::drop_database(&store).await;
    }
}

/// The last append damaged is not taken for the end of the log: reads that reach it fail
/// with its error, and a subscriber does not wait for ever.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_last_document_is_not_the_end_of_the_log() {
    for kind in [
        Damage::NoLastPosition,
        Damage::NegativeLastPosition,
        Damage::NoLastVersion,
        Damage::NoEvents,
    ] {
        let Some(store) = common::fresh_store("a_damaged_last_document").await else {
            return;
        };
        let (_, other, _, positions) = five_and_five(&store).await;
        damage(&store, positions[9], kind).await;
        let at = RecordLocation::Position(Position::new(positions[9]));
        let before: Vec<u64> = positions[..9].to_vec();
        let check = |what: &str, read: &[u64], error: &StoreError| {
            assert_eq!(read, before, "{kind:?}, {what}");
            let problem = corrupt_at(error, &at);
            assert!(kind.reported_by(&problem), "{kind:?}, {what}: {problem:?}");
        };
        let (read, error) = read_log_until_error(&store, &EventFilter::all()).await;
        check("read_all", &read, &error);
        let (read, error) =
            until_error(store.read_all_events(Position::START, EventFilter::all())).await;
        check("read_all_events", &read, &error);
        let (read, error) = until_error(store.subscribe(Position::START, EventFilter::all())).await;
        check("subscribe", &read, &error);
        let filter = EventFilter::all().with_event_types([TypeName::from_static("numbered")]);
        let (read, error) = until_error(store.subscribe(Position::START, filter)).await;
        check("a filtered subscription", &read, &error);
        // A store that has not read the log yet (another process).
        let fresh = common::connect(store.settings().clone()).await;
        let (read, error) = until_error(fresh.subscribe(Position::START, EventFilter::all())).await;
        check("another store's subscription", &read, &error);
        if kind == Damage::NoLastVersion {
            // Nothing after the stream's last append betrays it to a stream read; an append
            // made from what that read gave collides with it, and reports it.
            let error = fresh
                .append(&other, ExpectedVersion::Exact(Version::new(4)), &[event(0)])
                .await
                .expect_err("the append collides with the damaged document");
            let problem = corrupt_at(&error, &at);
            assert!(kind.reported_by(&problem), "{kind:?}: {problem:?}");
        } else {
            let error = store
                .read_stream(&other, Version::new(1), 100)
                .await
                .expect_err("read_stream fails");
            let problem = corrupt_at(&error, &at);
            assert!(kind.reported_by(&problem), "{kind:?}: {problem:?}");
        }
        common::drop_database(&store).await;
    }
}

/// A subscriber waiting at the end of the log wakes with the error of a damaged document
/// that appears there, and so does one that filters by type.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_document_appearing_at_the_end_wakes_a_subscriber() {
    let Some(store) = common::fresh_store("a_damaged_document_appearing").await else {
        return;
    };
    let s = stream("late");
    store
        .append(&s, ExpectedVersion::NoStream, &[event(1), event(2)])
        .await
        .expect("append");
    let filter = EventFilter::all().with_event_types([TypeName::from_static("numbered")]);
    let mut subscriptions = [
        store.subscribe(Position::START, EventFilter::all()),
        store.subscribe(Position::START, filter),
    ];
    for subscription in &mut subscriptions {
        for expected in [1, 2] {
            let event = tokio::time::timeout(Duration::from_secs(30), subscription.next())
                .await
                .expect("the events are delivered")
                .expect("the subscription goes on")
                .expect("the events read");
            assert_eq!(event.position, Position::new(expected));
        }
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    // Above every position held: the store's unused ones are closed by now.
    let top = raw_events(&store)
        .find_one(doc! { "last_position": { "$gte": 1_i64 } })
        .sort(doc! { "last_position": -1 })
        .await
        .expect("reads")
        .and_then(|top| match top.get("last_position") {
            Some(bson::Bson::Int64(n)) => Some(*n),
            Some(bson::Bson::Int32(n)) => Some(i64::from(*n)),
            _ => None,
        })
        .expect("a top position");
    let at = top + 1;
    let id = uuid::Uuid::new_v4().to_string();
    raw_events(&store)
        .insert_one(doc! {
            "_id": at, "stream_id": s.as_str(),
            "first_version": 3_i64, "last_version": 3_i64, "recorded_at": bson::DateTime::now(),
            "aggregate_types": ["test"], "event_types": ["numbered"], "event_ids": [id.clone()],
            "events": [{
                "event_id": id, "event_type": "numbered", "aggregate_type": "test",
                "schema_version": 1_i64, "version": 3_i64, "position": at, "metadata": {},
                "payload": { "n": 3 },
            }],
        })
        .await
        .expect("a document without a last position is inserted");
    let at = Position::new(u64::try_from(at).expect("a position"));
    for subscription in subscriptions {
        let (read, error) = until_error(subscription).await;
        assert!(read.is_empty(), "{read:?}");
        let problem = corrupt_at(&error, &RecordLocation::Position(at));
        assert_eq!(
            problem,
            DecodeProblem::MissingField {
                field: "last_position".to_owned()
            }
        );
    }
    common::drop_database(&store).await;
}

/// A position no document holds, below ones that are held (an append that died, or a
/// document deleted by hand), is a gap: readers of the log stop before it for the gap
/// timeout (it may be an insert still in flight), then close it with a gap document and go
/// on, in order; an insert that comes later goes elsewhere. A stream's missing version is a
/// typed error at that version.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_document_is_a_gap_closed_after_the_gap_timeout() {
    let Some(settings) = common::fresh_settings("a_missing_document_is_a_gap") else {
        return;
    };
    let gap_timeout = Duration::from_millis(600);
    let store = common::connect(settings.with_gap_timeout(gap_timeout)).await;
    let (s, other, _, positions) = five_and_five(&store).await;
    let deleted = i64::try_from(positions[4]).expect("a position");
    raw_events(&store)
        .delete_one(doc! { "_id": deleted })
        .await
        .expect("the document is deleted");
    let first = store
        .read_all(Position::START, &EventFilter::all(), 100)
        .await
        .expect("the log reads");
    let read: Vec<u64> = first.events.iter().map(|e| e.position.get()).collect();
    assert_eq!(read, &positions[..4], "the read stops before the gap");
    assert!(first.next.get() > positions[3] && first.next.get() <= positions[4]);
    assert!(
        first.end_of_log,
        "the gap may still fill: nothing more to read now"
    );

    let started = std::time::Instant::now();
    let mut subscription = store.subscribe(Position::START, EventFilter::all());
    let mut seen = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), async {
        while seen.len() < 9 {
            let event = subscription
                .next()
                .await
                .expect("it goes on")
                .expect("it reads");
            seen.push(event.position.get());
        }
    })
    .await
    .unwrap_or_else(|_| panic!("the subscriber is stuck at the gap after {seen:?}"));
    let mut expected = positions.clone();
    expected.remove(4);
    assert_eq!(seen, expected);
    assert!(
        started.elapsed() >= gap_timeout / 2,
        "the gap was passed before it could be known dead"
    );
    let closed = raw_events(&store)
        .find_one(doc! { "_id": deleted })
        .await
        .expect("reads")
        .expect("a gap document holds position 5");
    assert_eq!(
        closed.get_str("stream_id").expect("a stream id"),
        "\u{1}gap"
    );

    // The log goes on above: a new append lands after everything read.
    let appended = store
        .append(
            &other,
            ExpectedVersion::Exact(Version::new(5)),
            &[event(200)],
        )
        .await
        .expect("append");
    assert!(appended.first_position.get() > positions[9]);

    let error = store
        .read_stream(&s, Version::new(1), 100)
        .await
        .expect_err("the stream has a hole");
    assert_eq!(
        corrupt_at(
            &error,
            &RecordLocation::Event {
                stream_id: s.clone(),
                version: Version::new(3)
            }
        ),
        DecodeProblem::MissingField {
            field: "first_version".to_owned()
        }
    );
    let after: Vec<u64> = store
        .read_stream(&s, Version::new(4), 100)
        .await
        .expect("the versions after the hole read")
        .iter()
        .map(|event| event.version.get())
        .collect();
    assert_eq!(after, [4, 5]);
    common::drop_database(&store).await;
}
