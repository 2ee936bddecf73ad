//! The game servers: load a world when a session starts, and report its end.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use eventful_core::{CommandContext, Committed, EventBus, EventStore, RecordedEvent};
use parking_lot::Mutex;

use crate::error::Error;
use crate::game_session::{
    EndReason, GameSessionCommand, GameSessionEvent, GameSessionRepository, PlayerScore,
};
use crate::ids::SessionId;
use crate::integration::GameWorldInitializeEvent;

/// The game servers, as one: they follow `game_world_initialize` by its Rust type
/// ([`EventBus::subscribe`]) and end sessions with their final scores.
#[derive(Clone)]
pub struct GameServer {
    sessions: Arc<GameSessionRepository>,
    worlds: Arc<Mutex<HashMap<SessionId, RecordedEvent<GameWorldInitializeEvent>>>>,
}

impl GameServer {
    /// Game servers reporting to `sessions`.
    pub fn new(sessions: Arc<GameSessionRepository>) -> Self {
        Self {
            sessions,
            worlds: Arc::default(),
        }
    }

    /// Subscribes to `game_world_initialize` on `bus`, as handler `game_server`.
    pub fn subscribe<S>(&self, bus: &mut EventBus<S>)
    where
        S: EventStore + Clone + 'static,
    {
        let worlds = self.worlds.clone();
        bus.subscribe::<GameWorldInitializeEvent, _, _>("game_server", move |event| {
            let worlds = worlds.clone();
            async move {
                worlds.lock().insert(event.payload.session_id, event);
                Ok(())
            }
        });
    }

    /// Whether the world of `session_id` is loaded.
    pub fn has_loaded(&self, session_id: SessionId) -> bool {
        self.worlds.lock().contains_key(&session_id)
    }

    /// Ends `session_id` after `played` of game time with `final_scores`. The end is caused
    /// by the world's initialization, so it carries the match's correlation id on.
    pub async fn finish(
        &self,
        session_id: SessionId,
        final_scores: Vec<PlayerScore>,
        played: Duration,
        reason: EndReason,
    ) -> Result<Committed<GameSessionEvent>, Error> {
        let world = self
            .worlds
            .lock()
            .get(&session_id)
            .cloned()
            .ok_or(Error::WorldNotLoaded(session_id))?;
        let played = chrono::Duration::from_std(played).unwrap_or(chrono::Duration::zero());
        let command = GameSessionCommand::End {
            session_id,
            final_scores,
            ended_at: world.recorded_at + played,
            reason,
        };
        let context = CommandContext::caused_by(&world);
        Ok(self.sessions.execute_with(command, context).await?)
    }
}
