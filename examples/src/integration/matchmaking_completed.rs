use std::fmt;

use eventful_core::Event;
use serde::{Deserialize, Serialize};

use crate::game_mode::{GameMode, GameSettings};
use crate::ids::{PlayerId, SessionId};
use crate::story::list;

/// Matchmaking put players together for a game. Stored as `matchmaking_completed`.
#[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct MatchmakingCompletedEvent {
    /// The match's id, which the session keeps as its own.
    pub match_id: SessionId,
    /// Who plays.
    pub player_ids: Vec<PlayerId>,
    /// What kind of game.
    pub mode: GameMode,
    /// On what terms.
    pub settings: GameSettings,
}

impl fmt::Display for MatchmakingCompletedEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "match {}: {} on {} for players {}",
            self.match_id,
            self.mode,
            self.settings.map,
            list(&self.player_ids)
        )
    }
}
