//! What the flows share: a started backend, the log as a list, stream versions.

use std::collections::BTreeMap;

use eventful_core::{CommandContext, EventFilter, EventStoreExt, Position, RecordedEvent, Uuid};
use eventful_examples::game_mode::{GameMode, GameSettings};
use eventful_examples::ids::{PlayerId, SessionId};
use eventful_examples::integration::MatchmakingCompletedEvent;
use eventful_examples::integration::topics;
use eventful_examples::programs::game_backend::Backend;
use eventful_examples::publish::{Published, Publisher};
use eventful_examples::store::shared;
use eventful_store_memory::MemoryStore;
use futures::TryStreamExt;

/// A backend on a fresh in-memory store with players `1..=players` signed up.
pub(crate) async fn backend(players: usize) -> Backend<MemoryStore> {
    let backend = Backend::start(MemoryStore::new()).expect("the bus starts");
    backend.sign_up(players).await.expect("sign-ups");
    backend
}

/// Every event in the store, in order.
pub(crate) async fn log(store: &MemoryStore) -> Vec<RecordedEvent> {
    store
        .read_all_events(Position::START, EventFilter::all())
        .try_collect()
        .await
        .expect("the log reads")
}

/// The events of `event_type`, in order.
pub(crate) async fn events_of(store: &MemoryStore, event_type: &str) -> Vec<RecordedEvent> {
    log(store)
        .await
        .into_iter()
        .filter(|event| event.event_type == event_type)
        .collect()
}

/// The one event of `event_type` in `stream`.
pub(crate) async fn the_event(
    store: &MemoryStore,
    stream: &str,
    event_type: &str,
) -> RecordedEvent {
    let found: Vec<_> = events_of(store, event_type)
        .await
        .into_iter()
        .filter(|event| event.stream_id.as_str() == stream)
        .collect();
    assert_eq!(found.len(), 1, "one {event_type} in {stream}: {found:?}");
    found.into_iter().next().expect("one")
}

/// Each stream's version.
pub(crate) async fn versions(store: &MemoryStore) -> BTreeMap<String, u64> {
    let mut versions = BTreeMap::new();
    for event in log(store).await {
        versions.insert(event.stream_id.to_string(), event.version.get());
    }
    versions
}

/// Settings for a four-player game.
pub(crate) fn settings() -> GameSettings {
    GameSettings {
        map: "harbor".into(),
        max_players: 4,
        time_limit_minutes: 20,
    }
}

/// Publishes, as matchmaking, that `players` play `mode` in match `match_id`, under a new
/// correlation id, which it returns.
pub(crate) async fn matchmake(
    store: &MemoryStore,
    match_id: u64,
    players: &[u64],
    mode: GameMode,
) -> (Uuid, Published) {
    let correlation = Uuid::new_v4();
    let matchmaking = Publisher::new(shared(store.clone()), topics::MATCHMAKING);
    let event = MatchmakingCompletedEvent {
        match_id: SessionId(match_id),
        player_ids: players.iter().copied().map(PlayerId).collect(),
        mode,
        settings: settings(),
    };
    let context = CommandContext::default().with_correlation_id(correlation);
    let published = matchmaking
        .publish(&match_id, &[event], &context)
        .await
        .expect("published");
    (correlation, published)
}
