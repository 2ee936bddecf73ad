use eventful_core::{policy, projection, register};

#[path = "common/read_side.rs"]
mod read_side;
use read_side::*;

struct Standings {
    top: Vec<String>,
}

#[register]
#[projection(name = "standings", event = PlayerEvent)]
impl Standings {
    #[on(PlayerEvent::Created)]
    fn created(&self, name: &String) {
        let _ = (&self.top, name);
    }
}

struct Welcome;

#[policy(name = "welcome", event = PlayerEvent)]
#[register]
impl Welcome {
    #[on(PlayerEvent::Created)]
    async fn created(&self) -> Result<(), eventful_core::BoxError> {
        Ok(())
    }
}

fn main() {}
