//! The command path on the store: snapshots, retries, idempotent commands, bad input.

use std::sync::Arc;

use uuid::Uuid;

use super::{raw_event, until_raced, whole_stream};
use crate::aggregate::Aggregate;
use crate::envelope::{ExpectedVersion, Version};
use crate::event::DecodeFailure;
use crate::names::{NameError, StreamId};
use crate::payload::{Payload, PayloadError};
use crate::repository::{CommandContext, CommandError, Repository, RetryPolicy};
use crate::snapshot::Snapshot;
use crate::testing::ConformanceStore;
use crate::testing::interleave::Interleaved;
use crate::testing::model::{Player, PlayerAction, PlayerCommand, PlayerError};

fn player_id() -> u64 {
    fastrand::u64(..)
}

fn create(id: u64) -> PlayerCommand {
    PlayerCommand::new(
        id,
        PlayerAction::CreatePlayer {
            name: format!("player {id}"),
        },
    )
}

fn gain(id: u64, amount: u64) -> PlayerCommand {
    PlayerCommand::new(id, PlayerAction::GainXp { amount })
}

fn unlock(id: u64, achievement: &str) -> PlayerCommand {
    PlayerCommand::new(
        id,
        PlayerAction::UnlockAchievement {
            id: achievement.to_owned(),
        },
    )
}

fn stream_of(id: u64) -> StreamId {
    Player::stream_id(&id).unwrap_or_else(|error| panic!("{error}"))
}

/// Loading from a snapshot and the events after it gives exactly the state a full replay
/// gives, at every version.
pub async fn snapshot_and_tail_equal_full_replay<S: ConformanceStore>(store: S) {
    let id = player_id();
    let with_snapshots = Repository::<Player, _>::new(store.clone())
        .with_snapshots(store.clone(), 10)
        .with_cache_capacity(0);
    let replaying = Repository::<Player, _>::new(store.clone()).with_cache_capacity(0);
    with_snapshots
        .execute(create(id))
        .await
        .unwrap_or_else(|error| panic!("{error}"));
    for round in 0..40u64 {
        let command = if round % 9 == 4 {
            unlock(id, &format!("a{round}"))
        } else {
            gain(id, 70 + round)
        };
        with_snapshots
            .execute(command)
            .await
            .unwrap_or_else(|error| panic!("{error}"));
    }
    let snapshot = store
        .load_snapshot(&stream_of(id))
        .await
        .unwrap_or_else(|error| panic!("{error}"))
        .unwrap_or_else(|| panic!("no snapshot was taken"));
    let version = store
        .stream_version(&stream_of(id))
        .await
        .unwrap_or_else(|error| panic!("{error}"));
    assert!(snapshot.version.get() % 10 == 0 || snapshot.version == version);
    assert!(
        snapshot.version > Version::new(30),
        "snapshots stopped early: {}",
        snapshot.version
    );
    let fast = with_snapshots
        .load(&id)
        .await
        .unwrap_or_else(|error| panic!("{error}"));
    let full = replaying
        .load(&id)
        .await
        .unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(fast.version, version);
    assert_eq!(fast, full, "snapshot + tail differs from a full replay");
    for at in [1, 5, 10, 11, 29, version.get()] {
        let from_snapshots = with_snapshots
            .load_at(&id, Version::new(at))
            .await
            .unwrap_or_else(|error| panic!("{error}"));
        let replayed = replaying
            .load_at(&id, Version::new(at))
            .await
            .unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(from_snapshots.version, Version::new(at));
        assert_eq!(from_snapshots, replayed, "state as of version {at} differs");
    }
}

