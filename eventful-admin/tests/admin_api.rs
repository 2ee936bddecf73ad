//! Every admin action through HTTP, as an operator's tool calls it: with the token and
//! without, with good arguments and bad ones.

mod common;

use std::sync::atomic::Ordering;

use axum::http::{Method, StatusCode};
use common::{Game, create, gain};
use eventful_core::{EventStore, Position};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_admin_route_is_refused_without_the_token() {
    let game = Game::start().await;
    for (method, uri) in [
        (Method::GET, "/admin/handlers"),
        (Method::GET, "/admin/handlers/mailer"),
        (Method::POST, "/admin/handlers/mailer/pause"),
        (Method::POST, "/admin/handlers/mailer/resume"),
        (Method::POST, "/admin/handlers/xp_board/rebuild"),
        (Method::GET, "/admin/handlers/mailer/parked"),
        (
            Method::POST,
            "/admin/handlers/mailer/parked/0190b7a0-0000-7000-8000-000000000000/replay",
        ),
        (
            Method::DELETE,
            "/admin/handlers/mailer/parked/0190b7a0-0000-7000-8000-000000000000",
        ),
        (Method::GET, "/admin/streams/player-1"),
        (Method::GET, "/admin/aggregates/player/1"),
    ] {
        let (status, body) = game.call_with(method.clone(), uri, None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {uri}: {body}");
        assert_eq!(body["error"], "missing_token", "{method} {uri}");
        let (status, body) = game
            .call_with(method.clone(), uri, Some("not-the-admin-token-at-all"))
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{method} {uri}: {body}");
        assert_eq!(body["error"], "wrong_token", "{method} {uri}");
    }
    // Nothing was paused by a refused request.
    assert!(!game.bus.status().await.expect("status")[1].paused);
    // Health has no token: probes carry none.
    let (status, _) = game.call_with(Method::GET, "/health/live", None).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handlers_are_listed_with_owner_segment_position_lag_and_parked_count() {
    let game = Game::start().await;
    game.players.execute(create(1)).await.expect("created");
    game.players.execute(gain(1, 13)).await.expect("xp");
    game.players.execute(gain(1, 20)).await.expect("xp");
    game.bus.wait_until_caught_up().await.expect("caught up");

    let (status, body) = game.call(Method::GET, "/admin/handlers").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let handlers = body.as_array().expect("a list");
    assert_eq!(handlers.len(), 2);
    let board = &handlers[0];
    assert_eq!(board["name"], "xp_board");
    assert_eq!(board["progress"], "volatile");
    assert_eq!(board["rebuildable"], true);
    assert_eq!(board["position"], 3);
    assert_eq!(board["lag"], 0);
    let mailer = &handlers[1];
    assert_eq!(mailer["name"], "mailer");
    assert_eq!(mailer["progress"], "durable");
    assert_eq!(mailer["on_failure"], "park");
    assert_eq!(mailer["parked"], 1, "{mailer}");
    assert_eq!(mailer["rebuildable"], false);
    assert_eq!(mailer["segments"][0]["segment"], "0/1");
    assert_eq!(mailer["segments"][0]["owner"], "instance-a");
    assert_eq!(mailer["segments"][0]["mine"], true);
    assert_eq!(mailer["segments"][0]["position"], 3);

    let (status, one) = game.call(Method::GET, "/admin/handlers/mailer").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(one["name"], "mailer");
    let (status, body) = game.call(Method::GET, "/admin/handlers/mailr").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"], "unknown_handler");
    assert_eq!(body["message"], "no handler is named `mailr`");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handler_is_paused_and_resumed_through_http() {
    let game = Game::start().await;
    game.players.execute(create(1)).await.expect("created");
    game.bus.wait_until_caught_up().await.expect("caught up");

    let (status, body) = game
        .call(Method::POST, "/admin/handlers/xp_board/pause")
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["paused"], true);
    let appended = game.players.execute(gain(1, 5)).await.expect("xp");
    let head = appended.events[0].position;
    // The mailer, not paused, is woken by the same append: once it has read the event, the
    // board would have too, had the pause done nothing.
    while game.bus.status().await.expect("status")[1].processed < head {
        tokio::task::yield_now().await;
    }
    let (_, body) = game.call(Method::GET, "/admin/handlers/xp_board").await;
    assert_eq!(body["paused"], true);
    assert_eq!(body["lag"], 1, "nothing read while paused: {body}");
    assert_eq!(game.board.current().total.load(Ordering::SeqCst), 0);

    let (status, body) = game
        .call(Method::POST, "/admin/handlers/xp_board/resume")
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["paused"], false);
    game.bus.wait_until_caught_up().await.expect("caught up");
    assert_eq!(game.board.current().total.load(Ordering::SeqCst), 5);

    for action in ["pause", "resume"] {
        let (status, body) = game
            .call(Method::POST, &format!("/admin/handlers/nobody/{action}"))
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{action}");
        assert_eq!(body["error"], "unknown_handler");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_projection_is_rebuilt_into_a_fresh_copy_through_http() {
    let game = Game::start().await;
    game.players.execute(create(1)).await.expect("created");
    game.players.execute(gain(1, 7)).await.expect("xp");
    game.players.execute(gain(1, 8)).await.expect("xp");
    game.bus.wait_until_caught_up().await.expect("caught up");
    let old = game.board.current();

    let (status, body) = game
        .call(Method::POST, "/admin/handlers/xp_board/rebuild")
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["handler"], "xp_board");
    assert_eq!(body["swapped_in_at"], 3);
    let fresh = game.board.current();
    assert!(!std::sync::Arc::ptr_eq(&old, &fresh), "a fresh copy");
    assert_eq!(fresh.total.load(Ordering::SeqCst), 15);
    game.players.execute(gain(1, 1)).await.expect("xp");
    game.bus.wait_until_caught_up().await.expect("caught up");
    assert_eq!(
        fresh.total.load(Ordering::SeqCst),
        16,
        "the bus feeds the fresh copy"
    );

    let (status, body) = game
        .call(Method::POST, "/admin/handlers/mailer/rebuild")
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["error"], "not_rebuildable");
    let (status, body) = game
        .call(Method::POST, "/admin/handlers/nobody/rebuild")
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"], "unknown_handler");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parked_events_are_listed_replayed_and_dismissed_through_http() {
    let game = Game::start().await;
    game.players.execute(create(1)).await.expect("created");
    game.players.execute(create(2)).await.expect("created");
    game.players.execute(gain(1, 13)).await.expect("xp");
    game.players.execute(gain(2, 13)).await.expect("xp");
    game.bus.wait_until_caught_up().await.expect("caught up");

    let (status, body) = game
        .call(Method::GET, "/admin/handlers/mailer/parked")
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let parked = body.as_array().expect("a list");
    assert_eq!(parked.len(), 2, "{body}");
    assert_eq!(parked[0]["stream_id"], "player-1");
    assert_eq!(parked[0]["event_type"], "xp_gained");
    assert_eq!(parked[0]["version"], 2);
    assert!(
        parked[0]["error"]
            .as_str()
            .expect("text")
            .contains("unlucky numbers")
    );
    let first = parked[0]["event_id"].as_str().expect("id").to_owned();
    let second = parked[1]["event_id"].as_str().expect("id").to_owned();

    // Still broken: the replay fails, and the event stays parked with one more attempt.
    let replay = format!("/admin/handlers/mailer/parked/{first}/replay");
    let (status, body) = game.call(Method::POST, &replay).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["error"], "replay_failed");
    let (_, body) = game
        .call(Method::GET, "/admin/handlers/mailer/parked")
        .await;
    assert_eq!(body.as_array().expect("a list").len(), 2);
    assert_eq!(
        body[0]["attempts"],
        parked[0]["attempts"].as_u64().expect("n") + 1
    );

    game.fixed.store(true, Ordering::SeqCst);
    let (status, body) = game.call(Method::POST, &replay).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["outcome"], "replayed");
    let dismiss = format!("/admin/handlers/mailer/parked/{second}");
    let (status, body) = game.call(Method::DELETE, &dismiss).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["outcome"], "dismissed");
    let (_, body) = game
        .call(Method::GET, "/admin/handlers/mailer/parked")
        .await;
    assert_eq!(body, serde_json::json!([]));

    let (status, body) = game.call(Method::DELETE, &dismiss).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"], "not_parked");
    assert!(body["message"].as_str().expect("text").contains(&second));
    let (status, body) = game
        .call(
            Method::POST,
            "/admin/handlers/mailer/parked/not-a-uuid/replay",
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "bad_request");
    let (status, body) = game
        .call(Method::GET, "/admin/handlers/nobody/parked")
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"], "unknown_handler");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_is_read_as_of_a_version_or_a_time() {
    let game = Game::start().await;
    game.players.execute(create(1)).await.expect("created");
    game.players.execute(gain(1, 10)).await.expect("xp");
    let stream = eventful_core::StreamId::new("player-1").expect("valid");
    let second = game
        .store
        .read_stream(&stream, eventful_core::Version::new(2), 1)
        .await
        .expect("read")[0]
        .recorded_at;
    // Later events are recorded strictly later than `second`.
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    game.players.execute(gain(1, 20)).await.expect("xp");

    let (status, body) = game.call(Method::GET, "/admin/streams/player-1").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["current_version"], 3);
    let events = body["events"].as_array().expect("events");
    assert_eq!(events.len(), 3);
    assert_eq!(events[0]["event_type"], "created");
    assert_eq!(events[1]["payload"], serde_json::json!({ "amount": 10 }));
    assert_eq!(events[2]["position"], 3);

    let (_, body) = game
        .call(Method::GET, "/admin/streams/player-1?version=2")
        .await;
    assert_eq!(body["events"].as_array().expect("events").len(), 2);
    let (_, body) = game
        .call(Method::GET, "/admin/streams/player-1?from=2&limit=1")
        .await;
    let events = body["events"].as_array().expect("events");
    assert_eq!(
        (events.len(), &events[0]["version"]),
        (1, &serde_json::json!(2))
    );
    let at = second.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
    let (status, body) = game
        .call(
            Method::GET,
            &format!("/admin/streams/player-1?at={}", at.replace('+', "%2B")),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["events"].as_array().expect("events").len(),
        2,
        "{body}"
    );

    let (status, body) = game
        .call(Method::GET, "/admin/streams/player-1?version=9")
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"], "version_beyond_stream");
    assert_eq!(
        body["message"],
        "stream `player-1` is at version 3; version 9 is beyond it"
    );
    let (status, body) = game.call(Method::GET, "/admin/streams/player-99").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"], "stream_not_found");
    for (bad, argument) in [
        (
            "/admin/streams/player-1?version=2&at=2026-01-01T00:00:00Z",
            "version, at",
        ),
        ("/admin/streams/player-1?at=yesterday", "at"),
        ("/admin/streams/player-1?version=0", "version"),
        ("/admin/streams/player-1?version=two", "query"),
        ("/admin/streams/player-1?limit=0", "limit"),
        ("/admin/streams/player-1?colour=blue", "query"),
    ] {
        let (status, body) = game.call(Method::GET, bad).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
        assert_eq!(body["error"], "bad_request", "{bad}");
        let message = body["message"].as_str().expect("text");
        assert!(
            message.starts_with(&format!("bad request: `{argument}`: ")),
            "{bad}: {message}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_aggregate_is_read_as_of_a_version_or_a_time() {
    let game = Game::start().await;
    game.players.execute(create(7)).await.expect("created");
    game.players.execute(gain(7, 10)).await.expect("xp");
    game.players.execute(gain(7, 20)).await.expect("xp");

    let (status, body) = game.call(Method::GET, "/admin/aggregates/player/7").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["stream_id"], "player-7");
    assert_eq!(body["version"], 3);
    assert_eq!(
        body["state"],
        serde_json::json!({ "name": "Player 7", "xp": 30 })
    );
    let (_, body) = game
        .call(Method::GET, "/admin/aggregates/player/7?version=2")
        .await;
    assert_eq!(
        (&body["version"], &body["current_version"]),
        (&serde_json::json!(2), &serde_json::json!(3))
    );
    assert_eq!(body["state"]["xp"], 10);
    let (_, body) = game
        .call(
            Method::GET,
            "/admin/aggregates/player/7?at=2000-01-01T00:00:00Z",
        )
        .await;
    assert_eq!(body["version"], 0, "nothing was recorded by then: {body}");
    assert_eq!(body["state"], serde_json::json!({ "name": null, "xp": 0 }));

    let (status, body) = game
        .call(Method::GET, "/admin/aggregates/player/7?version=4")
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"], "version_beyond_stream");
    let (status, body) = game.call(Method::GET, "/admin/aggregates/clan/7").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"], "unknown_aggregate");
    let (status, body) = game.call(Method::GET, "/admin/aggregates/player/8").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"], "stream_not_found");
    let (status, body) = game
        .call(Method::GET, "/admin/aggregates/player/seven")
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "bad_request");
    let (status, _) = game
        .call(Method::GET, "/admin/aggregates/player/7?limit=3")
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        game.store.head_position().await.expect("head"),
        Position::new(3)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pause_that_cannot_finish_in_time_answers_accepted() {
    use std::sync::Arc;
    use std::time::Duration;

    use eventful_admin::{Admin, AdminToken};
    use eventful_core::prelude::*;
    use eventful_store_memory::MemoryStore;
    use tokio::sync::Semaphore;

    let store = MemoryStore::new();
    let players = Repository::<common::Player, _>::new(store.clone());
    players.execute(create(1)).await.expect("created");
    let (gate, entered) = (Arc::new(Semaphore::new(0)), Arc::new(Semaphore::new(0)));
    let mut bus = EventBus::new(store.clone(), store.clone());
    {
        let (gate, entered) = (gate.clone(), entered.clone());
        bus.subscribe::<common::PlayerEvent, _, _>("held", move |_| {
            let (gate, entered) = (gate.clone(), entered.clone());
            async move {
                entered.add_permits(1);
                gate.acquire().await?.forget();
                Ok::<(), BoxError>(())
            }
        });
    }
    let bus = Arc::new(bus.start().expect("starts"));
    // The handler is inside its batch until the gate opens: it cannot pause before.
    entered.acquire().await.expect("open").forget();
    let app = Admin::new(store.clone(), bus.clone())
        .with_pause_wait(Duration::from_millis(20))
        .router(AdminToken::new(common::TOKEN).expect("valid token"));
    let post = |uri: &'static str| {
        let app = app.clone();
        async move {
            let request = axum::http::Request::post(uri)
                .header("authorization", format!("Bearer {}", common::TOKEN))
                .body(axum::body::Body::empty())
                .expect("request");
            let response = tower::ServiceExt::oneshot(app, request)
                .await
                .expect("answered");
            let status = response.status();
            let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
                .await
                .expect("body");
            let body: serde_json::Value = serde_json::from_slice(&bytes).expect("JSON");
            (status, body)
        }
    };
    let (status, body) = post("/handlers/held/pause").await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body["paused"], true, "still pausing");

    gate.add_permits(1);
    let paused = tokio::time::timeout(Duration::from_secs(10), bus.pause("held")).await;
    assert!(
        matches!(paused, Ok(Ok(()))),
        "the pause finished: {paused:?}"
    );
    let (status, body) = post("/handlers/held/resume").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    bus.wait_until_caught_up().await.expect("caught up");
}

