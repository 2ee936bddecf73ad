//! What a player's stream records.

use std::fmt;

use eventful_core::Event;
use serde::{Deserialize, Serialize};

use crate::game_mode::GameMode;
use crate::ids::{PlayerId, SessionId};

use super::levels::LevelReward;
use super::stats::{PlayerStats, StatsChange};

/// The facts of a player's life.
#[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
pub enum PlayerEvent {
    /// The player signed up. Stored as `player_created`.
    #[event(rename = "player_created")]
    Created {
        /// The player's id.
        player_id: PlayerId,
        /// Display name.
        name: String,
        /// Contact address.
        email: String,
        /// The statistics every player starts with.
        stats: PlayerStats,
    },
    /// A game or an achievement changed the statistics. Stored as `stats_updated`.
    StatsUpdated {
        /// What was added.
        changes: StatsChange,
        /// The statistics after it (a level-up it causes follows as [`PlayerEvent::LeveledUp`]).
        stats: PlayerStats,
        /// Why.
        reason: StatsReason,
    },
    /// The xp crossed one or more level thresholds. Stored as `leveled_up`.
    LeveledUp {
        /// The level before.
        old_level: u32,
        /// The level now.
        new_level: u32,
        /// The reward of each level gained, in order.
        rewards: Vec<LevelReward>,
    },
}

/// Why a player's statistics changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum StatsReason {
    /// The player finished a game.
    GameCompleted {
        /// The session.
        session_id: SessionId,
        /// What kind of game.
        mode: GameMode,
        /// The final score.
        score: u64,
        /// The rank among the scores, from 1.
        placement: u32,
    },
    /// The player unlocked an achievement.
    AchievementUnlocked {
        /// Which one.
        achievement_id: String,
    },
}

impl fmt::Display for PlayerEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Created {
                player_id,
                name,
                email,
                ..
            } => write!(f, "player {player_id} signed up as {name} <{email}>"),
            Self::StatsUpdated {
                changes,
                stats,
                reason,
            } => {
                write!(f, "+{} xp", changes.xp)?;
                if changes.coins > 0 {
                    write!(f, ", +{} coins", changes.coins)?;
                }
                match reason {
                    StatsReason::GameCompleted {
                        session_id,
                        mode,
                        placement,
                        ..
                    } => write!(f, " for place {placement} in {mode} session {session_id}")?,
                    StatsReason::AchievementUnlocked { achievement_id } => {
                        write!(f, " for `{achievement_id}`")?;
                    }
                }
                write!(f, " → xp {}, games played {}", stats.xp, stats.games_played)
            }
            Self::LeveledUp {
                old_level,
                new_level,
                rewards,
            } => {
                write!(f, "level {old_level} → {new_level}; rewards:")?;
                for reward in rewards {
                    write!(f, " {} coins", reward.coins)?;
                    if let Some(item) = &reward.item {
                        write!(f, " + {item}")?;
                    }
                    write!(f, " (level {})", reward.level)?;
                }
                Ok(())
            }
        }
    }
}
