impl AwardGameResults {
    async fn completed(
        &self,
        player_id: &PlayerId,
        score: &u64,
        reaction: &Reaction,
    ) -> Result<(), BoxError> {
        self.players
            .execute_with(award(player_id, score), reaction.command_context())
            .await?;
        Ok(())
    }
}
const _: () = {
    #[diagnostic::on_unimplemented(
        message = "a policy's handler returns `Result<(), E>`, with `E` converting into `BoxError` (as most errors do), not `{Self}`",
        label = "returns `Result<(), E>`, not `{Self}`"
    )]
    trait HandlerOutcome {
        fn into_outcome(self) -> ::core::result::Result<(), ::eventful_core::BoxError>;
    }
    impl<E: ::core::convert::Into<::eventful_core::BoxError>> HandlerOutcome
    for ::core::result::Result<(), E> {
        fn into_outcome(self) -> ::core::result::Result<(), ::eventful_core::BoxError> {
            self.map_err(::core::convert::Into::into)
        }
    }
    #[::eventful_core::__private::async_trait]
    #[automatically_derived]
    impl ::eventful_core::Policy for AwardGameResults {
        type Event = GameCompletedEvent;
        fn name(&self) -> &str {
            "award_game_results"
        }
        async fn react(
            &self,
            event: &::eventful_core::RecordedEvent<GameCompletedEvent>,
            reaction: &::eventful_core::Reaction,
        ) -> ::core::result::Result<(), ::eventful_core::BoxError> {
            let _ = reaction;
            match &event.payload {
                GameCompletedEvent { player_id, score, .. } => {
                    HandlerOutcome::into_outcome(
                        self.completed(player_id, score, reaction).await,
                    )
                }
                #[allow(unreachable_patterns)]
                _ => ::core::result::Result::Ok(()),
            }
        }
    }
};
