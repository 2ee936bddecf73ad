//! Liveness and readiness: the process answers; and the store answers, the broker (when there
//! is one) is connected, and no handler has stopped or halted.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use eventful_core::{BoxError, EventStore, HandlerStatus};
use serde::Serialize;

use crate::Admin;

/// How long readiness waits for the store, the health checks and the handlers' status (all
/// asked at once) before calling the late ones down.
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// Something outside the store that the service needs to be ready: a broker connection, for
/// one. Give it to [`Admin::with_health_check`](crate::Admin::with_health_check).
///
/// ```
/// use async_trait::async_trait;
/// use eventful_admin::HealthCheck;
/// use eventful_core::BoxError;
///
/// struct Broker;
///
/// #[async_trait]
/// impl HealthCheck for Broker {
///     fn name(&self) -> &str { "broker" }
///     async fn check(&self) -> Result<(), BoxError> { Ok(()) }
/// }
/// ```
#[async_trait]
pub trait HealthCheck: Send + Sync + 'static {
    /// Its name in the readiness answer.
    fn name(&self) -> &str;

    /// `Ok` when what it watches is up; the error says why not.
    async fn check(&self) -> Result<(), BoxError>;
}

/// One line of the readiness answer.
#[derive(Debug, Serialize)]
pub(crate) struct CheckView {
    name: String,
    ok: bool,
    /// Why not, when not.
    detail: Option<String>,
}

/// The readiness answer.
#[derive(Debug, Serialize)]
pub(crate) struct Readiness {
    /// `ready` or `not_ready`.
    status: &'static str,
    checks: Vec<CheckView>,
}

/// `GET /health/live`: the process is up and answering.
pub(crate) async fn live() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "live" }))
}

/// `GET /health/ready`: 200 when the store answers, every health check passes and every
/// handler runs in this instance (none stopped, halted or panicked); 503 with the failing
/// checks otherwise.
///
/// The store, each health check and the handlers' status are asked at once, under one
/// budget of [`CHECK_TIMEOUT`]: a probe waits for the slowest, never for their sum.
pub(crate) async fn ready(State(admin): State<Arc<Admin>>) -> (StatusCode, Json<Readiness>) {
    let deadline = tokio::time::Instant::now() + CHECK_TIMEOUT;
    let late = || format!("no answer within {CHECK_TIMEOUT:?}");
    let store = async {
        match tokio::time::timeout_at(deadline, admin.store.head_position()).await {
            Ok(Ok(_)) => pass("store"),
            Ok(Err(error)) => fail("store", error.to_string()),
            Err(_) => fail("store", late()),
        }
    };
    let others = futures::future::join_all(admin.checks.iter().map(|check| async move {
        match tokio::time::timeout_at(deadline, check.check()).await {
            Ok(Ok(())) => pass(check.name()),
            Ok(Err(error)) => fail(check.name(), error.to_string()),
            Err(_) => fail(check.name(), late()),
        }
    }));
    let handlers = async {
        match tokio::time::timeout_at(deadline, admin.bus.status()).await {
            Ok(Ok(statuses)) => statuses.iter().map(handler_check).collect(),
            Ok(Err(error)) => vec![fail("handlers", error.to_string())],
            Err(_) => vec![fail("handlers", late())],
        }
    };
    let (store, others, handlers) = tokio::join!(store, others, handlers);
    let checks: Vec<CheckView> = std::iter::once(store)
        .chain(others)
        .chain(handlers)
        .collect();
    let ready = checks.iter().all(|check| check.ok);
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let answer = Readiness {
        status: if ready { "ready" } else { "not_ready" },
        checks,
    };
    (status, Json(answer))
}

/// One handler's line: it fails when the handler stopped, halted or does not run.
fn handler_check(status: &HandlerStatus) -> CheckView {
    let name = format!("handler {}", status.name);
    match (&status.failure, &status.halted) {
        (Some(failure), _) => fail(&name, format!("stopped: {failure}")),
        (None, Some(halted)) => fail(&name, format!("halted: {halted}")),
        // Neither reported: the bus was stopped, or the handler's task panicked.
        (None, None) if !status.running => fail(&name, "not running in this instance".to_owned()),
        (None, None) => pass(&name),
    }
}

fn pass(name: &str) -> CheckView {
    CheckView {
        name: name.to_owned(),
        ok: true,
        detail: None,
    }
}

fn fail(name: &str, detail: String) -> CheckView {
    CheckView {
        name: name.to_owned(),
        ok: false,
        detail: Some(detail),
    }
}
