//! How the gateway says no, in one place for both endpoints: [`Closing`] ends (or refuses) a
//! connection with a `closing` frame, [`Refusal`] refuses one client frame with an `error`
//! frame while the connection goes on, and [`Refused`] is either as an HTTP response — the
//! status of a refused SSE request, with the frame that says why as its body.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::auth::TokenError;
use crate::protocol::{CloseCode, ErrorCode, PROTOCOL_VERSION, ServerFrame};

/// The gateway ends a connection, or refuses to open it: a [`ServerFrame::Closing`], then
/// the close.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Closing {
    pub(crate) code: CloseCode,
    pub(crate) reason: String,
}

impl Closing {
    pub(crate) fn new(code: CloseCode, reason: impl Into<String>) -> Self {
        Self {
            code,
            reason: reason.into(),
        }
    }

    /// Refuses a protocol version other than [`PROTOCOL_VERSION`]; `asked` is the query's
    /// text, whatever it is.
    pub(crate) fn unless_our_protocol(asked: &str) -> Result<(), Self> {
        if asked.trim().parse::<u32>() == Ok(PROTOCOL_VERSION) {
            return Ok(());
        }
        let reason = format!("this gateway speaks protocol {PROTOCOL_VERSION}, not `{asked}`");
        Err(Self::new(CloseCode::UnsupportedProtocol, reason))
    }

    pub(crate) fn frame(self) -> ServerFrame {
        ServerFrame::Closing {
            code: self.code,
            reason: self.reason,
        }
    }
}

impl From<TokenError> for Closing {
    fn from(error: TokenError) -> Self {
        Self::new(error.close_code(), error.to_string())
    }
}

/// A client frame refused: a [`ServerFrame::Error`]; the connection goes on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refusal {
    pub(crate) code: ErrorCode,
    pub(crate) message: String,
    pub(crate) subscription: Option<String>,
}

impl Refusal {
    pub(crate) fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            subscription: None,
        }
    }

    /// The refusal of what the client asked of subscription `name`.
    pub(crate) fn of(mut self, name: &str) -> Self {
        self.subscription = Some(name.to_owned());
        self
    }

    pub(crate) fn frame(self) -> ServerFrame {
        ServerFrame::Error {
            code: self.code,
            message: self.message,
            subscription: self.subscription,
        }
    }
}

/// A refused SSE request: its HTTP status says which kind of no, its body is the frame that
/// says why (an `EventSource` does not retry a request refused with an error status).
#[derive(Debug)]
pub(crate) enum Refused {
    /// The connection: a bad token, another protocol (401, 400).
    Connection(Closing),
    /// What it asked to follow (403 forbidden, 409 position unavailable, 503 store
    /// unavailable, 400 for the rest).
    Subscription(Refusal),
}

impl Refused {
    fn status(&self) -> StatusCode {
        match self {
            Self::Connection(closing) => match closing.code {
                CloseCode::InvalidToken | CloseCode::TokenExpired => StatusCode::UNAUTHORIZED,
                CloseCode::UnsupportedProtocol
                | CloseCode::MalformedRequest
                | CloseCode::FrameTooLarge => StatusCode::BAD_REQUEST,
                CloseCode::Lagging | CloseCode::ShuttingDown | CloseCode::StoreUnavailable => {
                    StatusCode::SERVICE_UNAVAILABLE
                }
            },
            Self::Subscription(refusal) => match refusal.code {
                ErrorCode::Forbidden => StatusCode::FORBIDDEN,
                ErrorCode::PositionUnavailable => StatusCode::CONFLICT,
                ErrorCode::StoreUnavailable => StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::MalformedFrame
                | ErrorCode::DuplicateSubscription
                | ErrorCode::UnknownSubscription
                | ErrorCode::TooManySubscriptions => StatusCode::BAD_REQUEST,
            },
        }
    }
}

impl From<Closing> for Refused {
    fn from(closing: Closing) -> Self {
        Self::Connection(closing)
    }
}

impl From<TokenError> for Refused {
    fn from(error: TokenError) -> Self {
        Self::Connection(error.into())
    }
}

impl From<Refusal> for Refused {
    fn from(refusal: Refusal) -> Self {
        Self::Subscription(refusal)
    }
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        let status = self.status();
        let frame = match self {
            Self::Connection(closing) => closing.frame(),
            Self::Subscription(refusal) => refusal.frame(),
        };
        (status, Json(frame)).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_our_protocol_is_taken_whatever_the_client_wrote() {
        assert_eq!(Closing::unless_our_protocol("1"), Ok(()));
        assert_eq!(Closing::unless_our_protocol(" 1 "), Ok(()));
        for asked in ["2", "abc", "", "-1", "99999999999999999999"] {
            let refused = Closing::unless_our_protocol(asked).expect_err(asked);
            assert_eq!(refused.code, CloseCode::UnsupportedProtocol, "{asked}");
            assert!(
                refused.reason.contains(&format!("`{asked}`")),
                "{refused:?}"
            );
        }
    }
}
