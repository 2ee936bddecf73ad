//! One follower of the log for every client: the store is read the same however many
//! clients there are, and each client gets exactly what it subscribed to; a client that
//! resumes a long stream near its end costs the store what it missed, not the stream.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use eventful_core::{
    AllBatch, AppendResult, EventFilter, EventStore, ExpectedVersion, NewEvent, Position,
    RecordedEvent, StoreError, StreamId, Uuid, Version,
};
use eventful_gateway::Topic;
use eventful_store_memory::MemoryStore;

use crate::support::*;

/// A memory store that counts the reads made of it, and the events its stream reads return.
#[derive(Clone, Default)]
struct Counted {
    inner: MemoryStore,
    reads: Arc<AtomicUsize>,
    stream_events: Arc<AtomicUsize>,
}

impl EventStore for Counted {
    async fn append(
        &self,
        stream_id: &StreamId,
        expected: ExpectedVersion,
        events: &[NewEvent],
    ) -> Result<AppendResult, StoreError> {
        self.inner.append(stream_id, expected, events).await
    }

    async fn read_stream(
        &self,
        stream_id: &StreamId,
        from: Version,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        self.reads.fetch_add(1, Ordering::Relaxed);
        let events = self.inner.read_stream(stream_id, from, limit).await?;
        self.stream_events
            .fetch_add(events.len(), Ordering::Relaxed);
        Ok(events)
    }

    async fn stream_version(&self, stream_id: &StreamId) -> Result<Version, StoreError> {
        self.inner.stream_version(stream_id).await
    }

    async fn read_all(
        &self,
        from: Position,
        filter: &EventFilter,
        limit: usize,
    ) -> Result<AllBatch, StoreError> {
        self.reads.fetch_add(1, Ordering::Relaxed);
        self.inner.read_all(from, filter, limit).await
    }

    async fn head_position(&self) -> Result<Position, StoreError> {
        self.inner.head_position().await
    }

    async fn wait_for_append(&self, after: Position) {
        self.inner.wait_for_append(after).await;
    }

    async fn find_event(
        &self,
        stream_id: &StreamId,
        event_id: Uuid,
    ) -> Result<Option<RecordedEvent>, StoreError> {
        self.inner.find_event(stream_id, event_id).await
    }
}

const CLIENTS: usize = 60;
const ROUNDS: u64 = 10;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixty_clients_cost_the_store_what_one_follower_costs() {
    let store = Counted::default();
    let served = Served::start(store.clone(), settings()).await;
    let mut clients = Vec::new();
    for player in 1..=CLIENTS {
        let mut client = served.client(&player.to_string()).await;
        client
            .subscribe("me", stream(&format!("player-{player}")), None)
            .await;
        client
            .subscribe(
                "board",
                Topic::EventType("leaderboard_changed".into()),
                None,
            )
            .await;
        clients.push(client);
    }
    let before = store.reads.load(Ordering::Relaxed);
    let mut appends = 0;
    for round in 1..=ROUNDS {
        let board = append_typed(&store, "leaderboard-1", "leaderboard_changed", round).await;
        let player = (round as usize % CLIENTS) + 1;
        let own = append(&store, &format!("player-{player}"), round).await;
        appends += 2;
        for (index, client) in clients.iter_mut().enumerate() {
            let (subscription, event) = client.event().await;
            assert_eq!((subscription.as_str(), event.position), ("board", board));
            if index + 1 == player {
                let (subscription, event) = client.event().await;
                assert_eq!((subscription.as_str(), event.position), ("me", own));
            }
        }
    }
    let reads = store.reads.load(Ordering::Relaxed) - before;
    // The follower reads at most twice per append (the events, then the empty read before
    // it waits); one read per client per event would be 60 times that.
    assert!(
        reads <= 2 * appends,
        "{reads} reads of the store for {appends} appends"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resume_near_the_end_of_a_long_stream_reads_what_it_missed() {
    const LONG: u64 = 3_000;
    const MISSED: u64 = 5;
    let store = Counted::default();
    let mut positions = Vec::new();
    for amount in 1..=LONG {
        positions.push(append(&store, "player-7", amount).await);
    }
    // A budget far below the stream's length: what the resume is charged is what it reads.
    let served = Served::start(store.clone(), settings().with_catch_up_budget(200)).await;
    let mut client = served.client("7").await;
    let seen = positions[(LONG - MISSED - 1) as usize];
    let before = store.stream_events.load(Ordering::Relaxed);
    client.subscribe("me", stream("player-7"), Some(seen)).await;
    for expected in &positions[(LONG - MISSED) as usize..] {
        let (_, event) = client.event().await;
        assert_eq!(event.position, *expected, "no gap, no duplicate");
    }
    let read = store.stream_events.load(Ordering::Relaxed) - before;
    // The window at the stream's end holds the missed events on the first look: the first
    // event of the window, then the window itself, not the 3,000 events of the stream.
    assert!(
        read <= 2 * 64,
        "{read} events read from the store to resume {MISSED} missed ones"
    );

    // Further back, the window doubles until it reaches the resume: every missed event
    // still comes, in order, once.
    let served = Served::start(store.clone(), settings()).await;
    let mut far = served.client("7").await;
    let seen = positions[1_999];
    far.subscribe("me", stream("player-7"), Some(seen)).await;
    for expected in &positions[2_000..] {
        let (_, event) = far.event().await;
        assert_eq!(event.position, *expected, "no gap, no duplicate");
    }
}
