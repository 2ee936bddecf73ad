impl Player {
    fn gain_xp(&self, amount: &u64) -> Result<Vec<PlayerEvent>, PlayerError> {
        Ok(vec![PlayerEvent::XpGained { amount : * amount }])
    }
    fn retire(&self) -> Result<Vec<PlayerEvent>, PlayerError> {
        Ok(vec![PlayerEvent::Retired])
    }
    fn created(&mut self, created: &PlayerCreated) {
        self.name = created.name.clone();
    }
    fn xp_gained(&mut self, amount: &u64) {
        self.xp += amount;
    }
    fn retired(&mut self) {
        self.retired = true;
    }
    fn level(&self) -> u64 {
        self.xp / 1000 + 1
    }
}
#[automatically_derived]
impl ::eventful_core::Aggregate for Player {
    const TYPE: ::eventful_core::TypeName = ::eventful_core::TypeName::from_static(
        "player",
    );
    const SNAPSHOT_REVISION: u32 = 2;
    type Id = PlayerId;
    type Command = PlayerCommand;
    type Event = PlayerEvent;
    type Error = PlayerError;
    fn handle(
        &self,
        command: &PlayerCommand,
    ) -> ::core::result::Result<::std::vec::Vec<PlayerEvent>, PlayerError> {
        match command {
            PlayerCommand::GainXp { amount, .. } => self.gain_xp(amount),
            PlayerCommand::Retire { .. } => self.retire(),
        }
    }
    fn apply(&mut self, event: &PlayerEvent) {
        match event {
            PlayerEvent::Created { 0: created, .. } => self.created(created),
            PlayerEvent::XpGained { amount, .. } => self.xp_gained(amount),
            PlayerEvent::Retired { .. } => self.retired(),
        }
    }
}
