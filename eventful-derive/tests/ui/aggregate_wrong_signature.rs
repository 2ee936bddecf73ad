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

#[aggregate(name = "player", id = u64, command = PlayerCommand, event = PlayerEvent, error = PlayerError)]
impl Player {
    #[handle(PlayerCommand::GainXp)]
    async fn gain_xp(&mut self, amount: u64) -> Result<Vec<PlayerEvent>, PlayerError> {
        Ok(vec![PlayerEvent::XpGained { amount }])
    }

    #[handle(PlayerCommand::Retire(..))]
    fn retire<T>(&self, (id, _): &(u64, T)) {}

    #[apply(PlayerEvent::XpGained)]
    fn xp_gained(&self, mut amount: &u64) -> u64 {
        self.xp + amount
    }

    #[apply(PlayerEvent::Retired)]
    fn retired(self) {}
}

fn main() {}
