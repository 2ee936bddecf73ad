//! A disconnect → the player leaves with reason "disconnected"; a late one changes nothing.

use std::time::Duration;

use eventful_core::CommandContext;
use eventful_examples::game_mode::GameMode;
use eventful_examples::game_session::{EndReason, GameSession, GameSessionEvent, LeaveReason};
use eventful_examples::ids::{PlayerId, SessionId};
use eventful_examples::integration::{PlayerDisconnectedEvent, topics};
use eventful_examples::publish::Publisher;
use eventful_examples::read_models::SessionOutcome;
use eventful_examples::store::shared;

use crate::support::{backend, matchmake, the_event, versions};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disconnected_player_leaves_the_session() {
    let backend = backend(3).await;
    let store = &backend.store;
    matchmake(store, 1, &[1, 2, 3], GameMode::Casual).await;
    backend.bus.wait_until_settled().await.expect("settled");

    let gateway = Publisher::new(shared(store.clone()), topics::GATEWAY);
    let dropped = PlayerDisconnectedEvent {
        player_id: PlayerId(2),
        session_id: SessionId(1),
    };
    gateway
        .publish(
            &PlayerId(2),
            std::slice::from_ref(&dropped),
            &CommandContext::default(),
        )
        .await
        .expect("published");
    backend.bus.wait_until_settled().await.expect("settled");

    let disconnected = the_event(store, "gateway-2", "player_disconnected").await;
    let left = the_event(store, "game_session-1", "player_left").await;
    assert_eq!(left.version.get(), 2);
    assert_eq!(left.metadata.causation_id, Some(disconnected.event_id));
    let history = backend
        .sessions
        .sessions()
        .history(&SessionId(1))
        .await
        .expect("history");
    assert_eq!(
        history[1].payload,
        GameSessionEvent::PlayerLeft {
            player_id: PlayerId(2),
            reason: LeaveReason::Disconnected,
        }
    );
    let session = backend.read_models.active_sessions.list();
    assert_eq!(session[0].players, [PlayerId(1), PlayerId(3)].into());
    assert_eq!(
        backend.read_models.session_history.of(PlayerId(2))[0].outcome,
        SessionOutcome::Left(LeaveReason::Disconnected)
    );

    // The same disconnect again, then one after the end: nothing changes, the bus goes on.
    backend
        .game_server
        .finish(
            SessionId(1),
            vec![],
            Duration::from_secs(60),
            EndReason::Abandoned,
        )
        .await
        .expect("ended");
    backend.bus.wait_until_settled().await.expect("settled");
    let before = versions(store).await;
    gateway
        .publish(&PlayerId(2), &[dropped], &CommandContext::default())
        .await
        .expect("published");
    let dropped_late = PlayerDisconnectedEvent {
        player_id: PlayerId(3),
        session_id: SessionId(1),
    };
    gateway
        .publish(&PlayerId(3), &[dropped_late], &CommandContext::default())
        .await
        .expect("published");
    backend.bus.wait_until_settled().await.expect("settled");
    let mut after = versions(store).await;
    after.remove("gateway-3");
    *after.get_mut("gateway-2").expect("gateway-2") -= 1;
    assert_eq!(after, before, "only the gateway's own streams grew");
    let session = backend
        .sessions
        .sessions()
        .load(&SessionId(1))
        .await
        .expect("loads");
    assert!(matches!(session.state, GameSession::Ended(_)));
}
