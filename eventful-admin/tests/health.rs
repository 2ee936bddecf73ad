//! Liveness and readiness, from the store, a broker check and the handlers.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::{Player, create, gain, quick_retry};
use eventful_admin::{Admin, HealthCheck};
use eventful_core::prelude::*;
use eventful_core::testing::faults::FaultyStore;
use eventful_store_memory::MemoryStore;
use tower::ServiceExt;

/// A broker connection that is up while `up` is set.
struct Broker {
    up: Arc<AtomicBool>,
}

#[async_trait]
impl HealthCheck for Broker {
    fn name(&self) -> &str {
        "broker"
    }

    async fn check(&self) -> Result<(), BoxError> {
        if self.up.load(Ordering::SeqCst) {
            Ok(())
        } else {
            Err("connection to rabbitmq:5672 closed".into())
        }
    }
}

async fn get(app: &Router, uri: &str) -> (StatusCode, serde_json::Value) {
    let response = app
        .clone()
        .oneshot(Request::get(uri).body(Body::empty()).expect("request"))
        .await
        .expect("answered");
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .expect("body");
    (status, serde_json::from_slice(&bytes).expect("JSON"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_follows_the_broker_and_the_handlers() {
    let store = MemoryStore::new();
    let players = Repository::<Player, _>::new(store.clone());
    players.execute(create(1)).await.expect("created");
    let up = Arc::new(AtomicBool::new(true));
    let mut bus = EventBus::new(store.clone(), store.clone()).with_retry(quick_retry());
    // Stops (the default of a closure) on 13 xp.
    bus.subscribe::<common::PlayerEvent, _, _>("ledger", |event| async move {
        match event.payload {
            common::PlayerEvent::XpGained { amount: 13 } => {
                Err::<(), BoxError>("ledger full".into())
            }
            _ => Ok(()),
        }
    });
    let bus = Arc::new(bus.start().expect("starts"));
    bus.wait_until_caught_up().await.expect("caught up");
    let app = Admin::new(store.clone(), bus.clone())
        .with_health_check(Broker { up: up.clone() })
        .health_router();

    let (status, body) = get(&app, "/health/live").await;
    assert_eq!(
        (status, &body["status"]),
        (StatusCode::OK, &serde_json::json!("live"))
    );
    let (status, body) = get(&app, "/health/ready").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "ready");
    let names: Vec<_> = body["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .map(|check| check["name"].as_str().expect("name").to_owned())
        .collect();
    assert_eq!(names, ["store", "broker", "handler ledger"]);

    up.store(false, Ordering::SeqCst);
    let (status, body) = get(&app, "/health/ready").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["status"], "not_ready");
    assert_eq!(body["checks"][1]["ok"], false);
    assert_eq!(
        body["checks"][1]["detail"],
        "connection to rabbitmq:5672 closed"
    );
    up.store(true, Ordering::SeqCst);

    players.execute(gain(1, 13)).await.expect("xp");
    assert!(
        bus.wait_until_caught_up().await.is_err(),
        "the ledger stopped"
    );
    let (status, body) = get(&app, "/health/ready").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    let ledger = &body["checks"][2];
    assert_eq!(ledger["ok"], false);
    let detail = ledger["detail"].as_str().expect("detail");
    assert!(
        detail.starts_with("stopped: ") && detail.contains("ledger full"),
        "{detail}"
    );
    // Liveness does not follow readiness: the process still answers.
    assert_eq!(get(&app, "/health/live").await.0, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_fails_for_a_handler_whose_task_panicked() {
    let store = MemoryStore::new();
    let players = Repository::<Player, _>::new(store.clone());
    players.execute(create(1)).await.expect("created");
    let mut bus = EventBus::new(store.clone(), store.clone());
    bus.subscribe::<common::PlayerEvent, _, _>("ledger", |event| async move {
        if let common::PlayerEvent::XpGained { amount: 13 } = event.payload {
            panic!("the ledger cannot count to 13");
        }
        Ok::<(), BoxError>(())
    });
    let bus = Arc::new(bus.start().expect("starts"));
    bus.wait_until_caught_up().await.expect("caught up");
    let app = Admin::new(store.clone(), bus.clone()).health_router();
    assert_eq!(get(&app, "/health/ready").await.0, StatusCode::OK);

    players.execute(gain(1, 13)).await.expect("xp");
    assert!(
        matches!(
            bus.wait_until_caught_up().await,
            Err(eventful_core::BusError::Stopped(name)) if name == "ledger"
        ),
        "the ledger's task is gone"
    );
    let status = &bus.status().await.expect("status")[0];
    assert!(!status.running);
    let handlers = Admin::new(store.clone(), bus.clone())
        .router(eventful_admin::AdminToken::new(common::TOKEN).expect("valid token"));
    let listed = handlers
        .oneshot(
            Request::get("/handlers/ledger")
                .header("authorization", format!("Bearer {}", common::TOKEN))
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect("answered");
    let bytes = axum::body::to_bytes(listed.into_body(), 1 << 20)
        .await
        .expect("body");
    let view: serde_json::Value = serde_json::from_slice(&bytes).expect("JSON");
    assert_eq!(view["running"], false, "{view}");
    assert!(status.failure.is_none() && status.halted.is_none());
    let (status, body) = get(&app, "/health/ready").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["checks"][1]["name"], "handler ledger");
    assert_eq!(body["checks"][1]["detail"], "not running in this instance");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_fails_while_the_store_is_down() {
    let memory = MemoryStore::new();
    let store = FaultyStore::new(memory.clone());
    let mut bus = EventBus::new(store.clone(), memory.clone());
    bus.subscribe::<common::PlayerEvent, _, _>("ledger", |_| async { Ok::<(), BoxError>(()) });
    let bus = Arc::new(bus.start().expect("starts"));
    let app = Admin::new(store.clone(), bus.clone()).health_router();
    assert_eq!(get(&app, "/health/ready").await.0, StatusCode::OK);

    store.set_writes_down(true);
    let (status, body) = get(&app, "/health/ready").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["status"], "not_ready");
    assert_eq!(body["checks"][0]["name"], "store");
    assert_eq!(body["checks"][0]["ok"], false);
    let detail = body["checks"][0]["detail"].as_str().expect("detail");
    assert!(detail.contains("connection refused"), "{detail}");
    assert_eq!(get(&app, "/health/live").await.0, StatusCode::OK);

    store.set_writes_down(false);
    assert_eq!(get(&app, "/health/ready").await.0, StatusCode::OK);
}

/// A check that passes only once `others` other checks are being asked at the same time:
/// asked one after another, it never does and runs out of time.
struct Together {
    name: &'static str,
    barrier: Arc<tokio::sync::Barrier>,
}

#[async_trait]
impl HealthCheck for Together {
    fn name(&self) -> &str {
        self.name
    }

    async fn check(&self) -> Result<(), BoxError> {
        self.barrier.wait().await;
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_asks_every_check_at_once() {
    let store = MemoryStore::new();
    let bus = Arc::new(
        EventBus::new(store.clone(), store.clone())
            .start()
            .expect("starts"),
    );
    let barrier = Arc::new(tokio::sync::Barrier::new(2));
    let app = Admin::new(store.clone(), bus)
        .with_health_check(Together {
            name: "broker",
            barrier: barrier.clone(),
        })
        .with_health_check(Together {
            name: "cache",
            barrier,
        })
        .health_router();
    let (status, body) = get(&app, "/health/ready").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let names: Vec<_> = body["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .map(|check| check["name"].as_str().expect("name").to_owned())
        .collect();
    assert_eq!(names, ["store", "broker", "cache"], "in order");
}
