use eventful_core::Event;
use serde::{Deserialize, Serialize};

#[derive(Event, Serialize, Deserialize, Debug)]
enum PlayerEvent {
    #[event(rename = "")]
    Created { name: String },
    #[event(rename = "xp\ngained")]
    XpGained { amount: u64 },
}

fn main() {}
