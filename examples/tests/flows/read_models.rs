//! The read models: fed by hand with `ProjectionFeed`, and rebuilt from the log.

use chrono::DateTime;
use eventful_core::EventStore;
use eventful_core::test_kit::ProjectionFeed;
use eventful_examples::game_mode::GameMode;
use eventful_examples::game_session::{EndReason, GameSessionEvent, LeaveReason, PlayerScore};
use eventful_examples::ids::{PlayerId, SessionId};
use eventful_examples::player::{PlayerEvent, PlayerStats, StatsChange, StatsReason};
use eventful_examples::programs::game_backend::{Backend, ReadModels};
use eventful_examples::read_models::{
    ActiveSessions, Leaderboard, SessionHistory, SessionOutcome, SessionRecord,
};
use eventful_store_memory::MemoryStore;

use crate::support::{backend, settings};

fn created(id: u64, name: &str) -> PlayerEvent {
    PlayerEvent::Created {
        player_id: PlayerId(id),
        name: name.into(),
        email: format!("{name}@example.com"),
        stats: PlayerStats::default(),
    }
}

fn xp(total: u64) -> PlayerEvent {
    PlayerEvent::StatsUpdated {
        changes: StatsChange::default(),
        stats: PlayerStats {
            xp: total,
            ..PlayerStats::default()
        },
        reason: StatsReason::AchievementUnlocked {
            achievement_id: "first_win".into(),
        },
    }
}

fn started(id: u64, players: &[u64]) -> GameSessionEvent {
    GameSessionEvent::Started {
        session_id: SessionId(id),
        players: players.iter().copied().map(PlayerId).collect(),
        mode: GameMode::Ranked,
        settings: settings(),
        started_at: DateTime::UNIX_EPOCH,
    }
}

#[tokio::test]
async fn the_leaderboard_orders_by_level_then_xp() {
    let mut feed = ProjectionFeed::new(Leaderboard::default());
    feed.feed("player-1", [created(1, "ana"), xp(800)]).await;
    feed.feed("player-2", [created(2, "bo"), xp(350)]).await;
    feed.feed(
        "player-2",
        [PlayerEvent::LeveledUp {
            old_level: 1,
            new_level: 2,
            rewards: vec![],
        }],
    )
    .await;
    feed.feed("player-3", [created(3, "chen"), xp(900)]).await;
    let standings: Vec<_> = feed
        .projection()
        .standings()
        .into_iter()
        .map(|entry| (entry.name, entry.level, entry.xp))
        .collect();
    assert_eq!(
        standings,
        [
            ("bo".into(), 2, 350),
            ("chen".into(), 1, 900),
            ("ana".into(), 1, 800)
        ]
    );
}

#[tokio::test]
async fn active_sessions_and_histories_follow_joins_leaves_and_ends() {
    let ended = GameSessionEvent::Ended {
        final_scores: vec![PlayerScore {
            player_id: PlayerId(1),
            score: 40,
        }],
        ended_at: DateTime::UNIX_EPOCH,
        duration_secs: 0,
        reason: EndReason::Completed,
    };
    let events = [
        started(1, &[1, 2]),
        GameSessionEvent::PlayerJoined {
            player_id: PlayerId(3),
        },
        GameSessionEvent::PlayerLeft {
            player_id: PlayerId(2),
            reason: LeaveReason::Quit,
        },
    ];
    let mut active = ProjectionFeed::new(ActiveSessions::default());
    active.feed("game_session-1", events.clone()).await;
    active.feed("game_session-2", [started(2, &[4])]).await;
    let running = active.projection().list();
    assert_eq!(running.len(), 2);
    assert_eq!(running[0].players, [PlayerId(1), PlayerId(3)].into());
    active.feed("game_session-1", [ended.clone()]).await;
    assert_eq!(active.projection().list()[0].session_id, SessionId(2));

    let mut history = ProjectionFeed::new(SessionHistory::default());
    history.feed("game_session-1", events).await;
    history.feed("game_session-1", [ended]).await;
    let record = |outcome| {
        vec![SessionRecord {
            session_id: SessionId(1),
            mode: GameMode::Ranked,
            outcome,
        }]
    };
    let histories = history.projection();
    assert_eq!(
        histories.of(PlayerId(1)),
        record(SessionOutcome::Finished {
            score: 40,
            placement: 1
        })
    );
    assert_eq!(
        histories.of(PlayerId(2)),
        record(SessionOutcome::Left(LeaveReason::Quit))
    );
    assert_eq!(histories.of(PlayerId(3)), record(SessionOutcome::Unscored));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_models_rebuilt_from_the_log_match_the_running_ones() {
    let backend = backend(6).await;
    let roster: Vec<_> = (1..=6).map(PlayerId).collect();
    backend.play(&roster, 4, 3).await.expect("played");
    backend.bus.wait_until_settled().await.expect("settled");
    let running = backend.read_models.views();
    assert_eq!(running.standings.len(), 6);
    assert_eq!(
        running.active_sessions.len(),
        1,
        "the last match is still played"
    );

    let (rebuilt, reached) = ReadModels::rebuilt(&backend.store).await.expect("rebuilt");
    assert_eq!(rebuilt.views(), running);
    let names: Vec<_> = reached.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names, ["leaderboard", "active_sessions", "session_history"]);
}

/// The trap of one checkpoint store for every handler: a bus restarted on a saved-and-loaded
/// store would find its durable checkpoints done and leave in-memory read models empty. Read
/// models keep volatile progress, so they are full again; policies keep durable progress, so
/// they do not run again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bus_restarted_on_a_saved_store_fills_every_read_model_and_reruns_no_policy() {
    let backend = backend(6).await;
    let roster: Vec<_> = (1..=6).map(PlayerId).collect();
    backend.play(&roster, 4, 3).await.expect("played");
    backend.bus.wait_until_settled().await.expect("settled");
    let before = backend.read_models.views();
    let head = backend.store.head_position().await.expect("head");
    let path =
        std::env::temp_dir().join(format!("eventful-restart-{}.jsonl", uuid::Uuid::new_v4()));
    backend.store.save_to(&path).expect("saved");
    backend.bus.stop().await;

    let loaded = MemoryStore::load_from(&path).expect("loaded");
    std::fs::remove_file(&path).ok();
    let restarted = Backend::start(loaded).expect("the bus starts again");
    let settled = restarted.bus.wait_until_settled().await.expect("settled");
    assert_eq!(
        restarted.read_models.views(),
        before,
        "a read model was left empty or short"
    );
    assert_eq!(before.standings.len(), 6);
    assert_eq!(
        settled, head,
        "a policy ran again on the restarted bus and recorded events"
    );
}