/// A snapshot of another revision, of another aggregate type, or that does not decode, is
/// ignored and the stream replayed: never misread.
pub async fn stale_or_unreadable_snapshot_is_ignored<S: ConformanceStore>(store: S) {
    let id = player_id();
    let stream_id = stream_of(id);
    let players = Repository::<Player, _>::new(store.clone())
        .with_snapshots(store.clone(), 1_000)
        .with_cache_capacity(0);
    players
        .execute(create(id))
        .await
        .unwrap_or_else(|error| panic!("{error}"));
    players
        .execute(gain(id, 1500))
        .await
        .unwrap_or_else(|error| panic!("{error}"));
    let truth = Repository::<Player, _>::new(store.clone())
        .with_cache_capacity(0)
        .load(&id)
        .await
        .unwrap_or_else(|error| panic!("{error}"));
    let lie = |revision: u32, payload: Payload| Snapshot {
        stream_id: stream_id.clone(),
        aggregate_type: Player::TYPE,
        version: truth.version,
        revision,
        taken_at: chrono::Utc::now(),
        payload,
    };
    let other_shape = Payload::encode(
        &serde_json::json!({"name": "ghost", "xp": 1, "level": 99, "achievements": []}),
    )
    .unwrap_or_else(|error| panic!("{error}"));
    let unreadable = Payload::from_json_slice(br#"{"renamed_field": true}"#)
        .unwrap_or_else(|error| panic!("{error}"));
    for snapshot in [
        lie(Player::SNAPSHOT_REVISION + 1, other_shape.clone()),
        lie(Player::SNAPSHOT_REVISION, unreadable),
        Snapshot {
            aggregate_type: crate::names::TypeName::from_static("not_a_player"),
            ..lie(Player::SNAPSHOT_REVISION, other_shape)
        },
    ] {
        // Each lie is at the stream's version, so that it replaces the one before it.
        store
            .save_snapshot(snapshot)
            .await
            .unwrap_or_else(|error| panic!("{error}"));
        let loaded = players
            .load(&id)
            .await
            .unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(loaded, truth, "a stale or unreadable snapshot was used");
    }
}

/// Tasks sharing one repository, and repositories with caches of their own (two processes),
/// all running commands on one aggregate at once: every command commits, on fresh state. The
/// race is run again, on a fresh player, until one run saw conflicts (up to 10 times).
pub async fn concurrent_commands_are_retried_not_lost<S: ConformanceStore>(store: S) {
    let store = Interleaved::new(store);
    until_raced(&store, 10, "command", || race_commands(&store)).await;
}

async fn race_commands<S: ConformanceStore>(store: &Interleaved<S>) {
    const TASKS: u64 = 6;
    const EACH: u64 = 8;
    let id = player_id();
    let retry = RetryPolicy::default()
        .with_max_attempts(100)
        .with_initial_delay(std::time::Duration::from_micros(200))
        .with_max_delay(std::time::Duration::from_millis(5));
    let shared = Arc::new(Repository::<Player, _>::new(store.clone()).with_retry(retry));
    shared
        .execute(create(id))
        .await
        .unwrap_or_else(|error| panic!("{error}"));
    let mut tasks = Vec::new();
    let barrier = Arc::new(tokio::sync::Barrier::new(TASKS as usize));
    for task in 0..TASKS {
        let repository = if task % 2 == 0 {
            shared.clone()
        } else {
            Arc::new(Repository::<Player, _>::new(store.clone()).with_retry(retry))
        };
        let barrier = barrier.clone();
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            for _ in 0..EACH {
                repository
                    .execute(gain(id, 100))
                    .await
                    .unwrap_or_else(|error| panic!("a command was lost: {error}"));
            }
        }));
    }
    for task in tasks {
        task.await
            .unwrap_or_else(|error| panic!("a task failed: {error}"));
    }
    let player = Repository::<Player, _>::new(store.clone())
        .load(&id)
        .await
        .unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(player.state.xp, TASKS * EACH * 100, "an update was lost");
    assert_eq!(
        player.state.level,
        crate::testing::model::level_of(TASKS * EACH * 100)
    );
    let versions: Vec<u64> = whole_stream(store, &stream_of(id))
        .await
        .iter()
        .map(|event| event.version.get())
        .collect();
    assert_eq!(versions, (1..=versions.len() as u64).collect::<Vec<_>>());
}

