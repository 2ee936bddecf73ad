//! WebSocket: tokens, allowed and refused subscriptions, garbage, and a flood of frames.

use eventful_core::Position;
use eventful_gateway::{Claims, CloseCode, ErrorCode, ServerFrame, Topic};
use tokio_tungstenite::tungstenite::Message;

use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_allowed_subscription_gets_live_events_with_their_envelope() {
    let store = memory();
    append(&store, "player-7", 1).await; // before the gateway: not live
    let served = Served::start(store.clone(), settings()).await;
    let mut client = served.client("7").await;
    let after = client.subscribe("me", stream("player-7"), None).await;
    assert_eq!(
        after,
        Position::new(1),
        "live from where the gateway stands"
    );

    append(&store, "player-8", 5).await; // another player's: not for this client
    let position = append(&store, "player-7", 250).await;
    let (subscription, event) = client.event().await;
    assert_eq!(subscription, "me");
    assert_eq!(event.stream_id, "player-7");
    assert_eq!(event.event_type, "xp_gained");
    assert_eq!(event.schema_version, 1);
    assert_eq!(event.version.get(), 2);
    assert_eq!(event.position, position);
    assert_eq!(event.payload, serde_json::json!({ "amount": 250 }));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_subscriptions_get_an_error_frame_and_nothing_of_the_topic() {
    let store = memory();
    let served = Served::start(store.clone(), settings()).await;
    let mut client = served.client("7").await;
    for (id, topic) in [
        ("theirs", stream("player-8")),
        ("private", Topic::EventType("xp_gained".into())),
        ("session", stream("game_session-3")),
    ] {
        client.send(&subscribe(id, topic, None)).await;
        let (code, message, subscription) = client.error().await;
        assert_eq!(code, ErrorCode::Forbidden, "{id}: {message}");
        assert_eq!(subscription.as_deref(), Some(id));
        assert!(message.contains("does not allow"), "{message}");
    }
    client
        .subscribe(
            "board",
            Topic::EventType("leaderboard_changed".into()),
            None,
        )
        .await;
    append(&store, "player-8", 1).await;
    append(&store, "game_session-3", 1).await;
    let board = append_typed(&store, "leaderboard-1", "leaderboard_changed", 1).await;
    let (subscription, event) = client.event().await;
    assert_eq!(
        (subscription.as_str(), event.position),
        ("board", board),
        "only the allowed topic"
    );

    // A token naming the session lets its holder follow it.
    let token = Claims::new("7", chrono::Utc::now() + chrono::Duration::hours(1))
        .with_stream("game_session-3")
        .sign_hs256(SECRET)
        .expect("signs");
    let mut player = WsClient::connect(&served.ws_url(&token)).await;
    assert!(matches!(player.frame().await, ServerFrame::Welcome { .. }));
    player
        .subscribe("session", stream("game_session-3"), None)
        .await;
    let ended = append(&store, "game_session-3", 2).await;
    assert_eq!(player.event().await.1.position, ended);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_bad_or_expired_token_is_told_why_and_closed() {
    let store = memory();
    let served = Served::start(store.clone(), settings()).await;
    let expired = Claims::new("7", chrono::Utc::now() - chrono::Duration::minutes(5))
        .sign_hs256(SECRET)
        .expect("signs");
    let forged = Claims::new("7", chrono::Utc::now() + chrono::Duration::hours(1))
        .sign_hs256(b"someone else's secret")
        .expect("signs");
    let no_token = format!("ws://{}/ws", served.address);
    for (url, expected, close) in [
        (no_token, CloseCode::InvalidToken, 4001),
        (
            served.ws_url("garbage.not.jwt"),
            CloseCode::InvalidToken,
            4001,
        ),
        (served.ws_url(&forged), CloseCode::InvalidToken, 4001),
        (served.ws_url(&expired), CloseCode::TokenExpired, 4002),
        (
            format!("{}&protocol=2", served.ws_url(&token("7"))),
            CloseCode::UnsupportedProtocol,
            4003,
        ),
        // Not a number: still answered on the socket, not with an HTTP 400 before it.
        (
            format!("{}&protocol=abc", served.ws_url(&token("7"))),
            CloseCode::UnsupportedProtocol,
            4003,
        ),
        (
            format!("{}&colour=blue", served.ws_url(&token("7"))),
            CloseCode::MalformedRequest,
            4000,
        ),
    ] {
        let mut client = WsClient::connect(&url).await;
        let (code, reason, websocket_code) = client.closing().await;
        assert_eq!(
            (code, websocket_code),
            (expected, Some(close)),
            "{url}: {reason}"
        );
        assert!(!reason.is_empty());
    }
    // The server goes on serving.
    let mut client = served.client("7").await;
    client.subscribe("me", stream("player-7"), None).await;
    let position = append(&store, "player-7", 1).await;
    assert_eq!(client.event().await.1.position, position);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_that_expires_during_the_connection_closes_it() {
    let store = memory();
    let served = Served::start(store, settings()).await;
    // Far enough off that a busy machine still connects before it expires (the welcome
    // comes first), near enough to wait for.
    let soon = Claims::new("7", chrono::Utc::now() + chrono::Duration::seconds(5))
        .sign_hs256(SECRET)
        .expect("signs");
    let mut client = WsClient::connect(&served.ws_url(&soon)).await;
    assert!(matches!(client.frame().await, ServerFrame::Welcome { .. }));
    let (code, reason, close) = client.closing().await;
    assert_eq!(
        (code, close),
        (CloseCode::TokenExpired, Some(4002)),
        "{reason}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_that_expires_at_the_end_of_time_is_served() {
    let store = memory();
    let served = Served::start(store.clone(), settings()).await;
    let mut claims = Claims::new("7", chrono::Utc::now());
    claims.exp = i64::MAX; // signed, so accepted: the gateway's arithmetic must not overflow
    let token = claims.sign_hs256(SECRET).expect("signs");
    let mut client = WsClient::connect(&served.ws_url(&token)).await;
    match client.frame().await {
        ServerFrame::Welcome { expires_at, .. } => {
            assert_eq!(expires_at, chrono::DateTime::<chrono::Utc>::MAX_UTC)
        }
        other => panic!("expected a welcome, got {other:?}"),
    }
    client.subscribe("me", stream("player-7"), None).await;
    let position = append(&store, "player-7", 1).await;
    assert_eq!(client.event().await.1.position, position);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_frames_get_an_error_each_and_the_connection_goes_on() {
    let store = memory();
    let served = Served::start(store.clone(), settings()).await;
    let mut client = served.client("7").await;
    let garbage = [
        ("not json at all", ErrorCode::MalformedFrame),
        ("{}", ErrorCode::MalformedFrame),
        (
            r#"{"type":"subscribe","id":"x"}"#,
            ErrorCode::MalformedFrame,
        ),
        (
            r#"{"type":"subscribe","id":"x","topic":{"stream":""}}"#,
            ErrorCode::MalformedFrame,
        ),
        (
            r#"{"type":"subscribe","id":"x","topic":{"stream":"player-7"},"after":"soon"}"#,
            ErrorCode::MalformedFrame,
        ),
        (
            r#"{"type":"unsubscribe","id":"never"}"#,
            ErrorCode::UnknownSubscription,
        ),
        (&"[".repeat(10_000), ErrorCode::MalformedFrame),
    ];
    for (text, expected) in garbage {
        client.send_text(text).await;
        assert_eq!(client.error().await.0, expected, "{text:.60}");
    }
    client
        .send_message(Message::binary(vec![0xff, 0x00, 0x13]))
        .await;
    assert!(matches!(
        client.frame().await,
        ServerFrame::Error {
            code: ErrorCode::MalformedFrame,
            ..
        }
    ));
    client.subscribe("me", stream("player-7"), None).await;
    client
        .send(&subscribe("me", stream("player-7"), None))
        .await;
    assert!(matches!(
        client.frame().await,
        ServerFrame::Error {
            code: ErrorCode::DuplicateSubscription,
            ..
        }
    ));
    let position = append(&store, "player-7", 3).await;
    assert_eq!(client.event().await.1.position, position, "still served");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frame_past_the_limit_is_closed_with_1009_before_its_payload_is_read() {
    use tokio::io::AsyncWriteExt;
    use tokio_tungstenite::MaybeTlsStream;

    let store = memory();
    let served = Served::start(store, settings().with_max_frame_bytes(1024)).await;

    // A whole message past the limit.
    let mut client = served.client("7").await;
    client.send_text(&"x".repeat(2048)).await;
    let (code, reason, close) = client.closing().await;
    assert_eq!(
        (code, close),
        (CloseCode::FrameTooLarge, Some(1009)),
        "{reason}"
    );

    // A frame whose header says 10 MB (under tungstenite's own limit of 16 MiB), and then
    // nothing: refused by its header, so the gateway never waits for (or holds) the 10 MB.
    let mut client = served.client("7").await;
    let MaybeTlsStream::Plain(tcp) = client.socket.get_mut() else {
        panic!("a plain TCP connection");
    };
    let mut header = vec![0x81, 0x80 | 127];
    header.extend_from_slice(&10_000_000u64.to_be_bytes());
    header.extend_from_slice(&[1, 2, 3, 4]); // the mask key a client frame carries
    header.extend_from_slice(b"the first bytes of the payload");
    tcp.write_all(&header).await.expect("written");
    let (code, reason, close) = client.closing().await;
    assert_eq!(
        (code, close),
        (CloseCode::FrameTooLarge, Some(1009)),
        "{reason}"
    );
    assert!(reason.contains("10000000"), "{reason}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_rapid_subscribe_and_unsubscribe_frames_are_each_answered() {
    let store = memory();
    let served = Served::start(store.clone(), settings()).await;
    let client = served.client("7").await;
    let WsClient { socket } = client;
    let (mut sink, mut incoming) = futures::StreamExt::split(socket);
    const PAIRS: usize = 5_000;
    let sender = tokio::spawn(async move {
        use futures::SinkExt;
        for n in 0..PAIRS {
            let id = format!("s{}", n % 7);
            let frames = [
                serde_json::to_string(&subscribe(&id, stream("player-7"), None)),
                serde_json::to_string(&serde_json::json!({ "type": "unsubscribe", "id": id })),
            ];
            for frame in frames {
                sink.feed(Message::text(frame.expect("serializes")))
                    .await
                    .expect("sent");
            }
        }
        sink.flush().await.expect("flushed");
        sink
    });
    let mut answers = 0;
    while answers < 2 * PAIRS {
        let message = tokio::time::timeout(PATIENCE, futures::StreamExt::next(&mut incoming))
            .await
            .expect("answers keep coming")
            .expect("open")
            .expect("valid");
        let Message::Text(text) = message else {
            continue;
        };
        let frame: ServerFrame = serde_json::from_str(text.as_str()).expect("a frame");
        let id = format!("s{}", (answers / 2) % 7);
        match (answers % 2, frame) {
            (0, ServerFrame::Subscribed { id: got, .. })
            | (1, ServerFrame::Unsubscribed { id: got }) => {
                assert_eq!(got, id, "answer {answers}");
            }
            (_, other) => panic!("answer {answers}: {other:?}"),
        }
        answers += 1;
    }
    let sink = sender.await.expect("the sender ran");
    let mut client = WsClient {
        socket: sink.reunite(incoming).expect("one socket"),
    };
    // Nothing of the 5,000 stopped subscriptions is left: one more gets exactly one event.
    client.subscribe("last", stream("player-7"), None).await;
    let position = append(&store, "player-7", 1).await;
    let (subscription, event) = client.event().await;
    assert_eq!((subscription.as_str(), event.position), ("last", position));
    let marker = append(&store, "player-7", 2).await;
    assert_eq!(
        client.event().await.1.position,
        marker,
        "no stale copy in between"
    );
}
