//! The events every `projection_*` and `policy_*` case handles, and the types written for
//! them.

use eventful_core::Event;
use serde::{Deserialize, Serialize};

#[derive(Event, Serialize, Deserialize, Debug)]
pub enum PlayerEvent {
    Created { name: String },
    XpGained { amount: u64 },
    Renamed(String),
    Retired,
}

#[derive(Event, Serialize, Deserialize, Debug)]
pub enum SessionEvent {
    Created { mode: String },
}

#[derive(Event, Serialize, Deserialize, Debug)]
pub struct GameCompletedEvent {
    pub player_id: u64,
    pub score: u64,
}

#[derive(Default)]
pub struct Leaderboard;

#[derive(Default)]
pub struct AwardXp;
