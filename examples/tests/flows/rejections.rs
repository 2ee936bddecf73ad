//! What the rules refuse: a clear, typed error, and nothing else changes.

use chrono::Utc;
use eventful_core::{BusError, CommandContext, CommandError};
use eventful_examples::game_mode::GameMode;
use eventful_examples::game_session::{
    EndReason, GameSessionCommand, GameSessionError, PlayerScore,
};
use eventful_examples::ids::{PlayerId, SessionId};
use eventful_examples::integration::{GameCompletedEvent, topics};
use eventful_examples::player::{PlayerCommand, PlayerError};
use eventful_examples::publish::Publisher;
use eventful_examples::store::shared;

use crate::support::{backend, matchmake, versions};

fn end(session: u64, scores: &[(u64, u64)]) -> GameSessionCommand {
    GameSessionCommand::End {
        session_id: SessionId(session),
        final_scores: scores
            .iter()
            .map(|&(player, score)| PlayerScore {
                player_id: PlayerId(player),
                score,
            })
            .collect(),
        ended_at: Utc::now() + chrono::Duration::minutes(10),
        reason: EndReason::Completed,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn joining_twice_ending_twice_and_ending_an_unknown_session_change_nothing() {
    let backend = backend(3).await;
    let store = &backend.store;
    matchmake(store, 1, &[1, 2], GameMode::Ranked).await;
    backend.bus.wait_until_settled().await.expect("settled");
    let sessions = backend.sessions.sessions();

    let before = versions(store).await;
    let join_again = GameSessionCommand::Join {
        session_id: SessionId(1),
        player_id: PlayerId(2),
    };
    let error = sessions.execute(join_again).await.expect_err("refused");
    assert!(
        matches!(
            &error,
            CommandError::Rejected {
                source: GameSessionError::AlreadyJoined { session_id: SessionId(1), player_id: PlayerId(2) },
                stream_id,
            } if stream_id.as_str() == "game_session-1"
        ),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "stream `game_session-1` rejected the command: player 2 is already in session 1"
    );
    let error = sessions.execute(end(7, &[])).await.expect_err("refused");
    assert!(
        matches!(
            error,
            CommandError::Rejected {
                source: GameSessionError::UnknownSession(SessionId(7)),
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(versions(store).await, before);

    sessions
        .execute(end(1, &[(1, 300), (2, 100)]))
        .await
        .expect("the first end is accepted");
    backend.bus.wait_until_settled().await.expect("settled");
    let before = versions(store).await;
    let error = sessions.execute(end(1, &[])).await.expect_err("refused");
    assert!(
        matches!(
            error,
            CommandError::Rejected {
                source: GameSessionError::AlreadyEnded(SessionId(1)),
                ..
            }
        ),
        "{error:?}"
    );
    let join_late = GameSessionCommand::Join {
        session_id: SessionId(1),
        player_id: PlayerId(3),
    };
    let error = sessions.execute(join_late).await.expect_err("refused");
    assert!(matches!(
        error,
        CommandError::Rejected {
            source: GameSessionError::AlreadyEnded(_),
            ..
        }
    ));
    backend.bus.wait_until_settled().await.expect("settled");
    assert_eq!(versions(store).await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_game_result_for_an_unknown_player_is_refused_by_the_player_service() {
    let backend = backend(2).await;
    let store = &backend.store;
    let before = versions(store).await;
    let result = PlayerCommand::RecordGameResult {
        player_id: PlayerId(99),
        session_id: SessionId(1),
        mode: GameMode::Ranked,
        score: 500,
        placement: 1,
    };
    let error = backend
        .players
        .players()
        .execute(result)
        .await
        .expect_err("refused");
    assert!(
        matches!(
            &error,
            CommandError::Rejected {
                source: PlayerError::UnknownPlayer(PlayerId(99)),
                stream_id,
            } if stream_id.as_str() == "player-99"
        ),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "stream `player-99` rejected the command: there is no player 99"
    );
    assert_eq!(versions(store).await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_game_result_for_an_unknown_player_is_parked_and_replayed_once_fixed() {
    let backend = backend(2).await;
    let store = &backend.store;
    let before = versions(store).await;
    let results = Publisher::new(shared(store.clone()), topics::GAME_RESULTS);
    let result = |player: u64, session: u64| GameCompletedEvent {
        player_id: PlayerId(player),
        session_id: SessionId(session),
        mode: GameMode::Casual,
        score: 10,
        placement: 2,
    };
    let stray = results
        .publish(&SessionId(5), &[result(99, 5)], &CommandContext::default())
        .await
        .expect("published");
    results
        .publish(&SessionId(6), &[result(1, 6)], &CommandContext::default())
        .await
        .expect("published");

    // The poison result is parked with its error; the one after it is handled.
    backend
        .bus
        .wait_until_settled()
        .await
        .expect("the policy goes on");
    let parked = backend
        .bus
        .parked("award_game_results")
        .await
        .expect("listed");
    assert_eq!(parked.len(), 1, "{parked:?}");
    assert_eq!(parked[0].event_id, stray.event_ids[0]);
    assert_eq!(parked[0].event_type, "game_completed");
    assert_eq!(parked[0].stream_id.as_str(), "game_results-5");
    assert!(
        parked[0]
            .error
            .contains("stream `player-99` rejected the command: there is no player 99"),
        "{}",
        parked[0].error
    );
    let mut after = versions(store).await;
    assert_eq!(after.remove("game_results-5"), Some(1));
    assert_eq!(after.remove("game_results-6"), Some(1));
    assert!(
        after.get("player-1") > before.get("player-1"),
        "the result after the poison one was handled"
    );
    after.remove("player-1");
    let mut unchanged = before.clone();
    unchanged.remove("player-1");
    assert_eq!(after, unchanged, "no player stream was created or changed");

    // A replay before the cause is fixed fails again and keeps it parked.
    let again = backend
        .bus
        .replay_parked("award_game_results", stray.event_ids[0])
        .await
        .expect_err("still no player 99");
    assert!(matches!(again, BusError::HandlerFailed(_)), "{again:?}");
    let parked = backend
        .bus
        .parked("award_game_results")
        .await
        .expect("listed");
    assert_eq!(parked[0].attempts, 4, "three attempts, then the replay");

    // Fixed (player 99 signs up), the replay awards the result once.
    backend
        .players
        .sign_up(
            PlayerId(99),
            "Late",
            "late@example.com",
            CommandContext::default(),
        )
        .await
        .expect("signed up");
    backend
        .bus
        .replay_parked("award_game_results", stray.event_ids[0])
        .await
        .expect("replayed");
    assert!(
        backend
            .bus
            .parked("award_game_results")
            .await
            .expect("listed")
            .is_empty()
    );
    let version = versions(store).await["player-99"];
    assert!(version > 1, "the result was recorded");
    assert!(matches!(
        backend
            .bus
            .replay_parked("award_game_results", stray.event_ids[0])
            .await,
        Err(BusError::NotParked { .. })
    ));
    backend.bus.wait_until_settled().await.expect("settled");
    assert_eq!(versions(store).await["player-99"], version, "replayed once");
}
