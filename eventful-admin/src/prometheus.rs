//! [`PrometheusMetrics`]: the Prometheus exporter for what eventful records, and the router
//! that serves it at `/metrics`.

use std::time::Duration;

use axum::Router;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::routing::get;
use eventful_core::telemetry::COMMAND_DURATION_SECONDS;
use metrics_exporter_prometheus::{BuildError, Matcher, PrometheusBuilder, PrometheusHandle};

/// The command latency buckets, in seconds: a command on the memory store takes about a
/// microsecond, on MongoDB about a millisecond, and a slow one under contention tens.
pub const COMMAND_DURATION_BUCKETS: &[f64] = &[
    0.000_005, 0.000_025, 0.000_1, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
    0.5, 1.0, 2.5, 5.0,
];

/// How often histogram samples are folded in between scrapes, so that they do not pile up.
const UPKEEP: Duration = Duration::from_secs(5);

/// Why the exporter could not be installed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MetricsError {
    /// The exporter refused its settings, or another recorder is installed already (there is
    /// one per process).
    #[error("cannot install the Prometheus exporter: {0}")]
    Install(#[from] BuildError),
}

/// The process's metrics recorder, exporting in the Prometheus text format.
///
/// [`install`](PrometheusMetrics::install) it at the start of `main`, before building
/// repositories and starting buses, then mount [`router`](PrometheusMetrics::router).
///
/// ```no_run
/// use eventful_admin::PrometheusMetrics;
///
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let metrics = PrometheusMetrics::install()?;
/// let app = axum::Router::new().merge(metrics.router());
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:9000").await?;
/// axum::serve(listener, app).await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct PrometheusMetrics {
    handle: PrometheusHandle,
}

impl PrometheusMetrics {
    /// Installs the exporter as the process's recorder, with histogram buckets for the
    /// command latency, and calls [`eventful_core::telemetry::init`] (metric descriptions,
    /// the latency histogram on). Inside a tokio runtime it also starts a task that folds
    /// histogram samples in every few seconds.
    pub fn install() -> Result<Self, MetricsError> {
        let handle = PrometheusBuilder::new()
            .set_buckets_for_metric(
                Matcher::Full(COMMAND_DURATION_SECONDS.to_owned()),
                COMMAND_DURATION_BUCKETS,
            )?
            .install_recorder()?;
        eventful_core::telemetry::init();
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let upkeep = handle.clone();
            runtime.spawn(async move {
                loop {
                    tokio::time::sleep(UPKEEP).await;
                    upkeep.run_upkeep();
                }
            });
        }
        Ok(Self { handle })
    }

    /// Every metric now, in the Prometheus text format.
    pub fn render(&self) -> String {
        self.handle.render()
    }

    /// `GET /metrics`, for Prometheus to scrape. Mount it where the scraper reaches it and
    /// players do not; it needs no token.
    pub fn router(&self) -> Router {
        let handle = self.handle.clone();
        Router::new().route(
            "/metrics",
            get(move || {
                let handle = handle.clone();
                async move {
                    (
                        [(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
                        handle.render(),
                    )
                        .into_response()
                }
            }),
        )
    }
}

impl std::fmt::Debug for PrometheusMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PrometheusMetrics(..)")
    }
}
