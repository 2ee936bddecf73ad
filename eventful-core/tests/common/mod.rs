//! A small game domain for the core's integration tests: players that gain xp, and a
//! match service that publishes `game_completed`.

#![allow(dead_code)]

use eventful_core::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Command, Debug, Clone)]
#[command(aggregate = Player)]
pub(crate) enum PlayerCommand {
    Create {
        #[aggregate_id]
        player_id: String,
        name: String,
    },
    GainXp {
        #[aggregate_id]
        player_id: String,
        amount: u64,
    },
    Rename {
        #[aggregate_id]
        player_id: String,
        name: String,
    },
}

impl PlayerCommand {
    pub(crate) fn create(player_id: &str) -> Self {
        Self::Create {
            player_id: player_id.to_owned(),
            name: format!("Player {player_id}"),
        }
    }

    pub(crate) fn gain(player_id: &str, amount: u64) -> Self {
        Self::GainXp {
            player_id: player_id.to_owned(),
            amount,
        }
    }
}

#[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
pub(crate) enum PlayerEvent {
    #[event(rename = "player_created")]
    Created {
        name: String,
    },
    XpGained {
        amount: u64,
    },
    LeveledUp {
        from: u32,
        to: u32,
    },
    #[event(version = 2)]
    Renamed {
        display_name: String,
    },
}

#[derive(Debug, PartialEq, thiserror::Error)]
pub(crate) enum PlayerError {
    #[error("the player already exists")]
    AlreadyExists,
    #[error("no such player")]
    NotFound,
    #[error("xp must be positive")]
    NoXp,
}

#[derive(Default, Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Player {
    pub name: Option<String>,
    pub xp: u64,
    pub level: u32,
}

#[aggregate(name = "player", id = String, command = PlayerCommand, event = PlayerEvent, error = PlayerError)]
impl Player {
    #[handle(PlayerCommand::Create)]
    fn create(&self, name: &str) -> Result<Vec<PlayerEvent>, PlayerError> {
        match self.name {
            Some(_) => Err(PlayerError::AlreadyExists),
            None => Ok(vec![PlayerEvent::Created {
                name: name.to_owned(),
            }]),
        }
    }

    #[handle(PlayerCommand::GainXp)]
    fn gain_xp(&self, amount: &u64) -> Result<Vec<PlayerEvent>, PlayerError> {
        if self.name.is_none() {
            return Err(PlayerError::NotFound);
        }
        if *amount == 0 {
            return Err(PlayerError::NoXp);
        }
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

    #[handle(PlayerCommand::Rename)]
    fn rename(&self, name: &str) -> Result<Vec<PlayerEvent>, PlayerError> {
        match &self.name {
            None => Err(PlayerError::NotFound),
            Some(current) if current == name => Ok(Vec::new()),
            Some(_) => Ok(vec![PlayerEvent::Renamed {
                display_name: name.to_owned(),
            }]),
        }
    }

    #[apply(PlayerEvent::Created)]
    fn created(&mut self, name: &str) {
        self.name = Some(name.to_owned());
        self.level = 1;
    }

    #[apply(PlayerEvent::XpGained)]
    fn xp_gained(&mut self, amount: &u64) {
        self.xp += amount;
    }

    #[apply(PlayerEvent::LeveledUp)]
    fn leveled_up(&mut self, to: &u32) {
        self.level = *to;
    }

    #[apply(PlayerEvent::Renamed)]
    fn renamed(&mut self, display_name: &str) {
        self.name = Some(display_name.to_owned());
    }
}

pub(crate) fn level_of(xp: u64) -> u32 {
    u32::try_from(xp / 1000 + 1).unwrap_or(u32::MAX)
}

/// Published by the match service when a player's game ends.
#[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
pub(crate) struct GameCompletedEvent {
    pub player_id: String,
    pub score: u64,
}

/// Appends a `game_completed` to the match's stream, as the match service would.
pub(crate) async fn publish_game_completed<S: EventStore>(
    store: &S,
    match_id: &str,
    player_id: &str,
    score: u64,
) -> RecordedEvent<GameCompletedEvent> {
    let event = GameCompletedEvent {
        player_id: player_id.to_owned(),
        score,
    };
    let stream_id = StreamId::new(format!("match-{match_id}")).expect("valid stream id");
    let event_type = event.event_type();
    let new_event = eventful_core::NewEvent::new(
        TypeName::from_static("match"),
        event_type.name.clone(),
        event_type.schema_version,
        event.encode().expect("encodes"),
    );
    let event_id = new_event.event_id;
    let result = store
        .append(&stream_id, ExpectedVersion::Any, &[new_event])
        .await
        .expect("appends");
    RecordedEvent {
        event_id,
        stream_id,
        aggregate_type: TypeName::from_static("match"),
        event_type: event_type.name.clone(),
        schema_version: event_type.schema_version,
        version: result.last_version,
        position: result.first_position,
        recorded_at: result.recorded_at,
        metadata: Metadata::default(),
        payload: event,
    }
}
