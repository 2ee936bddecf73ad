//! matchmaking completed → session started → world initialized; session ended with scores →
//! game completed for each player → xp → level-up with rewards; and the achievements on the
//! side. One correlation id from the first event to the last; each causation id the id of
//! the event that caused it.

use std::time::Duration;

use eventful_core::RecordedEvent;
use eventful_examples::game_mode::GameMode;
use eventful_examples::game_session::{EndReason, GameSessionEvent, PlayerScore};
use eventful_examples::ids::{PlayerId, SessionId};
use eventful_examples::integration::GameCompletedEvent;
use eventful_examples::player::{PlayerEvent, reward_for_level};
use eventful_examples::read_models::SessionOutcome;

use crate::support::{backend, events_of, matchmake, the_event};

fn caused(event: &RecordedEvent, by: &RecordedEvent) {
    assert_eq!(
        event.metadata.causation_id,
        Some(by.event_id),
        "{} {} should be caused by {} {}",
        event.stream_id,
        event.event_type,
        by.stream_id,
        by.event_type
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_match_carries_one_correlation_id_from_matchmaking_to_the_level_up() {
    let backend = backend(3).await;
    let store = &backend.store;
    let (correlation, published) = matchmake(store, 1, &[1, 2], GameMode::Tournament).await;
    backend.bus.wait_until_settled().await.expect("settled");

    let matched = the_event(store, "matchmaking-1", "matchmaking_completed").await;
    assert_eq!(matched.event_id, published.event_ids[0]);
    let started = the_event(store, "game_session-1", "session_started").await;
    assert_eq!(started.version.get(), 1);
    caused(&started, &matched);
    let world = the_event(store, "game_world-1", "game_world_initialize").await;
    caused(&world, &started);
    let world_payload = world.payload.to_value().expect("json");
    assert_eq!(world_payload["player_count"], 2);
    assert!(backend.game_server.has_loaded(SessionId(1)));

    // Player 1 wins a tournament with 900: 150 + 90 + 250 = 490 xp, past level 2 (300);
    // `first_win` adds 200, which levels up no one whichever comes first (200 < 300, 690 < 900).
    let scores = vec![
        PlayerScore {
            player_id: PlayerId(1),
            score: 900,
        },
        PlayerScore {
            player_id: PlayerId(2),
            score: 200,
        },
    ];
    let ended = backend
        .game_server
        .finish(
            SessionId(1),
            scores,
            Duration::from_secs(600),
            EndReason::Completed,
        )
        .await
        .expect("the session ends");
    assert_eq!(ended.version.get(), 2);
    let GameSessionEvent::Ended { duration_secs, .. } = &ended.events[0].payload else {
        panic!("{:?}", ended.events)
    };
    assert!(*duration_secs >= 600, "{duration_secs}");
    backend.bus.wait_until_settled().await.expect("settled");

    let ended = the_event(store, "game_session-1", "session_ended").await;
    caused(&ended, &world);
    let results = events_of(store, "game_completed").await;
    assert_eq!(results.len(), 2);
    let results: Vec<_> = results
        .iter()
        .map(|event| {
            caused(event, &ended);
            let decoded: GameCompletedEvent = event.payload.decode().expect("decodes");
            (decoded.player_id.0, decoded.placement, event.clone())
        })
        .collect();
    assert_eq!((results[0].0, results[0].1), (1, 1));
    assert_eq!((results[1].0, results[1].1), (2, 2));

    // player-1: created (v1), then the game's stats and level-up, and two achievements.
    let history = backend
        .players
        .players()
        .history(&PlayerId(1))
        .await
        .expect("history");
    let from_game: Vec<_> = history
        .iter()
        .filter(|event| event.metadata.causation_id == Some(results[0].2.event_id))
        .collect();
    assert_eq!(from_game.len(), 2, "{history:?}");
    assert!(matches!(
        from_game[0].payload,
        PlayerEvent::StatsUpdated { .. }
    ));
    assert_eq!(
        from_game[1].payload,
        PlayerEvent::LeveledUp {
            old_level: 1,
            new_level: 2,
            rewards: vec![reward_for_level(2)],
        }
    );
    let versions: Vec<_> = history.iter().map(|event| event.version.get()).collect();
    assert_eq!(versions, (1..=history.len() as u64).collect::<Vec<_>>());

    let achievements = events_of(store, "achievement_unlocked").await;
    assert_eq!(achievements.len(), 1, "first_win");
    for unlocked in &achievements {
        caused(unlocked, &results[0].2);
        let granted = history
            .iter()
            .find(|event| event.metadata.causation_id == Some(unlocked.event_id))
            .expect("each achievement granted");
        assert!(matches!(granted.payload, PlayerEvent::StatsUpdated { .. }));
    }

    // Everything after the sign-ups belongs to the match.
    for event in crate::support::log(store).await {
        if event.stream_id.as_str().starts_with("player-") && event.version.get() == 1 {
            continue;
        }
        assert_eq!(
            event.metadata.correlation_id,
            Some(correlation),
            "{} v{} {}",
            event.stream_id,
            event.version,
            event.event_type
        );
    }

    let standings = backend.read_models.leaderboard.current().standings();
    assert_eq!(
        (standings[0].player_id, standings[0].level),
        (PlayerId(1), 2)
    );
    assert!(backend.read_models.active_sessions.list().is_empty());
    let history = backend.read_models.session_history.of(PlayerId(1));
    assert_eq!(
        history[0].outcome,
        SessionOutcome::Finished {
            score: 900,
            placement: 1
        }
    );
    assert_eq!(backend.read_models.session_history.of(PlayerId(3)), vec![]);
}