/// A command run twice under one idempotency key (a redelivered policy event, a client
/// retry) records its events once; the second run returns what the first recorded.
pub async fn idempotent_command_is_applied_once<S: ConformanceStore>(store: S) {
    let id = player_id();
    let key = Uuid::new_v4();
    for cache in [0, 100] {
        let players = Repository::<Player, _>::new(store.clone()).with_cache_capacity(cache);
        if cache == 0 {
            players
                .execute(create(id))
                .await
                .unwrap_or_else(|error| panic!("{error}"));
        }
        let context = CommandContext::default().with_idempotency_key(key);
        let first = players
            .execute_with(gain(id, 1_200), context.clone())
            .await
            .unwrap_or_else(|error| panic!("{error}"));
        let version = store
            .stream_version(&stream_of(id))
            .await
            .unwrap_or_else(|error| panic!("{error}"));
        let second = players
            .execute_with(gain(id, 1_200), context)
            .await
            .unwrap_or_else(|error| panic!("{error}"));
        assert!(
            second.already_applied,
            "the second run must report it was already applied"
        );
        let ids =
            |events: &[crate::envelope::RecordedEvent<crate::testing::model::PlayerEvent>]| {
                events
                    .iter()
                    .map(|event| event.event_id)
                    .collect::<Vec<_>>()
            };
        if cache == 0 {
            assert!(!first.already_applied);
            assert_eq!(
                first.events.len(),
                2,
                "1200 xp from level 1 records xp and a level-up"
            );
            assert_eq!(ids(&first.events), ids(&second.events));
        }
        assert_eq!(
            store.stream_version(&stream_of(id)).await.ok(),
            Some(version),
            "the second run wrote events"
        );
    }
    let player = Repository::<Player, _>::new(store.clone())
        .load(&id)
        .await
        .unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(player.state.xp, 1_200, "the xp was awarded more than once");
}

/// The same keyed command run by two repositories at the same moment (a policy event
/// redelivered while its first delivery is still running, two instances of one service) is
/// applied once: one run records its events, the other gets that run's result
/// (`already_applied`, the same events at the same versions), and the xp is awarded once.
///
/// The calls interleave through [`Interleaved`]; the check fails if no round raced (the
/// second run never reached an append), since it would then have proved nothing.
pub async fn keyed_command_is_applied_once_under_concurrency<S: ConformanceStore>(store: S) {
    const ROUNDS: u64 = 40;
    let store = Interleaved::new(store);
    let repositories = [
        Arc::new(Repository::<Player, _>::new(store.clone())),
        Arc::new(Repository::<Player, _>::new(store.clone())),
    ];
    let mut raced = 0;
    for round in 0..ROUNDS {
        let id = player_id();
        repositories[(round % 2) as usize]
            .execute(create(id))
            .await
            .unwrap_or_else(|error| panic!("{error}"));
        let context = CommandContext::default().with_idempotency_key(Uuid::new_v4());
        let appends_before = store.seen().appends;
        let barrier = Arc::new(tokio::sync::Barrier::new(2));
        let runs = repositories.clone().map(|repository| {
            let (barrier, context) = (barrier.clone(), context.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                repository.execute_with(gain(id, 150), context).await
            })
        });
        let mut results = Vec::new();
        for run in runs {
            let result = run
                .await
                .unwrap_or_else(|error| panic!("a run panicked: {error}"))
                .unwrap_or_else(|error| panic!("a keyed command failed: {error}"));
            results.push(result);
        }
        if store.seen().appends - appends_before > 1 {
            raced += 1;
        }
        let fresh = results
            .iter()
            .filter(|result| !result.already_applied)
            .count();
        assert_eq!(
            fresh, 1,
            "round {round}: {fresh} of 2 concurrent runs of one keyed command say they applied it"
        );
        let placed = |result: &crate::repository::Committed<crate::testing::model::PlayerEvent>| {
            result
                .events
                .iter()
                .map(|event| (event.event_id, event.version))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            placed(&results[0]),
            placed(&results[1]),
            "round {round}: the two runs report different events"
        );
        let player = Repository::<Player, _>::new(store.clone())
            .load(&id)
            .await
            .unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(
            player.state.xp, 150,
            "round {round}: the xp was awarded more than once"
        );
    }
    assert!(
        raced > 0,
        "no round of {ROUNDS} raced (the second run never reached an append): the check proved nothing"
    );
}

