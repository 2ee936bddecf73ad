//! Tests against the server named by `EVENTFUL_MONGO_URI` (skipped when unset) of what the
//! store does when its reads see an older view than the server's indexes, and when a writer
//! dies holding positions: the cases of a failover and a crash, made with the stale view of
//! `stale_view` and with stores dropped mid-way.

use std::time::{Duration, Instant};

use eventful_core::{
    EventFilter, EventStore, EventStoreExt, ExpectedVersion, Position, StoreError, StreamId,
    TypeName, Version,
};
use futures::StreamExt;
use mongodb::bson::{RawDocumentBuf, doc};

use crate::ids::claim_document;
use crate::schema::tests::event;
use crate::schema::{field, int64};
use crate::{MongoSettings, MongoStore, MongoStoreError};

fn settings() -> Option<MongoSettings> {
    let Ok(uri) = std::env::var("EVENTFUL_MONGO_URI") else {
        eprintln!("skipped: EVENTFUL_MONGO_URI is not set");
        return None;
    };
    Some(
        MongoSettings::new(uri)
            .with_database(format!("eventful_test_{}", uuid::Uuid::new_v4().simple()))
            .with_server_selection_timeout(Duration::from_secs(10))
            .with_poll_interval(Duration::from_millis(20)),
    )
}

async fn open(settings: MongoSettings, ids_enforced: Option<bool>) -> MongoStore {
    MongoStore::open(settings, ids_enforced)
        .await
        .unwrap_or_else(|error| panic!("cannot connect to the test server: {error}"))
}

fn stream(name: &str) -> StreamId {
    StreamId::new(format!("{name}-{}", uuid::Uuid::new_v4().simple())).expect("valid")
}

fn positions(events: &[eventful_core::RecordedEvent]) -> Vec<u64> {
    events.iter().map(|event| event.position.get()).collect()
}

/// A filtered read whose second read (the matching appends, whole) serves an older view
/// than its first (the headers) ends its batch before what it did not get, instead of
/// resuming past it: the next read delivers it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_filtered_read_never_resumes_past_what_its_second_read_missed() {
    let Some(settings) = settings() else { return };
    let store = open(settings, None).await;
    let wanted = EventFilter::all().with_event_types([TypeName::from_static("wanted")]);
    let mut appended = Vec::new();
    for (name, event_type) in [("a", "wanted"), ("b", "other"), ("c", "wanted")] {
        let result = store
            .append(
                &stream(name),
                ExpectedVersion::NoStream,
                &[event(event_type, "{}")],
            )
            .await
            .expect("append");
        appended.push(result.first_position.get());
    }
    let (a, c) = (appended[0], appended[2]);
    store
        .inner
        .stale_view
        .hide("reading the matching appends", c, 1);
    let first = store
        .read_all(Position::START, &wanted, 100)
        .await
        .expect("reads");
    assert_eq!(positions(&first.events), [a]);
    assert!(first.next.get() <= c, "resumed at {} past {c}", first.next);
    assert!(!first.end_of_log);
    let second = store
        .read_all(first.next, &wanted, 100)
        .await
        .expect("reads");
    assert_eq!(
        positions(&second.events),
        [c],
        "the event the stale read missed"
    );
    store.database().drop().await.expect("drops");
}

/// A retried append whose insert is refused while the view does not show what refused it
/// (the first append, stored before a failover) waits for the view and reports
/// `already_stored`, not a conflict at its own version.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_under_a_lagging_view_is_already_stored() {
    let Some(settings) = settings() else { return };
    let store = open(settings, None).await;
    let s = stream("retried");
    let sent = event("x", "{}");
    let first = store
        .append(&s, ExpectedVersion::NoStream, std::slice::from_ref(&sent))
        .await
        .expect("append");
    for operation in [
        "looking up event ids",
        "reading an append",
        "looking up appends by position",
    ] {
        store.inner.stale_view.hide(operation, 0, 3);
    }
    let again = store
        .append(&s, ExpectedVersion::Exact(Version::NONE), &[sent])
        .await
        .expect("the retry succeeds once the view catches up");
    assert!(again.already_stored);
    assert_eq!(again.first_position, first.first_position);
    assert!(
        store.inner.stale_view.used_up(),
        "the view was never stale for the retry"
    );
    store.database().drop().await.expect("drops");
}

