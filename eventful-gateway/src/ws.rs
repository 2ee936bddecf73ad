//! `GET /ws`: the WebSocket endpoint. The token comes with the upgrade request (`?token=` or
//! `Authorization: Bearer`); every connection is answered on the socket itself, so a browser,
//! which cannot read the status of a refused upgrade, still reads why in a frame.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use futures::stream::{SplitSink, SplitStream};
use futures::{SinkExt, StreamExt};
use serde::Deserialize;

use crate::auth::{Claims, TokenError};
use crate::gateway::Shared;
use crate::protocol::{CloseCode, PROTOCOL_VERSION, ServerFrame};
use crate::session::{Session, Step};

/// The query of a WebSocket upgrade.
#[derive(Debug, Deserialize)]
pub(crate) struct UpgradeQuery {
    token: Option<String>,
    protocol: Option<u32>,
}

/// The token of a request: `?token=` or `Authorization: Bearer …`.
pub(crate) fn token_of(query: Option<String>, headers: &HeaderMap) -> Option<String> {
    query.or_else(|| {
        headers
            .get(axum::http::header::AUTHORIZATION)?
            .to_str()
            .ok()?
            .strip_prefix("Bearer ")
            .map(str::to_owned)
    })
}

/// The read and write buffers of a WebSocket.
const SOCKET_BUFFER: usize = 8 * 1024;

/// How long the closing frame and the close may take before the socket is dropped.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

pub(crate) async fn upgrade(
    State(shared): State<Arc<Shared>>,
    Query(query): Query<UpgradeQuery>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    let token = token_of(query.token, &headers);
    let protocol = query.protocol;
    // Small socket buffers: a client's frames are small and sent one at a time, and the
    // defaults (128 KiB each way) would be most of what a connection costs.
    upgrade
        .read_buffer_size(SOCKET_BUFFER)
        .write_buffer_size(SOCKET_BUFFER)
        .max_message_size(shared.settings.max_frame_bytes)
        .on_upgrade(move |socket| serve(shared, socket, token, protocol))
}

type Sink = SplitSink<WebSocket, Message>;

async fn serve(
    shared: Arc<Shared>,
    socket: WebSocket,
    token: Option<String>,
    protocol: Option<u32>,
) {
    let (mut sink, incoming) = socket.split();
    let claims = match admit(&shared, token, protocol) {
        Ok(claims) => claims,
        Err((code, reason)) => {
            close(&mut sink, code, reason).await;
            return;
        }
    };
    let session = Session::open(Arc::clone(&shared), claims);
    run(&shared, session, sink, incoming).await;
}

/// The claims of an acceptable connection, or why it is closed at once.
fn admit(
    shared: &Shared,
    token: Option<String>,
    protocol: Option<u32>,
) -> Result<Claims, (CloseCode, String)> {
    if let Some(asked) = protocol.filter(|&asked| asked != PROTOCOL_VERSION) {
        let reason = format!("this gateway speaks protocol {PROTOCOL_VERSION}, not {asked}");
        return Err((CloseCode::UnsupportedProtocol, reason));
    }
    let verified = match token {
        Some(token) => shared.settings.verifier.verify(&token),
        None => Err(TokenError::Missing),
    };
    verified.map_err(|error| match error {
        TokenError::Expired { .. } => (CloseCode::TokenExpired, error.to_string()),
        _ => (CloseCode::InvalidToken, error.to_string()),
    })
}

async fn run(
    shared: &Shared,
    mut session: Session,
    mut sink: Sink,
    mut incoming: SplitStream<WebSocket>,
) {
    let send_timeout = shared.settings.send_timeout;
    loop {
        tokio::select! {
            step = session.next_step() => match step {
                Step::Send(outgoing) => {
                    let sent = tokio::time::timeout(send_timeout, sink.send(Message::Text(outgoing.json.into()))).await;
                    if !matches!(sent, Ok(Ok(()))) {
                        return; // the client is gone, or took too long to take one frame
                    }
                }
                Step::Close(code, reason) => {
                    close(&mut sink, code, reason).await;
                    return;
                }
            },
            received = incoming.next() => match received {
                Some(Ok(Message::Text(text))) => session.on_text(text.as_str()).await,
                Some(Ok(Message::Binary(_))) => {
                    session.refuse_frame(String::from("binary frames are not part of the protocol: send JSON text"));
                }
                // Pings are answered by the WebSocket layer; pongs need nothing.
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                // The client closed, or broke the WebSocket protocol (a frame past the size
                // limit, say): either way this connection is over.
                Some(Ok(Message::Close(_)) | Err(_)) | None => return,
            },
        }
    }
}

/// Sends the closing frame and the close, within [`CLOSE_TIMEOUT`].
async fn close(sink: &mut Sink, code: CloseCode, reason: String) {
    let frame = ServerFrame::Closing {
        code,
        reason: reason.clone(),
    };
    let close = CloseFrame {
        code: code.websocket_code(),
        // A close frame's reason is at most 123 bytes.
        reason: truncated(&reason, 123).to_owned().into(),
    };
    let goodbye = async {
        sink.send(Message::Text(frame.to_json().into())).await?;
        sink.send(Message::Close(Some(close))).await
    };
    let _ = tokio::time::timeout(CLOSE_TIMEOUT, goodbye).await;
}

/// `text` cut to at most `bytes` bytes, on a character boundary.
fn truncated(text: &str, bytes: usize) -> &str {
    let mut end = text.len().min(bytes);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::truncated;

    #[test]
    fn close_reasons_are_cut_on_a_character_boundary() {
        assert_eq!(truncated("short", 123), "short");
        assert_eq!(truncated("ééé", 3), "é");
        assert_eq!(truncated(&"x".repeat(200), 123).len(), 123);
    }
}
