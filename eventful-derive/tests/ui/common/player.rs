//! The player every `aggregate_*` case writes handlers for.

use eventful_core::{Command, Event};
use serde::{Deserialize, Serialize};

#[derive(Command)]
#[command(aggregate = Player)]
pub enum PlayerCommand {
    GainXp { #[aggregate_id] player_id: u64, amount: u64 },
    Retire(#[aggregate_id] u64),
}

#[derive(Event, Serialize, Deserialize, Debug)]
pub enum PlayerEvent {
    XpGained { amount: u64 },
    Retired,
}

#[derive(Debug, thiserror::Error)]
#[error("rejected")]
pub struct PlayerError;

#[derive(Default)]
pub struct Player {
    pub xp: u64,
    pub retired: bool,
}
