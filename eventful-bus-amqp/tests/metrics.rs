//! The relay's deliveries move `eventful_deliveries_total{kind="relay"}`, read from a
//! debugging recorder installed as this test binary's global recorder (the relay publishes
//! from the bus's tasks, on any worker thread).

mod common;

use common::*;
use eventful_bus_amqp::Relay;
use eventful_core::EventBus;
use eventful_core::telemetry::DELIVERIES_TOTAL;
use eventful_store_memory::MemoryStore;
use metrics_util::debugging::{DebugValue, DebuggingRecorder};

#[test]
fn the_relay_counts_each_confirmed_publish_as_delivered() {
    let Some(uri) = amqp_uri("the_relay_counts_each_confirmed_publish_as_delivered") else {
        return;
    };
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    recorder
        .install()
        .expect("the only recorder of this test binary");
    let delivered = || {
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
                    && label("outcome").as_deref() == Some("delivered")
            })
            .map(|(.., value)| match value {
                DebugValue::Counter(count) => count,
                other => panic!("{DELIVERIES_TOTAL} is not a counter: {other:?}"),
            })
            .sum::<u64>()
    };
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime")
        .block_on(async {
            let run = unique("metrics");
            let scores = MemoryStore::new();
            let relay = Relay::builder(settings(&uri, &run))
                .publish::<ScoreRecorded>()
                .connect()
                .await
                .expect("the relay connects");
            let mut bus = EventBus::new(scores.clone(), scores.clone());
            bus.handler(relay.clone());
            let publishing = bus.start().expect("the bus starts");
            let ids = record_scores(&scores, 12).await;
            publishing.wait_until_caught_up().await.expect("relayed");
            assert_eq!(relay.published(), ids.len() as u64);
            // A snapshot takes what was counted since the last one.
            assert_eq!(delivered(), ids.len() as u64, "one per confirmed publish");
            publishing.shutdown().await;
            clean_up(&uri, &run, &[]).await;
        });
}
