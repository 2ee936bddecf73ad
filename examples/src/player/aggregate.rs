//! The [`Player`] aggregate: who the player is, their statistics, and the achievements whose
//! rewards they already have.

use std::collections::BTreeSet;

use eventful_core::aggregate;
use serde::{Deserialize, Serialize};

use crate::game_mode::GameMode;
use crate::ids::{PlayerId, SessionId};

use super::commands::PlayerCommand;
use super::errors::PlayerError;
use super::events::{PlayerEvent, StatsReason};
use super::levels::{level_for_xp, reward_for_level};
use super::rewards::{achievement_reward, game_result_changes};
use super::stats::{PlayerStats, StatsChange};

/// A player, as rebuilt from their stream. `Default` is a player who has not signed up.
///
/// It is serializable so that the repository can keep snapshots of it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Player {
    /// The id, once signed up.
    pub id: Option<PlayerId>,
    /// Display name.
    pub name: String,
    /// Contact address.
    pub email: String,
    /// Statistics.
    pub stats: PlayerStats,
    /// Items granted by levels, in the order granted.
    pub items: Vec<String>,
    /// Achievements whose rewards were granted.
    pub achievements: BTreeSet<String>,
}

#[aggregate(
    name = "player",
    id = PlayerId,
    command = PlayerCommand,
    event = PlayerEvent,
    error = PlayerError
)]
impl Player {
    #[handle(PlayerCommand::Create)]
    fn create(
        &self,
        player_id: &PlayerId,
        name: &str,
        email: &str,
    ) -> Result<Vec<PlayerEvent>, PlayerError> {
        if self.id.is_some() {
            return Err(PlayerError::AlreadyExists(*player_id));
        }
        if name.trim().is_empty() {
            return Err(PlayerError::BlankName);
        }
        if !is_email(email) {
            return Err(PlayerError::InvalidEmail(email.to_owned()));
        }
        Ok(vec![PlayerEvent::Created {
            player_id: *player_id,
            name: name.trim().to_owned(),
            email: email.to_owned(),
            stats: PlayerStats::default(),
        }])
    }

    #[handle(PlayerCommand::RecordGameResult)]
    fn record_game_result(
        &self,
        player_id: &PlayerId,
        session_id: &SessionId,
        mode: &GameMode,
        score: &u64,
        placement: &u32,
    ) -> Result<Vec<PlayerEvent>, PlayerError> {
        self.require_signed_up(*player_id)?;
        if *placement == 0 {
            return Err(PlayerError::InvalidPlacement);
        }
        let changes = game_result_changes(*mode, *score, *placement);
        let reason = StatsReason::GameCompleted {
            session_id: *session_id,
            mode: *mode,
            score: *score,
            placement: *placement,
        };
        Ok(self.update_stats(changes, reason))
    }

    #[handle(PlayerCommand::ClaimAchievement)]
    fn claim_achievement(
        &self,
        player_id: &PlayerId,
        achievement_id: &str,
    ) -> Result<Vec<PlayerEvent>, PlayerError> {
        self.require_signed_up(*player_id)?;
        let reward = achievement_reward(achievement_id)
            .ok_or_else(|| PlayerError::UnknownAchievement(achievement_id.to_owned()))?;
        if self.achievements.contains(achievement_id) {
            return Ok(Vec::new());
        }
        let changes = StatsChange {
            xp: reward.xp,
            coins: reward.coins,
            ..StatsChange::default()
        };
        let reason = StatsReason::AchievementUnlocked {
            achievement_id: achievement_id.to_owned(),
        };
        Ok(self.update_stats(changes, reason))
    }

    #[apply(PlayerEvent::Created)]
    fn created(&mut self, player_id: &PlayerId, name: &str, email: &str, stats: &PlayerStats) {
        self.id = Some(*player_id);
        self.name = name.to_owned();
        self.email = email.to_owned();
        self.stats = stats.clone();
    }

    #[apply(PlayerEvent::StatsUpdated)]
    fn stats_updated(&mut self, stats: &PlayerStats, reason: &StatsReason) {
        self.stats = stats.clone();
        if let StatsReason::AchievementUnlocked { achievement_id } = reason {
            self.achievements.insert(achievement_id.clone());
        }
    }

    #[apply(PlayerEvent::LeveledUp)]
    fn leveled_up(&mut self, new_level: &u32, rewards: &[super::LevelReward]) {
        self.stats.level = *new_level;
        for reward in rewards {
            self.stats.coins += reward.coins;
            self.items.extend(reward.item.clone());
        }
    }

    fn require_signed_up(&self, player_id: PlayerId) -> Result<(), PlayerError> {
        match self.id {
            Some(_) => Ok(()),
            None => Err(PlayerError::UnknownPlayer(player_id)),
        }
    }

    /// The events of a change: the new statistics, then a level-up if the xp crossed one or
    /// more thresholds, with the reward of each level gained.
    fn update_stats(&self, changes: StatsChange, reason: StatsReason) -> Vec<PlayerEvent> {
        let stats = changes.applied_to(&self.stats);
        let old_level = self.stats.level;
        let new_level = level_for_xp(stats.xp);
        let mut events = vec![PlayerEvent::StatsUpdated {
            changes,
            stats,
            reason,
        }];
        if new_level > old_level {
            events.push(PlayerEvent::LeveledUp {
                old_level,
                new_level,
                rewards: (old_level + 1..=new_level).map(reward_for_level).collect(),
            });
        }
        events
    }
}

/// A light check: something, an `@`, something with a dot.
fn is_email(email: &str) -> bool {
    email
        .split_once('@')
        .is_some_and(|(user, domain)| !user.is_empty() && domain.contains('.'))
}
