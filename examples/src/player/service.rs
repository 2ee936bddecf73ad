//! [`PlayerService`]: the player repository on a store, and the service's handlers on a bus.

use std::sync::Arc;

use eventful_core::registration::{RegistrationError, Resources};
use eventful_core::{
    CommandContext, CommandError, Committed, EventBus, EventStore, Repository, RetryPolicy,
    SnapshotStore,
};

use crate::ids::PlayerId;
use crate::store::{SharedStore, shared};

use super::aggregate::Player;
use super::commands::PlayerCommand;
use super::errors::PlayerError;
use super::events::PlayerEvent;

/// Players on the shared store.
pub type PlayerRepository = Repository<Player, SharedStore>;

/// A snapshot every this many events: a busy player's stream grows by two or three events a
/// game, and a load then replays at most this many.
const SNAPSHOT_EVERY: u64 = 50;

/// Results of many games can reach one player at once; each conflict is retried on fresh
/// state, and ten attempts ride out a burst.
const ATTEMPTS: u32 = 10;

/// The player service.
///
/// ```
/// use eventful_core::CommandContext;
/// use eventful_examples::ids::PlayerId;
/// use eventful_examples::player::PlayerService;
/// use eventful_store_memory::MemoryStore;
///
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let service = PlayerService::new(MemoryStore::new());
/// service.sign_up(PlayerId(1), "Ana", "ana@example.com", CommandContext::default()).await?;
/// let ana = service.players().load(&PlayerId(1)).await?;
/// assert_eq!((ana.state.stats.level, ana.version.get()), (1, 1));
/// # Ok(()) }
/// # tokio::runtime::Runtime::new().unwrap().block_on(demo()).unwrap();
/// ```
#[derive(Clone)]
pub struct PlayerService {
    players: Arc<PlayerRepository>,
}

impl PlayerService {
    /// The service on `store`, keeping snapshots of players there too.
    pub fn new<S>(store: S) -> Self
    where
        S: EventStore + SnapshotStore + Clone + 'static,
    {
        let players = Repository::new(shared(store.clone()))
            .with_snapshots(store, SNAPSHOT_EVERY)
            .with_retry(RetryPolicy::default().with_max_attempts(ATTEMPTS));
        Self {
            players: Arc::new(players),
        }
    }

    /// The player repository: commands, loads, history.
    pub fn players(&self) -> &Arc<PlayerRepository> {
        &self.players
    }

    /// Signs a new player up.
    pub async fn sign_up(
        &self,
        player_id: PlayerId,
        name: &str,
        email: &str,
        context: CommandContext,
    ) -> Result<Committed<PlayerEvent>, CommandError<PlayerError>> {
        let command = PlayerCommand::Create {
            player_id,
            name: name.to_owned(),
            email: email.to_owned(),
        };
        self.players.execute_with(command, context).await
    }

    /// Adds the service's policies to `bus`: every handler registered with `#[register]` —
    /// in this crate, exactly the player service's — built from this service's repository.
    pub fn add_handlers<S>(&self, bus: &mut EventBus<S>) -> Result<(), RegistrationError>
    where
        S: EventStore + Clone + 'static,
    {
        let resources = Resources::new().with(self.players.clone());
        bus.register_all(&resources)?;
        Ok(())
    }
}
