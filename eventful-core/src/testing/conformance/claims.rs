//! Shared handlers (design item 12): claims that one instance at a time holds, handed over
//! when a lease runs out, fenced saves, segments with claims of their own, parked events.

use std::sync::Arc;
use std::time::Duration;

use uuid::Uuid;

use super::{fresh_stream, numbered};
use crate::checkpoint::CheckpointStore;
use crate::envelope::{ExpectedVersion, Position};
use crate::progress::{Claim, ClaimOutcome, ParkedEvent, Segment};
use crate::store::StoreError;
use crate::testing::ConformanceStore;
use crate::testing::interleave::Interleaved;

fn claim(handler: &str, segment: Segment, owner: &str, lease: Duration) -> Claim {
    Claim {
        handler: handler.to_owned(),
        segment,
        owner: owner.to_owned(),
        lease,
    }
}

fn fresh_handler(prefix: &str) -> String {
    format!("{prefix}-{}", Uuid::new_v4().simple())
}

/// Appends to a fresh stream until the log holds at least `events`, so that positions up to
/// it may be saved.
async fn log_of_at_least<S: ConformanceStore>(store: &S, events: u64) {
    let head = store
        .head_position()
        .await
        .unwrap_or_else(|error| panic!("{error}"));
    let missing = events.saturating_sub(head.get());
    if missing > 0 {
        store
            .append(
                &fresh_stream("filler"),
                ExpectedVersion::NoStream,
                &(0..missing)
                    .map(|n| numbered("filler", n))
                    .collect::<Vec<_>>(),
            )
            .await
            .unwrap_or_else(|error| panic!("{error}"));
    }
}

async fn claim_ok<S: ConformanceStore>(store: &S, claim: &Claim) -> ClaimOutcome {
    store
        .claim(claim)
        .await
        .unwrap_or_else(|error| panic!("claim failed: {error}"))
}

/// Instances racing for one segment: exactly one holds it, every time; the others are told
/// who does.
pub async fn claims_are_exclusive_under_racing_instances<S: ConformanceStore>(store: S) {
    const ROUNDS: usize = 20;
    const INSTANCES: usize = 6;
    let store = Interleaved::new(store);
    for round in 0..ROUNDS {
        let handler = fresh_handler("race");
        let barrier = Arc::new(tokio::sync::Barrier::new(INSTANCES));
        let tasks: Vec<_> = (0..INSTANCES)
            .map(|instance| {
                let (store, barrier) = (store.clone(), barrier.clone());
                let claim = claim(
                    &handler,
                    Segment::WHOLE,
                    &format!("instance-{instance}"),
                    Duration::from_secs(30),
                );
                tokio::spawn(async move {
                    barrier.wait().await;
                    (claim.owner.clone(), claim_ok(&store, &claim).await)
                })
            })
            .collect();
        let mut holders = Vec::new();
        let mut told = Vec::new();
        for task in tasks {
            let (owner, outcome) = task
                .await
                .unwrap_or_else(|error| panic!("an instance panicked: {error}"));
            match outcome {
                ClaimOutcome::Held { .. } => holders.push(owner),
                ClaimOutcome::HeldBy { owner: holder, .. } => told.push(holder),
                other => panic!("round {round}: unexpected {other:?}"),
            }
        }
        assert_eq!(
            holders.len(),
            1,
            "round {round}: {holders:?} all hold the claim"
        );
        assert!(
            told.iter().all(|holder| *holder == holders[0]),
            "round {round}: the others were told another holder: {told:?} (holder {holders:?})"
        );
    }
}

