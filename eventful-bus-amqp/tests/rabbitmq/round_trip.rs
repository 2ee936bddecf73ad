//! Events relayed and received typed and by name, in order and once each, with their whole
//! envelope.

use eventful_core::BoxError;
use eventful_store_memory::MemoryStore;

use crate::common::*;

#[test]
fn events_round_trip_typed_and_by_name_with_their_envelope() {
    on_broker(
        "events_round_trip_typed_and_by_name_with_their_envelope",
        |uri| async move {
            let run = Run::new(&uri, "round-trip", "tally");
            let scores = MemoryStore::new();
            let relay = score_relay(run.settings()).await;
            let publishing = start_bus(&scores, relay.clone());

            let typed = Seen::default();
            let named = Seen::default();
            let mut consumer = run.consumer();
            let seen = typed.clone();
            consumer.subscribe::<ScoreRecorded, _, _>("typed", move |event| {
                let seen = seen.clone();
                async move {
                    seen.push(without_payload(event));
                    Ok::<(), BoxError>(())
                }
            });
            named.add_to(&mut consumer, "named");
            let consuming = consumer.start().await.expect("the consumer starts");
            assert_eq!(consuming.routing_keys(), ["*.score_recorded"]);

            let ids = record_scores(&scores, 40).await;
            eventually("both handlers saw every score", || async {
                typed.len() >= ids.len() && named.len() >= ids.len()
            })
            .await;
            publishing.wait_until_caught_up().await.expect("relayed");

            assert_eq!(typed.ids(), ids, "in order, once each");
            assert_eq!(named.ids(), ids, "in order, once each");
            let sent = all_events(&scores).await;
            assert_eq!(
                named.events(),
                sent,
                "the whole envelope: stream, versions, position, time, correlation, causation, payload"
            );
            assert!(
                sent.iter()
                    .all(|event| event.metadata.correlation_id.is_some())
            );
            assert_eq!(relay.published(), 40);
            assert_eq!(consuming.stats().handled, 40);

            consuming.shutdown().await;
            publishing.shutdown().await;
        },
    );
}
