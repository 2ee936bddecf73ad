use eventful_core::Event;
use serde::{Deserialize, Serialize};

#[derive(Event, Serialize, Deserialize, Debug)]
enum PlayerEvent {
    XpGained { amount: u64 },
    #[event(rename = "xp_gained")]
    BonusXpGained { amount: u64 },
}

fn main() {}
