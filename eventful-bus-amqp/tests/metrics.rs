//! The relay's deliveries move `eventful_deliveries_total{kind="relay"}`, read from a
//! debugging recorder installed as this test binary's global recorder (the relay publishes
//! from the bus's tasks, on any worker thread).

mod common;

use common::*;
use eventful_store_memory::MemoryStore;

#[test]
fn the_relay_counts_each_confirmed_publish_as_delivered() {
    on_broker(
        "the_relay_counts_each_confirmed_publish_as_delivered",
        |uri| async move {
            let snapshotter = install_recorder();
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
        },
    );
}
