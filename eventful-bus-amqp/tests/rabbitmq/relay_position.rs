//! Where the relay goes on from: restarted mid-stream, after its last confirmed event; closed
//! while the broker is away, before the event it could not publish; stopped on an event whose
//! aggregate type a routing key cannot carry, on that event.

use std::time::Duration;

use eventful_bus_amqp::{AmqpError, Inbox, Relay};
use eventful_core::{BoxError, EventFilter, EventHandler, EventStore, RecordedEvent, Upcasters};
use eventful_store_memory::MemoryStore;

use crate::common::*;
use crate::proxy::Cuttable;

/// The relay, giving up after `limit` events: the bus stops it there, its position saved just
/// before the event it gave up on. (A process killed instead keeps the position of its last
/// whole batch, and what came after is published again: the next test.)
struct StopsAfter {
    relay: Relay,
    limit: u64,
}

#[eventful_core::async_trait]
impl EventHandler for StopsAfter {
    fn name(&self) -> &str {
        self.relay.name()
    }

    fn filter(&self) -> EventFilter {
        self.relay.filter()
    }

    async fn handle(&self, event: &RecordedEvent, upcasters: &Upcasters) -> Result<(), BoxError> {
        if self.relay.published() >= self.limit {
            return Err("stopping here".into());
        }
        self.relay.handle(event, upcasters).await
    }
}

#[test]
fn a_relay_restarted_mid_stream_resumes_after_its_last_confirmed_event() {
    on_broker(
        "a_relay_restarted_mid_stream_resumes_after_its_last_confirmed_event",
        |uri| async move {
            let run = Run::new(&uri, "relay-restart", "tally");
            let (received, consuming) = start_counting(run.consumer()).await;

            let scores = MemoryStore::new();
            let ids = record_scores(&scores, 300).await;
            let first = score_relay(run.settings()).await;
            let running = start_bus(
                &scores,
                StopsAfter {
                    relay: first.clone(),
                    limit: 120,
                },
            );
            assert!(
                running.wait_until_caught_up().await.is_err(),
                "the first relay stops"
            );
            running.shutdown().await;
            assert_eq!(first.published(), 120);

            let second = score_relay(run.settings()).await;
            let running = start_bus(&scores, second.clone());
            running
                .wait_until_caught_up()
                .await
                .expect("the second relay catches up");
            assert_eq!(second.published(), 180, "from the 121st on");
            eventually("the consumer received all 300", || async {
                received.len() >= 300
            })
            .await;
            assert_eq!(received.ids(), ids, "each once, in order");

            running.shutdown().await;
            consuming.shutdown().await;
        },
    );
}

#[test]
fn a_relay_killed_mid_batch_publishes_again_what_its_checkpoint_missed_and_the_inbox_keeps_each_once()
 {
    on_broker(
        "a_relay_killed_mid_batch_publishes_again_what_its_checkpoint_missed_and_the_inbox_keeps_each_once",
        |uri| async move {
            let run = Run::new(&uri, "relay-killed", "tally");
            let mut consumer = run.consumer();
            let inbox = MemoryStore::new();
            consumer.handler(Inbox::new(inbox.clone()).receive::<ScoreRecorded>());
            let (received, consuming) = start_counting(consumer).await;

            let scores = MemoryStore::new();
            let ids = record_scores(&scores, 300).await;
            // The first relay runs in a runtime of its own, the process the test kills: its
            // bus saves its position after whole batches only, and 300 events are one.
            let process = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .expect("a runtime");
            let (settings, relayed) = (run.settings(), scores.clone());
            process.spawn(async move {
                let relay = score_relay(settings).await;
                let running = start_bus(&relayed, relay);
                std::future::pending::<()>().await;
                drop(running);
            });
            eventually("the first relay published 100", || async {
                received.len() >= 100
            })
            .await;
            process.shutdown_background();
            let head = scores.head_position().await.expect("head");
            let saved = eventful_core::CheckpointStore::segments(&scores, "amqp_relay")
                .await
                .expect("progress");
            assert!(
                saved.iter().all(|segment| segment.position < head),
                "killed before its batch was saved: {saved:?}"
            );

            let second = score_relay(run.settings()).await;
            let running = start_bus(&scores, second.clone());
            running
                .wait_until_caught_up()
                .await
                .expect("the second relay catches up");
            eventually("the inbox holds all 300", || async {
                event_ids(&inbox).await.len() >= 300
            })
            .await;
            assert!(
                received.len() > 300,
                "the second relay published again what the first had: {} deliveries",
                received.len()
            );
            assert_eq!(
                event_ids(&inbox).await,
                ids,
                "the inbox holds each id once, in order"
            );

            running.shutdown().await;
            consuming.shutdown().await;
        },
    );
}

