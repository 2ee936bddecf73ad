use eventful_core::Command;

#[derive(Command)]
#[command(agregate = Player)]
struct GainXp {
    #[aggregate_id]
    player_id: u64,
    amount: u64,
}

fn main() {}
