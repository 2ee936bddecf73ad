use eventful_core::{RecordedEvent, projection};

#[path = "common/read_side.rs"]
mod read_side;
use read_side::*;

#[derive(Debug)]
struct NotAnError;

#[projection(name = "leaderboard", event = PlayerEvent)]
impl Leaderboard {
    #[on(PlayerEvent::Created)]
    fn created(&self, name: &String) -> bool {
        name.is_empty()
    }

    #[on(PlayerEvent::XpGained)]
    async fn xp_gained(&self, amount: &u64) -> Result<(), NotAnError> {
        let _ = amount;
        Err(NotAnError)
    }

    #[on(PlayerEvent::Retired)]
    fn retired(&self, event: &RecordedEvent<SessionEvent>) {
        let _ = event;
    }

    #[reset]
    fn reset(&self) -> Option<()> {
        None
    }
}

fn main() {}
