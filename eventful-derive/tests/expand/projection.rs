impl Leaderboard {
    fn created(&self, created: &PlayerCreated, event: &RecordedEvent<PlayerEvent>) {
        self.insert(event.stream_id.clone(), created.name.clone());
    }
    async fn xp_gained(&self, amount: &u64) -> Result<(), BoxError> {
        self.add(*amount).await
    }
    fn clear(&self) {
        self.entries.lock().clear();
    }
}
const _: () = {
    #[diagnostic::on_unimplemented(
        message = "a projection's handler returns `()` or `Result<(), E>`, with `E` converting into `BoxError` (as most errors do), not `{Self}`",
        label = "returns `()` or `Result<(), E>`, not `{Self}`"
    )]
    trait HandlerOutcome {
        fn into_outcome(self) -> ::core::result::Result<(), ::eventful_core::BoxError>;
    }
    impl HandlerOutcome for () {
        fn into_outcome(self) -> ::core::result::Result<(), ::eventful_core::BoxError> {
            ::core::result::Result::Ok(self)
        }
    }
    impl<E: ::core::convert::Into<::eventful_core::BoxError>> HandlerOutcome
    for ::core::result::Result<(), E> {
        fn into_outcome(self) -> ::core::result::Result<(), ::eventful_core::BoxError> {
            self.map_err(::core::convert::Into::into)
        }
    }
    #[register]
    #[::eventful_core::__private::async_trait]
    #[automatically_derived]
    impl ::eventful_core::Projection for Leaderboard {
        type Event = PlayerEvent;
        fn name(&self) -> &str {
            "leaderboard"
        }
        async fn apply(
            &self,
            event: &::eventful_core::RecordedEvent<PlayerEvent>,
        ) -> ::core::result::Result<(), ::eventful_core::BoxError> {
            match &event.payload {
                PlayerEvent::Created { 0: created, .. } => {
                    self.created(created, event);
                    ::core::result::Result::Ok(())
                }
                PlayerEvent::XpGained { amount, .. } => {
                    HandlerOutcome::into_outcome(self.xp_gained(amount).await)
                }
                #[allow(unreachable_patterns)]
                _ => ::core::result::Result::Ok(()),
            }
        }
        async fn reset(&self) -> ::core::result::Result<(), ::eventful_core::BoxError> {
            self.clear();
            ::core::result::Result::Ok(())
        }
    }
};
#[allow(dead_code, non_upper_case_globals)]
const _: () = {
    struct Fallback;
    struct Variant<V>(V);
    #[diagnostic::on_unimplemented(
        message = "`PlayerEvent::XpGained` is a tuple variant, whose fields have no names to bind by: write `#[on(PlayerEvent::XpGained(..))]`, and the parameters bind its fields in order",
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
