//! The game workload's `Player` aggregate (`../shared/WORKLOAD.md`), written against the core
//! traits by hand so that the suite and the benchmark need no macro.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::aggregate::{Aggregate, Command};
use crate::event::{DecodeFailure, Event, EventType};
use crate::names::TypeName;
use crate::payload::{Payload, PayloadError, PayloadFormat, PayloadRef};

/// Xp per level: level = xp / 1000 + 1.
pub const XP_PER_LEVEL: u64 = 1000;

/// A player of the workload.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Player {
    /// Set by `PlayerCreated`; `None` until the player exists.
    pub name: Option<String>,
    /// Experience points.
    pub xp: u64,
    /// `xp / 1000 + 1` once created.
    pub level: u32,
    /// Achievements unlocked.
    pub achievements: BTreeSet<String>,
}

/// What a player records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum PlayerEvent {
    /// The player exists.
    PlayerCreated {
        /// Display name.
        name: String,
    },
    /// Xp was gained.
    XpGained {
        /// How much.
        amount: u64,
    },
    /// Xp crossed a level threshold.
    LeveledUp {
        /// Level before.
        from: u32,
        /// Level after.
        to: u32,
    },
    /// An achievement was unlocked.
    AchievementUnlocked {
        /// Its id.
        id: String,
    },
}

impl Event for PlayerEvent {
    const EVENT_TYPES: &'static [EventType] = &[
        EventType::new("player_created", 1),
        EventType::new("xp_gained", 1),
        EventType::new("leveled_up", 1),
        EventType::new("achievement_unlocked", 1),
    ];

    fn event_type(&self) -> &'static EventType {
        let index = match self {
            Self::PlayerCreated { .. } => 0,
            Self::XpGained { .. } => 1,
            Self::LeveledUp { .. } => 2,
            Self::AchievementUnlocked { .. } => 3,
        };
        &Self::EVENT_TYPES[index]
    }

    fn encode(&self) -> Result<Payload, PayloadError> {
        Payload::encode_variant_content(self)
    }

    fn encode_as(&self, format: PayloadFormat) -> Result<Payload, PayloadError> {
        Payload::encode_variant_content_as(self, format)
    }

    fn decode(event_type: &str, payload: &Payload) -> Result<Self, DecodeFailure> {
        Self::decode_ref(event_type, payload.as_payload_ref())
    }

    fn decode_ref(event_type: &str, payload: PayloadRef<'_>) -> Result<Self, DecodeFailure> {
        let index = match event_type {
            "player_created" => 0,
            "xp_gained" => 1,
            "leveled_up" => 2,
            "achievement_unlocked" => 3,
            _ => return Err(DecodeFailure::unknown_type::<Self>(event_type)),
        };
        Ok(payload.decode_variant(index)?)
    }
}

/// What a player is asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlayerCommand {
    /// The player.
    pub player_id: u64,
    /// What to do.
    pub action: PlayerAction,
}

/// The workload's three commands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlayerAction {
    /// Create the player.
    CreatePlayer {
        /// Display name.
        name: String,
    },
    /// Gain xp.
    GainXp {
        /// How much.
        amount: u64,
    },
    /// Unlock an achievement.
    UnlockAchievement {
        /// Its id.
        id: String,
    },
}

impl PlayerCommand {
    /// `action` for `player_id`.
    pub fn new(player_id: u64, action: PlayerAction) -> Self {
        Self { player_id, action }
    }
}

impl Command for PlayerCommand {
    type Aggregate = Player;

    fn aggregate_id(&self) -> &u64 {
        &self.player_id
    }
}

/// Why a player refused a command.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlayerError {
    /// `CreatePlayer` on a player that exists.
    #[error("the player already exists")]
    AlreadyExists,
    /// Any other command on a player that does not exist.
    #[error("the player does not exist")]
    NotFound,
    /// `GainXp` of 0.
    #[error("an xp gain must be positive")]
    NoXp,
    /// `UnlockAchievement` of one already unlocked.
    #[error("achievement `{0}` is already unlocked")]
    AlreadyUnlocked(String),
}

impl Aggregate for Player {
    const TYPE: TypeName = TypeName::from_static("player");
    type Id = u64;
    type Command = PlayerCommand;
    type Event = PlayerEvent;
    type Error = PlayerError;

    fn handle(&self, command: &PlayerCommand) -> Result<Vec<PlayerEvent>, PlayerError> {
        match &command.action {
            PlayerAction::CreatePlayer { name } => match self.name {
                Some(_) => Err(PlayerError::AlreadyExists),
                None => Ok(vec![PlayerEvent::PlayerCreated { name: name.clone() }]),
            },
            _ if self.name.is_none() => Err(PlayerError::NotFound),
            PlayerAction::GainXp { amount: 0 } => Err(PlayerError::NoXp),
            PlayerAction::GainXp { amount } => {
                let mut events = vec![PlayerEvent::XpGained { amount: *amount }];
                let to = level_of(self.xp + amount);
                if to > self.level {
                    events.push(PlayerEvent::LeveledUp {
                        from: self.level,
                        to,
                    });
                }
                Ok(events)
            }
            PlayerAction::UnlockAchievement { id } if self.achievements.contains(id) => {
                Err(PlayerError::AlreadyUnlocked(id.clone()))
            }
            PlayerAction::UnlockAchievement { id } => {
                Ok(vec![PlayerEvent::AchievementUnlocked { id: id.clone() }])
            }
        }
    }

    fn apply(&mut self, event: &PlayerEvent) {
        match event {
            PlayerEvent::PlayerCreated { name } => {
                self.name = Some(name.clone());
                self.level = 1;
            }
            PlayerEvent::XpGained { amount } => self.xp += amount,
            PlayerEvent::LeveledUp { to, .. } => self.level = *to,
            PlayerEvent::AchievementUnlocked { id } => {
                self.achievements.insert(id.clone());
            }
        }
    }
}

/// The level a player with `xp` has.
pub fn level_of(xp: u64) -> u32 {
    u32::try_from(xp / XP_PER_LEVEL + 1).unwrap_or(u32::MAX)
}
