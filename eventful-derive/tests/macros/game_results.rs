//! `#[policy]`: game results (a plain-struct event of a game session) turned into xp for the
//! player, with the reaction's context, on an `EventBus` over the memory store; registered with
//! `#[register(build = ...)]` written below the macro. The session is an `#[aggregate]` with a
//! struct command and a struct event.

use std::sync::Arc;

use eventful_core::prelude::*;
use eventful_core::registration::RegistrationError;
use eventful_store_memory::MemoryStore;
use serde::{Deserialize, Serialize};

use crate::leaderboard::{Entry, Leaderboard};
use crate::player::{Player, PlayerCommand, PlayerError, PlayerId};

/// Xp a player gains per point scored.
const XP_PER_POINT: u64 = 10;

#[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
pub(crate) struct GameCompletedEvent {
    pub(crate) player_id: PlayerId,
    pub(crate) score: u64,
}

#[derive(Command, Debug, Clone)]
#[command(aggregate = GameSession)]
pub(crate) struct CompleteGame {
    #[aggregate_id]
    pub(crate) session_id: u64,
    pub(crate) player_id: PlayerId,
    pub(crate) score: u64,
}

#[derive(Debug, PartialEq, thiserror::Error)]
#[error("the game is already completed")]
pub(crate) struct AlreadyCompleted;

#[derive(Default)]
pub(crate) struct GameSession {
    completed: bool,
}

#[aggregate(
    name = "game_session",
    id = u64,
    command = CompleteGame,
    event = GameCompletedEvent,
    error = AlreadyCompleted
)]
impl GameSession {
    #[handle(CompleteGame)]
    fn complete(
        &self,
        player_id: &PlayerId,
        score: &u64,
    ) -> Result<Vec<GameCompletedEvent>, AlreadyCompleted> {
        if self.completed {
            return Err(AlreadyCompleted);
        }
        Ok(vec![GameCompletedEvent {
            player_id: *player_id,
            score: *score,
        }])
    }

    #[apply(GameCompletedEvent)]
    fn completed(&mut self) {
        self.completed = true;
    }
}

/// `game_completed` → [`PlayerCommand::GainXp`] for the player who played.
pub(crate) struct AwardGameResults {
    players: Arc<Repository<Player, MemoryStore>>,
}

impl AwardGameResults {
    pub(crate) fn new(resources: &Resources) -> Result<Self, RegistrationError> {
        Ok(Self {
            players: resources
                .get::<Arc<Repository<Player, MemoryStore>>>()?
                .clone(),
        })
    }
}

#[policy(name = "award_game_results", event = GameCompletedEvent)]
#[register(build = AwardGameResults::new)]
impl AwardGameResults {
    /// A struct event: its fields by name, and the reaction for the command's context.
    #[on(GameCompletedEvent)]
    async fn completed(
        &self,
        score: &u64,
        reaction: &Reaction,
        player_id: &PlayerId,
    ) -> Result<(), CommandError<PlayerError>> {
        let command = PlayerCommand::GainXp {
            player_id: *player_id,
            amount: score * XP_PER_POINT,
        };
        self.players
            .execute_with(command, reaction.command_context())
            .await?;
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_policy_written_with_the_macro_runs_its_commands_on_a_bus()
-> Result<(), Box<dyn std::error::Error>> {
    let store = MemoryStore::new();
    let players = Arc::new(Repository::<Player, _>::new(store.clone()));
    let sessions = Repository::<GameSession, _>::new(store.clone());
    let leaderboard = Arc::new(Leaderboard::default());
    let award = AwardGameResults::new(&Resources::new().with(players.clone()))?;
    assert_eq!(Policy::name(&award), "award_game_results");

    let mut bus = EventBus::new(store.clone(), store.clone());
    bus.policy(award).projection(leaderboard.clone());
    let running = bus.start()?;
    players
        .execute(PlayerCommand::Create {
            player_id: 4,
            name: "cy".into(),
            email: "cy@example.com".into(),
        })
        .await?;
    let request = eventful_core::Uuid::new_v4();
    let completed = sessions
        .execute_with(
            CompleteGame {
                session_id: 90,
                player_id: 4,
                score: 150,
            },
            CommandContext::default().with_correlation_id(request),
        )
        .await?;
    // The policy's command appends more events: wait until the leaderboard has them too.
    for _ in 0..100 {
        running.wait_until_caught_up().await?;
        if leaderboard
            .standings()
            .first()
            .is_some_and(|entry| entry.level == 2)
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    running.shutdown().await;

    assert_eq!(
        leaderboard.standings(),
        [Entry {
            name: "cy".into(),
            xp: 1_500,
            level: 2,
        }]
    );
    // The xp was caused by the game's result, in the request's correlation.
    let stream = StreamId::new("player-4")?;
    let recorded = store.read_stream(&stream, Version::new(1), 10).await?;
    let xp = recorded
        .iter()
        .find(|event| event.event_type == "xp_gained")
        .expect("the policy gained xp");
    let game = &completed.events[0];
    assert_eq!(xp.metadata.causation_id, Some(game.event_id));
    assert_eq!(xp.metadata.correlation_id, Some(request));
    Ok(())
}
