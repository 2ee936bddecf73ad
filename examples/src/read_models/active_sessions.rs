//! [`ActiveSessions`]: the sessions running now, with who is in them.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use eventful_core::prelude::*;
use parking_lot::RwLock;

use crate::game_mode::GameMode;
use crate::game_session::GameSessionEvent;
use crate::ids::{PlayerId, SessionId};

/// A running session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveSession {
    /// Its id.
    pub session_id: SessionId,
    /// What kind of game.
    pub mode: GameMode,
    /// The map.
    pub map: String,
    /// Who is in it now.
    pub players: BTreeSet<PlayerId>,
}

/// The sessions running now. Named `active_sessions` on the bus.
#[derive(Clone, Default)]
pub struct ActiveSessions {
    sessions: Arc<RwLock<HashMap<StreamId, ActiveSession>>>,
}

impl ActiveSessions {
    /// The running sessions, by id.
    pub fn list(&self) -> Vec<ActiveSession> {
        let mut sessions: Vec<_> = self.sessions.read().values().cloned().collect();
        sessions.sort_by_key(|session| session.session_id);
        sessions
    }
}

#[async_trait]
impl Projection for ActiveSessions {
    type Event = GameSessionEvent;

    fn name(&self) -> &str {
        "active_sessions"
    }

    async fn apply(&self, event: &RecordedEvent<GameSessionEvent>) -> Result<(), BoxError> {
        let mut sessions = self.sessions.write();
        match &event.payload {
            GameSessionEvent::Started {
                session_id,
                players,
                mode,
                settings,
                ..
            } => {
                let session = ActiveSession {
                    session_id: *session_id,
                    mode: *mode,
                    map: settings.map.clone(),
                    players: players.iter().copied().collect(),
                };
                sessions.insert(event.stream_id.clone(), session);
            }
            GameSessionEvent::PlayerJoined { player_id } => {
                if let Some(session) = sessions.get_mut(&event.stream_id) {
                    session.players.insert(*player_id);
                }
            }
            GameSessionEvent::PlayerLeft { player_id, .. } => {
                if let Some(session) = sessions.get_mut(&event.stream_id) {
                    session.players.remove(player_id);
                }
            }
            GameSessionEvent::Ended { .. } => {
                sessions.remove(&event.stream_id);
            }
        }
        Ok(())
    }

    async fn reset(&self) -> Result<(), BoxError> {
        self.sessions.write().clear();
        Ok(())
    }
}
