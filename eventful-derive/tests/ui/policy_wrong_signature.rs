use eventful_core::{BoxError, Reaction, RecordedEvent, policy};

#[path = "common/read_side.rs"]
mod read_side;
use read_side::*;

#[policy(name = "award_xp", event = GameCompletedEvent)]
impl AwardXp {
    #[on(GameCompletedEvent)]
    async fn completed(&self, score: u64, reaction: &Reaction, again: &Reaction) {
        let _ = (score, reaction, again);
    }

    #[reset]
    fn reset(&self) {}
}

struct AwardMore;

#[policy(name = "award_more", event = GameCompletedEvent)]
impl AwardMore {
    #[on(GameCompletedEvent)]
    fn completed(
        &self,
        reaction: Reaction,
        event: &RecordedEvent<PlayerEvent>,
    ) -> Result<(), BoxError> {
        let _ = (reaction, event);
        Ok(())
    }
}

fn main() {}
