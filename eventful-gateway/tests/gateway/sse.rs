//! Server-Sent Events: the same frames as `data:` lines, positions as ids, `Last-Event-ID`
//! to resume, refusals as HTTP errors carrying the frame.

use eventful_core::{EventStore, Position};
use eventful_gateway::{CloseCode, ErrorCode, ServerFrame};

use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sse_delivers_the_allowed_topics_and_resumes_from_last_event_id() {
    let store = memory();
    let served = Served::start(store.clone(), settings()).await;
    let query = format!(
        "token={}&stream=player-7&event_type=leaderboard_changed",
        token("7")
    );
    let mut events = SseClient::open(&served.sse_url(&query), None)
        .await
        .expect("accepted");
    assert!(matches!(events.frame().await, ServerFrame::Welcome { .. }));
    for _ in 0..2 {
        assert!(matches!(
            events.frame().await,
            ServerFrame::Subscribed { .. }
        ));
    }
    let mine = append(&store, "player-7", 10).await;
    append(&store, "player-8", 10).await;
    let board = append_typed(&store, "leaderboard-1", "leaderboard_changed", 1).await;
    let mut ids = Vec::new();
    for expected in [mine, board] {
        let message = events.next().await.expect("an event");
        let ServerFrame::Event {
            subscription,
            event,
        } = message.frame()
        else {
            panic!("expected an event: {message:?}");
        };
        assert_eq!((subscription.as_str(), event.position), ("sse", expected));
        assert_eq!(
            message.id,
            Some(expected.to_string()),
            "the SSE id is the position"
        );
        ids.push(message.id);
    }
    drop(events);

    let missed = [
        append(&store, "player-7", 11).await,
        append_typed(&store, "leaderboard-2", "leaderboard_changed", 2).await,
        append(&store, "player-7", 12).await,
    ];
    let last = ids.last().cloned().flatten();
    let mut events = SseClient::open(&served.sse_url(&query), last.as_deref())
        .await
        .expect("accepted");
    assert!(matches!(events.frame().await, ServerFrame::Welcome { .. }));
    for _ in 0..2 {
        match events.frame().await {
            ServerFrame::Subscribed { after, .. } => assert_eq!(Some(after.to_string()), last),
            other => panic!("{other:?}"),
        }
    }
    let live = append(&store, "player-7", 13).await;
    for expected in missed.into_iter().chain([live]) {
        let ServerFrame::Event { event, .. } = events.frame().await else {
            panic!("an event");
        };
        assert_eq!(
            event.position, expected,
            "merged in position order, none twice"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sse_refusals_are_http_errors_with_the_frame_that_says_why() {
    let store = memory();
    append(&store, "player-7", 1).await;
    let served = Served::start(store.clone(), settings()).await;
    let head = store.head_position().await.expect("a head");
    let good = token("7");
    let expired =
        eventful_gateway::Claims::new("7", chrono::Utc::now() - chrono::Duration::hours(1))
            .sign_hs256(SECRET)
            .expect("signs");
    let cases = [
        ("stream=player-7".to_owned(), 401),
        (format!("token={expired}&stream=player-7"), 401),
        ("token=nonsense&stream=player-7".to_owned(), 401),
        (format!("token={good}&stream=player-8"), 403),
        (format!("token={good}"), 400),
        (format!("token={good}&stream=player-7&after=yesterday"), 400),
        (format!("token={good}&stream=player-7&colour=blue"), 400),
        (
            format!("token={good}&stream=player-7&after={}", head.get() + 1),
            409,
        ),
    ];
    for (query, status) in cases {
        let refused = SseClient::open(&served.sse_url(&query), None).await;
        let Err((got, body)) = refused else {
            panic!("{query}: accepted");
        };
        assert_eq!(got, status, "{query}: {body}");
        let frame: ServerFrame = serde_json::from_str(&body).expect("the body is a frame");
        match (status, frame) {
            (401, ServerFrame::Closing { code, .. }) => {
                assert!(matches!(
                    code,
                    CloseCode::InvalidToken | CloseCode::TokenExpired
                ));
            }
            (403, ServerFrame::Error { code, .. }) => assert_eq!(code, ErrorCode::Forbidden),
            (400, ServerFrame::Error { code, .. }) => assert_eq!(code, ErrorCode::MalformedFrame),
            (409, ServerFrame::Error { code, .. }) => {
                assert_eq!(code, ErrorCode::PositionUnavailable)
            }
            (_, other) => panic!("{query}: {other:?}"),
        }
    }
    // A bad Last-Event-ID too.
    let query = format!("token={good}&stream=player-7");
    let refused = SseClient::open(&served.sse_url(&query), Some("not-a-position")).await;
    assert!(matches!(refused, Err((400, _))));
    let accepted =
        SseClient::open(&served.sse_url(&query), Some(&Position::START.to_string())).await;
    assert!(accepted.is_ok(), "position 0 is the whole history");
}
