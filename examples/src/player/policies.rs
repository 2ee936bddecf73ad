//! How the player service reacts to what other services publish. Both policies are
//! registered with `#[register]`, so [`PlayerService::add_handlers`] wires them with one
//! [`EventBus::register_all`] call.
//!
//! A refused command fails the policy on that event: after its retries the event is parked
//! (a policy's default), with the error, and the policy goes on with the next results, so a
//! game result for a player this service does not know yet holds back no one else's xp. The
//! parked event is listed by `RunningBus::parked` and awarded by `RunningBus::replay_parked`
//! once the cause is fixed.
//!
//! [`PlayerService::add_handlers`]: super::PlayerService::add_handlers
//! [`EventBus::register_all`]: eventful_core::EventBus::register_all

use std::sync::Arc;

use eventful_core::prelude::*;
use eventful_core::registration::RegistrationError;

use crate::game_mode::GameMode;
use crate::ids::{PlayerId, SessionId};
use crate::integration::{AchievementUnlockedEvent, GameCompletedEvent};

use super::commands::PlayerCommand;
use super::errors::PlayerError;
use super::service::PlayerRepository;

/// `game_completed` → [`PlayerCommand::RecordGameResult`]: xp and statistics by score and
/// mode, and any level-up.
pub struct AwardGameResults {
    players: Arc<PlayerRepository>,
}

impl AwardGameResults {
    /// The policy on the player repository found in `resources`.
    pub fn new(resources: &Resources) -> Result<Self, RegistrationError> {
        Ok(Self {
            players: resources.get::<Arc<PlayerRepository>>()?.clone(),
        })
    }
}

#[policy(name = "award_game_results", event = GameCompletedEvent)]
#[register(build = AwardGameResults::new)]
impl AwardGameResults {
    #[on(GameCompletedEvent)]
    async fn completed(
        &self,
        player_id: &PlayerId,
        session_id: &SessionId,
        mode: &GameMode,
        score: &u64,
        placement: &u32,
        reaction: &Reaction,
    ) -> Result<(), CommandError<PlayerError>> {
        let command = PlayerCommand::RecordGameResult {
            player_id: *player_id,
            session_id: *session_id,
            mode: *mode,
            score: *score,
            placement: *placement,
        };
        reaction.send(&self.players, command).await?;
        Ok(())
    }
}

/// `achievement_unlocked` → [`PlayerCommand::ClaimAchievement`]: the achievement's rewards,
/// once per achievement.
pub struct GrantAchievementRewards {
    players: Arc<PlayerRepository>,
}

impl GrantAchievementRewards {
    /// The policy on the player repository found in `resources`.
    pub fn new(resources: &Resources) -> Result<Self, RegistrationError> {
        Ok(Self {
            players: resources.get::<Arc<PlayerRepository>>()?.clone(),
        })
    }
}

#[policy(name = "grant_achievement_rewards", event = AchievementUnlockedEvent)]
#[register(build = GrantAchievementRewards::new)]
impl GrantAchievementRewards {
    #[on(AchievementUnlockedEvent)]
    async fn unlocked(
        &self,
        player_id: &PlayerId,
        achievement_id: &str,
        reaction: &Reaction,
    ) -> Result<(), CommandError<PlayerError>> {
        let command = PlayerCommand::ClaimAchievement {
            player_id: *player_id,
            achievement_id: achievement_id.to_owned(),
        };
        reaction.send(&self.players, command).await?;
        Ok(())
    }
}
