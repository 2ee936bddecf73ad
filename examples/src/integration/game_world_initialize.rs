use std::fmt;

use eventful_core::Event;
use serde::{Deserialize, Serialize};

use crate::game_mode::{GameMode, GameSettings};
use crate::ids::SessionId;

/// A session started: a game server should load its world. Stored as `game_world_initialize`.
#[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct GameWorldInitializeEvent {
    /// The session.
    pub session_id: SessionId,
    /// What kind of game.
    pub mode: GameMode,
    /// How many players start in it.
    pub player_count: u32,
    /// On what terms.
    pub settings: GameSettings,
}

impl fmt::Display for GameWorldInitializeEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "load {} for session {}: {}, {} players (at most {}), {} min",
            self.settings.map,
            self.session_id,
            self.mode,
            self.player_count,
            self.settings.max_players,
            self.settings.time_limit_minutes
        )
    }
}
