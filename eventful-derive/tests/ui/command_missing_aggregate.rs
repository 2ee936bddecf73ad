use eventful_core::Command;

#[derive(Command)]
#[command(agregate = Player)]
struct GainXp {
    #[aggregate_id]
    player_id: u64,
    amount: u64,
}

#[derive(Command)]
enum ClanCommand {
    Found {
        #[aggregate_id]
        clan_id: u64,
    },
}

fn main() {}
