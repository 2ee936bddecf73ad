use eventful_core::projection;

#[path = "common/read_side.rs"]
mod read_side;
use read_side::*;

#[projection(name = "leaderboard", event = PlayerEvent)]
impl Leaderboard {
    #[on(PlayerEvent::Created)]
    fn created(&self, name: &String) {
        let _ = name;
    }

    #[on(SessionEvent::Created)]
    fn session_created(&self, mode: &String) {
        let _ = mode;
    }

    #[on(GameCompletedEvent)]
    fn game_completed(&self, score: &u64) {
        let _ = score;
    }
}

fn main() {}