/// `method uri` on `app` with the admin token: the status and the JSON body.
async fn send(app: &axum::Router, method: Method, uri: &str) -> (StatusCode, serde_json::Value) {
    let request = axum::http::Request::builder()
        .method(method)
        .uri(uri)
        .header("authorization", format!("Bearer {}", common::TOKEN))
        .body(axum::body::Body::empty())
        .expect("request");
    let response = tower::ServiceExt::oneshot(app.clone(), request)
        .await
        .expect("answered");
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .expect("body");
    (status, serde_json::from_slice(&bytes).expect("JSON"))
}

mod slow_board {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

    use eventful_core::prelude::*;
    use eventful_core::swappable::Swappable;
    use tokio::sync::Semaphore;

    use super::common::PlayerEvent;

    /// Total xp; every copy but the first waits at `gate` at each event, and a copy made
    /// while the board is broken fails on 66 xp.
    pub(crate) struct SlowBoard {
        pub(crate) total: AtomicU64,
        gate: Option<Arc<Semaphore>>,
        broken: bool,
    }

    #[async_trait]
    impl Projection for SlowBoard {
        type Event = PlayerEvent;

        fn name(&self) -> &str {
            "slow_board"
        }

        async fn apply(&self, event: &RecordedEvent<PlayerEvent>) -> Result<(), BoxError> {
            if let Some(gate) = &self.gate {
                gate.acquire().await?.forget();
            }
            if let PlayerEvent::XpGained { amount } = event.payload {
                if amount == 66 && self.broken {
                    return Err("66 is not a score".into());
                }
                self.total.fetch_add(amount, Ordering::SeqCst);
            }
            Ok(())
        }

