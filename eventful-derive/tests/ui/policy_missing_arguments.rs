use eventful_core::policy;

#[path = "common/read_side.rs"]
mod read_side;
use read_side::*;

#[policy]
impl AwardXp {
    #[on(PlayerEvent::XpGained)]
    async fn xp_gained(&self, amount: &u64) -> Result<(), eventful_core::BoxError> {
        let _ = amount;
        Ok(())
    }
}

struct AwardMore;

#[policy(name = "award_more", name = "again", event = PlayerEvent)]
impl AwardMore {
    #[on(PlayerEvent::Retired)]
    async fn retired(&self) -> Result<(), eventful_core::BoxError> {
        Ok(())
    }
}

#[policy(name = "award_xp", event = PlayerEvent)]
fn award() {}

fn main() {}
