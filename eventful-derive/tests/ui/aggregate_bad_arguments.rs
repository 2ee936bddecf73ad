use eventful_core::{Command, Event, aggregate};
use serde::{Deserialize, Serialize};

#[derive(Command)]
#[command(aggregate = Player)]
enum PlayerCommand {
    GainXp { #[aggregate_id] player_id: u64, amount: u64 },
    Retire(#[aggregate_id] u64),
}

#[derive(Event, Serialize, Deserialize, Debug)]
enum PlayerEvent {
    XpGained { amount: u64 },
    Retired,
}

#[derive(Debug, thiserror::Error)]
#[error("rejected")]
struct PlayerError;

#[derive(Default)]
struct Player {
    xp: u64,
    retired: bool,
}

#[aggregate(name = "", command = PlayerCommand, event = PlayerEvent, snapshot = 2)]
impl Player {
    #[handle(PlayerCommand::GainXp)]
    fn gain_xp(&self, amount: &u64) -> Result<Vec<PlayerEvent>, PlayerError> {
        Ok(vec![PlayerEvent::XpGained { amount: *amount }])
    }

    #[handle]
    fn retire(&self) -> Result<Vec<PlayerEvent>, PlayerError> {
        Ok(vec![PlayerEvent::Retired])
    }

    #[apply(PlayerEvent::XpGained)]
    #[handle(PlayerCommand::Retire(..))]
    fn xp_gained(&mut self, amount: &u64) {
        self.xp += amount;
    }

    #[apply(PlayerEvent::Retired)]
    fn retired(&mut self) {
        self.retired = true;
    }
}

fn main() {}