        async fn reset(&self) -> Result<(), BoxError> {
            self.total.store(0, Ordering::SeqCst);
            Ok(())
        }
    }

    /// The board, how many copies were made, the gate and the switch that breaks copies.
    pub(crate) fn board() -> (
        Swappable<SlowBoard>,
        Arc<AtomicU64>,
        Arc<Semaphore>,
        Arc<AtomicBool>,
    ) {
        let made = Arc::new(AtomicU64::new(0));
        let gate = Arc::new(Semaphore::new(0));
        let broken = Arc::new(AtomicBool::new(false));
        let board = {
            let (made, gate, broken) = (made.clone(), gate.clone(), broken.clone());
            Swappable::new(move || SlowBoard {
                total: AtomicU64::new(0),
                gate: (made.fetch_add(1, Ordering::SeqCst) > 0).then(|| gate.clone()),
                broken: broken.load(Ordering::SeqCst),
            })
        };
        (board, made, gate, broken)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rebuild_runs_as_a_background_job_and_reports_its_outcome() {
    use std::sync::Arc;
    use std::time::Duration;

    use eventful_admin::{Admin, AdminToken};
    use eventful_core::prelude::*;
    use eventful_store_memory::MemoryStore;

    let store = MemoryStore::new();
    let players = Repository::<common::Player, _>::new(store.clone());
    players.execute(create(1)).await.expect("created");
    players.execute(gain(1, 7)).await.expect("xp");
    let (board, made, gate, broken) = slow_board::board();
    let mut bus = EventBus::new(store.clone(), store.clone());
    bus.projection(board.clone());
    let bus = Arc::new(bus.start().expect("starts"));
    bus.wait_until_caught_up().await.expect("caught up");
    let token = || AdminToken::new(common::TOKEN).expect("valid token");
    let admin = Admin::new(store.clone(), bus.clone()).with_rebuild(board.clone());
    // Answers before the gated copy can finish.
    let quick = admin
        .clone()
        .with_rebuild_wait(Duration::from_millis(20))
        .router(token());
    let uri = "/handlers/slow_board/rebuild";

    let (status, body) = send(&quick, Method::GET, uri).await;
    assert_eq!((status, &body["state"]), (StatusCode::OK, &"none".into()));
    let (status, body) = send(&quick, Method::POST, uri).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body["state"], "running");
    let (status, body) = send(&quick, Method::POST, uri).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(
        made.load(std::sync::atomic::Ordering::SeqCst),
        2,
        "the second request joined the running job"
    );
    assert_eq!(send(&quick, Method::GET, uri).await.1["state"], "running");

    gate.add_permits(1000);
    let done = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let (_, body) = send(&quick, Method::GET, uri).await;
            if body["state"] != "running" {
                return body;
            }
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("the job ends");
    assert_eq!(done["state"], "done", "{done}");
    assert_eq!(done["swapped_in_at"], 2);
    assert_eq!(
        board
            .current()
            .total
            .load(std::sync::atomic::Ordering::SeqCst),
        7
    );

    // A rebuild that fails at an event, waited for to the end: a typed refusal naming it.
    broken.store(true, std::sync::atomic::Ordering::SeqCst);
    let poison = players.execute(gain(1, 66)).await.expect("xp");
    bus.wait_until_caught_up().await.expect("caught up");
    let patient = admin.router(token());
    let (status, body) = send(&patient, Method::POST, uri).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{body}");
    assert_eq!(body["error"], "rebuild_failed");
    let message = body["message"].as_str().expect("text");
    assert!(
        message.contains(&format!("at position {}", poison.events[0].position))
            && message.contains("66 is not a score"),
        "{message}"
    );
    let (_, body) = send(&patient, Method::GET, uri).await;
    assert_eq!(body["state"], "failed", "{body}");
    assert_eq!(
        board
            .current()
            .total
            .load(std::sync::atomic::Ordering::SeqCst),
        73,
        "the old copy still serves reads"
    );
    let (status, body) = send(&patient, Method::GET, "/handlers/nobody/rebuild").await;
    assert_eq!(
        (status, &body["error"]),
        (StatusCode::NOT_FOUND, &"unknown_handler".into())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bearer_scheme_is_read_in_any_case() {
    let game = Game::start().await;
    for scheme in ["bearer", "BEARER", "Bearer"] {
        let request = axum::http::Request::get("/admin/handlers")
            .header("authorization", format!("{scheme} {}", common::TOKEN))
            .body(axum::body::Body::empty())
            .expect("request");
        let response = tower::ServiceExt::oneshot(game.app.clone(), request)
            .await
            .expect("answered");
        assert_eq!(response.status(), StatusCode::OK, "{scheme}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_reads_old_event_shapes_with_the_buses_upcasters() {
    use std::sync::Arc;

    use eventful_admin::{Admin, AdminToken};
    use eventful_core::prelude::*;
    use eventful_core::{ExpectedVersion, NewEvent, Payload, Upcasters};
    use eventful_store_memory::MemoryStore;

    let store = MemoryStore::new();
    let players = Repository::<common::Player, _>::new(store.clone());
    players.execute(create(1)).await.expect("created");
    // Written by an older build: xp used to be `points_awarded`.
    let old = NewEvent::new(
        TypeName::from_static("player"),
        TypeName::from_static("points_awarded"),
        1,
        Payload::encode(&serde_json::json!({ "points": 70 })).expect("json"),
    );
    store
        .append(
            &StreamId::new("player-1").expect("stream"),
            ExpectedVersion::Any,
            &[old],
        )
        .await
        .expect("appends");
    let upcasters = Upcasters::new().register_renaming(
        TypeName::from_static("points_awarded"),
        1,
        TypeName::from_static("xp_gained"),
        |payload| Ok(serde_json::json!({ "amount": payload["points"] })),
    );
    let bus = Arc::new(
        EventBus::new(store.clone(), store.clone())
            .with_upcasters(upcasters)
            .start()
            .expect("starts"),
    );
    let app = Admin::new(store.clone(), bus)
        .with_aggregate::<common::Player>()
        .router(AdminToken::new(common::TOKEN).expect("valid token"));
    let (status, body) = send(&app, Method::GET, "/aggregates/player/1").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["state"]["xp"], 70, "{body}");
}
