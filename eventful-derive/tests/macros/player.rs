//! A player: created with a name and an email, gains xp (a level every 1000 xp), unlocks
//! achievements once each.

use std::collections::BTreeSet;

use eventful_core::{Command, Event, aggregate};
use serde::{Deserialize, Serialize};

pub(crate) type PlayerId = u64;

pub(crate) const XP_PER_LEVEL: u64 = 1000;

#[derive(Command, Debug, Clone)]
#[command(aggregate = Player)]
pub(crate) enum PlayerCommand {
    Create {
        #[aggregate_id]
        player_id: PlayerId,
        name: String,
        email: String,
    },
    GainXp {
        #[aggregate_id]
        player_id: PlayerId,
        amount: u64,
    },
    UnlockAchievement(#[aggregate_id] PlayerId, String),
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub(crate) struct PlayerCreated {
    pub name: String,
    pub email: String,
}

#[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
pub(crate) enum PlayerEvent {
    #[event(rename = "player_created")]
    Created(PlayerCreated),
    XpGained {
        amount: u64,
    },
    #[event(version = 2)]
    LevelReached {
        level: u32,
    },
    AchievementUnlocked {
        achievement: String,
    },
}

#[derive(Debug, PartialEq, thiserror::Error)]
pub(crate) enum PlayerError {
    #[error("player already exists")]
    AlreadyCreated,
    #[error("no such player")]
    NotCreated,
    #[error("a player's name cannot be empty")]
    EmptyName,
    #[error("xp gained must be positive")]
    NoXp,
}

#[derive(Default, Debug)]
pub(crate) struct Player {
    pub name: Option<String>,
    pub email: String,
    pub xp: u64,
    pub level: u32,
    pub achievements: BTreeSet<String>,
}

#[aggregate(
    name = "player",
    id = PlayerId,
    command = PlayerCommand,
    event = PlayerEvent,
    error = PlayerError,
    snapshot_revision = 2
)]
impl Player {
    #[handle(PlayerCommand::Create)]
    fn create(&self, name: &str, email: &str) -> Result<Vec<PlayerEvent>, PlayerError> {
        if self.name.is_some() {
            return Err(PlayerError::AlreadyCreated);
        }
        if name.trim().is_empty() {
            return Err(PlayerError::EmptyName);
        }
        Ok(vec![PlayerEvent::Created(PlayerCreated {
            name: name.to_owned(),
            email: email.to_owned(),
        })])
    }

    #[handle(PlayerCommand::GainXp)]
    fn gain_xp(&self, amount: &u64) -> Result<Vec<PlayerEvent>, PlayerError> {
        self.require_created()?;
        if *amount == 0 {
            return Err(PlayerError::NoXp);
        }
        let mut events = vec![PlayerEvent::XpGained { amount: *amount }];
        let reached = level_for(self.xp + amount);
        events.extend((self.level + 1..=reached).map(|level| PlayerEvent::LevelReached { level }));
        Ok(events)
    }

    #[handle(PlayerCommand::UnlockAchievement(..))]
    fn unlock(
        &self,
        _player_id: &PlayerId,
        achievement: &str,
    ) -> Result<Vec<PlayerEvent>, PlayerError> {
        self.require_created()?;
        if self.achievements.contains(achievement) {
            return Ok(vec![]);
        }
        Ok(vec![PlayerEvent::AchievementUnlocked {
            achievement: achievement.to_owned(),
        }])
    }

    #[apply(PlayerEvent::Created(..))]
    fn created(&mut self, created: &PlayerCreated) {
        self.name = Some(created.name.clone());
        self.email = created.email.clone();
        self.level = 1;
    }

    #[apply(PlayerEvent::XpGained)]
    fn xp_gained(&mut self, amount: &u64) {
        self.xp += amount;
    }

    #[apply(PlayerEvent::LevelReached)]
    fn level_reached(&mut self, level: &u32) {
        self.level = *level;
    }

    #[apply(PlayerEvent::AchievementUnlocked)]
    fn achievement_unlocked(&mut self, achievement: &str) {
        self.achievements.insert(achievement.to_owned());
    }

    fn require_created(&self) -> Result<(), PlayerError> {
        match self.name {
            Some(_) => Ok(()),
            None => Err(PlayerError::NotCreated),
        }
    }
}

/// Level 1 from 0 xp, one more every [`XP_PER_LEVEL`].
pub(crate) fn level_for(xp: u64) -> u32 {
    u32::try_from(xp / XP_PER_LEVEL + 1).unwrap_or(u32::MAX)
}
