#[automatically_derived]
impl ::eventful_core::Command for PlayerCommand {
    type Aggregate = Player;
    fn aggregate_id(&self) -> &<Player as ::eventful_core::Aggregate>::Id {
        match self {
            Self::GainXp { player_id: aggregate_id, .. } => aggregate_id,
            Self::Retire { 0: aggregate_id, .. } => aggregate_id,
        }
    }
}
