//! Appends: the expected-version check, atomicity, idempotency, concurrent writers.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use super::{fresh_stream, numbered, numbers, until_raced, whole_log, whole_stream};
use crate::envelope::{ExpectedVersion, Position, Version};
use crate::store::{EventFilter, EventStore, StoreError};
use crate::testing::ConformanceStore;
use crate::testing::interleave::Interleaved;

/// An append of no events succeeds or fails on the expected version alone, and writes
/// nothing.
pub async fn empty_append_checks_the_version_only<S: ConformanceStore>(store: S) {
    let stream = fresh_stream("empty");
    let result = store
        .append(&stream, ExpectedVersion::NoStream, &[])
        .await
        .unwrap_or_else(|error| panic!("an empty append to a new stream failed: {error}"));
    assert_eq!(result.last_version, Version::NONE);
    assert_eq!(
        store.stream_version(&stream).await.ok(),
        Some(Version::NONE)
    );
    store
        .append(&stream, ExpectedVersion::Any, &[numbered("a", 1)])
        .await
        .unwrap_or_else(|error| panic!("append failed: {error}"));
    let err = store
        .append(&stream, ExpectedVersion::NoStream, &[])
        .await
        .expect_err("an empty append expecting no stream must fail on an existing stream");
    assert!(
        matches!(err, StoreError::Conflict { actual, .. } if actual == Version::new(1)),
        "expected a conflict at version 1, got {err}"
    );
    let ok = store
        .append(&stream, ExpectedVersion::Exact(Version::new(1)), &[])
        .await
        .unwrap_or_else(|error| panic!("an empty append at the right version failed: {error}"));
    assert_eq!(ok.last_version, Version::new(1));
    assert_eq!(whole_stream(&store, &stream).await.len(), 1);
}

/// `Any`, `NoStream` and `Exact(n)` accept and refuse as documented, and a refusal is a typed
/// conflict carrying the expected and the actual version.
pub async fn expected_version_is_checked<S: ConformanceStore>(store: S) {
    let stream = fresh_stream("expect");
    // Appends one event expecting `expected`, and checks that it is refused with a conflict
    // reporting `expected` and the stream's `actual` version.
    let refused = |expected: ExpectedVersion, actual: u64| {
        let (store, stream) = (store.clone(), stream.clone());
        async move {
            match store.append(&stream, expected, &[numbered("a", 0)]).await {
                Err(StoreError::Conflict {
                    stream_id,
                    expected: e,
                    actual: a,
                }) => {
                    assert_eq!(stream_id, stream, "the conflict names another stream");
                    assert_eq!(e, expected, "the conflict reports another expected version");
                    assert_eq!(
                        a,
                        Version::new(actual),
                        "the conflict reports another actual version"
                    );
                }
                Err(other) => panic!("expected a conflict, got another error: {other}"),
                Ok(result) => {
                    panic!("expected a conflict, but the append succeeded: {result:?}")
                }
            }
        }
    };
    let accepted = |expected: ExpectedVersion, n: u64| {
        let (store, stream) = (store.clone(), stream.clone());
        async move {
            store
                .append(&stream, expected, &[numbered("a", n)])
                .await
                .unwrap_or_else(|error| panic!("{expected} on the stream failed: {error}"))
        }
    };

    refused(ExpectedVersion::Exact(Version::new(1)), 0).await;
    let first = accepted(ExpectedVersion::NoStream, 1).await;
    assert_eq!(first.last_version, Version::new(1));
    refused(ExpectedVersion::NoStream, 1).await;
    refused(ExpectedVersion::Exact(Version::NONE), 1).await;
    accepted(ExpectedVersion::Exact(Version::new(1)), 2).await;
    refused(ExpectedVersion::Exact(Version::new(1)), 2).await;
    let any = accepted(ExpectedVersion::Any, 3).await;
    assert_eq!(any.last_version, Version::new(3));
    let fresh = fresh_stream("expect-any");
    let any_new = store
        .append(&fresh, ExpectedVersion::Any, &[numbered("a", 1)])
        .await
        .unwrap_or_else(|error| panic!("Any on a new stream failed: {error}"));
    assert_eq!(any_new.last_version, Version::new(1));
    assert_eq!(
        numbers(&whole_stream(&store, &stream).await),
        [1, 2, 3],
        "refused appends must write nothing"
    );
}

