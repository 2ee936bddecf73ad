//! What a game session is asked to do.

use chrono::{DateTime, Utc};
use eventful_core::Command;

use crate::game_mode::{GameMode, GameSettings};
use crate::ids::{PlayerId, SessionId};

use super::aggregate::GameSession;
use super::events::{EndReason, LeaveReason};
use super::scores::PlayerScore;

/// A request to one game session.
#[derive(Command, Debug, Clone, PartialEq)]
#[command(aggregate = GameSession)]
pub enum GameSessionCommand {
    /// Start the session with its players.
    Start {
        /// The session (matchmaking's match id).
        #[aggregate_id]
        session_id: SessionId,
        /// Who starts in it: at least one, each once, at most `settings.max_players`.
        players: Vec<PlayerId>,
        /// What kind of game.
        mode: GameMode,
        /// On what terms.
        settings: GameSettings,
        /// When it starts.
        started_at: DateTime<Utc>,
    },
    /// A player joins the running session.
    Join {
        /// The session.
        #[aggregate_id]
        session_id: SessionId,
        /// Who.
        player_id: PlayerId,
    },
    /// A player leaves the running session.
    Leave {
        /// The session.
        #[aggregate_id]
        session_id: SessionId,
        /// Who.
        player_id: PlayerId,
        /// Why.
        reason: LeaveReason,
    },
    /// End the running session with the final scores of players still in it.
    End {
        /// The session.
        #[aggregate_id]
        session_id: SessionId,
        /// Final scores; each of a player in the session.
        final_scores: Vec<PlayerScore>,
        /// When it ended, by the game server's clock.
        ended_at: DateTime<Utc>,
        /// Why.
        reason: EndReason,
    },
}
