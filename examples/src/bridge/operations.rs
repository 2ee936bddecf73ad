//! `--admin ADDR`: the operator's side of one service process — `/metrics`, `/health/live`,
//! `/health/ready` (the store, both broker links, the handlers that stopped) and the admin API
//! under `/admin`, behind `EVENTFUL_ADMIN_TOKEN` (or a token made at start and printed once).

use std::net::SocketAddr;

use axum::Router;
use eventful_admin::{Admin, AdminToken, PrometheusMetrics};
use eventful_bus_amqp::{BrokerHealth, ConsumerStats, Relay, RunningConsumer};
use eventful_core::{EventStore, RunningBus};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::error::Error;
use crate::serve::SERVER_DRAIN;
use crate::serve::operations::{ADMIN_TOKEN_ENV, admin_token, prometheus};

/// What `--admin` adds to a service process before anything records or claims: the exporter,
/// the admin token and the listener, so that a bad token or a taken port fails the process
/// before its handlers hold claims.
pub(crate) struct AdminSide {
    listener: tokio::net::TcpListener,
    address: SocketAddr,
    metrics: PrometheusMetrics,
    token: AdminToken,
}

/// The endpoints being served; [`Operations::stop`] ends them.
pub(crate) struct Operations {
    /// Where they listen.
    pub(crate) address: SocketAddr,
    stop: watch::Sender<bool>,
    server: JoinHandle<std::io::Result<()>>,
}

impl AdminSide {
    /// When `--admin` gave an address: installs the exporter (handles taken before it would
    /// record nowhere), reads or makes the admin token, and binds the address.
    pub(crate) async fn install(address: Option<SocketAddr>) -> Result<Option<Self>, Error> {
        let Some(address) = address else {
            return Ok(None);
        };
        let metrics = prometheus()?;
        let (token, token_text) = admin_token()?;
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
        Ok(Some(Self {
            listener,
            address,
            metrics,
            token,
        }))
    }

    /// Serves the endpoints of `admin` (the service's store, bus and aggregates), ready only
    /// while every one of `links` is connected.
    pub(crate) fn serve(
        self,
        admin: Admin,
        links: impl IntoIterator<Item = BrokerHealth>,
    ) -> Operations {
        let Self {
            listener,
            address,
            metrics,
            token,
        } = self;
        let admin = links
            .into_iter()
            .fold(admin, |admin, link| admin.with_health_check(link));
        let app = Router::new()
            .nest("/admin", admin.router(token))
            .merge(admin.health_router())
            .merge(metrics.router());
        let (stop, mut stopped) = watch::channel(false);
        let server = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stopped.wait_for(|stop| *stop).await;
                })
                .await
        });
        Operations {
            address,
            stop,
            server,
        }
    }
}

/// What the `READY` line says of `operations`: where they are, if anywhere.
pub(crate) fn ready_note(operations: Option<&Operations>) -> String {
    operations.map_or_else(String::new, |operations| {
        format!(" admin=http://{}", operations.address)
    })
}

impl Operations {
    /// Stops serving: the server finishes its connections, or is ended after
    /// [`SERVER_DRAIN`] (a client that stopped reading would hold it forever).
    pub(crate) async fn stop(mut self) {
        self.stop.send_replace(true);
        if tokio::time::timeout(SERVER_DRAIN, &mut self.server)
            .await
            .is_err()
        {
            self.server.abort();
        }
    }
}

/// Stops one service process in order, once it was told to: its operator's endpoints, its
/// consumer (whose counts it returns, taken first), its relay, then its bus, whose handlers
/// stop after their event and give their claims up (the admin API may still hold the bus).
pub(crate) async fn stop_service<S: EventStore + Clone + 'static>(
    operations: Option<Operations>,
    consuming: RunningConsumer,
    relay: &Relay,
    running: &RunningBus<S>,
) -> ConsumerStats {
    let stats = consuming.stats();
    if let Some(operations) = operations {
        operations.stop().await;
    }
    consuming.shutdown().await;
    relay.close();
    running.stop().await;
    stats
}
