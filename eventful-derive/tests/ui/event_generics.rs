use eventful_core::Event;
use serde::{Deserialize, Serialize};

#[derive(Event, Serialize, Deserialize, Debug)]
enum ItemEvent<T> {
    Picked { item: T },
}

fn main() {}
