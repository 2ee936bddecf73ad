//! [`AdminToken`]: the secret the admin API asks of every request, and the middleware that
//! refuses a request without it.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use sha2::{Digest, Sha256};

use crate::error::AdminError;

/// The admin API's own bearer token: `Authorization: Bearer <token>` on every request. Keep
/// it apart from the players' tokens (the gateway's): an admin can replay and rebuild.
///
/// ```
/// use eventful_admin::{AdminToken, TokenError};
///
/// let token = AdminToken::new("s3cret-admin-token-of-some-length")?;
/// assert!(matches!(AdminToken::new("short"), Err(TokenError::TooShort { .. })));
/// # Ok::<(), TokenError>(())
/// ```
#[derive(Clone)]
pub struct AdminToken(Arc<str>);

/// The shortest token accepted: a guessable admin token is no lock.
pub const MIN_TOKEN_LEN: usize = 16;

/// Why a token was refused when it was made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// Shorter than [`MIN_TOKEN_LEN`].
    #[error("an admin token needs at least {min} characters, this one has {len}")]
    TooShort {
        /// Its length.
        len: usize,
        /// The least accepted.
        min: usize,
    },
    /// It holds a character an HTTP header cannot carry as is (a space, a control character,
    /// anything outside visible ASCII).
    #[error("an admin token must be visible ASCII without spaces")]
    NotVisibleAscii,
}

impl AdminToken {
    /// Checks `token` and keeps it.
    pub fn new(token: impl AsRef<str>) -> Result<Self, TokenError> {
        let token = token.as_ref();
        if token.len() < MIN_TOKEN_LEN {
            return Err(TokenError::TooShort {
                len: token.len(),
                min: MIN_TOKEN_LEN,
            });
        }
        if !token.bytes().all(|byte| byte.is_ascii_graphic()) {
            return Err(TokenError::NotVisibleAscii);
        }
        Ok(Self(token.into()))
    }

    /// Whether `given` is this token. Their SHA-256 digests are compared, every byte of them
    /// whatever differs: the time taken depends on neither where they differ nor how long
    /// `given` is (beyond hashing it).
    fn accepts(&self, given: &str) -> bool {
        let (ours, theirs) = (Sha256::digest(self.0.as_bytes()), Sha256::digest(given));
        ours.iter()
            .zip(theirs.iter())
            .fold(0u8, |differ, (a, b)| differ | (a ^ b))
            == 0
    }
}

impl std::fmt::Debug for AdminToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AdminToken(..)")
    }
}

/// Lets a request through only with the admin token.
pub(crate) async fn require_token(
    State(token): State<AdminToken>,
    request: Request,
    next: Next,
) -> Response {
    let given = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(bearer);
    match given {
        None => AdminError::MissingToken.into_response(),
        Some(given) if !token.accepts(given.trim()) => AdminError::WrongToken.into_response(),
        Some(_) => next.run(request).await,
    }
}

/// The credentials of an `Authorization` value of the `Bearer` scheme, whose name is
/// case-insensitive (RFC 9110, 11.1).
fn bearer(value: &str) -> Option<&str> {
    let (scheme, credentials) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then_some(credentials)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_same_token_is_accepted() {
        let token = AdminToken::new("0123456789abcdef").expect("valid");
        assert!(token.accepts("0123456789abcdef"));
        assert!(!token.accepts("0123456789abcdeF"));
        assert!(!token.accepts("0123456789abcde"));
        assert!(!token.accepts(""));
    }

    #[test]
    fn the_scheme_is_read_in_any_case() {
        assert_eq!(bearer("Bearer abc"), Some("abc"));
        assert_eq!(bearer("bearer abc"), Some("abc"));
        assert_eq!(bearer("BEARER abc"), Some("abc"));
        assert_eq!(bearer("Basic abc"), None);
        assert_eq!(bearer("Bearerabc"), None);
    }

    #[test]
    fn weak_or_unsendable_tokens_are_refused() {
        assert_eq!(
            AdminToken::new("abc").unwrap_err(),
            TokenError::TooShort { len: 3, min: 16 }
        );
        assert_eq!(
            AdminToken::new("0123456789 abcdef").unwrap_err(),
            TokenError::NotVisibleAscii
        );
    }
}
