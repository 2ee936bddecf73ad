//! [`Gateway`]: the follower of the log started on a store, the settings every connection
//! shares, the axum [`Router`] a backend mounts, and the clean shutdown.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use eventful_core::{DynEventStore, EventStore, Position, StoreError};
use tokio::sync::{Notify, watch};

use crate::access::Access;
use crate::auth::TokenVerifier;
use crate::hub::{Hub, follow};

/// How a gateway treats its connections.
///
/// ```
/// use std::time::Duration;
/// use eventful_gateway::{GatewaySettings, Rules, TokenVerifier};
///
/// let settings = GatewaySettings::new(TokenVerifier::hs256(b"secret")?, Rules::own_stream("player"))
///     .with_queue_capacity(1024)
///     .with_send_timeout(Duration::from_secs(10));
/// assert_eq!(settings.queue_capacity(), 1024);
/// # Ok::<(), eventful_gateway::TokenError>(())
/// ```
#[derive(Clone)]
pub struct GatewaySettings {
    pub(crate) verifier: TokenVerifier,
    pub(crate) access: Arc<dyn Access>,
    pub(crate) queue_capacity: usize,
    pub(crate) max_subscriptions: usize,
    pub(crate) send_timeout: Duration,
    pub(crate) max_frame_bytes: usize,
    pub(crate) catch_up_budget: u64,
    pub(crate) shutdown_grace: Duration,
}

impl std::fmt::Debug for GatewaySettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GatewaySettings")
            .field("verifier", &self.verifier)
            .field("queue_capacity", &self.queue_capacity)
            .field("max_subscriptions", &self.max_subscriptions)
            .field("send_timeout", &self.send_timeout)
            .field("max_frame_bytes", &self.max_frame_bytes)
            .field("catch_up_budget", &self.catch_up_budget)
            .field("shutdown_grace", &self.shutdown_grace)
            .finish_non_exhaustive()
    }
}

impl GatewaySettings {
    /// Tokens checked by `verifier`, subscriptions by `access`; queues of 256 events, 64
    /// topics a connection, 30 s for a client to take a frame, client frames of at most
    /// 64 KiB, resumes that read at most 100,000 events a connection, 10 s for clients to
    /// take their closing frame at shutdown.
    pub fn new(verifier: TokenVerifier, access: impl Access) -> Self {
        Self {
            verifier,
            access: Arc::new(access),
            queue_capacity: 256,
            max_subscriptions: 64,
            send_timeout: Duration::from_secs(30),
            max_frame_bytes: 64 * 1024,
            catch_up_budget: 100_000,
            shutdown_grace: Duration::from_secs(10),
        }
    }

    /// How many live events may wait for one connection, all its subscriptions together
    /// (those held while a subscription catches up included); one more and the connection
    /// is closed as lagging ([`CloseCode::Lagging`](crate::CloseCode::Lagging)). At least 1.
    pub fn with_queue_capacity(mut self, events: usize) -> Self {
        self.queue_capacity = events.max(1);
        self
    }

    /// How many live events may wait for one connection.
    pub fn queue_capacity(&self) -> usize {
        self.queue_capacity
    }

    /// How many topics one connection may follow: its WebSocket subscriptions (one topic
    /// each), or the topics of its SSE query (a topic named twice counts once). One more is
    /// refused with [`ErrorCode::TooManySubscriptions`](crate::ErrorCode::TooManySubscriptions).
    pub fn with_max_subscriptions(mut self, topics: usize) -> Self {
        self.max_subscriptions = topics;
        self
    }

    /// How long a client may take to accept one frame before the gateway drops it.
    pub fn with_send_timeout(mut self, timeout: Duration) -> Self {
        self.send_timeout = timeout;
        self
    }

    /// The largest client frame accepted; a larger one closes the WebSocket
    /// ([`CloseCode::FrameTooLarge`](crate::CloseCode::FrameTooLarge), close code 1009), refused
    /// by its header before its payload is read.
    pub fn with_max_frame_bytes(mut self, bytes: usize) -> Self {
        self.max_frame_bytes = bytes;
        self
    }

    /// How many events the resumes of one connection may have the store read, in all: a
    /// stream topic costs the events its catch-up reads (from the window at the stream's end
    /// that reaches back to its `after`), an event type topic the positions from its `after`
    /// to where the gateway stands (its catch-up reads that stretch of the log). A resume that
    /// costs more than is left is refused with
    /// [`ErrorCode::PositionUnavailable`](crate::ErrorCode::PositionUnavailable) before its
    /// events are read (finding a long stream's window takes its version and a few one-event
    /// reads); subscribing live costs nothing.
    pub fn with_catch_up_budget(mut self, events: u64) -> Self {
        self.catch_up_budget = events;
        self
    }

    /// How long, once [`Gateway::shutdown`] is called, a connection has to send its
    /// closing frame; one still open then (a client that stopped reading) is dropped without
    /// it, so that shutdown returns.
    pub fn with_shutdown_grace(mut self, grace: Duration) -> Self {
        self.shutdown_grace = grace;
        self
    }
}

/// What the handlers of every connection share.
pub(crate) struct Shared {
    pub(crate) hub: Arc<Hub>,
    pub(crate) store: Arc<dyn DynEventStore>,
    pub(crate) settings: GatewaySettings,
    /// `Some(reason)` once the gateway is shutting down.
    pub(crate) closing: watch::Sender<Option<String>>,
    pub(crate) open_sessions: AtomicUsize,
    pub(crate) all_closed: Notify,
}

