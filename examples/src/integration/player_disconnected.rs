use std::fmt;

use eventful_core::Event;
use serde::{Deserialize, Serialize};

use crate::ids::{PlayerId, SessionId};

/// A player's connection dropped during a session. Stored as `player_disconnected`.
#[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct PlayerDisconnectedEvent {
    /// Who dropped.
    pub player_id: PlayerId,
    /// The session they were connected to.
    pub session_id: SessionId,
}

impl fmt::Display for PlayerDisconnectedEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "player {} lost the connection to session {}",
            self.player_id, self.session_id
        )
    }
}
