//! `--admin ADDR`: the operator's side of one service process — `/metrics`, `/health/live`,
//! `/health/ready` (the store, both broker links, the handlers that stopped) and the admin API
//! under `/admin`, behind `EVENTFUL_ADMIN_TOKEN` (or a token made at start and printed once).

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use eventful_admin::{Admin, PrometheusMetrics};
use eventful_bus_amqp::BrokerHealth;
use eventful_core::{EventStore, RunningBus};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::error::Error;
use crate::serve::operations::{ADMIN_TOKEN_ENV, admin_token, prometheus};

/// What `--admin` adds to a service process before anything records: the exporter, and where
/// to serve it.
pub(crate) struct AdminSide {
    address: SocketAddr,
    metrics: PrometheusMetrics,
}

/// The endpoints being served; [`Operations::stop`] ends them.
pub(crate) struct Operations {
    /// Where they listen.
    pub(crate) address: SocketAddr,
    stop: watch::Sender<bool>,
    server: JoinHandle<std::io::Result<()>>,
}

impl AdminSide {
    /// Installs the exporter when `--admin` gave an address: handles taken before it would
    /// record nowhere.
    pub(crate) fn install(address: Option<SocketAddr>) -> Result<Option<Self>, Error> {
        address
            .map(|address| {
                Ok(Self {
                    address,
                    metrics: prometheus()?,
                })
            })
            .transpose()
    }

    /// Serves the endpoints of `admin` (the service's store, bus and aggregates), ready only
    /// while every one of `links` is connected.
    pub(crate) async fn serve(
        self,
        admin: Admin,
        links: impl IntoIterator<Item = BrokerHealth>,
    ) -> Result<Operations, Error> {
        let Self { address, metrics } = self;
        let (token, token_text) = admin_token()?;
        let admin = links
            .into_iter()
            .fold(admin, |admin, link| admin.with_health_check(link));
        let app = Router::new()
            .nest("/admin", admin.router(token))
            .merge(admin.health_router())
            .merge(metrics.router());
        let listener = tokio::net::TcpListener::bind(address)
            .await
            .map_err(|source| Error::Serve { address, source })?;
        let address = listener
            .local_addr()
            .map_err(|source| Error::Serve { address, source })?;
        if std::env::var_os(ADMIN_TOKEN_ENV).is_none() {
            println!(
                "ADMIN token (made at start; set {ADMIN_TOKEN_ENV} to choose it): {token_text}"
            );
        }
        let (stop, mut stopped) = watch::channel(false);
        let server = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stopped.wait_for(|stop| *stop).await;
                })
                .await
        });
        Ok(Operations {
            address,
            stop,
            server,
        })
    }
}

/// What the `READY` line says of `operations`: where they are, if anywhere.
pub(crate) fn ready_note(operations: Option<&Operations>) -> String {
    operations.map_or_else(String::new, |operations| {
        format!(" admin=http://{}", operations.address)
    })
}

impl Operations {
    /// Stops serving; returns once the server is gone (and with it its hold on the bus).
    pub(crate) async fn stop(self) {
        self.stop.send_replace(true);
        let _ = self.server.await;
    }
}

/// Shuts `bus` down once the admin API (which held it too) has stopped: every handler stops
/// after its event and gives its claims up. A bus still held elsewhere cannot be, and is said
/// so: its handlers then stop with the process, and their claims run out with their lease.
pub(crate) async fn shut_down<S: EventStore + Clone + 'static>(bus: Arc<RunningBus<S>>) {
    match Arc::try_unwrap(bus) {
        Ok(bus) => bus.shutdown().await,
        Err(_) => tracing::warn!(
            "the bus is still held elsewhere: its handlers stop with the process, and their \
             claims pass to another instance when their lease runs out"
        ),
    }
}