/// Bad input is a typed error that names what was wrong, and leaves the store as it was:
/// invalid stream ids, payloads that are not JSON, an unknown event type or a payload that
/// no longer decodes in a stream, a command the aggregate rejects. (An aggregate id that makes
/// an over-long stream id is refused before any store is asked; the core's tests cover it.)
pub async fn bad_input_is_typed_and_changes_nothing<S: ConformanceStore>(store: S) {
    assert!(matches!(StreamId::new(""), Err(NameError::Empty { .. })));
    assert!(matches!(
        StreamId::new("x".repeat(300)),
        Err(NameError::TooLong { len: 300, .. })
    ));
    assert!(matches!(
        StreamId::new("a\0b"),
        Err(NameError::ControlCharacter { .. })
    ));
    assert!(matches!(
        Payload::from_json_slice(b"{oops"),
        Err(PayloadError::InvalidJson(_))
    ));

    let players = Repository::<Player, _>::new(store.clone()).with_cache_capacity(0);
    let head = store
        .head_position()
        .await
        .unwrap_or_else(|error| panic!("{error}"));
    let ghost = player_id();
    match players.execute(gain(ghost, 10)).await {
        Err(CommandError::Rejected {
            stream_id,
            source: PlayerError::NotFound,
        }) => {
            assert_eq!(stream_id, stream_of(ghost));
        }
        other => panic!("a command on a missing player must be rejected, got {other:?}"),
    }
    assert_eq!(
        store.head_position().await.ok(),
        Some(head),
        "refused commands wrote events"
    );

    for (event_type, json, unknown) in [
        ("player_renamed", r#"{"name":"x"}"#, true),
        ("xp_gained", r#"{"amount":"lots"}"#, false),
    ] {
        let id = player_id();
        let stream_id = stream_of(id);
        players
            .execute(create(id))
            .await
            .unwrap_or_else(|error| panic!("{error}"));
        store
            .append(
                &stream_id,
                ExpectedVersion::Exact(Version::new(1)),
                &[raw_event("player", event_type, json)],
            )
            .await
            .unwrap_or_else(|error| panic!("{error}"));
        let before = whole_stream(&store, &stream_id).await;
        match players.execute(gain(id, 10)).await {
            Err(CommandError::Decode(error)) => {
                assert_eq!(error.stream_id, stream_id);
                assert_eq!(error.version, Version::new(2));
                assert_eq!(error.event_type, event_type);
                let message = error.to_string();
                assert!(
                    message.contains(stream_id.as_str()) && message.contains(event_type),
                    "{message}"
                );
                match (*error.failure, unknown) {
                    (DecodeFailure::UnknownType { .. }, true)
                    | (DecodeFailure::Payload(_), false) => {}
                    (failure, _) => panic!("wrong failure for `{event_type}`: {failure}"),
                }
            }
            other => panic!("an undecodable event must be a Decode error, got {other:?}"),
        }
        assert!(
            players.load(&id).await.is_err(),
            "loading must fail the same way"
        );
        assert_eq!(
            whole_stream(&store, &stream_id).await,
            before,
            "a failed command changed the stream"
        );
    }
}
