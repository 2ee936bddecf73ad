use eventful_core::projection;

#[path = "common/read_side.rs"]
mod read_side;
use read_side::*;

#[projection(name = "leaderboard", event = PlayerEvent)]
impl Leaderboard {
    #[on(PlayerEvent::Renamed)]
    fn renamed(&self, name: &String) {
        let _ = name;
    }
}

#[derive(Default)]
struct Renames;

// Binding no field, a tuple variant needs no `(..)`: this one is fine.
#[projection(name = "renames", event = PlayerEvent)]
impl Renames {
    #[on(PlayerEvent::Renamed)]
    fn renamed(&self) {}
}

fn main() {}
