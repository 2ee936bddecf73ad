//! What a consumer does with handlers that fail: a store that is away for a while is waited
//! out (nothing dead-lettered), and a handler that panics dead-letters its message and the
//! consumer goes on.
//!
//! Runs against `EVENTFUL_AMQP_URI` (skipped, with a notice, when it is unset).

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use common::*;
use eventful_bus_amqp::message::encode_body;
use eventful_bus_amqp::{Backoff, Consumer, Inbox};
use eventful_core::{
    AllBatch, AppendResult, BoxError, EventFilter, EventStore, ExpectedVersion, NewEvent, Position,
    RecordedEvent, StoreError, StreamId, Version,
};
use eventful_store_memory::MemoryStore;
use lapin::options::BasicGetOptions;
use lapin::types::AMQPValue;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime")
}

/// A store whose first `failing` appends fail as a database that stopped answering does.
#[derive(Clone)]
struct Hiccup {
    store: MemoryStore,
    failing: Arc<AtomicU32>,
    refused: Arc<AtomicU32>,
}

impl EventStore for Hiccup {
    async fn append(
        &self,
        stream_id: &StreamId,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
    ) -> Result<AppendResult, StoreError> {
        let down = self
            .failing
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| {
                left.checked_sub(1)
            })
            .is_ok();
        if down {
            self.refused.fetch_add(1, Ordering::SeqCst);
            return Err(StoreError::Unavailable {
                source: "connection refused".into(),
            });
        }
        self.store.append(stream_id, expected, events).await
    }

    async fn read_stream(
        &self,
        stream_id: &StreamId,
        from: Version,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        self.store.read_stream(stream_id, from, limit).await
    }

    async fn stream_version(&self, stream_id: &StreamId) -> Result<Version, StoreError> {
        self.store.stream_version(stream_id).await
    }

    async fn read_all(
        &self,
        from: Position,
        filter: &EventFilter,
        limit: usize,
    ) -> Result<AllBatch, StoreError> {
        self.store.read_all(from, filter, limit).await
    }

    async fn head_position(&self) -> Result<Position, StoreError> {
        self.store.head_position().await
    }

    async fn wait_for_append(&self, after: Position) {
        self.store.wait_for_append(after).await;
    }

    async fn find_event(
        &self,
        stream_id: &StreamId,
        event_id: uuid::Uuid,
    ) -> Result<Option<RecordedEvent>, StoreError> {
        self.store.find_event(stream_id, event_id).await
    }
}

/// The sent scores, as the relay would publish them, published by hand.
async fn send_scores(uri: &str, run: &str, count: u64) -> Vec<RecordedEvent> {
    let scores = MemoryStore::new();
    record_scores(&scores, count).await;
    let sent = scores
        .read_all(Position::START, &EventFilter::all(), 100)
        .await
        .expect("read")
        .events;
    let publisher = raw_channel(uri).await;
    for event in &sent {
        let body = encode_body(event).expect("body");
        publish_raw(&publisher, run, "scores.score_recorded", body).await;
    }
    sent
}

#[test]
fn a_store_away_for_longer_than_the_attempts_is_waited_out_not_dead_lettered() {
    let Some(uri) =
        amqp_uri("a_store_away_for_longer_than_the_attempts_is_waited_out_not_dead_lettered")
    else {
        return;
    };
    runtime().block_on(async {
        let run = unique("hiccup");
        let queue = format!("{run}.inbox");
        let _clean = CleanUp::new(&uri, &run, &[&queue]);
        let received = MemoryStore::new();
        // Ten refused writes against two attempts a message: counted, they would dead-letter
        // the first messages.
        let store = Hiccup {
            store: received.clone(),
            failing: Arc::new(AtomicU32::new(10)),
            refused: Arc::new(AtomicU32::new(0)),
        };
        let mut consumer = Consumer::new(settings(&uri, &run), queue.clone())
            .with_attempts(2)
            .with_retry(Backoff::new(
                Duration::from_millis(1),
                Duration::from_millis(5),
            ));
        consumer.handler(Inbox::new(store.clone()).receive::<ScoreRecorded>());
        let consuming = consumer.start().await.expect("the consumer starts");
        let sent = send_scores(&uri, &run, 5).await;

        eventually("5 handled", || async { consuming.stats().handled >= 5 }).await;
        assert_eq!(
            store.refused.load(Ordering::SeqCst),
            10,
            "the outage happened"
        );
        assert_eq!(consuming.stats().dead_lettered, 0);
        let stored = received
            .read_all(Position::START, &EventFilter::all(), 100)
            .await
            .expect("read")
            .events;
        let ids = |events: &[RecordedEvent]| events.iter().map(|e| e.event_id).collect::<Vec<_>>();
        assert_eq!(ids(&stored), ids(&sent), "each once, in order");
        consuming.shutdown().await;
    });
}

#[test]
fn a_handler_that_panics_dead_letters_its_message_and_the_consumer_goes_on() {
    let Some(uri) =
        amqp_uri("a_handler_that_panics_dead_letters_its_message_and_the_consumer_goes_on")
    else {
        return;
    };
    runtime().block_on(async {
        let run = unique("panics");
        let queue = format!("{run}.tally");
        let _clean = CleanUp::new(&uri, &run, &[&queue]);
        let handled = Arc::new(AtomicU64::new(0));
        let calls = Arc::new(AtomicU64::new(0));
        let mut consumer = Consumer::new(settings(&uri, &run), queue.clone());
        let (count, tries) = (handled.clone(), calls.clone());
        consumer.subscribe::<ScoreRecorded, _, _>("panics_on_3", move |event| {
            let (count, tries) = (count.clone(), tries.clone());
            async move {
                tries.fetch_add(1, Ordering::SeqCst);
                assert_ne!(event.payload.points, 3, "3 is a bug");
                count.fetch_add(1, Ordering::SeqCst);
                Ok::<(), BoxError>(())
            }
        });
        let consuming = consumer.start().await.expect("the consumer starts");
        send_scores(&uri, &run, 5).await;

        eventually("4 handled and 1 dead-lettered", || async {
            let stats = consuming.stats();
            stats.handled >= 4 && stats.dead_lettered >= 1
        })
        .await;
        assert_eq!(handled.load(Ordering::SeqCst), 4);
        assert_eq!(calls.load(Ordering::SeqCst), 5, "a panic is not retried");
        assert_eq!(consuming.end(), None, "the consumer goes on");
        let channel = raw_channel(&uri).await;
        let dead = channel
            .basic_get(
                consuming.dead_letter_queue().as_str().into(),
                BasicGetOptions { no_ack: true },
            )
            .await
            .expect("basic.get")
            .expect("a dead letter");
        let headers = dead
            .delivery
            .properties
            .headers()
            .clone()
            .unwrap_or_default();
        let Some(AMQPValue::LongString(reason)) = headers.inner().get("x-eventful-reason") else {
            panic!("no reason: {headers:?}");
        };
        let reason = reason.to_string();
        assert!(reason.starts_with("panicked: "), "{reason}");
        assert!(reason.contains("3 is a bug"), "{reason}");
        assert!(reason.contains("handler `panics_on_3`"), "{reason}");
        consuming.shutdown().await;
    });
}