/// A multi-event append that conflicts leaves no trace: not in the stream, not in the log.
pub async fn conflicting_multi_event_append_writes_nothing<S: ConformanceStore>(store: S) {
    let stream = fresh_stream("atomic");
    store
        .append(
            &stream,
            ExpectedVersion::NoStream,
            &[numbered("a", 1), numbered("a", 2)],
        )
        .await
        .unwrap_or_else(|error| panic!("append failed: {error}"));
    let head = store
        .head_position()
        .await
        .unwrap_or_else(|error| panic!("{error}"));
    let batch: Vec<_> = (10..15).map(|n| numbered("a", n)).collect();
    let result = store
        .append(&stream, ExpectedVersion::Exact(Version::new(1)), &batch)
        .await;
    assert!(
        matches!(result, Err(StoreError::Conflict { .. })),
        "expected a conflict, got {result:?}"
    );
    assert_eq!(numbers(&whole_stream(&store, &stream).await), [1, 2]);
    assert_eq!(
        store.head_position().await.ok(),
        Some(head),
        "the log moved"
    );
    let in_log = whole_log(&store, EventFilter::all()).await;
    assert!(
        in_log
            .iter()
            .all(|event| event.stream_id != stream || event.version <= Version::new(2)),
        "part of a refused append is visible in the log"
    );
}

/// Many tasks appending to one stream with `Exact` versions at once: exactly one winner per
/// version, and the stream ends with no gap and no duplicate. The race is run again, on a
/// fresh stream, until one run saw conflicts (up to 20 times).
pub async fn concurrent_exact_appends_have_one_winner_per_version<S: ConformanceStore>(store: S) {
    let store = Interleaved::new(store);
    until_raced(&store, 20, "append", || race_exact_appends(&store)).await;
}

async fn race_exact_appends<S: ConformanceStore>(store: &Interleaved<S>) {
    const TASKS: u64 = 8;
    const TARGET: u64 = 200;
    let stream = fresh_stream("race");
    let mut tasks = Vec::new();
    let barrier = Arc::new(tokio::sync::Barrier::new(TASKS as usize));
    for task in 0..TASKS {
        let store = store.clone();
        let stream = stream.clone();
        let barrier = barrier.clone();
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            let mut won = Vec::new();
            let mut attempt = 0;
            loop {
                let version = store
                    .stream_version(&stream)
                    .await
                    .unwrap_or_else(|error| panic!("{error}"));
                if version.get() >= TARGET {
                    return won;
                }
                attempt += 1;
                let event = numbered("raced", task * 1_000_000 + attempt);
                match store
                    .append(&stream, ExpectedVersion::Exact(version), &[event])
                    .await
                {
                    Ok(result) => {
                        assert_eq!(
                            result.last_version,
                            version.next(),
                            "a winner got another version than it expected"
                        );
                        won.push(result.last_version);
                    }
                    Err(StoreError::Conflict { actual, .. }) => {
                        assert!(actual > version, "a conflict reported no progress");
                    }
                    Err(error) => panic!("append failed: {error}"),
                }
            }
        }));
    }
    let mut winners = Vec::new();
    for task in tasks {
        winners.extend(
            task.await
                .unwrap_or_else(|error| panic!("a writer panicked: {error}")),
        );
    }
    winners.sort();
    let expected: Vec<_> = (1..=TARGET).map(Version::new).collect();
    assert_eq!(
        winners, expected,
        "each version must have exactly one winner"
    );
    let stored = whole_stream(store, &stream).await;
    let versions: Vec<_> = stored.iter().map(|event| event.version).collect();
    assert_eq!(versions, expected, "the stream has gaps or duplicates");
    let distinct: HashSet<_> = numbers(&stored).into_iter().collect();
    assert_eq!(distinct.len() as u64, TARGET, "an event was stored twice");
}

