//! The bus as a user drives it: subscriptions, failures, restarts, rebuilds, policies.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use common::{GameCompletedEvent, Player, PlayerCommand, PlayerEvent, publish_game_completed};
use eventful_core::prelude::*;
use eventful_core::testing::faults::FaultyStore;
use eventful_core::{BusError, CheckpointStore, RetryPolicy, Upcasters, projection};
use eventful_store_memory::MemoryStore;
use parking_lot::Mutex;

fn quick_retry() -> RetryPolicy {
    RetryPolicy::default()
        .with_max_attempts(3)
        .with_initial_delay(std::time::Duration::from_millis(1))
}

/// Player `id` created, then gaining each of `gains`, through the returned repository.
async fn player_with_xp(
    store: &MemoryStore,
    id: &str,
    gains: &[u64],
) -> Repository<Player, MemoryStore> {
    let players = Repository::<Player, _>::new(store.clone());
    players
        .execute(PlayerCommand::create(id))
        .await
        .expect("created");
    for &amount in gains {
        players
            .execute(PlayerCommand::gain(id, amount))
            .await
            .expect("xp");
    }
    players
}

#[tokio::test]
async fn typed_and_named_subscribers_get_their_events_in_order() {
    let store = MemoryStore::new();
    let players = player_with_xp(&store, "a", &[1_200]).await;
    publish_game_completed(&store, "m1", "a", 50).await;

    let typed = Arc::new(Mutex::new(Vec::new()));
    let named = Arc::new(Mutex::new(Vec::new()));
    let mut bus = EventBus::new(store.clone(), store.clone());
    {
        let typed = typed.clone();
        bus.subscribe::<PlayerEvent, _, _>("player_log", move |event| {
            let typed = typed.clone();
            async move {
                typed.lock().push((event.version.get(), event.payload));
                Ok::<(), BoxError>(())
            }
        });
    }
    {
        let named = named.clone();
        bus.subscribe_named(["game_completed", "leveled_up"], "by_name", move |event| {
            let named = named.clone();
            async move {
                named.lock().push(event.event_type.to_string());
                Ok::<(), BoxError>(())
            }
        });
    }
    let listed: Vec<_> = bus.handlers().map(|(name, _)| name.to_owned()).collect();
    assert_eq!(listed, ["player_log", "by_name"]);
    let running = bus.start().expect("starts");
    running.wait_until_caught_up().await.expect("caught up");
    assert_eq!(
        *typed.lock(),
        [
            (
                1,
                PlayerEvent::Created {
                    name: "Player a".into()
                }
            ),
            (2, PlayerEvent::XpGained { amount: 1_200 }),
            (3, PlayerEvent::LeveledUp { from: 1, to: 2 }),
        ]
    );
    assert_eq!(*named.lock(), ["leveled_up", "game_completed"]);

    // Live: a new append reaches the running subscribers.
    players
        .execute(PlayerCommand::gain("a", 10))
        .await
        .expect("xp");
    running.wait_until_caught_up().await.expect("caught up");
    assert_eq!(typed.lock().len(), 4);
    running.shutdown().await;
}

