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
use tracing::Instrument;

use crate::auth::Claims;
use crate::gateway::Shared;
use crate::protocol::CloseCode;
use crate::refusal::Closing;
use crate::session::{Session, Step, Transport};

/// The read and write buffers of a WebSocket.
const SOCKET_BUFFER: usize = 8 * 1024;

/// How long the closing frame and the close may take before the socket is dropped.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

pub(crate) async fn upgrade(
    State(shared): State<Arc<Shared>>,
    Query(query): Query<Vec<(String, String)>>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    // Judged now, answered on the socket: the query is read as text, so that nothing a
    // client writes in it is refused with an HTTP status the browser cannot read.
    let admitted = admit(&shared, query, &headers);
    // Small socket buffers: a client's frames are small and sent one at a time, and the
    // defaults (128 KiB each way) would be most of what a connection costs.
    upgrade
        .read_buffer_size(SOCKET_BUFFER)
        .write_buffer_size(SOCKET_BUFFER)
        // Both: the frame limit refuses a frame by its header, before its payload is read,
        // and the message limit a message sent in many small frames.
        .max_frame_size(shared.settings.max_frame_bytes)
        .max_message_size(shared.settings.max_frame_bytes)
        .on_upgrade(move |socket| async move {
            let _ = shared
                .within_grace(Box::pin(serve(Arc::clone(&shared), socket, admitted)))
                .await;
        })
}

type Sink = SplitSink<WebSocket, Message>;

async fn serve(shared: Arc<Shared>, socket: WebSocket, admitted: Result<Claims, Closing>) {
    let (mut sink, incoming) = socket.split();
    let claims = match admitted {
        Ok(claims) => claims,
        Err(refused) => {
            close(&mut sink, refused).await;
            return;
        }
    };
    let session = Session::open(Arc::clone(&shared), claims, Transport::WebSocket);
    run(&shared, session, sink, incoming).await;
}

/// The claims of an acceptable connection, or why it is closed at once. The query takes
/// `token` and `protocol`; anything else is a client's mistake, said rather than ignored.
fn admit(
    shared: &Shared,
    query: Vec<(String, String)>,
    headers: &HeaderMap,
) -> Result<Claims, Closing> {
    let mut token = None;
    for (key, value) in query {
        match key.as_str() {
            "token" => token = Some(value),
            "protocol" => Closing::unless_our_protocol(&value)?,
            other => {
                let reason = format!(
                    "unknown query parameter `{other}`: the WebSocket endpoint takes `token` and \
                     `protocol`"
                );
                return Err(Closing::new(CloseCode::MalformedRequest, reason));
            }
        }
    }
    Ok(shared.settings.verifier.verify_request(token, headers)?)
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
                    let handover = outgoing.handover;
                    let sent = tokio::time::timeout(send_timeout, sink.send(Message::Text(outgoing.json.into())))
                        .instrument(handover.span())
                        .await;
                    let sent = matches!(sent, Ok(Ok(())));
                    handover.finish(sent);
                    if !sent {
                        return; // the client is gone, or took too long to take one frame
                    }
                }
                Step::Close(closing) => {
                    close(&mut sink, closing).await;
                    return;
                }
            },
            received = incoming.next() => match received {
                // Boxed: a subscription's future (access, store, budget) would otherwise be
                // part of every connection's, all its life.
                Some(Ok(Message::Text(text))) => Box::pin(session.on_text(text.as_str())).await,
                Some(Ok(Message::Binary(_))) => {
                    session.refuse_frame(String::from("binary frames are not part of the protocol: send JSON text"));
                }
                // Pings are answered by the WebSocket layer; pongs need nothing.
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                Some(Err(error)) => {
                    if let Some(too_large) = too_large(error) {
                        close(&mut sink, too_large).await;
                    }
                    return; // anything else broke the WebSocket protocol: nothing to say
                }
                // The client closed.
                Some(Ok(Message::Close(_))) | None => return,
            },
        }
    }
}

/// Sends the closing frame and the close, within [`CLOSE_TIMEOUT`].
async fn close(sink: &mut Sink, closing: Closing) {
    let close = CloseFrame {
        code: closing.code.websocket_code(),
        // A close frame's reason is at most 123 bytes.
        reason: truncated(&closing.reason, 123).to_owned().into(),
    };
    let frame = closing.frame().to_json();
    let goodbye = async {
        sink.send(Message::Text(frame.into())).await?;
        sink.send(Message::Close(Some(close))).await
    };
    let _ = tokio::time::timeout(CLOSE_TIMEOUT, goodbye).await;
}

/// The closing of a connection whose client sent a frame larger than the limit, if that
/// is what `error` says.
fn too_large(error: axum::Error) -> Option<Closing> {
    use tokio_tungstenite::tungstenite::error::{CapacityError, Error};
    match error.into_inner().downcast_ref::<Error>()? {
        Error::Capacity(CapacityError::MessageTooLong { size, max_size }) => {
            let reason = format!("a frame of {size} bytes: this gateway takes at most {max_size}");
            Some(Closing::new(CloseCode::FrameTooLarge, reason))
        }
        _ => None,
    }
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
