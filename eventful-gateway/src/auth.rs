//! Who a client is: the signed token ([`Claims`]) the game's login service issues, and the
//! [`TokenVerifier`] that checks it on every connection.
//!
//! The gateway never issues tokens in production; [`Claims::sign`] is there for demos and
//! tests, which stand in for the login service.

use axum::http::{HeaderMap, header};
use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::protocol::CloseCode;

/// What a token says about its holder.
///
/// `sub` and `exp` are the standard JWT claims; `streams` lists streams the holder may follow
/// beyond what the gateway's [`Access`](crate::Access) grants by itself (a session the
/// player was placed in when the token was issued, say).
///
/// ```
/// use eventful_gateway::{Claims, TokenVerifier};
///
/// let claims = Claims::new("7", chrono::Utc::now() + chrono::Duration::minutes(5))
///     .with_stream("game_session-3");
/// let token = claims.sign_hs256(b"demo secret")?;
/// let verified = TokenVerifier::hs256(b"demo secret")?.verify(&token)?;
/// assert_eq!(verified, claims);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Claims {
    /// The subject: the player's id.
    pub sub: String,
    /// When the token expires, in seconds since the Unix epoch.
    pub exp: i64,
    /// Further streams the holder may follow.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub streams: Vec<String>,
}

impl Claims {
    /// Claims for `subject`, expiring at `expires_at` (to the second), with no further stream.
    pub fn new(subject: impl Into<String>, expires_at: DateTime<Utc>) -> Self {
        Self {
            sub: subject.into(),
            exp: expires_at.timestamp(),
            streams: Vec::new(),
        }
    }

    /// Adds a stream the holder may follow.
    pub fn with_stream(mut self, stream: impl Into<String>) -> Self {
        self.streams.push(stream.into());
        self
    }

    /// When the token expires.
    pub fn expires_at(&self) -> DateTime<Utc> {
        DateTime::from_timestamp(self.exp, 0).unwrap_or(DateTime::<Utc>::MAX_UTC)
    }

    /// A token of these claims signed with `key` by `algorithm`.
    pub fn sign(&self, algorithm: Algorithm, key: &EncodingKey) -> Result<String, TokenError> {
        jsonwebtoken::encode(&Header::new(algorithm), self, key).map_err(TokenError::Sign)
    }

    /// A token of these claims signed with the shared secret `secret` (HS256).
    pub fn sign_hs256(&self, secret: &[u8]) -> Result<String, TokenError> {
        let key = EncodingKey::from_secret(secret).map_err(TokenError::Key)?;
        self.sign(Algorithm::HS256, &key)
    }
}

/// Why a token was refused, or could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// The request carried no token (neither `?token=` nor `Authorization: Bearer`).
    #[error("no token: pass one as `?token=` or as `Authorization: Bearer`")]
    Missing,
    /// The token was valid but has expired.
    #[error("the token expired at {expired_at}")]
    Expired {
        /// When.
        expired_at: DateTime<Utc>,
    },
    /// The token does not verify: bad signature, wrong algorithm, not a JWT, missing claims.
    #[error("the token does not verify: {0}")]
    Invalid(#[source] jsonwebtoken::errors::Error),
    /// Signing failed (a key that does not fit the algorithm).
    #[error("the token could not be signed: {0}")]
    Sign(#[source] jsonwebtoken::errors::Error),
    /// The secret or key cannot be used (an empty secret, say).
    #[error("the key cannot be used: {0}")]
    Key(#[source] jsonwebtoken::errors::Error),
}

impl TokenError {
    /// The code a connection refused for this error is closed with: `token_expired` for an
    /// expired token (come back with a fresh one), `invalid_token` for the rest.
    ///
    /// ```
    /// use eventful_gateway::{CloseCode, TokenError};
    ///
    /// assert_eq!(TokenError::Missing.close_code(), CloseCode::InvalidToken);
    /// let expired = TokenError::Expired { expired_at: chrono::Utc::now() };
    /// assert_eq!(expired.close_code(), CloseCode::TokenExpired);
    /// ```
    pub fn close_code(&self) -> CloseCode {
        match self {
            Self::Expired { .. } => CloseCode::TokenExpired,
            Self::Missing | Self::Invalid(_) | Self::Sign(_) | Self::Key(_) => {
                CloseCode::InvalidToken
            }
        }
    }
}

/// Checks tokens: signature, algorithm and expiry.
///
/// ```
/// use eventful_gateway::{Claims, TokenError, TokenVerifier};
///
/// let verifier = TokenVerifier::hs256(b"secret")?;
/// let expired = Claims::new("7", chrono::Utc::now() - chrono::Duration::hours(1)).sign_hs256(b"secret")?;
/// assert!(matches!(verifier.verify(&expired), Err(TokenError::Expired { .. })));
/// assert!(matches!(verifier.verify("not a token"), Err(TokenError::Invalid(_))));
/// # Ok::<(), TokenError>(())
/// ```
#[derive(Clone)]
pub struct TokenVerifier {
    key: DecodingKey,
    validation: Validation,
}

impl std::fmt::Debug for TokenVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenVerifier")
            .field("algorithms", &self.validation.algorithms)
            .finish_non_exhaustive()
    }
}

