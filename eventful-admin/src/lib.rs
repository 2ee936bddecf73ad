//! # eventful-admin
//!
//! What an operator needs to run an eventful service, as [axum] routers the application
//! mounts (the crate never binds a port; the application serves them):
//!
//! - [`Admin::router`]: the admin API, behind its own [`AdminToken`] — handlers with owner,
//!   segment, position, lag and parked count; pause and resume; rebuild a read model into a
//!   fresh copy while the old one serves reads; parked events listed, replayed, dismissed;
//!   any stream or aggregate as of a version or a time, as JSON.
//! - [`Admin::health_router`]: `/health/live` and `/health/ready` (the store answers, the
//!   broker is connected, no handler stopped), for the orchestrator's probes.
//! - [`PrometheusMetrics::router`]: `/metrics`, the metrics eventful records
//!   ([`eventful_core::telemetry`]) in the Prometheus text format.
//!
//! ```
//! use std::sync::Arc;
//! use eventful_admin::{Admin, AdminToken};
//! use eventful_core::EventBus;
//! use eventful_core::swappable::Swappable;
//! # use eventful_core::prelude::*;
//! # use eventful_store_memory::MemoryStore;
//! # #[derive(Default)] struct Board;
//! # #[derive(eventful_core::Event, serde::Serialize, serde::Deserialize, Debug, Clone)] enum BoardEvent { Scored { points: u64 } }
//! # #[async_trait] impl Projection for Board { type Event = BoardEvent; fn name(&self) -> &str { "board" }
//! #   async fn apply(&self, _: &RecordedEvent<BoardEvent>) -> Result<(), BoxError> { Ok(()) }
//! #   async fn reset(&self) -> Result<(), BoxError> { Ok(()) } }
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let store = MemoryStore::new();
//! let board = Swappable::new(Board::default);
//! let mut bus = EventBus::new(store.clone(), store.clone());
//! bus.projection(board.clone());
//! let bus = Arc::new(bus.start()?);
//!
//! let admin = Admin::new(store, bus).with_rebuild(board);
//! let app = axum::Router::new()
//!     .nest("/admin", admin.router(AdminToken::new("an-admin-token-from-a-secret")?))
//!     .merge(admin.health_router());
//! // axum::serve(listener, app).await?;
//! # drop(app);
//! # Ok(()) }
//! # tokio::runtime::Runtime::new().unwrap().block_on(demo()).unwrap();
//! ```
//!
//! docs/operations.md is the operator's page: every route and metric, what to watch, what
//! each alert means, how to rebuild, replay and recover.
//!
//! ## Map
//!
//! | module | what lives there |
//! | --- | --- |
//! | this file | [`Admin`]: what the routes act on, and the routers |
//! | `token` | [`AdminToken`] and the middleware that refuses requests without it |
//! | `handlers` | the handler routes: list, pause, resume, parked events |
//! | `rebuilds` | rebuilds into a fresh copy as background jobs, and their outcome |
//! | `reads` | the read routes: streams and aggregates as of a version or a time |
//! | `health` | [`HealthCheck`], liveness and readiness |
//! | `prometheus` | [`PrometheusMetrics`]: the exporter and `/metrics` |
//! | `views` | the JSON answers: [`HandlerView`], [`ParkedView`], [`StreamView`], [`AggregateView`] |
//! | `control` | the object-safe views of the bus, rebuildable read models and aggregates |
//! | `error` | [`AdminError`], each refusal's status and JSON body |

mod control;
mod error;
mod handlers;
mod health;
mod prometheus;
mod reads;
mod rebuilds;
mod token;
mod views;

use std::collections::HashMap;
use std::marker::PhantomData;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};
use eventful_core::projection::Projection;
use eventful_core::swappable::Swappable;
use eventful_core::{Aggregate, EventStore, RunningBus, Upcasters};
use serde::Serialize;