/// A claim whose owner stops renewing is taken over once its lease runs out, at the position
/// the owner saved; the old owner's saves are then refused, and its release changes nothing.
/// A released claim is free at once.
pub async fn a_claim_is_handed_over_after_its_lease<S: ConformanceStore>(store: S) {
    log_of_at_least(&store, 50).await;
    let handler = fresh_handler("lease");
    let lease = Duration::from_millis(300);
    let first = claim(&handler, Segment::WHOLE, "first", lease);
    let second = claim(&handler, Segment::WHOLE, "second", lease);
    assert!(matches!(
        claim_ok(&store, &first).await,
        ClaimOutcome::Held {
            position: Position::START,
            ..
        }
    ));
    store
        .save_claimed(&first, Position::new(42))
        .await
        .unwrap_or_else(|error| panic!("the owner's save was refused: {error}"));
    match claim_ok(&store, &second).await {
        ClaimOutcome::HeldBy { owner, .. } => assert_eq!(owner, "first"),
        other => panic!("a live claim was taken: {other:?}"),
    }
    assert!(
        matches!(claim_ok(&store, &first).await, ClaimOutcome::Held { .. }),
        "the owner could not renew"
    );

    tokio::time::sleep(lease + Duration::from_millis(200)).await;
    match claim_ok(&store, &second).await {
        ClaimOutcome::Held { position, .. } => {
            assert_eq!(
                position,
                Position::new(42),
                "taken over elsewhere than saved"
            );
        }
        other => panic!("an expired claim was not handed over: {other:?}"),
    }
    match store.save_claimed(&first, Position::new(50)).await {
        Err(StoreError::ClaimLost { holder, owner, .. }) => {
            assert_eq!(owner, "first");
            assert_eq!(holder.as_deref(), Some("second"));
        }
        other => panic!("a save after losing the claim was not refused: {other:?}"),
    }
    store
        .release(&first)
        .await
        .unwrap_or_else(|error| panic!("{error}"));
    let segments = store
        .segments(&handler)
        .await
        .unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(segments.len(), 1);
    assert_eq!(
        segments[0].owner.as_deref(),
        Some("second"),
        "a stale release freed the claim"
    );
    assert_eq!(
        segments[0].position,
        Position::new(42),
        "a refused save moved the position"
    );

    store
        .release(&second)
        .await
        .unwrap_or_else(|error| panic!("{error}"));
    let third = claim(&handler, Segment::WHOLE, "third", lease);
    assert!(
        matches!(claim_ok(&store, &third).await, ClaimOutcome::Held { .. }),
        "a released claim is not free"
    );
}

/// Each segment has its own claim and position; a claim with another number of segments than
/// the store holds is refused without changing anything; replacing the segments (a reshape, a
/// reset) is what the store then holds.
pub async fn segments_have_claims_of_their_own<S: ConformanceStore>(store: S) {
    log_of_at_least(&store, 10).await;
    let handler = fresh_handler("segments");
    let lease = Duration::from_secs(30);
    let [zero, one] = [0, 1].map(|index| Segment { index, count: 2 });
    let a = claim(&handler, zero, "a", lease);
    let b = claim(&handler, one, "b", lease);
    assert!(matches!(
        claim_ok(&store, &a).await,
        ClaimOutcome::Held { .. }
    ));
    assert!(matches!(
        claim_ok(&store, &b).await,
        ClaimOutcome::Held { .. }
    ));
    store
        .save_claimed(&a, Position::new(7))
        .await
        .unwrap_or_else(|error| panic!("{error}"));
    let stranger = claim(&handler, one, "a", lease);
    assert!(
        matches!(
            claim_ok(&store, &stranger).await,
            ClaimOutcome::HeldBy { .. }
        ),
        "one owner's claim covered another segment"
    );
    let resplit = claim(&handler, Segment { index: 0, count: 3 }, "c", lease);
    assert_eq!(
        claim_ok(&store, &resplit).await,
        ClaimOutcome::OtherSegments { count: 2 }
    );
    let segments = store
        .segments(&handler)
        .await
        .unwrap_or_else(|error| panic!("{error}"));
    let seen: Vec<_> = segments
        .iter()
        .map(|progress| (progress.segment, progress.position, progress.owner.clone()))
        .collect();
    assert_eq!(
        seen,
        vec![
            (zero, Position::new(7), Some("a".to_owned())),
            (one, Position::START, Some("b".to_owned())),
        ]
    );

    store
        .put_segments(&handler, Vec::new())
        .await
        .unwrap_or_else(|error| panic!("{error}"));
    assert!(
        store
            .segments(&handler)
            .await
            .unwrap_or_else(|error| panic!("{error}"))
            .is_empty(),
        "a reset kept segments"
    );
    assert!(matches!(
        claim_ok(&store, &resplit).await,
        ClaimOutcome::Held {
            position: Position::START,
            ..
        }
    ));
}

