//! The gateway as a game client sees it: a real server on a loopback port, real WebSocket and
//! SSE clients.

mod fan_out;
mod faults;
mod limits;
mod metrics;
mod restart;
mod resume;
mod shutdown;
mod slow_clients;
mod sse;
mod support;
mod websocket;