/// When the view does not catch up within the catch-up timeout, the append fails with a
/// typed error saying so, and writes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_view_that_does_not_catch_up_is_a_typed_error() {
    let Some(settings) = settings() else { return };
    let timeout = Duration::from_millis(300);
    let store = open(settings.with_catch_up_timeout(timeout), None).await;
    let s = stream("lagging");
    store
        .append(&s, ExpectedVersion::NoStream, &[event("x", "{}")])
        .await
        .expect("append");
    for operation in [
        "looking up event ids",
        "reading an append",
        "looking up appends by position",
    ] {
        store.inner.stale_view.hide(operation, 0, u32::MAX);
    }
    let started = Instant::now();
    let error = store
        .append(&s, ExpectedVersion::NoStream, &[event("y", "{}")])
        .await
        .expect_err("the view never shows the holder");
    assert!(started.elapsed() >= timeout);
    let StoreError::Unavailable { source } = &error else {
        panic!("expected Unavailable, got {error:?}");
    };
    assert!(
        matches!(
            source.downcast_ref::<MongoStoreError>(),
            Some(MongoStoreError::CatchingUp { version, .. }) if *version == Version::new(1)
        ),
        "{error}"
    );
    assert!(error.to_string().contains("catching up"), "{error}");
    store.inner.stale_view.clear();
    assert_eq!(
        store.stream_version(&s).await.expect("reads"),
        Version::new(1)
    );
    store.database().drop().await.expect("drops");
}

/// A writer that dies holding a position it took for an insert leaves a gap below what
/// others append: readers stop before it, close it after the gap timeout, and go on; the
/// insert, should it come after all, goes to another position.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_position_left_by_a_dead_writer_is_closed_after_the_gap_timeout() {
    let Some(settings) = settings() else { return };
    let gap_timeout = Duration::from_millis(400);
    let settings = settings.with_gap_timeout(gap_timeout);
    let (late, other) = (
        open(settings.clone(), None).await,
        open(settings, None).await,
    );
    let held = late.inner.take_positions(1, 0).await.expect("a position");
    let s = stream("other");
    let appended = other
        .append(&s, ExpectedVersion::NoStream, &[event("x", "{}")])
        .await
        .expect("append");
    assert!(appended.first_position.get() > held);

    // The writer's unused positions are closed by it (it lives); the one it holds is not.
    let started = Instant::now();
    let mut next = Position::START;
    for _ in 0..10 {
        let batch = other
            .read_all(next, &EventFilter::all(), 100)
            .await
            .expect("reads");
        assert!(batch.events.is_empty(), "a read passed an open gap");
        assert!(batch.next.get() <= held);
        next = batch.next;
        if batch.end_of_log {
            break;
        }
    }

    let mut subscription = other.subscribe(Position::START, EventFilter::all());
    let delivered = tokio::time::timeout(Duration::from_secs(20), subscription.next())
        .await
        .expect("the subscriber goes on after the gap timeout")
        .expect("an event")
        .expect("it reads");
    assert_eq!(delivered.position, appended.first_position);
    assert!(
        started.elapsed() >= gap_timeout,
        "the gap was passed before its timeout"
    );
    let closed: Option<RawDocumentBuf> = other
        .inner
        .events
        .find_one(doc! { field::ID: int64(held) })
        .await
        .expect("reads");
    assert!(closed.is_some_and(|document| crate::gaps::is_gap(&document)));

    // The late writer's insert at the closed position goes elsewhere, above what was read.
    late.inner.sequence.give_back(held, 1);
    let landed = late
        .append(
            &stream("late"),
            ExpectedVersion::NoStream,
            &[event("y", "{}")],
        )
        .await
        .expect("the late append is stored");
    assert!(landed.first_position > appended.first_position);
    let rest = other
        .read_all(
            Position::new(delivered.position.get() + 1),
            &EventFilter::all(),
            100,
        )
        .await
        .expect("reads");
    assert_eq!(positions(&rest.events), [landed.first_position.get()]);
    other.database().drop().await.expect("drops");
}

/// On a server that does not enforce unique multikey indexes, a claim left by a writer that
/// died between its refused insert and deleting it is deleted once past its grace, and the
/// append it held back goes through; one within its grace is waited for.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_orphaned_claim_is_deleted_after_its_grace() {
    let Some(settings) = settings() else { return };
    let store = open(settings, Some(false)).await;
    let events = vec![event("x", "{}"), event("y", "{}")];
    let old = mongodb::bson::DateTime::from_millis(
        mongodb::bson::DateTime::now().timestamp_millis() - 60_000,
    );
    store
        .inner
        .events
        .insert_one(claim_document(events[0].event_id, 999_999, old))
        .await
        .expect("the orphan is inserted");
    let s = stream("held");
    let result = store
        .append(&s, ExpectedVersion::NoStream, &events)
        .await
        .expect("the append goes through");
    assert!(!result.already_stored);
    let again = store
        .append(&s, ExpectedVersion::NoStream, &events)
        .await
        .expect("a retry");
    assert!(
        again.already_stored,
        "the claims now hold the stored append"
    );
    let one = store
        .read_stream(&s, Version::new(1), 10)
        .await
        .expect("reads");
    assert_eq!(one.len(), 2);
    store.database().drop().await.expect("drops");
}