use self::control::{AggregateOf, AggregateReader, BusControl, Rebuild, Store};
pub use self::error::AdminError;
pub use self::health::{CHECK_TIMEOUT, HealthCheck};
pub use self::prometheus::{COMMAND_DURATION_BUCKETS, MetricsError, PrometheusMetrics};
use self::rebuilds::RebuildJobs;
pub use self::token::{AdminToken, MIN_TOKEN_LEN, TokenError};
pub use self::views::{AggregateView, EventView, HandlerView, ParkedView, SegmentView, StreamView};

/// What the admin and health routes act on: the store, the running bus, the read models that
/// can be rebuilt into a fresh copy, the aggregates that can be read back, and the health
/// checks beyond the store.
#[derive(Clone)]
pub struct Admin {
    store: Store,
    bus: Arc<dyn BusControl>,
    upcasters: Upcasters,
    rebuilds: HashMap<String, Arc<dyn Rebuild>>,
    aggregates: HashMap<String, Arc<dyn AggregateReader>>,
    checks: Vec<Arc<dyn HealthCheck>>,
    pause_wait: Duration,
    rebuild_wait: Duration,
    jobs: RebuildJobs,
}

/// How long `POST /handlers/{name}/rebuild` waits for the rebuild before it answers `202
/// Accepted` (still running; `GET` the same route for its outcome), by default.
pub const REBUILD_WAIT: Duration = Duration::from_secs(10);

/// How long `POST /handlers/{name}/pause` waits for the handler's segments to pause before it
/// answers `202 Accepted` (still pausing), by default.
pub const PAUSE_WAIT: Duration = Duration::from_secs(10);

