use eventful_core::Event;
use serde::{Deserialize, Serialize};

#[derive(Event, Serialize, Deserialize)]
struct PlayerCreatedEvent {
    name: String,
}

fn main() {}