#[tokio::test]
async fn a_failing_handler_stops_before_the_event_reports_it_and_resumes_after_restart() {
    let store = MemoryStore::new();
    player_with_xp(&store, "a", &[10, 20]).await;

    let broken = Arc::new(AtomicBool::new(true));
    let attempts = Arc::new(AtomicU32::new(0));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let mut bus = EventBus::new(store.clone(), store.clone()).with_retry(quick_retry());
    {
        let (broken, attempts, seen) = (broken.clone(), attempts.clone(), seen.clone());
        bus.subscribe::<PlayerEvent, _, _>("fragile", move |event| {
            let (broken, attempts, seen) = (broken.clone(), attempts.clone(), seen.clone());
            async move {
                if event.version == Version::new(2) && broken.load(Ordering::SeqCst) {
                    attempts.fetch_add(1, Ordering::SeqCst);
                    return Err::<(), BoxError>("the leaderboard service is down".into());
                }
                seen.lock().push(event.version.get());
                Ok(())
            }
        });
    }
    bus.subscribe::<PlayerEvent, _, _>("healthy", |_| async { Ok::<(), BoxError>(()) });
    let mut running = bus.start().expect("starts");
    match running.wait_until_caught_up().await {
        Err(error @ BusError::HandlerFailed(_)) => {
            let BusError::HandlerFailed(failure) = &error else {
                unreachable!()
            };
            assert_eq!(failure.handler, "fragile");
            assert_eq!(failure.version, Version::new(2));
            assert_eq!(failure.event_type, "xp_gained");
            assert_eq!(failure.attempts, 3);
            assert!(failure.to_string().contains("leaderboard service is down"));
            let source = std::error::Error::source(&error).map(ToString::to_string);
            assert!(
                source.is_some_and(|source| source.contains("leaderboard service is down")),
                "the bus error's source chain reaches the handler's own error"
            );
        }
        other => panic!("expected the failure to be reported, got {other:?}"),
    }
    assert_eq!(attempts.load(Ordering::SeqCst), 3);
    assert_eq!(*seen.lock(), [1]);
    assert_eq!(
        store.segments("fragile").await.expect("reads")[0].position,
        Position::new(1),
        "the saved position stays before the failed event"
    );
    let healthy = running
        .status()
        .await
        .expect("status")
        .into_iter()
        .find(|s| s.name == "healthy")
        .expect("listed");
    assert!(
        healthy.failure.is_none(),
        "one handler's failure does not stop the others"
    );

    broken.store(false, Ordering::SeqCst);
    running.restart("fragile").await.expect("restarts");
    running
        .wait_until_caught_up()
        .await
        .expect("caught up after the fix");
    assert_eq!(*seen.lock(), [1, 2, 3], "nothing lost, nothing twice");
    running.shutdown().await;
}

#[tokio::test]
async fn handler_names_are_checked_at_start() {
    let store = MemoryStore::new();
    let mut twice = EventBus::new(store.clone(), store.clone());
    twice.subscribe::<PlayerEvent, _, _>("same", |_| async { Ok::<(), BoxError>(()) });
    twice.subscribe::<PlayerEvent, _, _>("same", |_| async { Ok::<(), BoxError>(()) });
    assert!(matches!(twice.start(), Err(BusError::DuplicateName(name)) if name == "same"));

    let mut invalid = EventBus::new(store.clone(), store.clone());
    invalid.subscribe_named([""], "blank", |_| async { Ok::<(), BoxError>(()) });
    let error = invalid.start().err().expect("refused");
    assert!(
        matches!(error, BusError::InvalidEventType { .. }),
        "{error}"
    );
    assert!(error.to_string().contains("blank"), "{error}");
}

#[derive(Default)]
struct XpBoard {
    xp: Mutex<BTreeMap<String, u64>>,
    resets: AtomicU32,
}

#[async_trait]
impl Projection for XpBoard {
    type Event = PlayerEvent;

    fn name(&self) -> &str {
        "xp_board"
    }

    async fn apply(&self, event: &RecordedEvent<PlayerEvent>) -> Result<(), BoxError> {
        if let PlayerEvent::XpGained { amount } = event.payload {
            *self
                .xp
                .lock()
                .entry(event.stream_id.to_string())
                .or_default() += amount;
        }
        Ok(())
    }

    async fn reset(&self) -> Result<(), BoxError> {
        self.resets.fetch_add(1, Ordering::SeqCst);
        self.xp.lock().clear();
        Ok(())
    }
}

