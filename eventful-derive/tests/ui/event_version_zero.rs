use eventful_core::Event;
use serde::{Deserialize, Serialize};

#[derive(Event, Serialize, Deserialize, Debug)]
#[event(version = 0)]
enum PlayerEvent {
    Created { name: String },
}

fn main() {}
