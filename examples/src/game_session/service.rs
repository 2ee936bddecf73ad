//! [`GameSessionService`]: the session repository on a store, and the service's handlers on
//! a bus.

use std::sync::Arc;

use eventful_core::{EventBus, EventStore, Repository};

use crate::store::{SharedStore, shared};

use super::aggregate::GameSession;
use super::policies::{LeaveOnDisconnect, PublishSessionNews, StartSessionOnMatchmaking};

/// Game sessions on the shared store.
pub type GameSessionRepository = Repository<GameSession, SharedStore>;

/// The game-session service.
#[derive(Clone)]
pub struct GameSessionService {
    store: SharedStore,
    sessions: Arc<GameSessionRepository>,
}

impl GameSessionService {
    /// The service on `store`. Sessions are short streams: no snapshots.
    pub fn new(store: impl EventStore + 'static) -> Self {
        let store = shared(store);
        Self {
            sessions: Arc::new(Repository::new(store.clone())),
            store,
        }
    }

    /// The session repository: commands, loads, history.
    pub fn sessions(&self) -> &Arc<GameSessionRepository> {
        &self.sessions
    }

    /// Adds the service's three policies to `bus`, by hand: start on matchmaking, leave on
    /// disconnect, publish session news.
    pub fn add_handlers<S>(&self, bus: &mut EventBus<S>)
    where
        S: EventStore + Clone + 'static,
    {
        bus.policy(StartSessionOnMatchmaking::new(self.sessions.clone()))
            .policy(LeaveOnDisconnect::new(self.sessions.clone()))
            .policy(PublishSessionNews::new(
                self.sessions.clone(),
                self.store.clone(),
            ));
    }
}
