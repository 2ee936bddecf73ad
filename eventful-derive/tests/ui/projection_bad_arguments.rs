use eventful_core::projection;

#[path = "common/read_side.rs"]
mod read_side;
use read_side::*;

#[projection(title = "leaderboard")]
impl Leaderboard {
    #[on]
    fn created(&self) {}
}

struct Standings;

#[projection(name = "", event = PlayerEvent)]
impl Standings {
    fn top(&self) {}
}

#[projection(name = "ranks", event = PlayerEvent)]
impl eventful_core::Projection for Leaderboard {}

fn main() {}
