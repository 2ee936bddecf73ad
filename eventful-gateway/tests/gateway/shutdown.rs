//! Shutdown tells every client why and closes it, and returns even when some clients
//! stopped reading; such a client is also dropped by the send timeout alone.

use std::time::Duration;

use eventful_gateway::{CloseCode, ServerFrame};
use tokio_tungstenite::MaybeTlsStream;

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

/// An SSE client that reads up to its `subscribed` frame, then reads nothing more.
async fn stalled_sse(served: &Served) -> tokio::net::TcpStream {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut tcp = small_buffered(served).await;
    let request = format!(
        "GET /sse?token={}&stream=player-7 HTTP/1.1\r\nHost: gateway\r\nAccept: text/event-stream\r\n\r\n",
        token("7")
    );
    tcp.write_all(request.as_bytes()).await.expect("sent");
    let mut read = Vec::new();
    let mut chunk = [0; 4096];
    while !String::from_utf8_lossy(&read).contains(r#""type":"subscribed""#) {
        let n = tokio::time::timeout(PATIENCE, tcp.read(&mut chunk))
            .await
            .expect("the frames in time")
            .expect("reads");
        assert!(
            n > 0,
            "the stream ended: {}",
            String::from_utf8_lossy(&read)
        );
        read.extend_from_slice(&chunk[..n]);
    }
    tcp
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_returns_when_clients_stopped_reading_once_the_grace_is_over() {
    let store = memory();
    // A send timeout that never comes: only the grace ends these connections.
    let settings = settings()
        .with_send_timeout(Duration::from_secs(3600))
        .with_shutdown_grace(Duration::from_millis(500));
    let served = Served::start(store.clone(), settings).await;
    let sse = stalled_sse(&served).await;
    let websocket = stalled_websocket(&served, "7").await;
    let reading = served.client("7").await;
    assert_eq!(served.gateway.connections(), 3);

    append_huge(&store, "player-7").await;
    writing_begun(&sse).await;
    let MaybeTlsStream::Plain(tcp) = websocket.socket.get_ref() else {
        panic!("a plain TCP connection");
    };
    writing_begun(tcp).await;

    let mut reading = reading;
    let shutdown = served.gateway.shutdown("maintenance");
    let (closed, ()) = tokio::join!(async { reading.closing().await.0 }, async {
        tokio::time::timeout(PATIENCE, shutdown)
            .await
            .expect("shutdown returns, stalled clients or not")
    });
    assert_eq!(
        closed,
        CloseCode::ShuttingDown,
        "a client that reads is told"
    );
    assert_eq!(served.gateway.connections(), 0);
    drop((sse, websocket));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_sse_client_that_stops_reading_is_dropped_after_the_send_timeout() {
    let store = memory();
    let settings = settings().with_send_timeout(Duration::from_millis(300));
    let served = Served::start(store.clone(), settings).await;
    let sse = stalled_sse(&served).await;
    append_huge(&store, "player-7").await;
    writing_begun(&sse).await;
    // One frame waits for the body, which takes nothing more; the next times out.
    append(&store, "player-7", 1).await;
    append(&store, "player-7", 2).await;
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while served.gateway.connections() > 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the stalled client is still connected"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    drop(sse);
}