impl Admin {
    /// The admin of `bus`, running on `store`. Rebuilds and aggregate reads decode old event
    /// shapes with the bus's upcasters ([`RunningBus::upcasters`]), so that they read the log
    /// as its handlers do.
    pub fn new<S: EventStore + Clone + 'static>(store: S, bus: Arc<RunningBus<S>>) -> Self {
        Self {
            store: Arc::new(store),
            upcasters: bus.upcasters().clone(),
            bus,
            rebuilds: HashMap::new(),
            aggregates: HashMap::new(),
            checks: Vec::new(),
            pause_wait: PAUSE_WAIT,
            rebuild_wait: REBUILD_WAIT,
            jobs: RebuildJobs::default(),
        }
    }

    /// Sets how long a pause request waits for the handler to pause ([`PAUSE_WAIT`] by
    /// default). A segment inside a long batch, or waiting for a store that does not answer,
    /// pauses only once it is out: the request then answers `202 Accepted`, the handler
    /// still pausing, rather than hold the operator's connection.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use eventful_admin::Admin;
    /// # use eventful_core::EventBus;
    /// # use eventful_store_memory::MemoryStore;
    /// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// # let store = MemoryStore::new();
    /// # let bus = Arc::new(EventBus::new(store.clone(), store.clone()).start()?);
    /// let admin = Admin::new(store, bus).with_pause_wait(std::time::Duration::from_secs(3));
    /// # drop(admin);
    /// # Ok(()) }
    /// # tokio::runtime::Runtime::new().unwrap().block_on(demo()).unwrap();
    /// ```
    pub fn with_pause_wait(mut self, wait: Duration) -> Self {
        self.pause_wait = wait;
        self
    }

    /// Sets how long a rebuild request waits for the rebuild ([`REBUILD_WAIT`] by default).
    /// The rebuild runs on a task of its own and goes on after the answer: a request that
    /// waited this long answers `202 Accepted`, and `GET /handlers/{name}/rebuild` gives the
    /// outcome later.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use eventful_admin::Admin;
    /// # use eventful_core::EventBus;
    /// # use eventful_store_memory::MemoryStore;
    /// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// # let store = MemoryStore::new();
    /// # let bus = Arc::new(EventBus::new(store.clone(), store.clone()).start()?);
    /// let admin = Admin::new(store, bus).with_rebuild_wait(std::time::Duration::from_secs(1));
    /// # drop(admin);
    /// # Ok(()) }
    /// # tokio::runtime::Runtime::new().unwrap().block_on(demo()).unwrap();
    /// ```
    pub fn with_rebuild_wait(mut self, wait: Duration) -> Self {
        self.rebuild_wait = wait;
        self
    }

    /// Lets `POST /handlers/{name}/rebuild` rebuild `projection` (registered on the bus under
    /// the same name) into a fresh copy, swapped in once caught up.
    pub fn with_rebuild<P: Projection>(mut self, projection: Swappable<P>) -> Self {
        self.rebuilds
            .insert(projection.name().to_owned(), Arc::new(projection));
        self
    }

    /// Lets `GET /aggregates/{A::TYPE}/{id}` read aggregates of type `A`, as of a version or
    /// a time.
    pub fn with_aggregate<A>(mut self) -> Self
    where
        A: Aggregate + Serialize + Send + Sync,
        A::Id: FromStr,
        <A::Id as FromStr>::Err: std::error::Error + Send + Sync + 'static,
    {
        self.aggregates
            .insert(A::TYPE.to_string(), Arc::new(AggregateOf::<A>(PhantomData)));
        self
    }

    /// Adds a check that readiness asks besides the store and the handlers: the broker
    /// connection, say.
    pub fn with_health_check(mut self, check: impl HealthCheck) -> Self {
        self.checks.push(Arc::new(check));
        self
    }

    /// The admin API, every route refused (`401`, `403`) without `Authorization: Bearer
    /// <token>`. Nest it where operators reach it (`/admin`):
    ///
    /// | route | what it does |
    /// | --- | --- |
    /// | `GET /handlers` | every handler: owner, segment, position, lag, parked count, paused |
    /// | `GET /handlers/{name}` | one handler |
    /// | `POST /handlers/{name}/pause`, `…/resume` | pause or resume it in this instance (`202` while a pause is still under way after [`Admin::with_pause_wait`]) |
    /// | `POST /handlers/{name}/rebuild` | rebuild it into a fresh copy, swapped in when caught up (`202` while it still runs after [`Admin::with_rebuild_wait`]) |
    /// | `GET /handlers/{name}/rebuild` | how the last rebuild went: `running`, `done`, `failed` |
    /// | `GET /handlers/{name}/parked` | the events it parked |
    /// | `POST /handlers/{name}/parked/{event_id}/replay` | hand one to it again |
    /// | `DELETE /handlers/{name}/parked/{event_id}` | forget one unhandled |
    /// | `GET /streams/{stream_id}?from=&limit=&version=&at=` | a stream's events, as of a version or a time |
    /// | `GET /aggregates/{type}/{id}?version=&at=` | an aggregate's state as of a version or a time |
    pub fn router(&self, token: AdminToken) -> Router {
        Router::new()
            .route("/handlers", get(handlers::list))
            .route("/handlers/{name}", get(handlers::one))
            .route("/handlers/{name}/pause", post(handlers::pause))
            .route("/handlers/{name}/resume", post(handlers::resume))
            .route(
                "/handlers/{name}/rebuild",
                post(rebuilds::start).get(rebuilds::last),
            )
            .route("/handlers/{name}/parked", get(handlers::parked))
            .route(
                "/handlers/{name}/parked/{event_id}/replay",
                post(handlers::replay),
            )
            .route(
                "/handlers/{name}/parked/{event_id}",
                axum::routing::delete(handlers::dismiss),
            )
            .route("/streams/{stream_id}", get(reads::stream))
            .route("/aggregates/{aggregate_type}/{id}", get(reads::aggregate))
            .with_state(Arc::new(self.clone()))
            .layer(axum::middleware::from_fn_with_state(
                token,
                token::require_token,
            ))
    }

    /// `GET /health/live` and `GET /health/ready`, with no token: for the orchestrator's
    /// probes.
    pub fn health_router(&self) -> Router {
        Router::new()
            .route("/health/live", get(health::live))
            .route("/health/ready", get(health::ready))
            .with_state(Arc::new(self.clone()))
    }
}

impl std::fmt::Debug for Admin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Admin")
            .field("rebuilds", &self.rebuilds.keys().collect::<Vec<_>>())
            .field("aggregates", &self.aggregates.keys().collect::<Vec<_>>())
            .field("checks", &self.checks.len())
            .finish_non_exhaustive()
    }
}
