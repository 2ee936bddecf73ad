use eventful_core::projection;

#[path = "common/read_side.rs"]
mod read_side;
use read_side::*;

#[projection(name = "leaderboard", event = PlayerEvent)]
impl Leaderboard {
    #[on(PlayerEvent::Created)]
    fn created(&self, nmae: &String) {
        let _ = nmae;
    }

    #[on(PlayerEvent::XpGained)]
    fn xp_gained(&self, amount: &String) {
        let _ = amount;
    }
}

fn main() {}
