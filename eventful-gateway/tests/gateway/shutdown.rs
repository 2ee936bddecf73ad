//! Shutdown tells every client why and closes it.

use eventful_gateway::{CloseCode, ServerFrame};

use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_closes_every_connection_with_its_reason() {
    let store = memory();
    let served = Served::start(store.clone(), settings()).await;
    let mut websocket = served.client("7").await;
    websocket.subscribe("me", stream("player-7"), None).await;
    let query = format!("token={}&stream=player-7", token("7"));
    let mut sse = SseClient::open(&served.sse_url(&query), None)
        .await
        .expect("accepted");
    for _ in 0..2 {
        sse.frame().await; // welcome, subscribed
    }
    assert_eq!(served.gateway.connections(), 2);

    let gateway = served.gateway.clone();
    let shutdown = tokio::spawn(async move { gateway.shutdown("maintenance at noon").await });
    let (code, reason, close) = websocket.closing().await;
    assert_eq!(
        (code, reason.as_str(), close),
        (CloseCode::ShuttingDown, "maintenance at noon", Some(1001))
    );
    match sse.frame().await {
        ServerFrame::Closing { code, reason } => {
            assert_eq!(
                (code, reason.as_str()),
                (CloseCode::ShuttingDown, "maintenance at noon")
            );
        }
        other => panic!("expected closing, got {other:?}"),
    }
    assert_eq!(sse.next().await, None, "the SSE stream ends");
    shutdown
        .await
        .expect("shutdown returns once all are closed");
    assert_eq!(served.gateway.connections(), 0);

    // A client arriving now is closed at once.
    let mut late = served.client("7").await;
    assert_eq!(late.closing().await.0, CloseCode::ShuttingDown);
}
