use eventful_core::aggregate;

#[path = "common/player.rs"]
mod player;
use player::*;

#[aggregate(name = "player", id = u64, command = PlayerCommand, event = PlayerEvent, error = PlayerError)]
impl Player {
    #[handle(PlayerCommand::GainXp)]
    fn gain_xp(&self, amount: &u64) -> Result<Vec<PlayerEvent>, PlayerError> {
        Ok(vec![PlayerEvent::XpGained { amount: *amount }])
    }

    #[handle(PlayerCommand::Retire)]
    fn retire(&self, player_id: &u64) -> Result<Vec<PlayerEvent>, PlayerError> {
        let _ = player_id;
        Ok(vec![PlayerEvent::Retired])
    }

    #[apply(PlayerEvent::XpGained)]
    fn xp_gained(&mut self, amount: &u64) {
        self.xp += amount;
    }

    #[apply(PlayerEvent::Retired)]
    fn retired(&mut self) {
        self.retired = true;
    }
}

fn main() {}
