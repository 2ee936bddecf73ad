//! What a finished game and an unlocked achievement are worth.

use crate::game_mode::GameMode;

use super::stats::StatsChange;

/// What an achievement gives, once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AchievementReward {
    /// Experience.
    pub xp: u64,
    /// Coins.
    pub coins: u64,
}

/// The achievements the player service knows, and their rewards.
const ACHIEVEMENTS: [(&str, AchievementReward); 3] = [
    ("first_win", AchievementReward { xp: 200, coins: 50 }),
    (
        "high_scorer",
        AchievementReward {
            xp: 300,
            coins: 100,
        },
    ),
    (
        "marathon",
        AchievementReward {
            xp: 500,
            coins: 250,
        },
    ),
];

/// The reward of achievement `achievement_id`, if the player service knows it.
pub fn achievement_reward(achievement_id: &str) -> Option<AchievementReward> {
    ACHIEVEMENTS
        .iter()
        .find(|(id, _)| *id == achievement_id)
        .map(|(_, reward)| *reward)
}

/// What finishing a game of `mode` with `score` in place `placement` adds to the statistics:
/// xp of the mode's base, plus a tenth of the score, plus the mode's bonus for a win.
///
/// ```
/// use eventful_examples::game_mode::GameMode;
/// use eventful_examples::player::game_result_changes;
///
/// let won = game_result_changes(GameMode::Ranked, 850, 1);
/// assert_eq!((won.xp, won.wins, won.games_played), (100 + 85 + 100, 1, 1));
/// let lost = game_result_changes(GameMode::Casual, 400, 3);
/// assert_eq!((lost.xp, lost.wins), (50 + 40, 0));
/// ```
pub fn game_result_changes(mode: GameMode, score: u64, placement: u32) -> StatsChange {
    let (base, win_bonus) = match mode {
        GameMode::Casual => (50, 25),
        GameMode::Ranked => (100, 100),
        GameMode::Tournament => (150, 250),
    };
    let won = placement == 1;
    StatsChange {
        xp: base + score / 10 + if won { win_bonus } else { 0 },
        games_played: 1,
        wins: u32::from(won),
        score,
        coins: 0,
    }
}
