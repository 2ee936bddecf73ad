//! The command path as a user drives it: cache, retries, snapshots, upcasting, replay.

mod common;

use std::sync::Arc;

use common::{Player, PlayerCommand, PlayerError, PlayerEvent};
use eventful_core::prelude::*;
use eventful_core::{
    CommandError, DecodeFailure, NewEvent, Payload, RetryPolicy, Snapshot, SnapshotStore,
    StoreError, Upcasters,
};
use eventful_store_memory::MemoryStore;
use serde_json::json;
use uuid::Uuid;

fn id() -> String {
    Uuid::new_v4().simple().to_string()
}

/// A new player, created through a repository of its own; returns its id.
async fn created_player(store: &MemoryStore) -> String {
    let player = id();
    Repository::<Player, _>::new(store.clone())
        .execute(PlayerCommand::create(&player))
        .await
        .expect("created");
    player
}

fn stream(id: &str) -> StreamId {
    Player::stream_id(&id.to_owned()).expect("valid")
}

#[tokio::test]
async fn a_command_records_events_with_versions_positions_and_the_context() {
    let store = MemoryStore::new();
    let players = Repository::<Player, _>::new(store.clone());
    let player = id();
    players
        .execute(PlayerCommand::create(&player))
        .await
        .expect("created");
    let correlation = Uuid::new_v4();
    let context = CommandContext::default()
        .with_correlation_id(correlation)
        .with_entry("client", "ios");
    let committed = players
        .execute_with(PlayerCommand::gain(&player, 1_500), context)
        .await
        .expect("committed");
    assert_eq!(committed.version, Version::new(3));
    assert!(!committed.already_applied);
    let kinds: Vec<_> = committed
        .events
        .iter()
        .map(|e| e.event_type.as_str())
        .collect();
    assert_eq!(kinds, ["xp_gained", "leveled_up"]);
    assert_eq!(
        committed.events[1].payload,
        PlayerEvent::LeveledUp { from: 1, to: 2 }
    );
    assert_eq!(committed.events[0].version, Version::new(2));
    assert_eq!(
        committed.events[1].position,
        committed.events[0].position.next()
    );

    let stored = store
        .read_stream(&stream(&player), Version::new(2), 10)
        .await
        .expect("reads");
    assert_eq!(stored.len(), 2);
    for (stored, committed) in stored.iter().zip(&committed.events) {
        assert_eq!(stored.event_id, committed.event_id);
        assert_eq!(stored.position, committed.position);
        assert_eq!(stored.recorded_at, committed.recorded_at);
        assert_eq!(stored.metadata.correlation_id, Some(correlation));
        assert_eq!(stored.metadata.extra["client"], "ios");
    }
}

#[tokio::test]
async fn a_rejection_is_typed_and_writes_nothing() {
    let store = MemoryStore::new();
    let players = Repository::<Player, _>::new(store.clone());
    let player = id();
    match players.execute(PlayerCommand::gain(&player, 5)).await {
        Err(CommandError::Rejected { stream_id, source }) => {
            assert_eq!(stream_id, stream(&player));
            assert_eq!(source, PlayerError::NotFound);
        }
        other => panic!("expected a rejection, got {other:?}"),
    }
    players
        .execute(PlayerCommand::create(&player))
        .await
        .expect("created");
    let err = players
        .execute(PlayerCommand::create(&player))
        .await
        .expect_err("twice");
    assert!(err.to_string().contains("already exists"), "{err}");
    assert_eq!(
        store.stream_version(&stream(&player)).await.ok(),
        Some(Version::new(1))
    );
}

#[tokio::test]
async fn a_command_that_decides_nothing_commits_nothing() {
    let store = MemoryStore::new();
    let players = Repository::<Player, _>::new(store.clone());
    let player = id();
    players
        .execute(PlayerCommand::create(&player))
        .await
        .expect("created");
    let same_name = PlayerCommand::Rename {
        player_id: player.clone(),
        name: format!("Player {player}"),
    };
    let committed = players.execute(same_name).await.expect("nothing to do");
    assert!(committed.events.is_empty());
    assert_eq!(committed.version, Version::new(1));
    assert_eq!(store.head_position().await.ok(), Some(Position::new(1)));
}

