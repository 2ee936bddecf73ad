use eventful_core::Command;

#[derive(Command)]
#[command(aggregate = Player)]
enum PlayerCommand {
    Create { player_id: u64, name: String },
    GainXp { #[aggregate_id] player_id: u64, #[aggregate_id] guild_id: u64, amount: u64 },
    Retire,
}

struct Player;

fn main() {}
