//! `GET /sse`: Server-Sent Events, for clients that prefer plain HTTP. One connection is one
//! subscription (named `sse`) to the topics of its query:
//!
//! `GET /sse?token=T&stream=player-7&event_type=leaderboard_changed&after=41`
//!
//! Every frame is one `data:` line of the same JSON as over WebSocket; event frames carry
//! their position as the SSE `id`, so a browser's `EventSource` resumes by itself with
//! `Last-Event-ID` after a dropped connection. A refused request is an HTTP error whose body
//! is the frame that says why (`EventSource` does not retry those).

use std::convert::Infallible;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use eventful_core::Position;
use futures::Stream;

use crate::auth::TokenError;
use crate::gateway::Shared;
use crate::protocol::{CloseCode, ErrorCode, PROTOCOL_VERSION, ServerFrame, Topic};
use crate::session::{Session, Step};
use crate::ws::token_of;

/// The one subscription of an SSE connection.
pub(crate) const SUBSCRIPTION: &str = "sse";

/// What an SSE request asks for.
struct SseRequest {
    token: Option<String>,
    topics: Vec<Topic>,
    after: Option<Position>,
}

/// A refused request: its status and the frame that says why, as the body.
struct Refused(StatusCode, Box<ServerFrame>);

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        (self.0, Json(*self.1)).into_response()
    }
}

fn refused(status: StatusCode, frame: ServerFrame) -> Refused {
    Refused(status, Box::new(frame))
}

fn malformed(message: String) -> Refused {
    let frame = ServerFrame::Error {
        code: ErrorCode::MalformedFrame,
        message,
        subscription: None,
    };
    refused(StatusCode::BAD_REQUEST, frame)
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
            "protocol" if value == PROTOCOL_VERSION.to_string() => {}
            "protocol" => {
                let frame = ServerFrame::Closing {
                    code: CloseCode::UnsupportedProtocol,
                    reason: format!("this gateway speaks protocol {PROTOCOL_VERSION}, not {value}"),
                };
                return Err(refused(StatusCode::BAD_REQUEST, frame));
            }
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
    let request = match parse(pairs, &headers) {
        Ok(request) => request,
        Err(refusal) => return refusal.into_response(),
    };
    let verified = match token_of(request.token, &headers) {
        Some(token) => shared.settings.verifier.verify(&token),
        None => Err(TokenError::Missing),
    };
    let claims = match verified {
        Ok(claims) => claims,
        Err(error) => {
            let code = match error {
                TokenError::Expired { .. } => CloseCode::TokenExpired,
                _ => CloseCode::InvalidToken,
            };
            let frame = ServerFrame::Closing {
                code,
                reason: error.to_string(),
            };
            return refused(StatusCode::UNAUTHORIZED, frame).into_response();
        }
    };
    let mut session = Session::open(shared, claims);
    match session
        .subscribe(SUBSCRIPTION, &request.topics, request.after)
        .await
    {
        Ok(after) => {
            for topic in request.topics {
                session.push_subscribed(SUBSCRIPTION, topic, after);
            }
        }
        Err(refusal) => {
            let status = match refusal.code {
                ErrorCode::Forbidden => StatusCode::FORBIDDEN,
                ErrorCode::PositionUnavailable => StatusCode::CONFLICT,
                ErrorCode::StoreUnavailable => StatusCode::SERVICE_UNAVAILABLE,
                _ => StatusCode::BAD_REQUEST,
            };
            let frame = ServerFrame::Error {
                code: refusal.code,
                message: refusal.message,
                subscription: Some(SUBSCRIPTION.to_owned()),
            };
            return refused(status, frame).into_response();
        }
    }
    Sse::new(frames(session))
        .keep_alive(KeepAlive::default())
        .into_response()
}

/// The session's frames as SSE events, ending after the closing frame.
fn frames(session: Session) -> impl Stream<Item = Result<Event, Infallible>> {
    futures::stream::unfold(Some(session), |session| async move {
        let mut session = session?;
        match session.next_step().await {
            Step::Send(outgoing) => {
                let mut event = Event::default().data(outgoing.json);
                if let Some(position) = outgoing.position {
                    event = event.id(position.to_string());
                }
                Some((Ok(event), Some(session)))
            }
            Step::Close(code, reason) => {
                let frame = ServerFrame::Closing { code, reason };
                Some((Ok(Event::default().data(frame.to_json())), None))
            }
        }
    })
}