#[tokio::test]
async fn a_stale_cache_costs_a_retry_not_a_wrong_decision() {
    let store = MemoryStore::new();
    let here = Repository::<Player, _>::new(store.clone());
    let elsewhere = Repository::<Player, _>::new(store.clone());
    let player = id();
    here.execute(PlayerCommand::create(&player))
        .await
        .expect("created");
    here.execute(PlayerCommand::gain(&player, 900))
        .await
        .expect("900");
    // Another process awards xp; `here` still caches version 2 with 900 xp.
    elsewhere
        .execute(PlayerCommand::gain(&player, 50))
        .await
        .expect("950");
    let committed = here
        .execute(PlayerCommand::gain(&player, 100))
        .await
        .expect("1050");
    assert_eq!(
        committed.events.last().map(|e| &e.payload),
        Some(&PlayerEvent::LeveledUp { from: 1, to: 2 }),
        "the decision must see the other process's xp"
    );
    let player_state = here.load(&player).await.expect("loads");
    assert_eq!(
        (player_state.state.xp, player_state.version),
        (1050, Version::new(5))
    );
}

#[tokio::test]
async fn a_conflict_after_the_last_attempt_is_reported_with_both_versions() {
    let store = MemoryStore::new();
    let impatient = Repository::<Player, _>::new(store.clone()).with_retry(RetryPolicy::never());
    let other = Repository::<Player, _>::new(store.clone());
    let player = id();
    impatient
        .execute(PlayerCommand::create(&player))
        .await
        .expect("created");
    other
        .execute(PlayerCommand::gain(&player, 10))
        .await
        .expect("moved on");
    match impatient.execute(PlayerCommand::gain(&player, 10)).await {
        Err(CommandError::Conflict {
            stream_id,
            expected,
            actual,
            attempts,
        }) => {
            assert_eq!(stream_id, stream(&player));
            assert_eq!(expected, ExpectedVersion::Exact(Version::new(1)));
            assert_eq!(actual, Version::new(2));
            assert_eq!(attempts, 1);
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    // The failed attempt left the cache clean: the next command works on fresh state.
    let committed = impatient
        .execute(PlayerCommand::gain(&player, 10))
        .await
        .expect("fresh");
    assert_eq!(committed.version, Version::new(3));
}

#[tokio::test]
async fn concurrent_tasks_on_one_player_all_commit() {
    let store = MemoryStore::new();
    let players = Arc::new(
        Repository::<Player, _>::new(store.clone())
            .with_retry(RetryPolicy::default().with_max_attempts(50)),
    );
    let player = id();
    players
        .execute(PlayerCommand::create(&player))
        .await
        .expect("created");
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let players = players.clone();
            let player = player.clone();
            tokio::spawn(async move {
                for _ in 0..10 {
                    players
                        .execute(PlayerCommand::gain(&player, 25))
                        .await
                        .expect("commits");
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("task");
    }
    assert_eq!(players.load(&player).await.expect("loads").state.xp, 2_000);
}

#[tokio::test]
async fn snapshots_are_taken_at_each_multiple_and_loading_uses_them() {
    let store = MemoryStore::new();
    let players = Repository::<Player, _>::new(store.clone())
        .with_snapshots(store.clone(), 5)
        .with_cache_capacity(0);
    let player = id();
    players
        .execute(PlayerCommand::create(&player))
        .await
        .expect("created");
    for _ in 0..3 {
        players
            .execute(PlayerCommand::gain(&player, 10))
            .await
            .expect("gain");
    }
    assert!(
        store
            .load_snapshot(&stream(&player))
            .await
            .expect("reads")
            .is_none(),
        "4 events: none yet"
    );
    players
        .execute(PlayerCommand::gain(&player, 2_000))
        .await
        .expect("gain");
    let snapshot = store
        .load_snapshot(&stream(&player))
        .await
        .expect("reads")
        .expect("taken");
    assert_eq!(
        snapshot.version,
        Version::new(6),
        "the append crossing 5 ends at 6"
    );
    assert_eq!(snapshot.revision, Player::SNAPSHOT_REVISION);
    let state: Player = snapshot.payload.decode().expect("decodes");
    assert_eq!(state.xp, 2_030);
    assert_eq!(players.load(&player).await.expect("loads").state, state);
}

#[tokio::test]
async fn load_at_and_history_replay_the_past() {
    let store = MemoryStore::new();
    let players = Repository::<Player, _>::new(store.clone()).with_snapshots(store.clone(), 2);
    let player = id();
    players
        .execute(PlayerCommand::create(&player))
        .await
        .expect("created");
    for amount in [400, 400, 400] {
        players
            .execute(PlayerCommand::gain(&player, amount))
            .await
            .expect("gain");
    }
    let then = players
        .load_at(&player, Version::new(3))
        .await
        .expect("loads");
    assert_eq!(
        (then.version, then.state.xp, then.state.level),
        (Version::new(3), 800, 1)
    );
    let beyond = players
        .load_at(&player, Version::new(99))
        .await
        .expect("loads");
    assert_eq!(beyond.version, Version::new(5));
    let history = players.history(&player).await.expect("reads");
    let versions: Vec<_> = history.iter().map(|e| e.version.get()).collect();
    assert_eq!(versions, [1, 2, 3, 4, 5]);
    assert_eq!(
        history[4].payload,
        PlayerEvent::LeveledUp { from: 1, to: 2 }
    );
}

async fn append_raw(
    store: &MemoryStore,
    player: &str,
    event_type: &'static str,
    version: u32,
    json: serde_json::Value,
) {
    let event = NewEvent::new(
        TypeName::from_static("player"),
        TypeName::from_static(event_type),
        version,
        Payload::encode(&json).expect("json"),
    );
    store
        .append(&stream(player), ExpectedVersion::Any, &[event])
        .await
        .expect("appends");
}

#[tokio::test]
async fn upcasters_read_old_shapes_and_renamed_types_without_rewriting_them() {
    let store = MemoryStore::new();
    let player = created_player(&store).await;
    // Written by an older build: `renamed` v1 had `name`, and xp used to be `points_awarded`.
    append_raw(&store, &player, "renamed", 1, json!({"name": "Ana"})).await;
    append_raw(&store, &player, "points_awarded", 1, json!({"points": 70})).await;

    let plain = Repository::<Player, _>::new(store.clone());
    match plain.load(&player).await {
        Err(eventful_core::LoadError::Decode(error)) => {
            assert_eq!(error.version, Version::new(2));
            assert!(
                matches!(*error.failure, DecodeFailure::Payload(_)),
                "{error}"
            );
        }
        other => panic!("without upcasters the old shape must not decode, got {other:?}"),
    }

    let upcasters = Upcasters::new()
        .register(TypeName::from_static("renamed"), 1, |mut payload| {
            let name = payload["name"].take();
            Ok(json!({ "display_name": name }))
        })
        .register_renaming(
            TypeName::from_static("points_awarded"),
            1,
            TypeName::from_static("xp_gained"),
            |payload| Ok(json!({ "amount": payload["points"] })),
        );
    let upcasting = Repository::<Player, _>::new(store.clone()).with_upcasters(upcasters);
    let loaded = upcasting.load(&player).await.expect("upcast");
    assert_eq!(loaded.state.name.as_deref(), Some("Ana"));
    assert_eq!(loaded.state.xp, 70);
    let stored = store
        .read_stream(&stream(&player), Version::new(2), 10)
        .await
        .expect("reads");
    assert_eq!(stored[0].event_type, "renamed");
    assert_eq!(
        stored[0].schema_version, 1,
        "stored data is never rewritten"
    );
    assert_eq!(
        stored[1].payload.to_value().expect("json"),
        json!({"points": 70})
    );
}

#[tokio::test]
async fn an_upcaster_that_fails_is_a_decode_error_naming_the_event() {
    let store = MemoryStore::new();
    let player = created_player(&store).await;
    append_raw(&store, &player, "renamed", 1, json!({"nom": "Ana"})).await;
    let upcasters =
        Upcasters::new().register(TypeName::from_static("renamed"), 1, |payload| match payload
            .get("name")
        {
            Some(name) => Ok(json!({ "display_name": name })),
            None => Err("a v1 rename has no `name`".into()),
        });
    let players = Repository::<Player, _>::new(store.clone()).with_upcasters(upcasters);
    let error = players.load(&player).await.expect_err("refused");
    let message = error.to_string();
    assert!(
        message.contains("renamed") && message.contains("version 2"),
        "{message}"
    );
    assert!(message.contains("no `name`"), "{message}");
}

#[tokio::test]
async fn an_idempotency_key_makes_a_retried_command_a_no_op() {
    let store = MemoryStore::new();
    let players = Repository::<Player, _>::new(store.clone());
    let player = id();
    players
        .execute(PlayerCommand::create(&player))
        .await
        .expect("created");
    let context = CommandContext::default().with_idempotency_key(Uuid::new_v4());
    let first = players
        .execute_with(PlayerCommand::gain(&player, 10), context.clone())
        .await
        .expect("first");
    let again = players
        .execute_with(PlayerCommand::gain(&player, 10), context)
        .await
        .expect("again");
    assert!(again.already_applied);
    assert_eq!(again.events, first.events);
    assert_eq!(players.load(&player).await.expect("loads").state.xp, 10);
}

#[tokio::test]
async fn an_aggregate_id_that_makes_an_invalid_stream_id_is_refused_before_the_store() {
    let store = MemoryStore::new();
    let players = Repository::<Player, _>::new(store.clone());
    match players
        .execute(PlayerCommand::gain(&"x".repeat(300), 10))
        .await
    {
        Err(CommandError::InvalidId(eventful_core::NameError::TooLong { len, max, .. })) => {
            assert_eq!((len, max), (307, 255), "`player-` and 300 bytes");
        }
        other => panic!("expected InvalidId, got {other:?}"),
    }
    assert!(matches!(
        players.load(&"bad\nid".to_owned()).await,
        Err(eventful_core::LoadError::InvalidId(
            eventful_core::NameError::ControlCharacter { .. }
        ))
    ));
    assert_eq!(store.head_position().await.ok(), Some(Position::START));
}

#[tokio::test]
async fn an_empty_or_blank_id_is_refused_and_writes_nothing() {
    let store = MemoryStore::new();
    let players = Repository::<Player, _>::new(store.clone());
    for blank in ["", " ", "\u{3000}"] {
        match players.execute(PlayerCommand::create(blank)).await {
            Err(CommandError::InvalidId(eventful_core::NameError::BlankId { aggregate_type })) => {
                assert_eq!(aggregate_type, "player");
            }
            other => panic!("expected InvalidId for {blank:?}, got {other:?}"),
        }
        assert!(matches!(
            players.load(&blank.to_owned()).await,
            Err(eventful_core::LoadError::InvalidId(
                eventful_core::NameError::BlankId { .. }
            ))
        ));
    }
    // Any id type: what counts is what its Display renders.
    struct Nameless;
    impl std::fmt::Display for Nameless {
        fn fmt(&self, _: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            Ok(())
        }
    }
    assert!(matches!(
        StreamId::for_aggregate("clan", &Nameless),
        Err(eventful_core::NameError::BlankId { .. })
    ));
    assert_eq!(store.head_position().await.ok(), Some(Position::START));
}

/// A snapshot store that refuses every snapshot, as MongoDB refuses a state holding an integer
/// above `i64::MAX`.
struct RefusingSnapshots;

impl SnapshotStore for RefusingSnapshots {
    async fn save_snapshot(&self, snapshot: Snapshot) -> Result<(), StoreError> {
        Err(StoreError::Unstorable {
            stream_id: snapshot.stream_id,
            source: "integer above i64::MAX".into(),
        })
    }

    async fn load_snapshot(&self, _: &StreamId) -> Result<Option<Snapshot>, StoreError> {
        Ok(None)
    }
}

#[tokio::test]
async fn snapshots_that_cannot_be_saved_are_counted_not_silent() {
    let store = MemoryStore::new();
    let players = Repository::<Player, _>::new(store.clone()).with_snapshots(RefusingSnapshots, 2);
    let player = id();
    players
        .execute(PlayerCommand::create(&player))
        .await
        .expect("created");
    for _ in 0..3 {
        players
            .execute(PlayerCommand::gain(&player, 10))
            .await
            .expect("a failed snapshot does not fail the command");
    }
    let health = players.snapshot_health().expect("snapshots are on");
    assert_eq!(
        (health.saved, health.failed),
        (0, 2),
        "due at versions 2 and 4"
    );
    let failure = health.last_failure.expect("the last failure is kept");
    assert_eq!(failure.stream_id, stream(&player));
    assert_eq!(failure.version, Version::new(4));
    assert!(matches!(
        *failure.error,
        eventful_core::repository::SnapshotError::Store(StoreError::Unstorable { .. })
    ));
    let working = Repository::<Player, _>::new(store.clone()).with_snapshots(store.clone(), 2);
    working
        .execute(PlayerCommand::gain(&player, 10))
        .await
        .expect("gained");
    let health = working.snapshot_health().expect("snapshots are on");
    assert_eq!(
        (health.saved, health.failed),
        (0, 0),
        "version 5 crosses no multiple of 2"
    );
    working
        .execute(PlayerCommand::gain(&player, 10))
        .await
        .expect("gained");
    assert_eq!(working.snapshot_health().map(|h| h.saved), Some(1));
    assert!(
        Repository::<Player, _>::new(store)
            .snapshot_health()
            .is_none()
    );
}

/// A snapshot store that answers, for every stream, a snapshot far ahead of it: what a
/// snapshot collection restored from a newer backup than the events would hold.
struct AheadSnapshots;

impl SnapshotStore for AheadSnapshots {
    async fn save_snapshot(&self, _: Snapshot) -> Result<(), StoreError> {
        Ok(())
    }

    async fn load_snapshot(&self, stream_id: &StreamId) -> Result<Option<Snapshot>, StoreError> {
        Ok(Some(Snapshot {
            stream_id: stream_id.clone(),
            aggregate_type: Player::TYPE,
            version: Version::new(50),
            revision: Player::SNAPSHOT_REVISION,
            taken_at: chrono::Utc::now(),
            payload: Payload::encode(&json!({"name": "ahead", "xp": 9_999, "level": 10}))
                .expect("encodes"),
        }))
    }
}

#[tokio::test]
async fn a_snapshot_beyond_its_stream_is_ignored_and_the_stream_replayed() {
    let store = MemoryStore::new();
    let player = created_player(&store).await;
    let players = Repository::<Player, _>::new(store.clone())
        .with_snapshots(AheadSnapshots, 100)
        .with_cache_capacity(0);
    players
        .execute(PlayerCommand::gain(&player, 10))
        .await
        .expect("a command on the true state");
    let loaded = players.load(&player).await.expect("loads");
    assert_eq!(loaded.version, Version::new(2), "the stream's own version");
    assert_eq!(
        loaded.state.xp, 10,
        "the state of the events, not of the snapshot"
    );
}

#[tokio::test]
async fn consumers_get_the_typed_id_back_and_load_takes_a_borrowed_id() {
    let store = MemoryStore::new();
    let player = created_player(&store).await;
    let players = Repository::<Player, _>::new(store.clone());
    let by_str = players.load(player.as_str()).await.expect("loads by &str");
    assert_eq!(by_str.version, Version::new(1));
    let event = &players.history(&player).await.expect("history")[0];
    assert_eq!(
        event.aggregate_id::<Player>().expect("a player stream"),
        player
    );
    let foreign = StreamId::new("clan-7").expect("valid");
    assert!(matches!(
        Player::id_of(&foreign),
        Err(eventful_core::AggregateIdError::OtherAggregate { .. })
    ));
    let rejected = players
        .execute(PlayerCommand::create(&player))
        .await
        .expect_err("exists already");
    assert!(rejected.rejection().is_some(), "{rejected:?}");
}

#[tokio::test]
async fn snapshots_may_live_in_a_store_of_their_own() {
    let events = MemoryStore::new();
    let snapshots = MemoryStore::new();
    let players = Repository::<Player, _>::new(events.clone())
        .with_snapshots(snapshots.clone(), 2)
        .with_cache_capacity(0);
    let player = created_player(&events).await;
    for _ in 0..3 {
        players
            .execute(PlayerCommand::gain(&player, 10))
            .await
            .expect("gained");
    }
    let health = players.snapshot_health().expect("snapshots are on");
    assert_eq!((health.saved, health.failed), (2, 0), "{health:?}");
    let kept = snapshots
        .load_snapshot(&stream(&player))
        .await
        .expect("reads")
        .expect("kept");
    assert_eq!(kept.version, Version::new(4));
    assert_eq!(players.load(&player).await.expect("loads").state.xp, 30);
}

/// A command whose task is dropped after its append landed, while it waits on its snapshot
/// (a client gone, a request timed out), never puts its state back: the next command on the
/// aggregate, through the same repository, starts from the store, not from the state before
/// the dropped one's events (which would cost it a conflict and a retry).
#[tokio::test]
async fn a_command_dropped_after_its_append_leaves_no_stale_state_cached() {
    use eventful_core::testing::interleave::Interleaved;

    let store = MemoryStore::new();
    let events = Interleaved::new(store.clone());
    let players = Repository::<Player, _>::new(events.clone())
        .with_snapshots(Interleaved::new(store.clone()), 1);
    let player = created_player(&store).await;
    players
        .execute(PlayerCommand::gain(&player, 10))
        .await
        .expect("gained, and cached at version 2");

    let mut dropped = Box::pin(players.execute(PlayerCommand::gain(&player, 10)));
    loop {
        assert!(
            futures::poll!(dropped.as_mut()).is_pending(),
            "the command waits on its snapshot once its events are stored"
        );
        if store.stream_version(&stream(&player)).await.expect("reads") == Version::new(3) {
            break;
        }
    }
    drop(dropped);

    let committed = players
        .execute(PlayerCommand::gain(&player, 10))
        .await
        .expect("gained");
    assert_eq!(committed.version, Version::new(4));
    assert_eq!(
        events.seen().conflicts,
        0,
        "the command after the dropped one started from the store's state"
    );
    assert_eq!(players.load(&player).await.expect("loads").state.xp, 30);
}
