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

use crate::integration::{AchievementUnlockedEvent, GameCompletedEvent};

use super::commands::PlayerCommand;
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

#[register(build = AwardGameResults::new)]
#[async_trait]
impl Policy for AwardGameResults {
    type Event = GameCompletedEvent;

    fn name(&self) -> &str {
        "award_game_results"
    }

    async fn react(
        &self,
        event: &RecordedEvent<GameCompletedEvent>,
        reaction: &Reaction,
    ) -> Result<(), BoxError> {
        let result = &event.payload;
        let command = PlayerCommand::RecordGameResult {
            player_id: result.player_id,
            session_id: result.session_id,
            mode: result.mode,
            score: result.score,
            placement: result.placement,
        };
        self.players
            .execute_with(command, reaction.command_context())
            .await?;
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

#[register(build = GrantAchievementRewards::new)]
#[async_trait]
impl Policy for GrantAchievementRewards {
    type Event = AchievementUnlockedEvent;

    fn name(&self) -> &str {
        "grant_achievement_rewards"
    }

    async fn react(
        &self,
        event: &RecordedEvent<AchievementUnlockedEvent>,
        reaction: &Reaction,
    ) -> Result<(), BoxError> {
        let command = PlayerCommand::ClaimAchievement {
            player_id: event.payload.player_id,
            achievement_id: event.payload.achievement_id.clone(),
        };
        self.players
            .execute_with(command, reaction.command_context())
            .await?;
        Ok(())
    }
}
