//! Following the log live: wake-ups, the catch-up/live hand-over, checkpoints across restarts.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use parking_lot::Mutex;

use super::{fresh_stream, numbered, numbers};
use crate::bus::EventBus;
use crate::envelope::{ExpectedVersion, Position, RecordedEvent};
use crate::store::EventFilter;
use crate::streams::EventStoreExt;
use crate::testing::ConformanceStore;
use crate::upcast::BoxError;

/// Longest a live check waits for something that should happen at once.
const PATIENCE: Duration = Duration::from_secs(30);

/// `wait_for_append` returns at once when events are already past the position, and wakes
/// when an append makes them so.
pub async fn wait_for_append_wakes_on_append<S: ConformanceStore>(store: S) {
    let stream = fresh_stream("wake");
    store
        .append(&stream, ExpectedVersion::NoStream, &[numbered("w", 1)])
        .await
        .unwrap_or_else(|error| panic!("append failed: {error}"));
    let head = store
        .head_position()
        .await
        .unwrap_or_else(|error| panic!("{error}"));
    tokio::time::timeout(PATIENCE, store.wait_for_append(Position::START))
        .await
        .unwrap_or_else(|_| panic!("wait_for_append did not return though events exist"));
    let waiter = {
        let store = store.clone();
        tokio::spawn(async move { store.wait_for_append(head).await })
    };
    tokio::time::sleep(Duration::from_millis(20)).await;
    store
        .append(&stream, ExpectedVersion::Any, &[numbered("w", 2)])
        .await
        .unwrap_or_else(|error| panic!("append failed: {error}"));
    tokio::time::timeout(PATIENCE, waiter)
        .await
        .unwrap_or_else(|_| panic!("wait_for_append did not wake after an append"))
        .unwrap_or_else(|error| panic!("the waiter failed: {error}"));
}

/// A subscriber that starts while writers append sees every event exactly once, in position
/// order, across the hand-over from catch-up to live.
pub async fn subscriber_sees_every_event_once_across_handover<S: ConformanceStore>(store: S) {
    const WRITERS: u64 = 4;
    const PER_WRITER: u64 = 150;
    const BEFORE: u64 = 100;
    let prefix = fresh_stream("handover");
    let stream = |writer: u64| {
        crate::names::StreamId::new(format!("{prefix}-{writer}"))
            .unwrap_or_else(|error| panic!("{error}"))
    };
    for n in 0..BEFORE {
        store
            .append(
                &stream(n % WRITERS),
                ExpectedVersion::Any,
                &[numbered("h", n)],
            )
            .await
            .unwrap_or_else(|error| panic!("append failed: {error}"));
    }
    let mut subscription = store.subscribe(Position::START, EventFilter::all());
    let mut writers = Vec::new();
    for writer in 0..WRITERS {
        let store = store.clone();
        let stream = stream(writer);
        writers.push(tokio::spawn(async move {
            for i in 0..PER_WRITER {
                let n = BEFORE + writer * PER_WRITER + i;
                let events = if i % 5 == 0 {
                    vec![numbered("h", n), numbered("h-extra", 1_000_000 + n)]
                } else {
                    vec![numbered("h", n)]
                };
                store
                    .append(&stream, ExpectedVersion::Any, &events)
                    .await
                    .unwrap_or_else(|error| panic!("append failed: {error}"));
                if i % 10 == 0 {
                    tokio::task::yield_now().await;
                }
            }
        }));
    }
    let expected_total = BEFORE + WRITERS * PER_WRITER + WRITERS * PER_WRITER / 5;
    let mut seen = Vec::new();
    let collect = async {
        while (seen.len() as u64) < expected_total {
            match subscription.next().await {
                Some(Ok(event)) => {
                    if event.stream_id.starts_with(prefix.as_str()) {
                        seen.push(event);
                    }
                }
                Some(Err(error)) => panic!("the subscription failed: {error}"),
                None => panic!("the subscription ended"),
            }
        }
    };
    tokio::time::timeout(PATIENCE, collect)
        .await
        .unwrap_or_else(|_| {
            panic!(
                "the subscriber saw {} of {expected_total} events",
                seen.len()
            )
        });
    for writer in writers {
        writer
            .await
            .unwrap_or_else(|error| panic!("a writer failed: {error}"));
    }
    assert!(
        seen.windows(2)
            .all(|pair| pair[0].position < pair[1].position),
        "the subscriber saw events out of position order"
    );
    let distinct: HashSet<u64> = numbers(&seen).into_iter().collect();
    assert_eq!(
        distinct.len() as u64,
        expected_total,
        "the subscriber saw an event twice"
    );
    let late = tokio::time::timeout(Duration::from_millis(200), subscription.next()).await;
    if let Ok(Some(Ok(event))) = late {
        assert!(
            !event.stream_id.starts_with(prefix.as_str()),
            "the subscriber saw an extra event: {event:?}"
        );
    }
}