/// An append retried with the same event ids (a lost reply, a retried network call) is
/// stored once, whether it expected a version or `Any`; a partial overlap or an id repeated
/// within one append is refused and writes nothing.
pub async fn retried_append_is_stored_once<S: ConformanceStore>(store: S) {
    let stream = fresh_stream("retry");
    let batch = vec![numbered("a", 1), numbered("a", 2)];
    let first = store
        .append(&stream, ExpectedVersion::NoStream, &batch)
        .await
        .unwrap_or_else(|error| panic!("append failed: {error}"));
    assert!(!first.already_stored);
    store
        .append(
            &stream,
            ExpectedVersion::Exact(Version::new(2)),
            &[numbered("a", 3)],
        )
        .await
        .unwrap_or_else(|error| panic!("append failed: {error}"));

    let again = store
        .append(&stream, ExpectedVersion::NoStream, &batch)
        .await
        .unwrap_or_else(|error| panic!("a retried append must succeed, got: {error}"));
    assert!(
        again.already_stored,
        "a retried append must report it was already stored"
    );
    assert_eq!(again.last_version, first.last_version);
    assert_eq!(again.first_position, first.first_position);

    let again_any = store
        .append(&stream, ExpectedVersion::Any, &batch)
        .await
        .unwrap_or_else(|error| panic!("a retried append with Any must succeed, got: {error}"));
    assert!(again_any.already_stored);
    assert_eq!(again_any.first_position, first.first_position);

    let overlap = vec![batch[1].clone(), numbered("a", 99)];
    let partial = store
        .append(&stream, ExpectedVersion::Exact(Version::new(1)), &overlap)
        .await;
    assert!(
        matches!(
            partial,
            Err(StoreError::DuplicateEvent { .. }) | Err(StoreError::Conflict { .. })
        ),
        "a partial overlap must be refused, got {partial:?}"
    );
    let twice = numbered("a", 7);
    let repeated = store
        .append(
            &stream,
            ExpectedVersion::Exact(Version::new(3)),
            &[twice.clone(), twice],
        )
        .await;
    assert!(
        matches!(repeated, Err(StoreError::DuplicateEvent { .. })),
        "an id repeated within an append must be refused, got {repeated:?}"
    );
    assert_eq!(
        numbers(&whole_stream(&store, &stream).await),
        [1, 2, 3],
        "retries and refusals must not change the stream"
    );
}

/// Readers never see part of an append: a stream written five events at a time is always
/// read as a multiple of five, through its own reads and through the log.
pub async fn appends_are_atomic_to_readers<S: ConformanceStore>(store: S) {
    const BATCHES: u64 = 60;
    let stream = fresh_stream("visible");
    let done = Arc::new(AtomicBool::new(false));
    let reader = {
        let store = store.clone();
        let stream = stream.clone();
        let done = done.clone();
        tokio::spawn(async move {
            let mut observations = 0;
            while !done.load(Ordering::Acquire) || observations < 10 {
                let events = whole_stream(&store, &stream).await;
                assert_eq!(
                    events.len() % 5,
                    0,
                    "a reader saw {} events of a 5-event append",
                    events.len() % 5
                );
                let in_log = store
                    .read_all(Position::START, &EventFilter::all(), usize::MAX)
                    .await
                    .unwrap_or_else(|error| panic!("{error}"))
                    .events
                    .into_iter()
                    .filter(|event| event.stream_id == stream)
                    .count();
                assert_eq!(in_log % 5, 0, "the log showed part of an append");
                observations += 1;
                tokio::task::yield_now().await;
            }
        })
    };
    for batch in 0..BATCHES {
        let events = (0..5)
            .map(|i| numbered("a", batch * 5 + i))
            .collect::<Vec<_>>();
        store
            .append(
                &stream,
                ExpectedVersion::Exact(Version::new(batch * 5)),
                &events,
            )
            .await
            .unwrap_or_else(|error| panic!("append failed: {error}"));
        tokio::task::yield_now().await;
    }
    done.store(true, Ordering::Release);
    reader
        .await
        .unwrap_or_else(|error| panic!("the reader failed: {error}"));
    assert_eq!(
        whole_stream(&store, &stream).await.len() as u64,
        BATCHES * 5
    );
}
