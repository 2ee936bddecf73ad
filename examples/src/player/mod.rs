//! The player service: the [`Player`] aggregate, its rules, and the policies by which it
//! reacts to what other services publish.
//!
//! | module | what lives there |
//! | --- | --- |
//! | `aggregate` | [`Player`]: decides on [`PlayerCommand`]s, evolves by [`PlayerEvent`]s |
//! | `commands`, `events`, `errors` | what it is asked, what it records, why it refuses |
//! | `stats` | [`PlayerStats`] and the [`StatsChange`] a game or an achievement makes |
//! | `levels` | xp thresholds and the [`LevelReward`] of each level |
//! | `rewards` | what a game and an achievement are worth |
//! | `policies` | `game_completed` → [`PlayerCommand::RecordGameResult`]; `achievement_unlocked` → [`PlayerCommand::ClaimAchievement`]; registered with `#[register]` |
//! | `service` | [`PlayerService`]: the repository and the wiring onto a bus |

mod aggregate;
mod commands;
mod errors;
mod events;
mod levels;
mod policies;
mod rewards;
mod service;
mod stats;

#[cfg(test)]
mod tests;

pub use self::aggregate::Player;
pub use self::commands::PlayerCommand;
pub use self::errors::PlayerError;
pub use self::events::{PlayerEvent, StatsReason};
pub use self::levels::{LevelReward, level_for_xp, reward_for_level, xp_for_level};
pub use self::policies::{AwardGameResults, GrantAchievementRewards};
pub use self::rewards::{AchievementReward, achievement_reward, game_result_changes};
pub use self::service::{PlayerRepository, PlayerService};
pub use self::stats::{PlayerStats, StatsChange};
