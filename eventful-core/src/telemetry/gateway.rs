//! The two gateway metrics a gateway records itself: clients connected now, and clients it
//! dropped for reading too slowly.

use metrics::{counter, gauge};

use super::{GATEWAY_CONNECTIONS, GATEWAY_SLOW_CLIENTS_DROPPED_TOTAL};

/// One client connected to a gateway: counted in
/// [`GATEWAY_CONNECTIONS`](super::GATEWAY_CONNECTIONS) `{transport}` from
/// [`open`](GatewayConnection::open) until it is dropped, so that a connection task that ends
/// any way (closed, failed, panicked) is no longer counted.
///
/// ```
/// use eventful_core::telemetry::GatewayConnection;
///
/// let connection = GatewayConnection::open("websocket");
/// // … serve the client …
/// drop(connection);
/// ```
#[derive(Debug)]
#[must_use = "the connection is counted only while this value lives"]
pub struct GatewayConnection {
    transport: &'static str,
}

impl GatewayConnection {
    /// Counts a client connected over `transport` (`websocket`, `sse`).
    pub fn open(transport: &'static str) -> Self {
        gauge!(GATEWAY_CONNECTIONS, "transport" => transport).increment(1.0);
        Self { transport }
    }
}

impl Drop for GatewayConnection {
    fn drop(&mut self) {
        gauge!(GATEWAY_CONNECTIONS, "transport" => self.transport).decrement(1.0);
    }
}

/// Counts a client the gateway disconnected because it read too slowly, in
/// [`GATEWAY_SLOW_CLIENTS_DROPPED_TOTAL`](super::GATEWAY_SLOW_CLIENTS_DROPPED_TOTAL)
/// `{transport}`.
///
/// ```
/// eventful_core::telemetry::slow_client_dropped("websocket");
/// ```
pub fn slow_client_dropped(transport: &'static str) {
    counter!(GATEWAY_SLOW_CLIENTS_DROPPED_TOTAL, "transport" => transport).increment(1);
}
