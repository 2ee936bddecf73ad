use eventful_core::aggregate;

#[path = "common/player.rs"]
mod player;
use player::*;

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
    #[on(PlayerEvent::Retired)]
    fn retired(&mut self) {
        self.retired = true;
    }
}

fn main() {}
