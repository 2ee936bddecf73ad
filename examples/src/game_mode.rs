//! What kind of game is played, and on what terms: shared by matchmaking, the game-session
//! service and the player service.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The kind of game a session plays; the player service rewards each kind differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GameMode {
    /// For fun: small rewards.
    Casual,
    /// Counts for the ranking.
    Ranked,
    /// Part of a tournament: the largest rewards.
    Tournament,
}

impl GameMode {
    /// Every mode, in order of stakes.
    pub const ALL: [GameMode; 3] = [Self::Casual, Self::Ranked, Self::Tournament];
}

impl fmt::Display for GameMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Casual => "casual",
            Self::Ranked => "ranked",
            Self::Tournament => "tournament",
        })
    }
}

/// The terms of one session, chosen by matchmaking.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GameSettings {
    /// The map played on.
    pub map: String,
    /// How many players the session holds at most.
    pub max_players: u32,
    /// How long a game may last, in minutes.
    pub time_limit_minutes: u32,
}
