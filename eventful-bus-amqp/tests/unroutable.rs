//! A relay built with `require_route` publishes `mandatory`: a message no queue is bound for
//! comes back, is counted as a failed delivery and tried again, the relay's position before
//! it, on the same connection, until a consumer has declared its queue; then each event is
//! delivered once, in order. A test binary of its own for its metrics recorder (the failed
//! deliveries are how the test knows the broker returned a message).
//!
//! Runs against `EVENTFUL_AMQP_URI` (skipped, with a notice, when it is unset).

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use eventful_bus_amqp::{Backoff, Consumer, Relay};
use eventful_core::telemetry::DELIVERIES_TOTAL;
use eventful_core::{BoxError, EventBus, RecordedEvent};
use eventful_store_memory::MemoryStore;
use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
use parking_lot::Mutex;

/// The relay's deliveries with `outcome`, counted since the last call: a snapshot takes what
/// was counted since the one before.
fn relay_deliveries(snapshotter: &Snapshotter, outcome: &str) -> u64 {
    snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .filter(|(key, ..)| {
            let key = key.key();
            let label = |name: &str| {
                key.labels()
                    .find(|label| label.key() == name)
                    .map(|label| label.value().to_owned())
            };
            key.name() == DELIVERIES_TOTAL
                && label("kind").as_deref() == Some("relay")
                && label("outcome").as_deref() == Some(outcome)
        })
        .map(|(.., value)| match value {
            DebugValue::Counter(count) => count,
            other => panic!("{DELIVERIES_TOTAL} is not a counter: {other:?}"),
        })
        .sum()
}

#[test]
fn a_relay_that_requires_a_route_tries_a_returned_message_again_until_a_queue_takes_it() {
    let Some(uri) = amqp_uri(
        "a_relay_that_requires_a_route_tries_a_returned_message_again_until_a_queue_takes_it",
    ) else {
        return;
    };
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    recorder
        .install()
        .expect("the only recorder of this test binary");
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime")
        .block_on(async {
            let run = unique("unroutable");
            let queue = format!("{run}.tally");
            let _clean = CleanUp::new(&uri, &run, &[&queue]);
            let settings = settings(&uri, &run).with_reconnect(Backoff::new(
                Duration::from_millis(20),
                Duration::from_millis(200),
            ));
            let relay = Relay::builder(settings.clone())
                .publish::<ScoreRecorded>()
                .require_route()
                .connect()
                .await
                .expect("connects");
            let scores = MemoryStore::new();
            let mut bus = EventBus::new(scores.clone(), scores.clone());
            bus.handler(relay.clone());
            let running = bus.start().expect("starts");
            let ids = record_scores(&scores, 5).await;

            // No queue is bound yet: the first event comes back, again and again.
            let mut returned = 0;
            eventually("the first event returned twice", || {
                returned += relay_deliveries(&snapshotter, "failed");
                let twice = returned >= 2;
                async move { twice }
            })
            .await;
            assert_eq!(relay.published(), 0, "nothing counts as published");
            assert_eq!(relay.reconnects(), 0, "a returned message keeps the link");
            relay.health().check().expect("the relay stays connected");

            let received = Arc::new(Mutex::new(Vec::new()));
            let mut consumer = Consumer::new(settings, queue.clone());
            let seen = received.clone();
            consumer.subscribe_named(["score_recorded"], "count", move |event: RecordedEvent| {
                let seen = seen.clone();
                async move {
                    seen.lock().push(event.event_id);
                    Ok::<(), BoxError>(())
                }
            });
            let consuming = consumer.start().await.expect("the consumer starts");
            running
                .wait_until_caught_up()
                .await
                .expect("relayed once a queue takes them");
            eventually("all 5 received", || {
                let all = received.lock().len() >= 5;
                async move { all }
            })
            .await;
            assert_eq!(*received.lock(), ids, "each once, in order");
            assert_eq!(relay.published(), 5);
            assert_eq!(relay_deliveries(&snapshotter, "delivered"), 5);

            running.shutdown().await;
            consuming.shutdown().await;
        });
}
