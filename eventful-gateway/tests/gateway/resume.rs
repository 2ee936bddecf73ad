//! Resume by position: no gap and no duplicate across a reconnect, while events keep being
//! appended; a position the store does not have is refused.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use eventful_core::{EventStore, Position};
use eventful_gateway::{ErrorCode, Topic};

use crate::support::*;

const WRITES: u64 = 600;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_reconnects_with_its_last_position_misses_nothing_and_gets_nothing_twice() {
    let store = memory();
    for amount in 1..=20 {
        append(&store, "player-7", amount).await; // history from before the gateway
    }
    let served = Served::start(store.clone(), settings()).await;
    let written = Arc::new(AtomicU64::new(20));
    let writer = {
        let (store, written) = (store.clone(), Arc::clone(&written));
        tokio::spawn(async move {
            for amount in 21..=WRITES {
                append(&store, "player-7", amount).await;
                append(&store, "player-8", amount).await; // someone else's, in between
                written.store(amount, Ordering::Release);
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        })
    };

    // From the start of history while the writer runs: catch-up hands over to live.
    let mut client = served.client("7").await;
    client
        .subscribe("me", stream("player-7"), Some(Position::START))
        .await;
    let mut amounts = Vec::new();
    let mut last = Position::START;
    while amounts.len() < 100 {
        let (_, event) = client.event().await;
        assert!(event.position > last, "in position order");
        last = event.position;
        amounts.push(event.payload["amount"].as_u64().expect("an amount"));
    }
    drop(client); // the connection drops
    let seen = amounts[amounts.len() - 1];
    while written.load(Ordering::Acquire) < seen + 30 {
        tokio::time::sleep(Duration::from_millis(5)).await; // events the client misses
    }

    let mut client = served.client("7").await;
    let at_reconnect = written.load(Ordering::Acquire);
    assert_eq!(
        client.subscribe("me", stream("player-7"), Some(last)).await,
        last
    );
    while amounts.last() != Some(&WRITES) {
        let (_, event) = client.event().await;
        assert!(event.position > last, "in position order");
        last = event.position;
        amounts.push(event.payload["amount"].as_u64().expect("an amount"));
    }
    writer.await.expect("the writer ran");
    assert!(
        at_reconnect < WRITES,
        "the reconnect raced the writer: {at_reconnect} of {WRITES} written then"
    );
    assert_eq!(
        amounts,
        (1..=WRITES).collect::<Vec<_>>(),
        "every event once, in order"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_type_subscription_resumes_across_streams() {
    let store = memory();
    let served = Served::start(store.clone(), settings()).await;
    let mut positions = Vec::new();
    for n in 1..=6 {
        append(&store, &format!("player-{n}"), n).await;
        positions.push(
            append_typed(
                &store,
                &format!("leaderboard-{}", n % 2),
                "leaderboard_changed",
                n,
            )
            .await,
        );
    }
    let mut client = served.client("7").await;
    let board = Topic::EventType("leaderboard_changed".into());
    client.subscribe("board", board, Some(positions[1])).await;
    for expected in &positions[2..] {
        assert_eq!(client.event().await.1.position, *expected);
    }
    let live = append_typed(&store, "leaderboard-0", "leaderboard_changed", 7).await;
    assert_eq!(client.event().await.1.position, live);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_position_past_the_end_of_the_log_is_refused() {
    let store = memory();
    append(&store, "player-7", 1).await;
    let served = Served::start(store.clone(), settings()).await;
    let mut client = served.client("7").await;
    let head = store.head_position().await.expect("a head");
    client
        .send(&subscribe(
            "me",
            stream("player-7"),
            Some(Position::new(head.get() + 100)),
        ))
        .await;
    let (code, message, subscription) = client.error().await;
    assert_eq!(code, ErrorCode::PositionUnavailable, "{message}");
    assert_eq!(subscription.as_deref(), Some("me"));
    // The refused subscription left nothing behind: the same id starts afresh.
    client.subscribe("me", stream("player-7"), Some(head)).await;
    let position = append(&store, "player-7", 2).await;
    assert_eq!(client.event().await.1.position, position);
}
