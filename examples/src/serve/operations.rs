//! The operator's side of `--serve`: the Prometheus exporter at `/metrics`, liveness and
//! readiness at `/health/live` and `/health/ready`, and the admin API under `/admin`, behind
//! its own token — `EVENTFUL_ADMIN_TOKEN`, or one made at start and printed once.

use std::sync::{Arc, Mutex};

use axum::Router;
use eventful_admin::{Admin, AdminToken, PrometheusMetrics};
use eventful_core::{EventStore, RunningBus};

use crate::error::Error;
use crate::game_session::GameSession;
use crate::player::Player;
use crate::programs::game_backend::ReadModels;

/// The variable the admin token is read from.
pub const ADMIN_TOKEN_ENV: &str = "EVENTFUL_ADMIN_TOKEN";

/// The process's exporter: there is one recorder per process, and a process may serve more
/// than once (a test does).
static PROMETHEUS: Mutex<Option<PrometheusMetrics>> = Mutex::new(None);

/// The process's Prometheus exporter, installed at the first call (before anything records).
pub fn prometheus() -> Result<PrometheusMetrics, Error> {
    let mut installed = PROMETHEUS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(metrics) = &*installed {
        return Ok(metrics.clone());
    }
    let metrics = PrometheusMetrics::install()?;
    *installed = Some(metrics.clone());
    Ok(metrics)
}

/// The admin token: `EVENTFUL_ADMIN_TOKEN` when set, else a random one (said once at start);
/// with its text, for whoever calls the admin API.
pub fn admin_token() -> Result<(AdminToken, String), Error> {
    let text = std::env::var(ADMIN_TOKEN_ENV).unwrap_or_else(|_| {
        format!(
            "{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        )
    });
    let token = AdminToken::new(&text).map_err(Error::AdminToken)?;
    Ok((token, text))
}

/// `/metrics`, `/health/live`, `/health/ready` and `/admin/…` over `bus` on `store`, with
/// the players and the game sessions readable as of a version or a time, and the leaderboard
/// rebuilt into a fresh copy on request.
pub fn router<S>(
    store: S,
    bus: Arc<RunningBus<S>>,
    read_models: &ReadModels,
    metrics: &PrometheusMetrics,
    token: AdminToken,
) -> Router
where
    S: EventStore + Clone + 'static,
{
    let admin = Admin::new(store, bus)
        .with_rebuild(read_models.leaderboard.clone())
        .with_aggregate::<Player>()
        .with_aggregate::<GameSession>();
    Router::new()
        .nest("/admin", admin.router(token))
        .merge(admin.health_router())
        .merge(metrics.router())
}
