//! A session on its own: the gateway's shared state on a memory store, the hub fed by hand,
//! and the session driven one poll at a time, so that a test decides exactly what has
//! happened when.

use std::sync::atomic::AtomicUsize;

use eventful_core::testing::faults::{FaultyStore, StreamReadFault};
use eventful_core::{
    DynEventStore, EventStore, ExpectedVersion, NewEvent, Payload, StreamId, TypeName,
};
use eventful_store_memory::MemoryStore;
use futures::FutureExt;
use tokio::sync::{Notify, watch};

use super::*;
use crate::access::Rules;
use crate::auth::TokenVerifier;
use crate::gateway::GatewaySettings;
use crate::hub::Hub;
use crate::hub::tests::event;

fn settings() -> GatewaySettings {
    let verifier = TokenVerifier::hs256(b"secret").expect("a key");
    GatewaySettings::new(
        verifier,
        Rules::own_stream("player").with_public_event_type("leaderboard_changed"),
    )
}

/// What every connection of a gateway on `store` shares, its follower standing at `head`
/// (which the tests move by hand with [`Hub::dispatch`]).
fn shared(
    store: impl EventStore + 'static,
    head: Position,
    settings: GatewaySettings,
) -> Arc<Shared> {
    let store: Arc<dyn DynEventStore> = Arc::new(store);
    Arc::new(Shared {
        hub: Arc::new(Hub::new(head, settings.queue_capacity)),
        store,
        settings,
        closing: watch::channel(None).0,
        open_sessions: AtomicUsize::new(0),
        all_closed: Notify::new(),
    })
}

fn claims() -> Claims {
    Claims::new("7", Utc::now() + chrono::Duration::hours(1))
}

fn subscribe_frame(id: &str, topic: &str, after: Option<u64>) -> String {
    let topic = match topic.strip_prefix("type:") {
        Some(event_type) => serde_json::json!({ "event_type": event_type }),
        None => serde_json::json!({ "stream": topic }),
    };
    serde_json::json!({ "type": "subscribe", "id": id, "topic": topic, "after": after }).to_string()
}

/// Every step the session can take without waiting, up to a close.
fn ready_steps(session: &mut Session) -> Vec<Step> {
    let mut steps = Vec::new();
    while let Some(step) = session.next_step().now_or_never() {
        let closed = matches!(step, Step::Close(_));
        steps.push(step);
        if closed {
            break;
        }
    }
    steps
}

/// The `type` of each frame sent, `close:<code>` for a close.
fn kinds(steps: &[Step]) -> Vec<String> {
    steps
        .iter()
        .map(|step| match step {
            Step::Send(outgoing) => {
                let frame: serde_json::Value = serde_json::from_str(&outgoing.json).expect("JSON");
                frame["type"].as_str().expect("a type").to_owned()
            }
            Step::Close(closing) => format!("close:{:?}", closing.code),
        })
        .collect()
}

#[tokio::test]
async fn a_subscription_asked_for_after_the_hub_dropped_the_connection_is_not_confirmed() {
    let shared = shared(
        MemoryStore::new(),
        Position::START,
        settings().with_queue_capacity(2),
    );
    let mut session = Session::open(Arc::clone(&shared), claims(), Transport::WebSocket);
    session
        .on_text(&subscribe_frame("me", "player-7", None))
        .await;
    assert_eq!(kinds(&ready_steps(&mut session)), ["welcome", "subscribed"]);

    // The client reads nothing while three events come: one more than its queue holds.
    for position in 1..=3 {
        shared
            .hub
            .dispatch(&event("player-7", "xp_gained", position));
    }
    assert!(!shared.hub.is_connected(session.connection), "dropped");
    session
        .on_text(&subscribe_frame("board", "type:leaderboard_changed", None))
        .await;
    assert_eq!(
        kinds(&ready_steps(&mut session)),
        ["event", "event", "close:Lagging"],
        "what was queued, then the close: no `subscribed` naming a position nothing follows"
    );
}

#[tokio::test]
async fn live_events_held_by_a_catching_up_subscription_count_against_the_one_queue() {
    const CAPACITY: usize = 4;
    // Stream reads that never answer: a catch-up that stays in progress.
    let store = FaultyStore::new(MemoryStore::new()).with_stream_reads(StreamReadFault::Hang);
    let stream = StreamId::new("player-7").expect("valid");
    let new = NewEvent::new(
        TypeName::from_static("player"),
        TypeName::from_static("xp_gained"),
        1,
        Payload::from_json_slice(b"{}").expect("valid"),
    );
    store
        .append(&stream, ExpectedVersion::Any, &[new])
        .await
        .expect("appends");
    let shared = shared(
        store,
        Position::new(1),
        settings().with_queue_capacity(CAPACITY),
    );
    let mut session = Session::open(Arc::clone(&shared), claims(), Transport::WebSocket);
    // From the start: the catch-up reads the stream, which never answers.
    session
        .on_text(&subscribe_frame("me", "player-7", Some(0)))
        .await;
    assert_eq!(kinds(&ready_steps(&mut session)), ["welcome", "subscribed"]);

    for position in 2..2 + CAPACITY as u64 {
        shared
            .hub
            .dispatch(&event("player-7", "xp_gained", position));
    }
    // The session takes them out of its channel and holds them for after the catch-up.
    assert!(
        ready_steps(&mut session).is_empty(),
        "nothing to send while catching up"
    );
    assert!(shared.hub.is_connected(session.connection));
    // They still wait for the client: one more is one too many.
    shared
        .hub
        .dispatch(&event("player-7", "xp_gained", 2 + CAPACITY as u64));
    assert!(
        !shared.hub.is_connected(session.connection),
        "{CAPACITY} held and one more queued is past a queue of {CAPACITY}"
    );
    assert_eq!(kinds(&ready_steps(&mut session)), ["close:Lagging"]);
}

#[tokio::test]
async fn events_sent_and_events_dropped_leave_the_queue() {
    const CAPACITY: usize = 2;
    let shared = shared(
        MemoryStore::new(),
        Position::START,
        settings().with_queue_capacity(CAPACITY),
    );
    let mut session = Session::open(Arc::clone(&shared), claims(), Transport::WebSocket);
    session
        .on_text(&subscribe_frame("me", "player-7", None))
        .await;
    ready_steps(&mut session);
    // Many times the capacity, each sent before the next: the queue never fills.
    for position in 1..=10 * CAPACITY as u64 {
        shared
            .hub
            .dispatch(&event("player-7", "xp_gained", position));
        assert_eq!(
            kinds(&ready_steps(&mut session)),
            ["event"],
            "at {position}"
        );
    }
    // Queued, then unsubscribed before they were sent: they leave the queue too.
    for position in 1..=CAPACITY as u64 {
        shared
            .hub
            .dispatch(&event("player-7", "xp_gained", 100 + position));
    }
    session.on_text(r#"{"type":"unsubscribe","id":"me"}"#).await;
    assert_eq!(kinds(&ready_steps(&mut session)), ["unsubscribed"]);
    session
        .on_text(&subscribe_frame("me", "player-7", None))
        .await;
    for position in 1..=CAPACITY as u64 {
        shared
            .hub
            .dispatch(&event("player-7", "xp_gained", 200 + position));
    }
    assert!(shared.hub.is_connected(session.connection));
    assert_eq!(
        kinds(&ready_steps(&mut session)),
        ["subscribed", "event", "event"]
    );
}