#[tokio::test]
async fn a_projection_follows_the_log_and_rebuilds_to_the_same_state() {
    let store = MemoryStore::new();
    let players = Repository::<Player, _>::new(store.clone());
    for (player, amount) in [("a", 10), ("b", 20), ("a", 30)] {
        if players
            .load(&player.to_owned())
            .await
            .expect("loads")
            .version
            == Version::NONE
        {
            players
                .execute(PlayerCommand::create(player))
                .await
                .expect("created");
        }
        players
            .execute(PlayerCommand::gain(player, amount))
            .await
            .expect("xp");
    }
    let board = Arc::new(XpBoard::default());
    let mut bus = EventBus::new(store.clone(), store.clone());
    bus.projection(board.clone());
    let mut running = bus.start().expect("starts");
    running.wait_until_caught_up().await.expect("caught up");
    let live = board.xp.lock().clone();
    assert_eq!(live.get("player-a"), Some(&40));
    assert_eq!(live.get("player-b"), Some(&20));

    running.rebuild("xp_board").await.expect("rebuilds");
    running.wait_until_caught_up().await.expect("caught up");
    assert_eq!(board.resets.load(Ordering::SeqCst), 1);
    assert_eq!(
        *board.xp.lock(),
        live,
        "a rebuild gives the same read model"
    );

    let fresh = XpBoard::default();
    let reached = projection::rebuild(&store, &Upcasters::new(), &fresh)
        .await
        .expect("rebuilt");
    assert_eq!(reached, store.head_position().await.expect("head"));
    assert_eq!(*fresh.xp.lock(), live);
    running.shutdown().await;
}

struct AwardXp {
    players: Arc<Repository<Player, MemoryStore>>,
}

#[async_trait]
impl Policy for AwardXp {
    type Event = GameCompletedEvent;

    fn name(&self) -> &str {
        "award_xp"
    }

    async fn react(
        &self,
        event: &RecordedEvent<GameCompletedEvent>,
        reaction: &Reaction,
    ) -> Result<(), BoxError> {
        let command = PlayerCommand::gain(&event.payload.player_id, event.payload.score * 10);
        self.players
            .execute_with(command, reaction.command_context())
            .await?;
        Ok(())
    }
}

#[tokio::test]
async fn a_policy_carries_correlation_and_causation_and_runs_once_per_event() {
    let store = MemoryStore::new();
    let players = Arc::new(Repository::<Player, _>::new(store.clone()));
    players
        .execute(PlayerCommand::create("p"))
        .await
        .expect("created");
    let completed = publish_game_completed(&store, "m1", "p", 120).await;

    let start_policy = || {
        let mut bus = EventBus::new(store.clone(), store.clone());
        bus.policy(AwardXp {
            players: players.clone(),
        });
        bus.start().expect("starts")
    };
    let running = start_policy();
    running.wait_until_caught_up().await.expect("caught up");
    running.shutdown().await;

    let history = players.history(&"p".to_owned()).await.expect("reads");
    let awarded: Vec<_> = history.iter().skip(1).collect();
    assert_eq!(awarded.len(), 2, "xp and a level-up: {awarded:?}");
    for event in &awarded {
        assert_eq!(event.metadata.causation_id, Some(completed.event_id));
        assert_eq!(
            event.metadata.correlation_id,
            Some(completed.event_id),
            "a root event's id starts the correlation"
        );
    }

    // A crash lost the checkpoint: the event is delivered again, and nothing is awarded twice.
    store
        .put_segments("award_xp", Vec::new())
        .await
        .expect("forgotten");
    let running = start_policy();
    running.wait_until_caught_up().await.expect("caught up");
    running.shutdown().await;
    let player = players.load(&"p".to_owned()).await.expect("loads");
    assert_eq!(player.state.xp, 1_200);
    assert_eq!(player.version, Version::new(3));
}

