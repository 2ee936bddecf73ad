use eventful_core::Event;
use serde::{Deserialize, Serialize};

#[derive(Event, Serialize, Deserialize, Debug)]
#[event(rename = "player")]
enum PlayerEvent {
    #[event(renme = "player_created")]
    Created { name: String },
    #[event(version = 2, schema = 3)]
    XpGained { amount: u64 },
}

fn main() {}
