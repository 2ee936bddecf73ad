use std::fmt;

use eventful_core::Event;
use serde::{Deserialize, Serialize};

use crate::game_mode::GameMode;
use crate::ids::{PlayerId, SessionId};

/// A player finished a game with a final score. Stored as `game_completed`.
#[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct GameCompletedEvent {
    /// Who played.
    pub player_id: PlayerId,
    /// The session.
    pub session_id: SessionId,
    /// What kind of game.
    pub mode: GameMode,
    /// The player's final score.
    pub score: u64,
    /// The player's rank among the scores, from 1 (ties share a rank).
    pub placement: u32,
}

impl fmt::Display for GameCompletedEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "player {} finished {} session {}: score {}, place {}",
            self.player_id, self.mode, self.session_id, self.score, self.placement
        )
    }
}
