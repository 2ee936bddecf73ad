#[async_trait]
impl Policy for AwardXp {
    type Event = GameEvent;
    fn name(&self) -> &str {
        "award_xp"
    }
    async fn react(
        &self,
        event: &RecordedEvent<GameEvent>,
        reaction: &Reaction,
    ) -> Result<(), BoxError> {
        Ok(())
    }
}
::eventful_core::__private::inventory::submit! {
    ::eventful_core::HandlerRegistration::policy:: < AwardXp > (| resources | {
    ::eventful_core::HandlerRegistration::built_policy:: < AwardXp >
    (AwardXp::new(resources).map_err(::core::convert::Into::into)) })
}