/// A handler on the bus that is shut down and started again resumes after its checkpoint:
/// it gets the events appended meanwhile, and none it already had.
pub async fn checkpoint_resumes_after_restart<S: ConformanceStore>(store: S) {
    let stream = fresh_stream("resume");
    let name = format!("resume-{}", uuid::Uuid::new_v4().simple());
    let append = |from: u64, to: u64| {
        let store = store.clone();
        let stream = stream.clone();
        async move {
            for n in from..to {
                store
                    .append(&stream, ExpectedVersion::Any, &[numbered("r", n)])
                    .await
                    .unwrap_or_else(|error| panic!("append failed: {error}"));
            }
        }
    };
    let run = |seen: Arc<Mutex<Vec<u64>>>| {
        let store = store.clone();
        let name = name.clone();
        let stream = stream.clone();
        async move {
            let mut bus = EventBus::new(store.clone(), store.clone());
            bus.subscribe_named(["r"], name, move |event: RecordedEvent| {
                let seen = seen.clone();
                let stream = stream.clone();
                async move {
                    if event.stream_id == stream {
                        seen.lock().extend(numbers(&[event]));
                    }
                    Ok::<(), BoxError>(())
                }
            });
            let running = bus.start().unwrap_or_else(|error| panic!("{error}"));
            tokio::time::timeout(PATIENCE, running.wait_until_caught_up())
                .await
                .unwrap_or_else(|_| panic!("the handler did not catch up"))
                .unwrap_or_else(|error| panic!("{error}"));
            running.shutdown().await;
        }
    };
    append(0, 10).await;
    let first = Arc::new(Mutex::new(Vec::new()));
    run(first.clone()).await;
    assert_eq!(*first.lock(), (0..10).collect::<Vec<_>>());
    append(10, 15).await;
    let second = Arc::new(Mutex::new(Vec::new()));
    run(second.clone()).await;
    assert_eq!(
        *second.lock(),
        (10..15).collect::<Vec<_>>(),
        "after a restart the handler must resume after its checkpoint"
    );
    let saved = store
        .segments(&name)
        .await
        .unwrap_or_else(|error| panic!("{error}"));
    let head = store
        .head_position()
        .await
        .unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(saved.len(), 1, "one segment");
    assert_eq!(saved[0].position, head, "the saved position is the head");
    assert_eq!(saved[0].owner, None, "a shut-down bus gives its claim up");

    // Plain checkpoints, for consumers that keep their own.
    let plain = format!("{name}-plain");
    let load = || async {
        store
            .load_checkpoint(&plain)
            .await
            .unwrap_or_else(|error| panic!("{error}"))
    };
    assert_eq!(load().await, None);
    for position in [Position::new(3), Position::new(9)] {
        store
            .save_checkpoint(&plain, position)
            .await
            .unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(load().await, Some(position));
    }
    store
        .delete_checkpoint(&plain)
        .await
        .unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(load().await, None);
}
