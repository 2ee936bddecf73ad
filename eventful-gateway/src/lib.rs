//! # eventful-gateway
//!
//! Live game events pushed to game clients (browsers, Unity) over WebSocket and Server-Sent
//! Events. A client connects with a signed token, subscribes to what its token allows — its
//! own player stream, the sessions it plays in, public event types such as leaderboard
//! changes — and receives each event as it is committed, in a documented, versioned JSON
//! format ([`protocol`], docs/gateway.md). A client that reconnects with its last position
//! resumes with no gap and no duplicate.
//!
//! The gateway is an axum [`Router`](axum::Router) the backend mounts; it never binds a port
//! itself. It reads the store's log through **one** subscription and filters per client in
//! memory, so the store's load does not grow with the number of clients; each connection has
//! a bounded queue, and a client that falls too far behind is told so and disconnected
//! without holding anyone back. What one client may cost is bounded too: the topics it
//! follows, the size of its frames, and how much of the store its resumes read (a catch-up
//! budget per connection). [`Gateway::shutdown`] returns within its grace, even with clients
//! that stopped reading.
//!
//! ```
//! use eventful_gateway::{Claims, Gateway, GatewaySettings, Rules, TokenVerifier};
//! use eventful_store_memory::MemoryStore;
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let store = MemoryStore::new();
//! // Players follow their own stream (`player-<sub>`) and everyone's leaderboard changes.
//! let access = Rules::own_stream("player").with_public_event_type("leaderboard_changed");
//! let settings = GatewaySettings::new(TokenVerifier::hs256(b"the login service's secret")?, access);
//! let gateway = Gateway::start(store.clone(), settings).await?;
//!
//! // Mount it beside the backend's own routes, and serve.
//! let app = axum::Router::new().nest("/live", gateway.router());
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let address = listener.local_addr()?;
//! let server = tokio::spawn(async move { axum::serve(listener, app).await });
//!
//! // The login service hands the client a token; the client connects with it:
//! let token = Claims::new("7", chrono::Utc::now() + chrono::Duration::hours(1))
//!     .sign_hs256(b"the login service's secret")?;
//! let url = format!("ws://{address}/live/ws?token={token}");
//! # let _ = url;
//!
//! gateway.shutdown("server stopping").await; // every client is told, then closed
//! server.abort();
//! # Ok(()) }
//! # tokio::runtime::Runtime::new().unwrap().block_on(demo()).unwrap();
//! ```
//!
//! ## Map
//!
//! | module | what lives there |
//! | --- | --- |
//! | [`protocol`] | the frames both ways: [`ClientFrame`], [`ServerFrame`], [`EventEnvelope`], [`Topic`], the codes |
//! | [`auth`] | [`Claims`] and the [`TokenVerifier`] (JWT, through `jsonwebtoken`) |
//! | [`access`] | [`Access`], what a token may follow, [`Rules`], the usual answer, and [`AccessError`] |
//! | [`gateway`] | [`Gateway`] (start, router, shutdown) and [`GatewaySettings`] |
//! | `hub` | the one follower of the log, and the fan-out to each connection's bounded queue |
//! | `session` | one connection's subscriptions: catch-up, then live, each event once |
//! | `catch_up` | the past events a resume reads from the store, merged by position |
//! | `topic` | a topic whose stream id or event type name has been checked once |
//! | `refusal` | how the gateway says no: a `closing` frame, an `error` frame, an SSE request's HTTP status |
//! | `ws`, `sse` | the two endpoints |

#![warn(clippy::unwrap_used)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod access;
pub mod auth;
mod catch_up;
pub mod gateway;
mod hub;
pub mod protocol;
mod refusal;
mod session;
mod sse;
mod topic;
mod ws;

pub use crate::access::{Access, AccessError, Rules};
pub use crate::auth::{Claims, TokenError, TokenVerifier};
pub use crate::gateway::{Gateway, GatewayError, GatewaySettings};
pub use crate::protocol::{
    ClientFrame, CloseCode, ErrorCode, EventEnvelope, PROTOCOL_VERSION, ServerFrame, Topic,
};
pub use async_trait::async_trait;
/// The JWT crate the gateway verifies tokens with, for keys and validation rules of your own.
pub use jsonwebtoken;
