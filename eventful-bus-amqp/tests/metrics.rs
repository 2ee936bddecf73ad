//! The relay's deliveries move `eventful_deliveries_total{kind="relay"}`, read from a
//! debugging recorder installed as this test binary's global recorder (the relay publishes
//! from the bus's tasks, on any worker thread).

mod common;

use common::*;
use eventful_store_memory::MemoryStore;

#[test]
fn the_relay_counts_each_confirmed_publish_as_delivered() {
    let Some(uri) = amqp_uri("the_relay_counts_each_confirmed_publish_as_delivered") else {
        return;
    };
    let snapshotter = install_recorder();
    runtime().block_on(async {
        let run = Run::new(&uri, "metrics", "tally");
        let scores = MemoryStore::new();
        let relay = score_relay(run.settings()).await;
        let publishing = start_bus(&scores, relay.clone());
        let ids = record_scores(&scores, 12).await;
        publishing.wait_until_caught_up().await.expect("relayed");
        assert_eq!(relay.published(), ids.len() as u64);
        // A snapshot takes what was counted since the last one.
        assert_eq!(
            relay_deliveries(&snapshotter, "delivered"),
            ids.len() as u64,
            "one per confirmed publish"
        );
        publishing.shutdown().await;
    });
}
