//! How the game-session service reacts: to matchmaking and the gateway, and to its own
//! sessions by telling the other services. These policies are added to the bus by hand
//! ([`GameSessionService::add_handlers`]); the player service shows `#[register]` instead.
//!
//! [`GameSessionService::add_handlers`]: super::GameSessionService::add_handlers

use std::sync::Arc;

use eventful_core::prelude::*;

use crate::integration::{
    GameCompletedEvent, GameWorldInitializeEvent, MatchmakingCompletedEvent,
    PlayerDisconnectedEvent, topics,
};
use crate::publish::Publisher;
use crate::store::SharedStore;

use super::aggregate::GameSession;
use super::commands::GameSessionCommand;
use super::errors::GameSessionError;
use super::events::{GameSessionEvent, LeaveReason};
use super::scores::placements;
use super::service::GameSessionRepository;

/// `matchmaking_completed` → [`GameSessionCommand::Start`].
///
/// The session takes the match's id and starts at the time matchmaking's event was recorded,
/// so that a redelivered event asks for exactly the same session.
pub struct StartSessionOnMatchmaking {
    sessions: Arc<GameSessionRepository>,
}

impl StartSessionOnMatchmaking {
    /// The policy on `sessions`.
    pub fn new(sessions: Arc<GameSessionRepository>) -> Self {
        Self { sessions }
    }
}

#[async_trait]
impl Policy for StartSessionOnMatchmaking {
    type Event = MatchmakingCompletedEvent;

    fn name(&self) -> &str {
        "start_session_on_matchmaking"
    }

    async fn react(
        &self,
        event: &RecordedEvent<MatchmakingCompletedEvent>,
        reaction: &Reaction,
    ) -> Result<(), BoxError> {
        let matched = &event.payload;
        let command = GameSessionCommand::Start {
            session_id: matched.match_id,
            players: matched.player_ids.clone(),
            mode: matched.mode,
            settings: matched.settings.clone(),
            started_at: event.recorded_at,
        };
        self.sessions
            .execute_with(command, reaction.command_context())
            .await?;
        Ok(())
    }
}

/// `player_disconnected` → [`GameSessionCommand::Leave`] with reason
/// [`LeaveReason::Disconnected`].
///
/// A disconnect that arrives after the player left or the session ended changes nothing and
/// is not an error: the gateway and the session race, and either order is fine.
pub struct LeaveOnDisconnect {
    sessions: Arc<GameSessionRepository>,
}

impl LeaveOnDisconnect {
    /// The policy on `sessions`.
    pub fn new(sessions: Arc<GameSessionRepository>) -> Self {
        Self { sessions }
    }
}

#[async_trait]
impl Policy for LeaveOnDisconnect {
    type Event = PlayerDisconnectedEvent;

    fn name(&self) -> &str {
        "leave_on_disconnect"
    }

    async fn react(
        &self,
        event: &RecordedEvent<PlayerDisconnectedEvent>,
        reaction: &Reaction,
    ) -> Result<(), BoxError> {
        let command = GameSessionCommand::Leave {
            session_id: event.payload.session_id,
            player_id: event.payload.player_id,
            reason: LeaveReason::Disconnected,
        };
        match self
            .sessions
            .execute_with(command, reaction.command_context())
            .await
        {
            Err(CommandError::Rejected {
                stream_id,
                source:
                    source @ (GameSessionError::NotInSession { .. } | GameSessionError::AlreadyEnded(_)),
            }) => {
                tracing::debug!(%stream_id, %source, "a late disconnect changes nothing");
                Ok(())
            }
            result => result.map(drop).map_err(Into::into),
        }
    }
}

/// Tells the other services about the sessions: `session_started` →
/// `game_world_initialize`; `session_ended` → one `game_completed` per final score, with its
/// placement, all in one append.
pub struct PublishSessionNews {
    sessions: Arc<GameSessionRepository>,
    game_world: Publisher<SharedStore>,
    game_results: Publisher<SharedStore>,
}

impl PublishSessionNews {
    /// The policy reading `sessions` and publishing on `store`.
    pub fn new(sessions: Arc<GameSessionRepository>, store: SharedStore) -> Self {
        Self {
            sessions,
            game_world: Publisher::new(store.clone(), topics::GAME_WORLD),
            game_results: Publisher::new(store, topics::GAME_RESULTS),
        }
    }
}

#[async_trait]
impl Policy for PublishSessionNews {
    type Event = GameSessionEvent;

    fn name(&self) -> &str {
        "publish_session_news"
    }

    async fn react(
        &self,
        event: &RecordedEvent<GameSessionEvent>,
        reaction: &Reaction,
    ) -> Result<(), BoxError> {
        match &event.payload {
            GameSessionEvent::Started {
                session_id,
                players,
                mode,
                settings,
                ..
            } => {
                let initialize = GameWorldInitializeEvent {
                    session_id: *session_id,
                    mode: *mode,
                    player_count: u32::try_from(players.len())?,
                    settings: settings.clone(),
                };
                self.game_world
                    .publish(session_id, &[initialize], &reaction.command_context())
                    .await?;
            }
            GameSessionEvent::Ended { final_scores, .. } => {
                // The ended event names no mode; the session as of that event knows it.
                let session_id = event.aggregate_id::<GameSession>()?;
                let session = self.sessions.load_at(&session_id, event.version).await?;
                let (GameSession::Ended(details) | GameSession::InProgress(details)) =
                    session.state
                else {
                    return Err(format!("session {session_id} ended without starting").into());
                };
                let results: Vec<_> = placements(final_scores)
                    .into_iter()
                    .map(|placement| GameCompletedEvent {
                        player_id: placement.player_id,
                        session_id,
                        mode: details.mode,
                        score: placement.score,
                        placement: placement.placement,
                    })
                    .collect();
                if !results.is_empty() {
                    self.game_results
                        .publish(&session_id, &results, &reaction.command_context())
                        .await?;
                }
            }
            GameSessionEvent::PlayerJoined { .. } | GameSessionEvent::PlayerLeft { .. } => {}
        }
        Ok(())
    }
}
