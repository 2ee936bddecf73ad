//! A client that does not read is disconnected as lagging while the others get every event;
//! it comes back from its last position and misses nothing.

use std::time::Duration;

use eventful_core::{EventStore, ExpectedVersion, NewEvent, Payload, Position, StreamId, TypeName};
use eventful_gateway::{CloseCode, ServerFrame, Topic};

use crate::support::*;

const EVENTS: u64 = 800;

async fn append_large(store: &impl EventStore, amount: u64) {
    let event = NewEvent::new(
        TypeName::from_static("leaderboard"),
        TypeName::from_static("leaderboard_changed"),
        1,
        Payload::encode(&serde_json::json!({ "amount": amount, "padding": "x".repeat(32 * 1024) }))
            .expect("encodes"),
    );
    let stream = StreamId::new("leaderboard-1").expect("valid");
    store
        .append(&stream, ExpectedVersion::Any, &[event])
        .await
        .expect("appends");
}

fn amount(frame: &ServerFrame) -> Option<(u64, Position)> {
    match frame {
        ServerFrame::Event { event, .. } => {
            Some((event.payload["amount"].as_u64()?, event.position))
        }
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_client_is_disconnected_while_the_others_keep_up() {
    let store = memory();
    let served = Served::start(store.clone(), settings().with_queue_capacity(128)).await;
    let board = Topic::EventType("leaderboard_changed".into());
    let mut slow = served.client("8").await;
    slow.subscribe("board", board.clone(), None).await;
    let mut fast = Vec::new();
    for subject in ["1", "2"] {
        let mut client = served.client(subject).await;
        client.subscribe("board", board.clone(), None).await;
        fast.push(tokio::spawn(async move {
            let mut seen = Vec::new();
            while seen.last() != Some(&EVENTS) {
                let frame = client.frame().await;
                let (amount, _) =
                    amount(&frame).unwrap_or_else(|| panic!("a fast client got {frame:?}"));
                seen.push(amount);
            }
            seen
        }));
    }
    for n in 1..=EVENTS {
        append_large(&store, n).await;
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    for reader in fast {
        assert_eq!(
            reader.await.expect("read"),
            (1..=EVENTS).collect::<Vec<_>>()
        );
    }

    // The slow client reads now: what was on its way, then why it was dropped.
    let mut amounts = Vec::new();
    let mut last = Position::START;
    let (code, reason) = loop {
        let frame = slow.frame().await;
        if let Some((n, position)) = amount(&frame) {
            amounts.push(n);
            last = position;
            continue;
        }
        match frame {
            ServerFrame::Closing { code, reason } => break (code, reason),
            other => panic!("expected events then closing, got {other:?}"),
        }
    };
    assert_eq!(code, CloseCode::Lagging, "{reason}");
    assert!(amounts.len() < EVENTS as usize, "dropped before the end");
    assert_eq!(
        amounts,
        (1..=amounts.len() as u64).collect::<Vec<_>>(),
        "no gap before the drop"
    );

    let mut again = served.client("8").await;
    again.subscribe("board", board, Some(last)).await;
    while amounts.last() != Some(&EVENTS) {
        let frame = again.frame().await;
        amounts.push(amount(&frame).unwrap_or_else(|| panic!("{frame:?}")).0);
    }
    assert_eq!(
        amounts,
        (1..=EVENTS).collect::<Vec<_>>(),
        "resumed with no gap, no duplicate"
    );
}
