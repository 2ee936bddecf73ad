use std::fmt;

use eventful_core::Event;
use serde::{Deserialize, Serialize};

use crate::ids::PlayerId;

/// A player unlocked an achievement. Stored as `achievement_unlocked`.
///
/// The achievement service may say it more than once (it keeps no record of what it
/// announced); the player service grants each achievement's rewards once.
#[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct AchievementUnlockedEvent {
    /// Who unlocked it.
    pub player_id: PlayerId,
    /// Which achievement (`first_win`, `high_scorer`, …).
    pub achievement_id: String,
}

impl fmt::Display for AchievementUnlockedEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "player {} unlocked `{}`",
            self.player_id, self.achievement_id
        )
    }
}
