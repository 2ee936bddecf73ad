//! What one connection may ask of the gateway: how many topics, and how much of the store
//! its resumes may read.

use eventful_core::Position;
use eventful_gateway::{ErrorCode, ServerFrame, Topic};

use crate::support::*;

fn board() -> Topic {
    Topic::EventType("leaderboard_changed".into())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sse_topics_count_once_each_against_the_limit() {
    let store = memory();
    let served = Served::start(store.clone(), settings().with_max_subscriptions(2)).await;
    let good = token("7");

    // Named three times, followed once: one confirmation, each event once.
    let query = format!(
        "token={good}&stream=player-7&stream=player-7&event_type=leaderboard_changed&stream=player-7"
    );
    let mut events = SseClient::open(&served.sse_url(&query), None)
        .await
        .expect("two topics are within the limit");
    assert!(matches!(events.frame().await, ServerFrame::Welcome { .. }));
    let mut confirmed = Vec::new();
    for _ in 0..2 {
        match events.frame().await {
            ServerFrame::Subscribed { topic, .. } => confirmed.push(topic),
            other => panic!("expected subscribed, got {other:?}"),
        }
    }
    assert_eq!(confirmed, [stream("player-7"), board()]);
    let mine = append(&store, "player-7", 1).await;
    let theirs = append_typed(&store, "leaderboard-1", "leaderboard_changed", 1).await;
    for expected in [mine, theirs] {
        match events.frame().await {
            ServerFrame::Event { event, .. } => assert_eq!(event.position, expected),
            other => panic!("expected an event, got {other:?}"),
        }
    }

    // Three distinct topics are one too many.
    let query = format!(
        "token={good}&stream=player-7&event_type=leaderboard_changed&stream=game_session-1"
    );
    let Err((status, body)) = SseClient::open(&served.sse_url(&query), None).await else {
        panic!("three topics accepted");
    };
    assert_eq!(status, 400, "{body}");
    match serde_json::from_str(&body).expect("a frame") {
        ServerFrame::Error { code, .. } => assert_eq!(code, ErrorCode::TooManySubscriptions),
        other => panic!("{other:?}"),
    }

    // Over WebSocket the limit counts subscriptions, one topic each.
    let mut client = served.client("7").await;
    client.subscribe("me", stream("player-7"), None).await;
    client.subscribe("board", board(), None).await;
    client
        .send(&subscribe("again", stream("player-7"), None))
        .await;
    assert_eq!(client.error().await.0, ErrorCode::TooManySubscriptions);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resumes_past_the_connections_catch_up_budget_are_refused_before_their_events_are_read() {
    let store = memory();
    for amount in 1..=8 {
        append(&store, "player-7", amount).await; // positions 1..=8
    }
    for amount in 1..=12 {
        append_typed(&store, "leaderboard-1", "leaderboard_changed", amount).await; // 9..=20
    }
    let served = Served::start(store.clone(), settings().with_catch_up_budget(10)).await;
    let mut client = served.client("7").await;

    // The board from 0 reads the log from 0 to 20: 20 events, past a budget of 10.
    client
        .send(&subscribe("board", board(), Some(Position::START)))
        .await;
    let (code, message, subscription) = client.error().await;
    assert_eq!(code, ErrorCode::PositionUnavailable, "{message}");
    assert_eq!(subscription.as_deref(), Some("board"));
    assert!(message.contains("catch-up budget"), "{message}");
    // The player's own stream from 0 reads its 8 events: within the budget.
    client
        .subscribe("me", stream("player-7"), Some(Position::START))
        .await;
    for expected in 1..=8 {
        assert_eq!(client.event().await.1.position, Position::new(expected));
    }
    // The board from 17 reads 3 positions, past the 2 left.
    client
        .send(&subscribe("board", board(), Some(Position::new(17))))
        .await;
    assert!(matches!(
        client.frame().await,
        ServerFrame::Error {
            code: ErrorCode::PositionUnavailable,
            ..
        }
    ));
    // From 18, 2 positions: what is left.
    client
        .subscribe("board", board(), Some(Position::new(18)))
        .await;
    for expected in [19, 20] {
        assert_eq!(client.event().await.1.position, Position::new(expected));
    }
    // Live costs nothing, and a new connection has a budget of its own.
    client.subscribe("live", stream("player-7"), None).await;
    let mut again = served.client("7").await;
    again
        .subscribe("me", stream("player-7"), Some(Position::START))
        .await;
    assert_eq!(again.event().await.1.position, Position::new(1));
}
