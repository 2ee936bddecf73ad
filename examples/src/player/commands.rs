//! What a player is asked to do.

use eventful_core::Command;

use crate::game_mode::GameMode;
use crate::ids::{PlayerId, SessionId};

use super::aggregate::Player;

/// A request to one player.
#[derive(Command, Debug, Clone, PartialEq)]
#[command(aggregate = Player)]
pub enum PlayerCommand {
    /// Sign a new player up, with the default statistics.
    Create {
        /// The new player's id.
        #[aggregate_id]
        player_id: PlayerId,
        /// Display name; not blank.
        name: String,
        /// Contact address.
        email: String,
    },
    /// Count a finished game: xp and statistics by score and mode, and any level-up.
    RecordGameResult {
        /// Who played.
        #[aggregate_id]
        player_id: PlayerId,
        /// The session.
        session_id: SessionId,
        /// What kind of game.
        mode: GameMode,
        /// The final score.
        score: u64,
        /// The rank among the scores, from 1.
        placement: u32,
    },
    /// Grant an achievement's rewards; a second claim of the same achievement does nothing.
    ClaimAchievement {
        /// Who unlocked it.
        #[aggregate_id]
        player_id: PlayerId,
        /// Which achievement.
        achievement_id: String,
    },
}