#[tokio::test]
async fn waiting_until_settled_covers_a_cascade_of_policies() {
    let store = MemoryStore::new();
    let players = Arc::new(Repository::<Player, _>::new(store.clone()));
    for player in ["p1", "p2", "p3"] {
        players
            .execute(PlayerCommand::create(player))
            .await
            .expect("created");
    }
    let level_ups = Arc::new(AtomicU32::new(0));
    let mut bus = EventBus::new(store.clone(), store.clone());
    bus.policy(AwardXp {
        players: players.clone(),
    });
    {
        let level_ups = level_ups.clone();
        bus.subscribe::<PlayerEvent, _, _>("level_ups", move |event| {
            let level_ups = level_ups.clone();
            async move {
                if matches!(event.payload, PlayerEvent::LeveledUp { .. }) {
                    level_ups.fetch_add(1, Ordering::SeqCst);
                }
                Ok::<(), BoxError>(())
            }
        });
    }
    let running = bus.start().expect("starts");
    for (i, player) in ["p1", "p2", "p3"].into_iter().enumerate() {
        publish_game_completed(&store, &format!("m{i}"), player, 150).await;
    }
    // game_completed → (policy) xp + level-up → (subscriber) counted: two hops after the
    // events stored when the wait starts.
    let reached = running.wait_until_settled().await.expect("settled");
    assert_eq!(reached, store.head_position().await.expect("head"));
    assert_eq!(level_ups.load(Ordering::SeqCst), 3);
    running.shutdown().await;
}

fn progress(index: u32, count: u32, position: u64) -> eventful_core::progress::SegmentProgress {
    let mut progress =
        eventful_core::progress::SegmentProgress::new(eventful_core::progress::Segment {
            index,
            count,
        });
    progress.position = Position::new(position);
    progress
}

fn positions(segments: &[eventful_core::progress::SegmentProgress]) -> Vec<(u32, u32, u64)> {
    segments
        .iter()
        .map(|s| (s.segment.index, s.segment.count, s.position.get()))
        .collect()
}