#[test]
fn a_relay_closed_while_the_broker_is_away_stops_before_the_unpublished_event() {
    on_broker(
        "a_relay_closed_while_the_broker_is_away_stops_before_the_unpublished_event",
        |uri| async move {
            let run = Run::new(&uri, "relay-close", "tally");
            let (received, consuming) = start_counting(run.consumer()).await;

            let (proxy, through) = Cuttable::to_broker_of(&uri).await;
            let scores = MemoryStore::new();
            let relay = score_relay(settings(&through, &run.name)).await;
            let running = start_bus(&scores, relay.clone());
            let mut ids = record_scores(&scores, 10).await;
            running.wait_until_caught_up().await.expect("relayed");
            let relayed = scores.head_position().await.expect("head");

            proxy.cut();
            ids.extend(record_scores_from(&scores, 10, 5).await);
            // However long it tries, the relay cannot publish the 11th event.
            tokio::time::sleep(Duration::from_millis(300)).await;
            assert_eq!(relay.published(), 10);
            relay.close();
            let stopped = tokio::time::timeout(Duration::from_secs(10), running.shutdown()).await;
            assert!(stopped.is_ok(), "a closed relay lets the bus shut down");
            let saved = eventful_core::CheckpointStore::segments(&scores, "amqp_relay")
                .await
                .expect("progress");
            assert_eq!(
                saved[0].position, relayed,
                "saved just before the unpublished event"
            );

            let relay = score_relay(run.settings()).await;
            let running = start_bus(&scores, relay.clone());
            running.wait_until_caught_up().await.expect("relayed");
            assert_eq!(relay.published(), 5, "the rest, from the checkpoint");
            eventually("all 15 received", || async { received.len() >= 15 }).await;
            assert_eq!(received.ids(), ids, "each once, in order");

            running.shutdown().await;
            consuming.shutdown().await;
        },
    );
}

#[test]
fn an_event_whose_aggregate_type_a_routing_key_cannot_carry_stops_the_relay_on_it() {
    on_broker(
        "an_event_whose_aggregate_type_a_routing_key_cannot_carry_stops_the_relay_on_it",
        |uri| async move {
            let run = Run::new(&uri, "bad-key", "all");
            let mut consumer = run.consumer();
            consumer.bind("#");
            let (received, consuming) = start_counting(consumer).await;
            // Any aggregate type: the relay learns of this one only from the event.
            let relay = score_relay(run.settings()).await;
            let scores = MemoryStore::new();
            let ids = record_scores(&scores, 2).await;
            let board = eventful_core::StreamId::new("score.board-1").expect("a stream id");
            let bad = eventful_core::repository::append_events(
                &scores,
                &board,
                &eventful_core::TypeName::from_static("score.board"),
                eventful_core::ExpectedVersion::Any,
                vec![ScoreRecorded {
                    player: 1,
                    points: 99,
                }],
                &eventful_core::CommandContext::default(),
            )
            .await
            .expect("appended")
            .events[0]
                .position;
            record_scores_from(&scores, 2, 2).await;
            let running = start_bus(&scores, relay.clone());
            assert!(
                running.wait_until_caught_up().await.is_err(),
                "the relay stops on the event"
            );
            let status = running.status().await.expect("a status");
            let failure = status[0].failure.clone().expect("the relay's failure");
            assert_eq!(failure.position, bad);
            match failure.error.downcast_ref::<AmqpError>() {
                Some(AmqpError::InvalidKeyPart {
                    kind: "aggregate type",
                    name,
                    character: '.',
                    ..
                }) => assert_eq!(name, "score.board"),
                other => panic!("not InvalidKeyPart: {other:?} ({})", failure.error),
            }
            assert_eq!(relay.published(), 2, "the two before it, nothing after");
            eventually("the two before it received", || async {
                received.len() >= 2
            })
            .await;
            assert_eq!(received.ids(), ids);

            running.shutdown().await;
            consuming.shutdown().await;
        },
    );
}