impl TokenVerifier {
    /// Verifies with `key` under `validation` (the algorithms, the leeway, the audience and
    /// issuer to require): for tokens signed with a private key (RS256, ES256, EdDSA) whose
    /// public half the gateway holds.
    pub fn new(key: DecodingKey, validation: Validation) -> Self {
        Self { key, validation }
    }

    /// Verifies HS256 tokens signed with the shared secret `secret`, with no leeway on
    /// expiry: a token is refused from the second it expires.
    pub fn hs256(secret: &[u8]) -> Result<Self, TokenError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "sub"]);
        let key = DecodingKey::from_secret(secret).map_err(TokenError::Key)?;
        Ok(Self::new(key, validation))
    }

    /// The claims of `token`, if it verifies.
    pub fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        match jsonwebtoken::decode::<Claims>(token, &self.key, &self.validation) {
            Ok(data) => Ok(data.claims),
            Err(error) if *error.kind() == jsonwebtoken::errors::ErrorKind::ExpiredSignature => {
                Err(TokenError::Expired {
                    expired_at: self.expiry_of(token).unwrap_or_else(Utc::now),
                })
            }
            Err(error) => Err(TokenError::Invalid(error)),
        }
    }

    /// The claims of a request's token, given as `?token=` (`query`) or as
    /// `Authorization: Bearer …` in `headers`.
    pub(crate) fn verify_request(
        &self,
        query: Option<String>,
        headers: &HeaderMap,
    ) -> Result<Claims, TokenError> {
        let bearer = || {
            headers
                .get(header::AUTHORIZATION)?
                .to_str()
                .ok()?
                .strip_prefix("Bearer ")
                .map(str::to_owned)
        };
        match query.or_else(bearer) {
            Some(token) => self.verify(&token),
            None => Err(TokenError::Missing),
        }
    }

    /// How long past `exp` a token is still accepted.
    pub(crate) fn leeway_secs(&self) -> u64 {
        self.validation.leeway
    }

    /// The `exp` of an expired token, read with the same checks but expiry, for the message.
    fn expiry_of(&self, token: &str) -> Option<DateTime<Utc>> {
        let mut validation = self.validation.clone();
        validation.validate_exp = false;
        let data = jsonwebtoken::decode::<Claims>(token, &self.key, &validation).ok()?;
        Some(data.claims.expires_at())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_signed_with_another_secret_or_algorithm_is_refused() {
        let claims = Claims::new("7", Utc::now() + chrono::Duration::minutes(1));
        let verifier = TokenVerifier::hs256(b"right").expect("a key");
        let wrong_secret = claims.sign_hs256(b"wrong").expect("signs");
        assert!(matches!(
            verifier.verify(&wrong_secret),
            Err(TokenError::Invalid(_))
        ));
        let other_algorithm = claims
            .sign(
                Algorithm::HS512,
                &EncodingKey::from_secret(b"right").expect("a key"),
            )
            .expect("signs");
        assert!(matches!(
            verifier.verify(&other_algorithm),
            Err(TokenError::Invalid(_))
        ));
        let right = claims.sign_hs256(b"right").expect("signs");
        assert_eq!(verifier.verify(&right).expect("verifies"), claims);
    }

    #[test]
    fn an_expired_token_says_when_it_expired() {
        let expired_at = DateTime::from_timestamp(Utc::now().timestamp() - 30, 0).expect("valid");
        let token = Claims::new("7", expired_at)
            .sign_hs256(b"s")
            .expect("signs");
        match TokenVerifier::hs256(b"s").expect("a key").verify(&token) {
            Err(TokenError::Expired { expired_at: at }) => assert_eq!(at, expired_at),
            other => panic!("expected expiry, got {other:?}"),
        }
    }
}
