use eventful_core::{Aggregate, Command, Event, TypeName};

#[derive(Command)]
#[command(aggregate = Player)]
struct GainXp {
    #[aggregate_id]
    player_id: String,
    amount: u64,
}

#[derive(Default)]
struct Player;

#[derive(Event, serde::Serialize, serde::Deserialize, Debug)]
enum PlayerEvent {
    XpGained { amount: u64 },
}

#[derive(Debug, thiserror::Error)]
#[error("no")]
struct PlayerError;

impl Aggregate for Player {
    const TYPE: TypeName = TypeName::from_static("player");
    type Id = u64;
    type Command = GainXp;
    type Event = PlayerEvent;
    type Error = PlayerError;
    fn handle(&self, _: &GainXp) -> Result<Vec<PlayerEvent>, PlayerError> {
        Err(PlayerError)
    }
    fn apply(&mut self, _: &PlayerEvent) {}
}

fn main() {}
