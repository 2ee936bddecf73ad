//! Why a game session refuses a command.

use crate::ids::{PlayerId, SessionId};

/// A command the session's rules refuse; nothing is recorded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GameSessionError {
    /// Starting with nobody.
    #[error("session {0} cannot start without players")]
    NoPlayers(SessionId),
    /// Starting with more players than the settings allow.
    #[error("session {session_id} holds at most {max_players} players, not {players}")]
    TooManyPlayers {
        /// The session.
        session_id: SessionId,
        /// How many were asked for.
        players: usize,
        /// The most it holds.
        max_players: u32,
    },
    /// Starting with a player listed twice.
    #[error("player {player_id} is listed twice to start session {session_id}")]
    DuplicatePlayer {
        /// The session.
        session_id: SessionId,
        /// Who.
        player_id: PlayerId,
    },
    /// Starting a session that already started.
    #[error("session {0} has already started")]
    AlreadyStarted(SessionId),
    /// Joining, leaving or ending a session that never started.
    #[error("there is no session {0}")]
    UnknownSession(SessionId),
    /// Joining, leaving or ending a session that ended.
    #[error("session {0} has already ended")]
    AlreadyEnded(SessionId),
    /// Joining a session one is in.
    #[error("player {player_id} is already in session {session_id}")]
    AlreadyJoined {
        /// The session.
        session_id: SessionId,
        /// Who.
        player_id: PlayerId,
    },
    /// Joining a full session.
    #[error("session {session_id} is full ({max_players} players)")]
    SessionFull {
        /// The session.
        session_id: SessionId,
        /// The most it holds.
        max_players: u32,
    },
    /// Leaving, or being scored in, a session one is not in.
    #[error("player {player_id} is not in session {session_id}")]
    NotInSession {
        /// The session.
        session_id: SessionId,
        /// Who.
        player_id: PlayerId,
    },
    /// Ending before the start.
    #[error("session {0} cannot end before it started")]
    EndsBeforeStart(SessionId),
}
