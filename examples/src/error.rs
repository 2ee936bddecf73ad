//! [`Error`]: why a run of one of the example programs failed.

use eventful_core::registration::RegistrationError;
use eventful_core::{BusError, CommandError, LoadError, StoreError};

use crate::game_session::GameSessionError;
use crate::ids::SessionId;
use crate::player::PlayerError;
use crate::publish::PublishError;

/// Why a run failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The command line was not understood.
    #[error(transparent)]
    Options(#[from] clap::Error),
    /// MongoDB could not be reached or set up.
    #[error(transparent)]
    Mongo(#[from] eventful_store_mongo::MongoStoreError),
    /// A player command failed.
    #[error(transparent)]
    Player(#[from] CommandError<PlayerError>),
    /// A game-session command failed.
    #[error(transparent)]
    GameSession(#[from] CommandError<GameSessionError>),
    /// Publishing an integration event failed.
    #[error(transparent)]
    Publish(#[from] PublishError),
    /// A handler on the bus failed, or the bus could not start.
    #[error(transparent)]
    Bus(#[from] BusError),
    /// Registered handlers could not be built.
    #[error(transparent)]
    Registration(#[from] RegistrationError),
    /// An aggregate could not be loaded.
    #[error(transparent)]
    Load(#[from] LoadError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A read model could not be rebuilt.
    #[error("cannot rebuild read model `{read_model}`: {source}")]
    Rebuild {
        /// The read model.
        read_model: String,
        /// Why.
        #[source]
        source: eventful_core::projection::RebuildError,
    },
    /// A task of the run panicked or was cancelled.
    #[error("a task of the run stopped: {0}")]
    Task(#[from] tokio::task::JoinError),
    /// The live gateway could not start.
    #[error(transparent)]
    Gateway(#[from] eventful_gateway::GatewayError),
    /// The demo's token key could not be made.
    #[error("the demo token key: {0}")]
    Token(#[source] eventful_gateway::TokenError),
    /// `--serve` could not listen, or serving failed.
    #[error("cannot serve on {address}: {source}")]
    Serve {
        /// Where.
        address: std::net::SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A game server was asked to finish a session whose world it never loaded.
    #[error("no game server loaded the world of session {0}")]
    WorldNotLoaded(SessionId),
    /// RabbitMQ could not be reached, or refused the service's login or queue.
    #[error(transparent)]
    Amqp(#[from] eventful_bus_amqp::AmqpError),
    /// An event a stand-in published did not reach the game-session service in time.
    #[error("event {event_id} of stream `{stream_id}` did not reach the game-session service")]
    NotArrived {
        /// The stream it was published on.
        stream_id: eventful_core::StreamId,
        /// The event.
        event_id: eventful_core::Uuid,
    },
    /// The Prometheus exporter could not be installed (another recorder was first).
    #[error(transparent)]
    Metrics(#[from] eventful_admin::MetricsError),
    /// `EVENTFUL_ADMIN_TOKEN` is not a usable admin token.
    #[error("EVENTFUL_ADMIN_TOKEN: {0}")]
    AdminToken(#[source] eventful_admin::TokenError),
    /// The process could not listen for SIGINT or SIGTERM.
    #[error("cannot wait for a stop signal: {0}")]
    Signal(#[source] std::io::Error),
}
