//! `GET /sse`: Server-Sent Events, for clients that prefer plain HTTP. One connection is one
//! subscription (named `sse`) to the topics of its query:
//!
//! `GET /sse?token=T&stream=player-7&event_type=leaderboard_changed&after=41`
//!
//! Every frame is one `data:` line of the same JSON as over WebSocket; event frames carry
//! their position as the SSE `id`, so a browser's `EventSource` resumes by itself with
//! `Last-Event-ID` after a dropped connection. A refused request is an HTTP error whose body
//! is the frame that says why (`EventSource` does not retry those).
//!
//! The session runs in a task of its own and hands its frames to the response body through
//! a channel of one frame: hyper stops polling a body whose client stopped reading, so the
//! session must not live in the body, or it would never see the send timeout or a shutdown.
//! A frame the body does not take within the send timeout drops the session.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use eventful_core::Position;
use futures::Stream;
use tokio::sync::mpsc;
use tracing::Instrument;

use crate::gateway::Shared;
use crate::protocol::{CloseCode, ErrorCode, Topic};
use crate::refusal::{Closing, Refusal, Refused};
use crate::session::{Handover, Session, Step, Transport};

/// The one subscription of an SSE connection.
pub(crate) const SUBSCRIPTION: &str = "sse";

/// What an SSE request asks for.
struct SseRequest {
    token: Option<String>,
    topics: Vec<Topic>,
    after: Option<Position>,
}

fn malformed(message: String) -> Refused {
    Refusal::new(ErrorCode::MalformedFrame, message).into()
}

/// Reads the query (repeated `stream` and `event_type` keys) and `Last-Event-ID`, which a
/// reconnecting `EventSource` sends and which wins over `after`.
fn parse(pairs: Vec<(String, String)>, headers: &HeaderMap) -> Result<SseRequest, Refused> {
    let mut request = SseRequest {
        token: None,
        topics: Vec::new(),
        after: None,
    };
    let position = |key: &str, value: &str| {
        value.trim().parse::<u64>().map(Position::new).map_err(|_| {
            malformed(format!(
                "`{key}` must be a position (a whole number), not `{value}`"
            ))
        })
    };
    for (key, value) in pairs {
        match key.as_str() {
            "token" => request.token = Some(value),
            "stream" => request.topics.push(Topic::Stream(value)),
            "event_type" => request.topics.push(Topic::EventType(value)),
            "after" => request.after = Some(position("after", &value)?),
            "protocol" => Closing::unless_our_protocol(&value)?,
            other => return Err(malformed(format!("unknown query parameter `{other}`"))),
        }
    }
    if let Some(last) = headers.get("last-event-id") {
        let last = last.to_str().unwrap_or_default();
        request.after = Some(position("Last-Event-ID", last)?);
    }
    if request.topics.is_empty() {
        return Err(malformed(String::from(
            "nothing to follow: add `stream=` or `event_type=` to the query",
        )));
    }
    Ok(request)
}

pub(crate) async fn events(
    State(shared): State<Arc<Shared>>,
    Query(pairs): Query<Vec<(String, String)>>,
    headers: HeaderMap,
) -> Response {
    let opened = shared
        .within_grace(Box::pin(open(Arc::clone(&shared), pairs, &headers)))
        .await
        .unwrap_or_else(|| {
            let reason = "the gateway stopped before the subscription started";
            Err(Closing::new(CloseCode::ShuttingDown, reason).into())
        });
    let session = match opened {
        Ok(session) => session,
        Err(refused) => return refused.into_response(),
    };
    let (frames, body) = mpsc::channel(1);
    let send_timeout = shared.settings.send_timeout;
    tokio::spawn(async move {
        let _ = shared
            .within_grace(Box::pin(pump(session, frames, send_timeout)))
            .await;
    });
    Sse::new(received(body))
        .keep_alive(KeepAlive::default())
        .into_response()
}

/// The session of an acceptable request, subscribed to its topics.
async fn open(
    shared: Arc<Shared>,
    pairs: Vec<(String, String)>,
    headers: &HeaderMap,
) -> Result<Session, Refused> {
    let request = parse(pairs, headers)?;
    let claims = shared
        .settings
        .verifier
        .verify_request(request.token, headers)?;
    let mut session = Session::open(shared, claims, Transport::Sse);
    session
        .subscribe(SUBSCRIPTION, &request.topics, request.after)
        .await
        .map_err(|refusal| refusal.of(SUBSCRIPTION))?;
    Ok(session)
}

/// Hands the session's frames to the response body, the closing frame last. Returns (and
/// drops the session) when the body has gone, or has not taken a frame for `send_timeout`:
/// its client stopped reading.
async fn pump(mut session: Session, frames: mpsc::Sender<Event>, send_timeout: Duration) {
    loop {
        let step = tokio::select! {
            step = session.next_step() => step,
            () = frames.closed() => return,
        };
        let (event, last, handover) = match step {
            Step::Send(outgoing) => {
                let mut event = Event::default().data(outgoing.json);
                if let Some(position) = outgoing.position {
                    event = event.id(position.to_string());
                }
                (event, false, outgoing.handover)
            }
            Step::Close(closing) => (
                Event::default().data(closing.frame().to_json()),
                true,
                Handover::default(),
            ),
        };
        let sent = frames
            .send_timeout(event, send_timeout)
            .instrument(handover.span())
            .await
            .is_ok();
        handover.finish(sent);
        if !sent || last {
            return;
        }
    }
}

/// The frames the pump hands over, as the SSE body.
fn received(frames: mpsc::Receiver<Event>) -> impl Stream<Item = Result<Event, Infallible>> {
    futures::stream::unfold(frames, |mut frames| async move {
        let event = frames.recv().await?;
        Some((Ok(event), frames))
    })
}
