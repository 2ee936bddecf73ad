//! What the consumer dead-letters and what it does not: poison and undecodable messages go to
//! the dead-letter queue and the rest goes on; a store that is away for a while is waited out,
//! nothing dead-lettered; a handler that panics dead-letters its message and the consumer goes
//! on.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use eventful_bus_amqp::message::encode_body;
use eventful_bus_amqp::{Backoff, Inbox};
use eventful_core::BoxError;
use eventful_core::testing::faults::FaultyStore;
use eventful_store_memory::MemoryStore;

use crate::common::*;

#[test]
fn poison_and_undecodable_messages_are_dead_lettered_and_the_rest_goes_on() {
    on_broker(
        "poison_and_undecodable_messages_are_dead_lettered_and_the_rest_goes_on",
        |uri| async move {
            let run = Run::new(&uri, "poison", "tally");
            let handled = Seen::default();
            let mut consumer = run.consumer().with_attempts(3);
            let seen = handled.clone();
            consumer.subscribe::<ScoreRecorded, _, _>("refuses_13", move |event| {
                let seen = seen.clone();
                async move {
                    if event.payload.points == 13 {
                        return Err::<(), BoxError>("13 is unlucky".into());
                    }
                    seen.push(without_payload(event));
                    Ok(())
                }
            });
            let consuming = consumer.start().await.expect("the consumer starts");

            let sent = scores_to_send(20).await;
            let publisher = raw_channel(&uri).await;
            for (n, event) in sent.iter().enumerate() {
                if n == 5 {
                    publish_raw(
                        &publisher,
                        &run.name,
                        "scores.score_recorded",
                        b"{\"format\":1,\"not\":\"an envelope\"}".to_vec(),
                    )
                    .await;
                }
                publish_event(&publisher, &run.name, event).await;
            }

            eventually("19 handled and 2 dead-lettered", || async {
                let stats = consuming.stats();
                stats.handled >= 19 && stats.dead_lettered >= 2
            })
            .await;
            let mut expected = ids_of(&sent);
            expected.remove(12);
            assert_eq!(
                handled.ids(),
                expected,
                "everything but the poison, in order"
            );

            let mut reasons = Vec::new();
            while let Some(dead) =
                take_dead_letter(&publisher, &consuming.dead_letter_queue()).await
            {
                reasons.push(dead);
            }
            assert_eq!(reasons.len(), 2, "{reasons:?}");
            assert!(
                reasons[0]
                    .0
                    .starts_with("undecodable: the body is not an eventful event envelope"),
                "{}",
                reasons[0].0
            );
            assert!(
                reasons[1].0.contains("handler `refuses_13` failed 3 times"),
                "{}",
                reasons[1].0
            );
            assert!(reasons[1].0.contains("13 is unlucky"), "{}", reasons[1].0);
            assert_eq!(
                reasons[1].1,
                encode_body(&sent[12]).expect("body"),
                "the message as it came"
            );

            consuming.shutdown().await;
        },
    );
}

#[test]
fn a_store_away_for_longer_than_the_attempts_is_waited_out_not_dead_lettered() {
    on_broker(
        "a_store_away_for_longer_than_the_attempts_is_waited_out_not_dead_lettered",
        |uri| async move {
            let run = Run::new(&uri, "hiccup", "inbox");
            let received = MemoryStore::new();
            // Ten refused writes against two attempts a message: counted, they would dead-letter
            // the first messages.
            let store = FaultyStore::new(received.clone());
            store.fail_next_writes(10);
            let mut consumer = run.consumer().with_attempts(2).with_retry(Backoff::new(
                Duration::from_millis(1),
                Duration::from_millis(5),
            ));
            consumer.handler(Inbox::new(store.clone()).receive::<ScoreRecorded>());
            let consuming = consumer.start().await.expect("the consumer starts");
            let sent = send_scores(&uri, &run.name, 5).await;

            eventually("5 handled", || async { consuming.stats().handled >= 5 }).await;
            assert_eq!(store.refused_writes(), 10, "the outage happened");
            assert_eq!(consuming.stats().dead_lettered, 0);
            assert_eq!(
                event_ids(&received).await,
                ids_of(&sent),
                "each once, in order"
            );
            consuming.shutdown().await;
        },
    );
}

#[test]
fn a_handler_that_panics_dead_letters_its_message_and_the_consumer_goes_on() {
    on_broker(
        "a_handler_that_panics_dead_letters_its_message_and_the_consumer_goes_on",
        |uri| async move {
            let run = Run::new(&uri, "panics", "tally");
            let handled = Arc::new(AtomicU64::new(0));
            let calls = Arc::new(AtomicU64::new(0));
            let mut consumer = run.consumer();
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
            send_scores(&uri, &run.name, 5).await;

            eventually("4 handled and 1 dead-lettered", || async {
                let stats = consuming.stats();
                stats.handled >= 4 && stats.dead_lettered >= 1
            })
            .await;
            assert_eq!(handled.load(Ordering::SeqCst), 4);
            assert_eq!(calls.load(Ordering::SeqCst), 5, "a panic is not retried");
            assert_eq!(consuming.end(), None, "the consumer goes on");
            let channel = raw_channel(&uri).await;
            let (reason, _) = take_dead_letter(&channel, &consuming.dead_letter_queue())
                .await
                .expect("a dead letter");
            assert!(reason.starts_with("panicked: "), "{reason}");
            assert!(reason.contains("3 is a bug"), "{reason}");
            assert!(reason.contains("handler `panics_on_3`"), "{reason}");
            consuming.shutdown().await;
        },
    );
}
