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
#[allow(dead_code, non_upper_case_globals)]
const _: () = {
    struct Fallback;
    struct Variant<V>(V);
    #[diagnostic::on_unimplemented(
        message = "`PlayerCommand::GainXp` is a tuple variant, whose fields have no names to bind by: write `#[handle(PlayerCommand::GainXp(..))]`, and the parameters bind its fields in order",
        label = "write `PlayerCommand::GainXp(..)`"
    )]
    trait NamedFields {}
    #[diagnostic::do_not_recommend]
    impl NamedFields for Variant<&Fallback> {}
    #[diagnostic::do_not_recommend]
    impl NamedFields for Variant<&PlayerCommand> {}
    trait StructVariant {
        const GainXp: Fallback = Fallback;
    }
    impl<T: ?Sized> StructVariant for T {}
    fn named_fields<V: NamedFields>(_: V) {}
    fn probe() {
        named_fields::<_>(Variant(&<PlayerCommand>::GainXp));
    }
};
#[allow(dead_code, non_upper_case_globals)]
const _: () = {
    struct Fallback;
    struct Variant<V>(V);
    #[diagnostic::on_unimplemented(
        message = "`PlayerEvent::XpGained` is a tuple variant, whose fields have no names to bind by: write `#[apply(PlayerEvent::XpGained(..))]`, and the parameters bind its fields in order",
        label = "write `PlayerEvent::XpGained(..)`"
    )]
    trait NamedFields {}
    #[diagnostic::do_not_recommend]
    impl NamedFields for Variant<&Fallback> {}
    #[diagnostic::do_not_recommend]
    impl NamedFields for Variant<&PlayerEvent> {}
    trait StructVariant {
        const XpGained: Fallback = Fallback;
    }
    impl<T: ?Sized> StructVariant for T {}
    fn named_fields<V: NamedFields>(_: V) {}
    fn probe() {
        named_fields::<_>(Variant(&<PlayerEvent>::XpGained));
    }
};
