//! Matchmaking and the connection gateway: services that only publish.

use eventful_core::{CommandContext, Uuid};

use crate::game_mode::{GameMode, GameSettings};
use crate::ids::{PlayerId, SessionId};
use crate::integration::{MatchmakingCompletedEvent, PlayerDisconnectedEvent, topics};
use crate::publish::{PublishError, Published, Publisher};
use crate::store::SharedStore;

/// Matchmaking: puts players together and says so on `matchmaking-<match>`.
pub struct Matchmaking {
    publisher: Publisher<SharedStore>,
}

impl Matchmaking {
    /// Matchmaking publishing on `store`.
    pub fn new(store: SharedStore) -> Self {
        Self {
            publisher: Publisher::new(store, topics::MATCHMAKING),
        }
    }

    /// Publishes that match `match_id` is made. Each match is a new request: a new
    /// correlation id, which everything the match causes carries on.
    pub async fn complete(
        &self,
        match_id: SessionId,
        player_ids: Vec<PlayerId>,
        mode: GameMode,
        settings: GameSettings,
    ) -> Result<Published, PublishError> {
        let event = MatchmakingCompletedEvent {
            match_id,
            player_ids,
            mode,
            settings,
        };
        let context = CommandContext::default().with_correlation_id(Uuid::new_v4());
        self.publisher.publish(&match_id, &[event], &context).await
    }
}

/// The connection gateway: says on `gateway-<player>` when a player's connection drops.
pub struct Gateway {
    publisher: Publisher<SharedStore>,
}

impl Gateway {
    /// The gateway publishing on `store`.
    pub fn new(store: SharedStore) -> Self {
        Self {
            publisher: Publisher::new(store, topics::GATEWAY),
        }
    }

    /// Publishes that `player_id` dropped out of `session_id`, as a request of its own.
    pub async fn disconnect(
        &self,
        player_id: PlayerId,
        session_id: SessionId,
    ) -> Result<Published, PublishError> {
        let event = PlayerDisconnectedEvent {
            player_id,
            session_id,
        };
        let context = CommandContext::default().with_correlation_id(Uuid::new_v4());
        self.publisher.publish(&player_id, &[event], &context).await
    }
}
