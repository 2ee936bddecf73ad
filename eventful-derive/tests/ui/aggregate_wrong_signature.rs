use eventful_core::aggregate;

#[path = "common/player.rs"]
mod player;
use player::*;

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
