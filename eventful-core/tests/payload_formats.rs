//! Payload formats through the store traits as a user meets them: a store chosen at run time
//! (`Arc<dyn DynEventStore>`) keeps its format and its in-place replay, and a store that
//! implements only the required methods replays through the default `visit_stream`.

use std::ops::ControlFlow;
use std::sync::Arc;

use eventful_core::testing::model::{Player, PlayerAction, PlayerCommand};
use eventful_core::{
    AllBatch, AppendResult, DynEventStore, EventFilter, EventStore, ExpectedVersion, NewEvent,
    PayloadFormat, Position, RecordedEvent, Repository, StoreError, StreamId, Uuid, Version,
};
use eventful_store_memory::MemoryStore;

/// A store with the required methods only: `visit_stream` and `payload_format` are the
/// trait's defaults.
#[derive(Clone)]
struct RequiredOnly(MemoryStore);

impl EventStore for RequiredOnly {
    async fn append(
        &self,
        stream_id: &StreamId,
        expected: ExpectedVersion,
        events: &[NewEvent],
    ) -> Result<AppendResult, StoreError> {
        self.0.append(stream_id, expected, events).await
    }

    async fn read_stream(
        &self,
        stream_id: &StreamId,
        from: Version,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        self.0.read_stream(stream_id, from, limit).await
    }

    async fn stream_version(&self, stream_id: &StreamId) -> Result<Version, StoreError> {
        self.0.stream_version(stream_id).await
    }

    async fn read_all(
        &self,
        from: Position,
        filter: &EventFilter,
        limit: usize,
    ) -> Result<AllBatch, StoreError> {
        self.0.read_all(from, filter, limit).await
    }

    async fn head_position(&self) -> Result<Position, StoreError> {
        self.0.head_position().await
    }

    async fn wait_for_append(&self, after: Position) {
        self.0.wait_for_append(after).await;
    }

    async fn find_event(
        &self,
        stream_id: &StreamId,
        event_id: Uuid,
    ) -> Result<Option<RecordedEvent>, StoreError> {
        self.0.find_event(stream_id, event_id).await
    }
}

async fn play<S: EventStore>(players: &Repository<Player, S>, id: u64, gains: u64) {
    players
        .execute(PlayerCommand::new(
            id,
            PlayerAction::CreatePlayer {
                name: format!("player {id}"),
            },
        ))
        .await
        .expect("created");
    for _ in 0..gains {
        players
            .execute(PlayerCommand::new(id, PlayerAction::GainXp { amount: 300 }))
            .await
            .expect("gained");
    }
}

#[tokio::test]
async fn a_store_chosen_at_run_time_keeps_its_format_and_replays_in_place() {
    let memory = MemoryStore::with_payload_format(PayloadFormat::Postcard);
    let store: Arc<dyn DynEventStore> = Arc::new(memory.clone());
    assert_eq!(store.payload_format(), PayloadFormat::Postcard);
    let players = Repository::<Player, _>::new(store.clone()).with_cache_capacity(0);
    play(&players, 1, 5).await;
    let stream = StreamId::new("player-1").expect("valid");
    let stored = memory
        .read_stream(&stream, Version::new(1), usize::MAX)
        .await
        .expect("reads");
    assert!(
        stored
            .iter()
            .all(|event| event.payload.format() == PayloadFormat::Postcard),
        "the repository wrote in the format the boxed store reports"
    );
    let loaded = players.load(&1u64).await.expect("replays");
    assert_eq!((loaded.version, loaded.state.xp), (Version::new(7), 1_500));
}

#[tokio::test]
async fn the_default_visit_reads_the_stream_and_stops_when_told() {
    let store = RequiredOnly(MemoryStore::new());
    assert_eq!(store.payload_format(), PayloadFormat::Json, "the default");
    let players = Repository::<Player, _>::new(store.clone()).with_cache_capacity(0);
    play(&players, 2, 4).await;
    let loaded = players.load(&2u64).await.expect("replays");
    assert_eq!((loaded.version, loaded.state.xp), (Version::new(6), 1_200));

    let stream = StreamId::new("player-2").expect("valid");
    let mut seen = Vec::new();
    let visited = store
        .visit_stream(&stream, Version::new(2), 10, &mut |event| {
            seen.push(event.version.get());
            if event.version == Version::new(4) {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        })
        .await
        .expect("visits");
    assert_eq!((visited, seen), (3, vec![2, 3, 4]));
}
