//! Messages that come again: copies handled once by two competing instances, a message whose
//! acknowledgement was lost with its connection redelivered and its effect recorded once, and
//! connections closed by the broker losing nothing and handling nothing twice.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use eventful_bus_amqp::{Consumer, Inbox};
use eventful_core::{BoxError, RecordedEvent};
use eventful_store_memory::MemoryStore;
use parking_lot::Mutex;
use tokio::sync::watch;
use uuid::Uuid;

use crate::common::*;

/// Holds each event's first handler until a second one arrives for the same event id (or
/// a while passes), so that two instances are inside the handlers at once.
#[derive(Clone, Default)]
struct Rendezvous {
    arrivals: Arc<Mutex<HashMap<Uuid, watch::Sender<u32>>>>,
    met: Arc<Mutex<HashSet<Uuid>>>,
}

impl Rendezvous {
    async fn arrive(&self, event_id: Uuid) {
        let mut arrived = {
            let mut arrivals = self.arrivals.lock();
            let sender = arrivals
                .entry(event_id)
                .or_insert_with(|| watch::channel(0).0);
            sender.send_modify(|count| *count += 1);
            sender.subscribe()
        };
        let both = tokio::time::timeout(
            Duration::from_secs(2),
            arrived.wait_for(|count| *count >= 2),
        );
        if matches!(both.await, Ok(Ok(_))) {
            self.met.lock().insert(event_id);
        }
    }
}

/// Adds the tally service's effects to `consumer`: the tally policy, then the inbox.
fn tally_and_receive(consumer: &mut Consumer, tallies: &MemoryStore, inbox: &MemoryStore) {
    consumer.policy(TallyScores::on(tallies));
    consumer.handler(Inbox::new(inbox.clone()).receive::<ScoreRecorded>());
}

#[test]
fn a_message_delivered_twice_to_two_instances_at_once_is_handled_once() {
    on_broker(
        "a_message_delivered_twice_to_two_instances_at_once_is_handled_once",
        |uri| async move {
            let run = Run::new(&uri, "redelivery", "tally");
            // The tally service: two instances on one store, competing on one queue.
            let tallies = MemoryStore::new();
            let inbox = MemoryStore::new();
            let rendezvous = Rendezvous::default();
            let mut instances = Vec::new();
            for _ in 0..2 {
                let mut consumer = run.consumer().with_prefetch(1);
                let meeting = rendezvous.clone();
                consumer.subscribe_named(
                    ["score_recorded"],
                    "meet",
                    move |event: RecordedEvent| {
                        let meeting = meeting.clone();
                        async move {
                            meeting.arrive(event.event_id).await;
                            Ok::<(), BoxError>(())
                        }
                    },
                );
                tally_and_receive(&mut consumer, &tallies, &inbox);
                instances.push(consumer.start().await.expect("an instance starts"));
            }

            // Each message twice, as the broker redelivers one whose acknowledgement was lost.
            let sent = scores_to_send(12).await;
            let ids = ids_of(&sent);
            let publisher = raw_channel(&uri).await;
            for event in &sent {
                for _ in 0..2 {
                    publish_event(&publisher, &run.name, event).await;
                }
            }

            eventually("both instances handled all 24 deliveries", || async {
                instances
                    .iter()
                    .map(|instance| instance.stats().handled)
                    .sum::<u64>()
                    >= 24
            })
            .await;
            let per_instance: Vec<u64> = instances
                .iter()
                .map(|instance| instance.stats().handled)
                .collect();
            assert!(
                per_instance.iter().all(|&handled| handled > 0),
                "both instances took deliveries: {per_instance:?}"
            );
            assert!(
                !rendezvous.met.lock().is_empty(),
                "the two copies of some message were handled at the same time"
            );

            assert_tallied_once(&tallies, &ids).await;
            let recorded = event_ids(&inbox).await;
            assert_eq!(recorded.len(), 12, "the inbox holds each id once");
            assert_eq!(
                recorded.iter().copied().collect::<HashSet<_>>(),
                ids.iter().copied().collect()
            );

            for instance in instances {
                instance.shutdown().await;
            }
        },
    );
}

#[test]
fn a_message_whose_ack_was_lost_with_the_connection_is_redelivered_and_its_effect_recorded_once() {
    on_broker(
        "a_message_whose_ack_was_lost_with_the_connection_is_redelivered_and_its_effect_recorded_once",
        |uri| async move {
            let run = Run::new(&uri, "lost-ack", "tally");
            let tallies = MemoryStore::new();
            let inbox = MemoryStore::new();
            let gate = Gate::holding_delivery(1);
            let mut consumer = run.consumer();
            // The effects first, then the gate: the first message's tally and inbox record are
            // written, and its acknowledgement is still to come, when the connection goes.
            tally_and_receive(&mut consumer, &tallies, &inbox);
            gate.add_to(&mut consumer);
            let consuming = consumer.start().await.expect("the consumer starts");

            let ids = ids_of(&send_scores(&uri, &run.name, 5).await);

            let held = gate.holding().await;
            assert_eq!(held, ids[0]);
            assert_eq!(additions(&tallies).await.len(), 1, "its effect is recorded");
            let closed = close_connections_of(&run.name).await;
            assert_eq!(closed, 1, "the consumer's connection");
            // Its handlers succeed now, on a connection that is gone: the ack cannot reach the
            // broker, which delivers the message again once the consumer reconnected.
            gate.open();

            eventually(
                "the held message delivered again and all 5 handled",
                || async {
                    gate.deliveries_of(held) >= 2
                        && ids.iter().all(|id| gate.deliveries_of(*id) >= 1)
                        && consuming.stats().redelivered >= 1
                },
            )
            .await;
            let stats = consuming.stats();
            assert!(stats.reconnects >= 1, "{stats:?}");
            assert!(stats.redelivered >= 1, "{stats:?}");

            assert_tallied_once(&tallies, &ids).await;
            assert_eq!(event_ids(&inbox).await, ids, "the inbox holds each id once");
            consuming.shutdown().await;
        },
    );
}

#[test]
fn connections_closed_by_the_broker_lose_nothing_and_handle_nothing_twice() {
    on_broker(
        "connections_closed_by_the_broker_lose_nothing_and_handle_nothing_twice",
        |uri| async move {
            let run = Run::new(&uri, "closed", "tally");
            // The 30th message is held in its handlers when the connections close, its tally
            // recorded and its acknowledgement still to come, with up to 15 more sent ahead.
            let gate = Gate::holding_delivery(30);
            let pair = Pair::start(
                run.consumer().with_prefetch(16),
                Some(&gate),
                run.settings(),
            )
            .await;

            let mut ids = record_scores(&pair.scores, 100).await;
            let held = gate.holding().await;
            let closed = close_connections_of(&run.name).await;
            assert!(
                closed >= 2,
                "the relay's and the consumer's connections: {closed}"
            );
            gate.open();
            ids.extend(record_scores_from(&pair.scores, 100, 100).await);
            pair.assert_recovered(&gate, held, &ids).await;
            pair.shutdown().await;
        },
    );
}
