use eventful_core::{Reaction, RecordedEvent, projection};

#[path = "common/read_side.rs"]
mod read_side;
use read_side::*;

#[projection(name = "leaderboard", event = PlayerEvent)]
impl Leaderboard {
    #[on(PlayerEvent::Created)]
    fn created(&mut self, name: String) {
        let _ = name;
    }

    #[on(PlayerEvent::XpGained)]
    unsafe fn xp_gained<T>(&self, amount: &mut u64, (_a, _b): &(u8, u8)) {
        let _ = amount;
    }

    #[on(PlayerEvent::Retired)]
    #[apply(PlayerEvent::Retired)]
    fn retired(&self, event: RecordedEvent<PlayerEvent>, reaction: &Reaction) {
        let _ = (event, reaction);
    }

    #[on(PlayerEvent::Renamed(..))]
    fn renamed(&self, first: &RecordedEvent<PlayerEvent>, again: &RecordedEvent<PlayerEvent>) {
        let _ = (first, again);
    }

    #[reset]
    #[on(PlayerEvent::Renamed(name))]
    fn reset(self, _everything: bool) {}
}

fn main() {}