#[tokio::test]
async fn segments_are_split_exactly_merged_only_when_level_and_never_while_held() {
    use eventful_core::bus::reshape_segments;
    let store = MemoryStore::new();
    store
        .put_segments("xp", vec![progress(0, 2, 10), progress(1, 2, 7)])
        .await
        .expect("put");
    reshape_segments(&store, "xp", 4).await.expect("split");
    assert_eq!(
        positions(&store.segments("xp").await.expect("read")),
        [(0, 4, 10), (1, 4, 7), (2, 4, 10), (3, 4, 7)],
        "each new segment starts where the segment holding its streams was"
    );
    let refused = reshape_segments(&store, "xp", 1).await;
    assert!(
        matches!(refused, Err(BusError::SegmentsApart { .. })),
        "segments at 10 and 7 merged into one: {refused:?}"
    );
    assert!(matches!(
        reshape_segments(&store, "xp", 3).await,
        Err(BusError::SegmentCount { from: 4, to: 3, .. })
    ));
    reshape_segments(&store, "xp", 2)
        .await
        .expect("merged back: each pair is level");
    assert_eq!(
        positions(&store.segments("xp").await.expect("read")),
        [(0, 2, 10), (1, 2, 7)]
    );
    store
        .put_segments("xp", (0..2).map(|index| progress(index, 2, 12)).collect())
        .await
        .expect("put");
    reshape_segments(&store, "xp", 1)
        .await
        .expect("merged, all level");
    assert_eq!(
        positions(&store.segments("xp").await.expect("read")),
        [(0, 1, 12)]
    );

    let claim = eventful_core::progress::Claim {
        handler: "xp".into(),
        segment: eventful_core::progress::Segment::WHOLE,
        owner: "alive".into(),
        lease: std::time::Duration::from_secs(30),
    };
    store.claim(&claim).await.expect("claimed");
    assert!(matches!(
        reshape_segments(&store, "xp", 2).await,
        Err(BusError::SegmentInUse { owner, .. }) if owner == "alive"
    ));
    assert_eq!(
        positions(&store.segments("xp").await.expect("read")),
        [(0, 1, 12)],
        "a refusal changes nothing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bus_with_another_number_of_segments_than_stored_refuses_to_run_the_handler() {
    let store = MemoryStore::new();
    store
        .put_segments("xp_log", vec![progress(0, 2, 0), progress(1, 2, 0)])
        .await
        .expect("put");
    let mut bus = EventBus::new(store.clone(), store.clone());
    bus.subscribe::<PlayerEvent, _, _>("xp_log", |_| async { Ok::<(), BoxError>(()) });
    bus.configure(
        "xp_log",
        eventful_core::bus::HandlerSettings::durable().with_segments(3),
    );
    let running = bus.start().expect("starts");
    match running.wait_until(Position::new(1)).await {
        Err(BusError::Halted { handler, reason }) => {
            assert_eq!(handler, "xp_log");
            assert!(matches!(
                *reason,
                BusError::SegmentsChanged {
                    stored: 2,
                    configured: 3,
                    ..
                }
            ));
        }
        other => panic!("expected the handler to be halted, got {other:?}"),
    }
    let status = running.status().await.expect("status");
    assert!(status[0].halted.is_some());
    running.shutdown().await;
    assert_eq!(
        store.segments("xp_log").await.expect("read").len(),
        2,
        "nothing was changed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saved_position_past_the_head_halts_the_handler_instead_of_skipping_events() {
    let store = MemoryStore::new();
    store
        .put_segments("xp_log", vec![progress(0, 1, 1_000)])
        .await
        .expect("put");
    let mut bus = EventBus::new(store.clone(), store.clone());
    bus.subscribe::<PlayerEvent, _, _>("xp_log", |_| async { Ok::<(), BoxError>(()) });
    let running = bus.start().expect("starts");
    tokio::time::timeout(std::time::Duration::from_secs(10), async {
        while running.status().await.expect("status")[0].halted.is_none() {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("the handler halts");
    match running.wait_until(Position::new(1)).await {
        Err(BusError::Halted { reason, .. }) => assert!(
            matches!(
                &*reason,
                BusError::Store(eventful_core::StoreError::PositionBeyondHead { position, .. })
                    if *position == Position::new(1_000)
            ),
            "{reason:?}"
        ),
        other => panic!("expected the handler to be halted, got {other:?}"),
    }
    running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_outage_is_waited_out_not_parked() {
    let inner = MemoryStore::new();
    // Appends and the head fail until switched up: a database that stops answering between
    // a handler's read of the log and its write.
    let store = FaultyStore::new(inner.clone());
    store.set_writes_down(true);
    let players = Repository::<Player, _>::new(inner.clone());
    players
        .execute(PlayerCommand::create("p"))
        .await
        .expect("created");
    let mirror = StreamId::new("mirror-p").expect("valid");
    let mut bus = EventBus::new(store.clone(), MemoryStore::new())
        .with_retry(RetryPolicy::default().with_max_attempts(2));
    let writer = store.clone();
    let target = mirror.clone();
    bus.subscribe_named(["player_created"], "mirror", move |event: RecordedEvent| {
        let (writer, target) = (writer.clone(), target.clone());
        async move {
            let copy = eventful_core::NewEvent::new(
                TypeName::from_static("mirror"),
                TypeName::from_static("player_mirrored"),
                1,
                event.payload.clone(),
            )
            .with_event_id(uuid::Uuid::new_v5(&event.event_id, b"mirror"));
            writer
                .append(&target, ExpectedVersion::Any, &[copy])
                .await?;
            Ok::<(), BoxError>(())
        }
    });
    bus.configure(
        "mirror",
        eventful_core::bus::HandlerSettings::durable()
            .with_on_failure(eventful_core::bus::OnFailure::Park),
    );
    let running = bus.start().expect("starts");
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(
        inner.stream_version(&mirror).await.expect("reads"),
        Version::NONE,
        "nothing could be written while the store was down"
    );
    assert!(store.refused_writes() > 0, "the outage was met");
    store.set_writes_down(false);
    tokio::time::timeout(
        std::time::Duration::from_secs(10),
        running.wait_until_caught_up(),
    )
    .await
    .expect("caught up once the store answered")
    .expect("no handler stopped");
    assert!(
        running.parked("mirror").await.expect("listed").is_empty(),
        "an outage parked the event"
    );
    assert_eq!(
        inner.stream_version(&mirror).await.expect("reads"),
        Version::new(1)
    );
    running.shutdown().await;
}
