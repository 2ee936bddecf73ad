use eventful_core::projection;

#[path = "common/read_side.rs"]
mod read_side;
use read_side::*;

#[projection(name = "leaderboard", event = PlayerEvent)]
impl Leaderboard {
    #[on(PlayerEvent::XpGained)]
    fn xp_gained(&self, amount: &u64) {
        let _ = amount;
    }

    #[on(PlayerEvent::XpGained)]
    async fn count_xp(&self) {}

    #[reset]
    fn reset(&self) {}

    #[reset]
    fn clear(&self) {}
}

fn main() {}
