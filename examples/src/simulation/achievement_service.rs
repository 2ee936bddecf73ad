//! The achievement service: watches game results and announces achievements.

use eventful_core::{BoxError, Policy, Reaction, RecordedEvent, async_trait};

use crate::integration::{AchievementUnlockedEvent, GameCompletedEvent, topics};
use crate::publish::Publisher;
use crate::store::SharedStore;

/// The score that unlocks `high_scorer`.
pub const HIGH_SCORE: u64 = 1_000;

/// `game_completed` → `achievement_unlocked`: `first_win` for a first place, `high_scorer`
/// for a score of [`HIGH_SCORE`] or more. It keeps no record of what it announced, so a
/// second win announces `first_win` again; the player service grants it once.
pub struct AchievementService {
    publisher: Publisher<SharedStore>,
}

impl AchievementService {
    /// The service publishing on `store`.
    pub fn new(store: SharedStore) -> Self {
        Self {
            publisher: Publisher::new(store, topics::ACHIEVEMENTS),
        }
    }
}

#[async_trait]
impl Policy for AchievementService {
    type Event = GameCompletedEvent;

    fn name(&self) -> &str {
        "achievement_service"
    }

    async fn react(
        &self,
        event: &RecordedEvent<GameCompletedEvent>,
        reaction: &Reaction,
    ) -> Result<(), BoxError> {
        let result = &event.payload;
        let unlocked: Vec<_> = [
            (result.placement == 1).then_some("first_win"),
            (result.score >= HIGH_SCORE).then_some("high_scorer"),
        ]
        .into_iter()
        .flatten()
        .map(|achievement_id| AchievementUnlockedEvent {
            player_id: result.player_id,
            achievement_id: achievement_id.to_owned(),
        })
        .collect();
        if !unlocked.is_empty() {
            self.publisher
                .publish(&result.player_id, &unlocked, &reaction.command_context())
                .await?;
        }
        Ok(())
    }
}