/// Parked events are kept per handler, listed in log order, replaced when parked again, and
/// gone once dismissed.
pub async fn parked_events_are_kept_until_dismissed<S: ConformanceStore>(store: S) {
    let handler = fresh_handler("parked");
    let stream = fresh_stream("parked");
    store
        .append(
            &stream,
            ExpectedVersion::NoStream,
            &[numbered("a", 1), numbered("a", 2)],
        )
        .await
        .unwrap_or_else(|error| panic!("{error}"));
    let events = super::whole_stream(&store, &stream).await;
    let error = std::io::Error::other("the leaderboard service is down");
    let park =
        |index: usize, attempts: u32| ParkedEvent::new(&handler, &events[index], attempts, &error);
    for parked in [park(1, 3), park(0, 3)] {
        store
            .park(parked)
            .await
            .unwrap_or_else(|error| panic!("{error}"));
    }
    store
        .park(park(1, 5))
        .await
        .unwrap_or_else(|error| panic!("{error}"));
    let parked = store
        .parked(&handler)
        .await
        .unwrap_or_else(|error| panic!("{error}"));
    let seen: Vec<_> = parked
        .iter()
        .map(|parked| (parked.event_id, parked.position, parked.attempts))
        .collect();
    assert_eq!(
        seen,
        vec![
            (events[0].event_id, events[0].position, 3),
            (events[1].event_id, events[1].position, 5),
        ],
        "parked events in log order, the second replaced"
    );
    assert_eq!(parked[0].error, "the leaderboard service is down");
    assert_eq!(parked[0].stream_id, stream);
    assert!(
        store
            .parked(&fresh_handler("other"))
            .await
            .unwrap_or_else(|error| panic!("{error}"))
            .is_empty()
    );
    assert!(
        store
            .unpark(&handler, events[0].event_id)
            .await
            .unwrap_or_else(|error| panic!("{error}"))
    );
    assert!(
        !store
            .unpark(&handler, events[0].event_id)
            .await
            .unwrap_or_else(|error| panic!("{error}"))
    );
    let left = store
        .parked(&handler)
        .await
        .unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].event_id, events[1].event_id);
}

