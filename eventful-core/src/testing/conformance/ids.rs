//! One event id, one place: an id is stored at most once in the store; the same ids at the
//! same versions are a retry, anywhere else a typed refusal that writes nothing.

use super::{fresh_stream, numbered, whole_stream};
use crate::envelope::{ExpectedVersion, NewEvent, Version};
use crate::names::StreamId;
use crate::store::{Duplicate, StoreError};
use crate::testing::ConformanceStore;

/// Asserts that `result` is a refusal of `event_id`, stored in `stream_id` at `version`.
fn assert_refused<T: std::fmt::Debug>(
    result: Result<T, StoreError>,
    event_id: uuid::Uuid,
    stream_id: &StreamId,
    version: u64,
    case: &str,
) {
    match result {
        Err(StoreError::DuplicateEvent {
            event_id: refused,
            duplicate:
                Duplicate::Stored {
                    stream_id: stored_in,
                    version: stored_at,
                },
            ..
        }) => {
            assert_eq!(refused, event_id, "{case}: the refusal names another id");
            assert_eq!(
                &stored_in, stream_id,
                "{case}: the refusal names another stream"
            );
            assert_eq!(
                stored_at,
                Version::new(version),
                "{case}: the refusal names another version"
            );
        }
        other => panic!("{case}: expected a DuplicateEvent naming where the id is, got {other:?}"),
    }
}

async fn append_ok<S: ConformanceStore>(
    store: &S,
    stream: &StreamId,
    expected: ExpectedVersion,
    events: &[NewEvent],
) {
    store
        .append(stream, expected, events)
        .await
        .unwrap_or_else(|error| panic!("append failed: {error}"));
}

/// Ids already stored in a stream, sent again where they are not (a client that re-read the
/// version and retried with the old ids), are refused with the place they are stored at;
/// sent again at their own versions they are an idempotent success. Nothing is written by a
/// refusal.
pub async fn event_id_is_stored_once_in_its_stream<S: ConformanceStore>(store: S) {
    let stream = fresh_stream("ids");
    let first: Vec<_> = (1..=3).map(|n| numbered("a", n)).collect();
    let second: Vec<_> = (4..=5).map(|n| numbered("a", n)).collect();
    append_ok(&store, &stream, ExpectedVersion::NoStream, &first).await;
    append_ok(
        &store,
        &stream,
        ExpectedVersion::Exact(Version::new(3)),
        &second,
    )
    .await;

    let again = store
        .append(&stream, ExpectedVersion::Exact(Version::new(5)), &first)
        .await;
    assert_refused(
        again,
        first[0].event_id,
        &stream,
        1,
        "the first append again at version 6",
    );
    let mixed = vec![numbered("a", 6), second[0].clone()];
    let mixed = store
        .append(&stream, ExpectedVersion::Exact(Version::new(5)), &mixed)
        .await;
    assert_refused(
        mixed,
        second[0].event_id,
        &stream,
        4,
        "a new id and a stored one",
    );
    let shifted = store
        .append(
            &stream,
            ExpectedVersion::Exact(Version::new(2)),
            &first[..2],
        )
        .await;
    assert_refused(
        shifted,
        first[0].event_id,
        &stream,
        1,
        "stored ids a version off",
    );

    for expected in [
        ExpectedVersion::NoStream,
        ExpectedVersion::Exact(Version::NONE),
        ExpectedVersion::Any,
    ] {
        let retried = store
            .append(&stream, expected, &first)
            .await
            .unwrap_or_else(|error| panic!("a retry with {expected} was refused: {error}"));
        assert!(
            retried.already_stored,
            "a retry with {expected} wrote again"
        );
        assert_eq!(retried.last_version, Version::new(3));
    }
    let retried = store
        .append(&stream, ExpectedVersion::Exact(Version::new(3)), &second)
        .await
        .unwrap_or_else(|error| panic!("a retry of the second append was refused: {error}"));
    assert!(retried.already_stored);
    assert_eq!(retried.last_version, Version::new(5));

    let stored = whole_stream(&store, &stream).await;
    let ids: Vec<_> = stored.iter().map(|event| event.event_id).collect();
    let sent: Vec<_> = first
        .iter()
        .chain(&second)
        .map(|event| event.event_id)
        .collect();
    assert_eq!(ids, sent, "a refused or retried append changed the stream");
}

/// An id stored in one stream is refused in any other, naming where it is; the other stream
/// is left as it was (not created, when it did not exist).
pub async fn event_id_is_unique_across_streams<S: ConformanceStore>(store: S) {
    let home = fresh_stream("ids-home");
    let other = fresh_stream("ids-other");
    let events: Vec<_> = (1..=2).map(|n| numbered("a", n)).collect();
    append_ok(&store, &home, ExpectedVersion::NoStream, &events).await;

    for expected in [ExpectedVersion::NoStream, ExpectedVersion::Any] {
        let elsewhere = store.append(&other, expected, &events).await;
        assert_refused(
            elsewhere,
            events[0].event_id,
            &home,
            1,
            "the same ids in another stream",
        );
    }
    let second_only = store
        .append(&other, ExpectedVersion::Any, &[events[1].clone()])
        .await;
    assert_refused(
        second_only,
        events[1].event_id,
        &home,
        2,
        "one stored id in another stream",
    );
    assert_eq!(
        store.stream_version(&other).await.ok(),
        Some(Version::NONE),
        "a refused append created the other stream"
    );
    assert!(
        store
            .find_event(&other, events[0].event_id)
            .await
            .unwrap_or_else(|error| panic!("{error}"))
            .is_none(),
        "an id of one stream is found in another"
    );

    append_ok(
        &store,
        &other,
        ExpectedVersion::NoStream,
        &[numbered("b", 1)],
    )
    .await;
    let into_existing = store
        .append(
            &other,
            ExpectedVersion::Exact(Version::new(1)),
            &[events[0].clone()],
        )
        .await;
    assert_refused(
        into_existing,
        events[0].event_id,
        &home,
        1,
        "a stored id in an existing stream",
    );
    assert_eq!(
        store.stream_version(&other).await.ok(),
        Some(Version::new(1))
    );
}
