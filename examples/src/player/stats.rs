//! A player's statistics, and how a game or an achievement changes them.

use serde::{Deserialize, Serialize};

/// A player's statistics. A new player has the default: level 1, nothing else.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlayerStats {
    /// The level, from 1; see [`level_for_xp`](super::level_for_xp).
    pub level: u32,
    /// Experience gained in all.
    pub xp: u64,
    /// Games finished.
    pub games_played: u32,
    /// Games finished in first place.
    pub wins: u32,
    /// Sum of the final scores.
    pub total_score: u64,
    /// Best final score.
    pub best_score: u64,
    /// Coins earned from levels and achievements.
    pub coins: u64,
}

impl Default for PlayerStats {
    fn default() -> Self {
        Self {
            level: 1,
            xp: 0,
            games_played: 0,
            wins: 0,
            total_score: 0,
            best_score: 0,
            coins: 0,
        }
    }
}

/// What one game or one achievement adds to a player's statistics.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatsChange {
    /// Experience gained.
    pub xp: u64,
    /// Games finished (0 or 1).
    pub games_played: u32,
    /// Games won (0 or 1).
    pub wins: u32,
    /// The game's final score, if it was a game.
    pub score: u64,
    /// Coins earned.
    pub coins: u64,
}

impl StatsChange {
    /// `stats` with this change added. The level is left as it is: a level-up is its own
    /// event, decided from the new xp.
    pub fn applied_to(&self, stats: &PlayerStats) -> PlayerStats {
        PlayerStats {
            level: stats.level,
            xp: stats.xp + self.xp,
            games_played: stats.games_played + self.games_played,
            wins: stats.wins + self.wins,
            total_score: stats.total_score + self.score,
            best_score: stats.best_score.max(self.score),
            coins: stats.coins + self.coins,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_adds_up_and_keeps_the_best_score() {
        let before = PlayerStats {
            best_score: 900,
            total_score: 900,
            games_played: 1,
            ..PlayerStats::default()
        };
        let change = StatsChange {
            xp: 120,
            games_played: 1,
            wins: 1,
            score: 400,
            coins: 0,
        };
        let after = change.applied_to(&before);
        assert_eq!(after.best_score, 900);
        assert_eq!(after.total_score, 1300);
        assert_eq!((after.games_played, after.wins, after.xp), (2, 1, 120));
        assert_eq!(after.level, 1);
    }
}
