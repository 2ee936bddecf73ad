//! [`BackendAccess`]: what a player's token lets the page follow — the player's own stream,
//! the sessions the player is in (asked of the session's own stream), and the public
//! `session_started` and `leaderboard_changed` events.

use std::sync::Arc;

use eventful_gateway::{Access, AccessError, Claims, Rules, Topic, async_trait};

use crate::game_session::{GameSession, GameSessionRepository};
use crate::ids::{PlayerId, SessionId};

/// The event types every player may follow.
pub const PUBLIC_EVENT_TYPES: [&str; 2] = ["leaderboard_changed", "session_started"];

/// The backend's access rules.
pub struct BackendAccess {
    rules: Rules,
    sessions: Arc<GameSessionRepository>,
}

impl BackendAccess {
    /// Rules for `player-<sub>` and the public types, and session membership read from
    /// `sessions`.
    pub fn new(sessions: Arc<GameSessionRepository>) -> Self {
        let rules = PUBLIC_EVENT_TYPES
            .into_iter()
            .fold(Rules::own_stream("player"), Rules::with_public_event_type);
        Self { rules, sessions }
    }

    /// Whether the player `subject` is in the session of stream `stream`; an error when the
    /// session cannot be read (the store is down), which the gateway tells the page as
    /// `store_unavailable`, not as `forbidden`.
    async fn plays_in(&self, subject: &str, stream: &str) -> Result<bool, AccessError> {
        let (Some(id), Ok(player)) = (stream.strip_prefix("game_session-"), subject.parse()) else {
            return Ok(false);
        };
        let Ok(session_id) = id.parse().map(SessionId) else {
            return Ok(false);
        };
        let loaded = self
            .sessions
            .load(&session_id)
            .await
            .map_err(AccessError::unavailable)?;
        Ok(match loaded.state {
            GameSession::InProgress(details) | GameSession::Ended(details) => {
                details.players.contains(&PlayerId(player))
            }
            GameSession::NotStarted => false,
        })
    }
}

#[async_trait]
impl Access for BackendAccess {
    async fn allows(&self, claims: &Claims, topic: &Topic) -> Result<bool, AccessError> {
        if self.rules.allows(claims, topic).await? {
            return Ok(true);
        }
        match topic {
            Topic::Stream(stream) => self.plays_in(&claims.sub, stream).await,
            _ => Ok(false),
        }
    }
}
