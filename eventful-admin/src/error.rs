//! [`AdminError`]: every refusal of the admin API, turned into a response in one place — a
//! status and a JSON body `{"error": code, "message": text}` that says what was wrong and
//! with which handler, stream or version.

use axum::Json;
use axum::extract::Path;
use axum::extract::rejection::PathRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use eventful_core::{BusError, StoreError, Version};
use uuid::Uuid;

/// Why the admin API refused or failed a request.
///
/// ```
/// use axum::http::StatusCode;
/// use eventful_admin::AdminError;
///
/// let error = AdminError::UnknownHandler { handler: "leaderbord".into() };
/// assert_eq!(error.status(), StatusCode::NOT_FOUND);
/// assert_eq!(error.code(), "unknown_handler");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AdminError {
    /// The request carried no `Authorization: Bearer` admin token.
    #[error("the admin API needs `Authorization: Bearer <admin token>`")]
    MissingToken,
    /// The request carried a token, but not the admin token.
    #[error("the admin token is not valid")]
    WrongToken,
    /// No handler of that name runs on the bus.
    #[error("no handler is named `{handler}`")]
    UnknownHandler {
        /// The name asked for.
        handler: String,
    },
    /// The handler has no fresh-copy rebuild: it was not given to
    /// [`Admin::with_rebuild`](crate::Admin::with_rebuild).
    #[error(
        "handler `{handler}` cannot be rebuilt into a fresh copy: only projections registered \
         as `Swappable` with `Admin::with_rebuild` can"
    )]
    NotRebuildable {
        /// The handler.
        handler: String,
    },
    /// The handler has no parked event of that id.
    #[error("handler `{handler}` has no parked event {event_id}")]
    NotParked {
        /// The handler.
        handler: String,
        /// The event asked for.
        event_id: Uuid,
    },
    /// A replayed parked event failed again; it stays parked with the new error.
    #[error("replaying parked event {event_id} of handler `{handler}` failed again: {reason}")]
    ReplayFailed {
        /// The handler.
        handler: String,
        /// The event.
        event_id: Uuid,
        /// The handler's error.
        reason: String,
    },
    /// A rebuild into a fresh copy failed: the read model failed on an event, an event no
    /// longer decodes, or the store failed. The old copy still serves reads.
    #[error("rebuilding `{handler}` failed{}: {reason}", position.map(|at| format!(" at position {at}")).unwrap_or_default())]
    RebuildFailed {
        /// The read model.
        handler: String,
        /// The position of the event it failed at, when it failed at one.
        position: Option<eventful_core::Position>,
        /// Why.
        reason: String,
    },
    /// No aggregate of that type was given to [`Admin::with_aggregate`](crate::Admin::with_aggregate).
    #[error("no aggregate type `{aggregate_type}` is known to the admin API")]
    UnknownAggregate {
        /// The type asked for.
        aggregate_type: String,
    },
    /// The stream has no events.
    #[error("stream `{stream_id}` has no events")]
    StreamNotFound {
        /// The stream asked for.
        stream_id: String,
    },
    /// A version the stream has not reached.
    #[error("stream `{stream_id}` is at version {current}; version {asked} is beyond it")]
    VersionBeyondStream {
        /// The stream.
        stream_id: String,
        /// The version asked for.
        asked: Version,
        /// The stream's version now.
        current: Version,
    },
    /// A path or query argument that does not parse, or arguments that do not go together.
    #[error("bad request: `{argument}`: {reason}")]
    BadRequest {
        /// The argument (or arguments) at fault: `version`, `at`, `limit`, `stream_id`, `id`,
        /// `path` or `query` when the extractor could not say which.
        argument: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The store did not answer, or failed.
    #[error("the store failed: {0}")]
    Store(#[source] StoreError),
    /// A stored event or snapshot could not be read back (a missing upcaster), or a state
    /// not shown as JSON.
    #[error("cannot read stream `{stream_id}` back: {reason}")]
    Unreadable {
        /// The stream read.
        stream_id: String,
        /// Why.
        reason: String,
    },
    /// The bus failed otherwise.
    #[error(transparent)]
    Bus(BusError),
}

impl AdminError {
    /// The HTTP status it answers with.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::MissingToken => StatusCode::UNAUTHORIZED,
            Self::WrongToken => StatusCode::FORBIDDEN,
            Self::UnknownHandler { .. }
            | Self::NotParked { .. }
            | Self::UnknownAggregate { .. }
            | Self::StreamNotFound { .. }
            | Self::VersionBeyondStream { .. } => StatusCode::NOT_FOUND,
            Self::NotRebuildable { .. } | Self::ReplayFailed { .. } => StatusCode::CONFLICT,
            Self::BadRequest { .. } => StatusCode::BAD_REQUEST,
            Self::Store(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Unreadable { .. } | Self::Bus(_) | Self::RebuildFailed { .. } => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }

    /// The stable code in the body's `error` field.
    pub fn code(&self) -> &'static str {
        match self {
            Self::MissingToken => "missing_token",
            Self::WrongToken => "wrong_token",
            Self::UnknownHandler { .. } => "unknown_handler",
            Self::NotRebuildable { .. } => "not_rebuildable",
            Self::NotParked { .. } => "not_parked",
            Self::ReplayFailed { .. } => "replay_failed",
            Self::RebuildFailed { .. } => "rebuild_failed",
            Self::UnknownAggregate { .. } => "unknown_aggregate",
            Self::StreamNotFound { .. } => "stream_not_found",
            Self::VersionBeyondStream { .. } => "version_beyond_stream",
            Self::BadRequest { .. } => "bad_request",
            Self::Store(_) => "store_failed",
            Self::Unreadable { .. } => "unreadable",
            Self::Bus(_) => "bus_failed",
        }
    }
}

impl From<BusError> for AdminError {
    fn from(error: BusError) -> Self {
        match error {
            BusError::UnknownHandler(handler) => Self::UnknownHandler { handler },
            BusError::NotParked { handler, event_id } => Self::NotParked { handler, event_id },
            BusError::Store(error) => Self::Store(error),
            other => Self::Bus(other),
        }
    }
}

impl From<StoreError> for AdminError {
    fn from(error: StoreError) -> Self {
        Self::Store(error)
    }
}

/// A path argument that does not parse is a typed refusal, not axum's plain-text one.
pub(crate) fn path_arg<T>(extracted: Result<Path<T>, PathRejection>) -> Result<T, AdminError> {
    extracted
        .map(|Path(value)| value)
        .map_err(|rejection| AdminError::BadRequest {
            argument: "path",
            reason: rejection.body_text(),
        })
}

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "error": self.code(), "message": self.to_string() });
        (self.status(), Json(body)).into_response()
    }
}