impl Shared {
    /// Runs `connection` to its end, or until the shutdown grace has run out: from the moment
    /// the gateway starts closing, a connection has [`GatewaySettings::with_shutdown_grace`]
    /// to send its closing frame, and is then dropped (with its session) wherever it waits —
    /// on a client that stopped reading, say. `None` when it was dropped.
    ///
    /// Boxed: an async fn keeps a future it is given by value twice in its own state, and a
    /// connection's future is much of what a connection costs (unboxed, 2.2 KiB more per
    /// WebSocket client in the fan-out bench).
    pub(crate) async fn within_grace<F: Future + ?Sized>(
        &self,
        connection: Pin<Box<F>>,
    ) -> Option<F::Output> {
        let mut closing = self.closing.subscribe();
        let grace = self.settings.shutdown_grace;
        let grace_over = async move {
            // An error is a gateway already gone: the grace runs from now.
            let _ = closing.wait_for(Option::is_some).await;
            tokio::time::sleep(grace).await;
        };
        tokio::select! {
            output = connection => Some(output),
            () = grace_over => None,
        }
    }
}

/// Why a gateway could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GatewayError {
    /// The store did not say where its log ends, which is where the follower starts.
    #[error("the gateway could not read the head of the log: {0}")]
    Store(#[from] StoreError),
}

/// Live events pushed to game clients: one follower of a store's log, and the WebSocket and
/// SSE endpoints of [`Gateway::router`]. Clones share one gateway.
///
/// ```
/// use eventful_gateway::{Gateway, GatewaySettings, Rules, TokenVerifier};
/// use eventful_store_memory::MemoryStore;
///
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let settings = GatewaySettings::new(TokenVerifier::hs256(b"secret")?, Rules::own_stream("player"));
/// let gateway = Gateway::start(MemoryStore::new(), settings).await?;
/// let app = axum::Router::new().nest("/live", gateway.router());
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
/// let server = tokio::spawn(async move { axum::serve(listener, app).await });
/// gateway.shutdown("the demo is over").await;
/// server.abort();
/// # Ok(()) }
/// # tokio::runtime::Runtime::new().unwrap().block_on(demo()).unwrap();
/// ```
#[derive(Clone)]
pub struct Gateway {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gateway")
            .field("position", &self.position())
            .field("connections", &self.connections())
            .finish_non_exhaustive()
    }
}

impl Gateway {
    /// Starts following `store`'s log from its end (clients that resume read the past from
    /// the store) on the current tokio runtime. Its delivery counters are registered with the
    /// metrics recorder installed now: install the exporter before the gateway starts.
    pub async fn start(
        store: impl EventStore + 'static,
        settings: GatewaySettings,
    ) -> Result<Self, GatewayError> {
        let store: Arc<dyn DynEventStore> = Arc::new(store);
        let head = store.head_position().await?;
        let hub = Arc::new(Hub::new(head, settings.queue_capacity));
        let (closing, _) = watch::channel(None);
        let shared = Arc::new(Shared {
            hub: Arc::clone(&hub),
            store: Arc::clone(&store),
            settings,
            closing,
            open_sessions: AtomicUsize::new(0),
            all_closed: Notify::new(),
        });
        tokio::spawn(follow(hub, store, shared.closing.subscribe()));
        Ok(Self { shared })
    }

    /// The gateway's routes, to mount (`nest`) or merge in the backend's router:
    ///
    /// - `GET /ws`: the WebSocket endpoint (`?token=` or `Authorization: Bearer`);
    /// - `GET /sse`: Server-Sent Events (`?token=&stream=…&event_type=…&after=…`, or
    ///   `Last-Event-ID` to resume).
    pub fn router(&self) -> Router {
        Router::new()
            .route("/ws", get(crate::ws::upgrade))
            .route("/sse", get(crate::sse::events))
            .with_state(Arc::clone(&self.shared))
    }

    /// The position of the last event the follower has dispatched to clients.
    pub fn position(&self) -> Position {
        self.shared.hub.dispatched()
    }

    /// How many client connections are open.
    pub fn connections(&self) -> usize {
        self.shared.open_sessions.load(Ordering::Acquire)
    }

    /// Closes every connection with `reason` ([`CloseCode::ShuttingDown`](crate::CloseCode::ShuttingDown))
    /// and stops the follower; returns once every connection has closed. A connection has
    /// the shutdown grace ([`GatewaySettings::with_shutdown_grace`], 10 s by default) to take
    /// its closing frame; one whose client stopped reading is dropped then, so this returns
    /// within about the grace. Connections opened afterwards are closed at once.
    ///
    /// The gateway's sessions end here; the HTTP server's own graceful shutdown may still
    /// wait on such a client's socket, so bound it as well (see docs/gateway.md).
    pub async fn shutdown(&self, reason: &str) {
        self.shared.closing.send_replace(Some(reason.to_owned()));
        loop {
            let closed = self.shared.all_closed.notified();
            tokio::pin!(closed);
            // Registered before the count is read, so a last close in between still wakes it.
            closed.as_mut().enable();
            if self.connections() == 0 {
                return;
            }
            closed.await;
        }
    }
}
