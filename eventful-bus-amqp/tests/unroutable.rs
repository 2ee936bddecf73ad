//! A relay built with `require_route` publishes `mandatory`: a message no queue is bound for
//! comes back, is counted as a failed delivery and tried again, the relay's position before
//! it, on the same connection, until a consumer has declared its queue; then each event is
//! delivered once, in order. A test binary of its own for its metrics recorder (the failed
//! deliveries are how the test knows the broker returned a message).
//!
//! Runs against `EVENTFUL_AMQP_URI` (skipped, with a notice, when it is unset).

mod common;

use std::time::Duration;

use common::*;
use eventful_bus_amqp::{Backoff, Consumer, Relay};
use eventful_store_memory::MemoryStore;

#[test]
fn a_relay_that_requires_a_route_tries_a_returned_message_again_until_a_queue_takes_it() {
    on_broker(
        "a_relay_that_requires_a_route_tries_a_returned_message_again_until_a_queue_takes_it",
        |uri| async move {
            let snapshotter = install_recorder();
            let run = Run::new(&uri, "unroutable", "tally");
            let settings = run.settings().with_reconnect(Backoff::new(
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
            let running = start_bus(&scores, relay.clone());
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

            let (received, consuming) =
                start_counting(Consumer::new(settings, run.queue.clone())).await;
            running
                .wait_until_caught_up()
                .await
                .expect("relayed once a queue takes them");
            eventually("all 5 received", || {
                let all = received.len() >= 5;
                async move { all }
            })
            .await;
            assert_eq!(received.ids(), ids, "each once, in order");
            assert_eq!(relay.published(), 5);
            assert_eq!(relay_deliveries(&snapshotter, "delivered"), 5);

            running.shutdown().await;
            consuming.shutdown().await;
        },
    );
}