/// A snapshot of a version its stream has not reached, or of a stream that does not exist,
/// is refused, and so is a checkpoint or a handler's position past the head of the log: a
/// repository or a handler starting from one would be ahead of the events. Nothing is saved
/// by a refusal.
pub async fn snapshots_and_positions_stay_within_the_log<S: ConformanceStore>(store: S) {
    use crate::envelope::Version;
    use crate::snapshot::Snapshot;
    let stream = fresh_stream("within");
    store
        .append(
            &stream,
            ExpectedVersion::NoStream,
            &[numbered("a", 1), numbered("a", 2)],
        )
        .await
        .unwrap_or_else(|error| panic!("{error}"));
    let snapshot = |stream_id: &crate::names::StreamId, version: u64| Snapshot {
        stream_id: stream_id.clone(),
        aggregate_type: crate::names::TypeName::from_static("test"),
        version: Version::new(version),
        revision: 1,
        taken_at: chrono::Utc::now(),
        payload: crate::payload::Payload::from_json_slice(br#"{"n":2}"#)
            .unwrap_or_else(|error| panic!("{error}")),
    };
    let missing = fresh_stream("within-missing");
    for (stream_id, version, stream_version) in [(&stream, 3, 2), (&missing, 1, 0), (&stream, 0, 2)]
    {
        match store.save_snapshot(snapshot(stream_id, version)).await {
            Err(StoreError::SnapshotBeyondStream {
                version: refused,
                stream_version: at,
                ..
            }) => {
                assert_eq!(refused, Version::new(version));
                assert_eq!(at, Version::new(stream_version));
            }
            other => panic!(
                "a snapshot at version {version} of a stream at {stream_version} was not refused: {other:?}"
            ),
        }
    }
    store
        .save_snapshot(snapshot(&stream, 2))
        .await
        .unwrap_or_else(|error| panic!("a snapshot at the stream's version was refused: {error}"));
    assert!(
        store
            .load_snapshot(&missing)
            .await
            .unwrap_or_else(|error| panic!("{error}"))
            .is_none(),
        "a refused snapshot was kept"
    );

    let head = store
        .head_position()
        .await
        .unwrap_or_else(|error| panic!("{error}"));
    let name = fresh_handler("within");
    match store.save_checkpoint(&name, head.next()).await {
        Err(StoreError::PositionBeyondHead {
            position, head: at, ..
        }) => {
            assert_eq!(position, head.next());
            assert!(at >= head);
        }
        other => panic!("a checkpoint past the head was not refused: {other:?}"),
    }
    assert_eq!(
        store
            .load_checkpoint(&name)
            .await
            .unwrap_or_else(|error| panic!("{error}")),
        None,
        "a refused checkpoint was kept"
    );
    store
        .save_checkpoint(&name, head)
        .await
        .unwrap_or_else(|error| panic!("a checkpoint at the head was refused: {error}"));

    let claim = claim(&name, Segment::WHOLE, "within", Duration::from_secs(30));
    assert!(matches!(
        claim_ok(&store, &claim).await,
        ClaimOutcome::Held { .. }
    ));
    assert!(matches!(
        store
            .save_claimed(&claim, Position::new(head.get() + 10))
            .await,
        Err(StoreError::PositionBeyondHead { .. })
    ));
    let segments = store
        .segments(&name)
        .await
        .unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(
        segments[0].position,
        Position::START,
        "a refused position was saved"
    );
}

/// Two instances configured with different numbers of segments, starting at the same moment
/// on a handler never run before: one layout wins whole, and the other instance is told the
/// count it lost to — never segments of both counts, which would each hold part of the
/// other's streams.
pub async fn racing_segment_counts_lay_out_one<S: ConformanceStore>(store: S) {
    const ROUNDS: usize = 10;
    let store = Interleaved::new(store);
    for round in 0..ROUNDS {
        let handler = fresh_handler("layout");
        let barrier = Arc::new(tokio::sync::Barrier::new(2));
        let tasks: Vec<_> = [2u32, 3]
            .into_iter()
            .map(|count| {
                let (store, barrier) = (store.clone(), barrier.clone());
                let claim = claim(
                    &handler,
                    Segment { index: 0, count },
                    &format!("instance-{count}"),
                    Duration::from_secs(30),
                );
                tokio::spawn(async move {
                    barrier.wait().await;
                    (count, claim_ok(&store, &claim).await)
                })
            })
            .collect();
        let mut outcomes = Vec::new();
        for task in tasks {
            outcomes.push(
                task.await
                    .unwrap_or_else(|error| panic!("an instance panicked: {error}")),
            );
        }
        let segments = store
            .segments(&handler)
            .await
            .unwrap_or_else(|error| panic!("{error}"));
        let count = segments[0].segment.count;
        assert!(
            segments.iter().all(|s| s.segment.count == count) && segments.len() == count as usize,
            "round {round}: segments of two layouts: {segments:?}"
        );
        for (asked, outcome) in outcomes {
            match outcome {
                ClaimOutcome::Held { .. } => assert_eq!(asked, count, "round {round}"),
                ClaimOutcome::OtherSegments { count: told } => {
                    assert_ne!(asked, count, "round {round}");
                    assert_eq!(told, count, "round {round}: told another count");
                }
                other => panic!("round {round}: unexpected {other:?}"),
            }
        }
    }
}
