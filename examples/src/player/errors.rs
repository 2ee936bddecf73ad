//! Why a player refuses a command.

use crate::ids::PlayerId;

/// A command the player's rules refuse; nothing is recorded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PlayerError {
    /// Signing up an id that is taken.
    #[error("player {0} already exists")]
    AlreadyExists(PlayerId),
    /// A command for a player who never signed up.
    #[error("there is no player {0}")]
    UnknownPlayer(PlayerId),
    /// A blank name.
    #[error("a player's name cannot be blank")]
    BlankName,
    /// An email without an `@` between two non-empty parts.
    #[error("`{0}` is not an email address")]
    InvalidEmail(String),
    /// A placement of 0 (places count from 1).
    #[error("a placement counts from 1, not 0")]
    InvalidPlacement,
    /// An achievement the player service does not know.
    #[error("there is no achievement `{0}`")]
    UnknownAchievement(String),
}
