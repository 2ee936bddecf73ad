use eventful_core::{Reaction, policy};

#[path = "common/read_side.rs"]
mod read_side;
use read_side::*;

#[policy(name = "award_xp", event = PlayerEvent)]
impl AwardXp {
    #[on(PlayerEvent::XpGained)]
    async fn xp_gained(&self, amount: &u64, reaction: &Reaction) -> () {
        let _ = (amount, reaction);
    }

    #[on(PlayerEvent::Retired)]
    async fn retired(&self) -> Result<(), u32> {
        Err(1)
    }
}

fn main() {}
