//! Levels: how much xp each asks, and what reaching it gives.

use serde::{Deserialize, Serialize};

/// What reaching a level gives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LevelReward {
    /// The level reached.
    pub level: u32,
    /// Coins granted.
    pub coins: u64,
    /// A cosmetic item granted, at some levels.
    pub item: Option<String>,
}

/// The items granted at levels 2 to 6; other levels give coins only.
const LEVEL_ITEMS: [&str; 5] = [
    "starter_emote",
    "bronze_banner",
    "silver_banner",
    "gold_banner",
    "champion_title",
];

/// Total xp needed to reach `level`: 0 for level 1, then 300, 900, 1800, 3000, … — each
/// level asks 300 xp more than the one before.
pub const fn xp_for_level(level: u32) -> u64 {
    let level = level as u64;
    150 * level.saturating_sub(1) * level
}

/// The level a player with `xp` has reached.
///
/// ```
/// use eventful_examples::player::level_for_xp;
///
/// assert_eq!(level_for_xp(0), 1);
/// assert_eq!(level_for_xp(299), 1);
/// assert_eq!(level_for_xp(300), 2);
/// assert_eq!(level_for_xp(1800), 4);
/// ```
pub fn level_for_xp(xp: u64) -> u32 {
    let mut level = 1;
    while xp >= xp_for_level(level + 1) {
        level += 1;
    }
    level
}

/// What reaching `level` gives: 100 coins a level, and an item at levels 2 to 6.
pub fn reward_for_level(level: u32) -> LevelReward {
    let item = (level as usize)
        .checked_sub(2)
        .and_then(|index| LEVEL_ITEMS.get(index))
        .map(|item| (*item).to_owned());
    LevelReward {
        level,
        coins: 100 * u64::from(level),
        item,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_threshold_is_the_first_xp_of_its_level() {
        for level in 2..20 {
            assert_eq!(level_for_xp(xp_for_level(level)), level);
            assert_eq!(level_for_xp(xp_for_level(level) - 1), level - 1);
        }
    }

    #[test]
    fn items_come_at_levels_two_to_six() {
        assert_eq!(reward_for_level(2).item.as_deref(), Some("starter_emote"));
        assert_eq!(reward_for_level(6).item.as_deref(), Some("champion_title"));
        assert_eq!(reward_for_level(7).item, None);
        assert_eq!(reward_for_level(7).coins, 700);
    }
}
