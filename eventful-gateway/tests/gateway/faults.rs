//! What the gateway does when what it depends on fails: an access check that cannot decide,
//! and a store whose reads fail while a subscription resumes.

use eventful_core::Position;
use eventful_core::testing::faults::{FaultyStore, StreamReadFault};
use eventful_gateway::{
    Access, AccessError, Claims, CloseCode, ErrorCode, GatewaySettings, ServerFrame, TokenVerifier,
    Topic, async_trait,
};
use eventful_store_memory::MemoryStore;

use crate::support::*;

/// Own stream allowed; any other stream's check needs a lookup that fails.
struct LookupDown;

#[async_trait]
impl Access for LookupDown {
    async fn allows(&self, claims: &Claims, topic: &Topic) -> Result<bool, AccessError> {
        match topic {
            Topic::Stream(stream) if *stream == format!("player-{}", claims.sub) => Ok(true),
            _ => Err(AccessError::unavailable("the session lookup is down")),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_access_check_that_cannot_decide_is_store_unavailable_not_forbidden() {
    let store = memory();
    let verifier = TokenVerifier::hs256(SECRET).expect("a key");
    let served = Served::start(store.clone(), GatewaySettings::new(verifier, LookupDown)).await;
    let mut client = served.client("7").await;
    client
        .send(&subscribe("session", stream("game_session-3"), None))
        .await;
    let (code, message, subscription) = client.error().await;
    assert_eq!(code, ErrorCode::StoreUnavailable, "{message}");
    assert_eq!(subscription.as_deref(), Some("session"));
    assert!(message.contains("the session lookup is down"), "{message}");
    client.subscribe("me", stream("player-7"), None).await;

    let query = format!("token={}&stream=game_session-3", token("7"));
    let Err((status, body)) = SseClient::open(&served.sse_url(&query), None).await else {
        panic!("accepted");
    };
    assert_eq!(status, 503, "{body}");
    match serde_json::from_str(&body).expect("a frame") {
        ServerFrame::Error { code, .. } => assert_eq!(code, ErrorCode::StoreUnavailable),
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_catch_up_closes_an_sse_stream_and_leaves_a_websocket_open() {
    // Stream reads fail: the catch-up of a stream topic fails, while the follower (which
    // reads the log) goes on.
    let store = FaultyStore::new(MemoryStore::new())
        .with_stream_reads(StreamReadFault::Unavailable("the stream's shard is down"));
    append(&store, "player-7", 1).await;
    let served = Served::start(store.clone(), settings()).await;

    // SSE: the error, then the close, so that an EventSource comes back with Last-Event-ID.
    let query = format!("token={}&stream=player-7&after=0", token("7"));
    let mut sse = SseClient::open(&served.sse_url(&query), None)
        .await
        .expect("accepted");
    assert!(matches!(sse.frame().await, ServerFrame::Welcome { .. }));
    assert!(matches!(sse.frame().await, ServerFrame::Subscribed { .. }));
    match sse.frame().await {
        ServerFrame::Error { code, .. } => assert_eq!(code, ErrorCode::StoreUnavailable),
        other => panic!("expected the error, got {other:?}"),
    }
    match sse.frame().await {
        ServerFrame::Closing { code, reason } => {
            assert_eq!(code, CloseCode::StoreUnavailable, "{reason}")
        }
        other => panic!("expected the close, got {other:?}"),
    }
    assert_eq!(sse.next().await, None, "the stream ends");

    // WebSocket: the error names the subscription, which stopped; the connection goes on and
    // the client subscribes again.
    let mut client = served.client("7").await;
    client
        .subscribe("me", stream("player-7"), Some(Position::START))
        .await;
    let (code, _, subscription) = client.error().await;
    assert_eq!(code, ErrorCode::StoreUnavailable);
    assert_eq!(subscription.as_deref(), Some("me"));
    client.subscribe("me", stream("player-7"), None).await;
    let live = append(&store, "player-7", 2).await;
    assert_eq!(client.event().await.1.position, live);
}
