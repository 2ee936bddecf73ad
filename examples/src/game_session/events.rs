//! What a session's stream records.

use std::fmt;

use chrono::{DateTime, Utc};
use eventful_core::Event;
use serde::{Deserialize, Serialize};

use crate::game_mode::{GameMode, GameSettings};
use crate::ids::{PlayerId, SessionId};
use crate::story::list;

use super::scores::PlayerScore;

/// The facts of one game session.
#[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
pub enum GameSessionEvent {
    /// The session started. Stored as `session_started`.
    #[event(rename = "session_started")]
    Started {
        /// The session's id.
        session_id: SessionId,
        /// Who starts in it.
        players: Vec<PlayerId>,
        /// What kind of game.
        mode: GameMode,
        /// On what terms.
        settings: GameSettings,
        /// When it started.
        started_at: DateTime<Utc>,
    },
    /// A player joined. Stored as `player_joined`.
    PlayerJoined {
        /// Who.
        player_id: PlayerId,
    },
    /// A player left. Stored as `player_left`.
    PlayerLeft {
        /// Who.
        player_id: PlayerId,
        /// Why.
        reason: LeaveReason,
    },
    /// The session ended. Stored as `session_ended`.
    #[event(rename = "session_ended")]
    Ended {
        /// The final score of each player still in it.
        final_scores: Vec<PlayerScore>,
        /// When it ended.
        ended_at: DateTime<Utc>,
        /// How long it lasted, in seconds.
        duration_secs: u64,
        /// Why it ended.
        reason: EndReason,
    },
}

/// Why a player left a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LeaveReason {
    /// The player chose to.
    Quit,
    /// The connection dropped.
    Disconnected,
    /// A moderator removed them.
    Kicked,
}

/// Why a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EndReason {
    /// The game reached its end.
    Completed,
    /// The time limit ran out.
    TimeLimit,
    /// Everyone left.
    Abandoned,
}

impl fmt::Display for LeaveReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Quit => "quit",
            Self::Disconnected => "disconnected",
            Self::Kicked => "kicked",
        })
    }
}

impl fmt::Display for EndReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Completed => "completed",
            Self::TimeLimit => "time limit",
            Self::Abandoned => "abandoned",
        })
    }
}

impl fmt::Display for GameSessionEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Started {
                players,
                mode,
                settings,
                ..
            } => write!(
                f,
                "{mode} game on {} started with players {}",
                settings.map,
                list(players)
            ),
            Self::PlayerJoined { player_id } => write!(f, "player {player_id} joined"),
            Self::PlayerLeft { player_id, reason } => {
                write!(f, "player {player_id} left ({reason})")
            }
            Self::Ended {
                final_scores,
                duration_secs,
                reason,
                ..
            } => {
                write!(
                    f,
                    "ended ({reason}) after {}m{:02}s; scores:",
                    duration_secs / 60,
                    duration_secs % 60
                )?;
                for score in final_scores {
                    write!(f, " {}={}", score.player_id, score.score)?;
                }
                Ok(())
            }
        }
    }
}
