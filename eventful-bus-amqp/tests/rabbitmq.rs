//! The bridge against the real RabbitMQ at `EVENTFUL_AMQP_URI` (skipped, with a notice, when
//! it is unset): round trips typed and by name, a message whose acknowledgement was lost with
//! its connection redelivered and its effect recorded once, copies handled once by two
//! competing instances, poison to the dead-letter queue, a relay restarted mid-stream,
//! connections closed by the broker, an event whose type a routing key cannot carry, and the
//! start-up errors.

mod common;

use std::collections::{HashMap, HashSet};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use common::*;
use eventful_bus_amqp::message::encode_body;
use eventful_bus_amqp::{AmqpError, Consumer, Inbox, Relay};
use eventful_core::{BoxError, EventFilter, EventHandler, EventStore, RecordedEvent, Upcasters};
use eventful_store_memory::MemoryStore;
use lapin::options::QueueDeclareOptions;
use lapin::types::FieldTable;
use parking_lot::Mutex;
use tokio::sync::watch;
use uuid::Uuid;

/// An event as a typed handler keeps it: its envelope, the payload left out.
fn without_payload(event: RecordedEvent<ScoreRecorded>) -> RecordedEvent {
    event.map_payload(|_| eventful_core::Payload::from_json_slice(b"{}").expect("json"))
}

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

/// The relay, giving up after `limit` events: the bus stops it there, as a crash between two
/// events would leave it.
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
            let received = Seen::default();
            let mut consumer = run.consumer();
            received.add_to(&mut consumer, "count");
            let consuming = consumer.start().await.expect("the consumer starts");

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

#[test]
fn a_bad_uri_unreachable_broker_or_refused_login_is_a_typed_error_at_start() {
    on_broker(
        "a_bad_uri_unreachable_broker_or_refused_login_is_a_typed_error_at_start",
        |uri| async move {
            let run = unique("start-up");
            let wrong_password = uri.replacen("guest:guest@", "guest:wrong@", 1);
            assert_ne!(wrong_password, uri, "the URI names guest:guest");
            let relay = |uri: String| {
                let run = run.clone();
                async move {
                    Relay::builder(settings(&uri, &run))
                        .publish::<ScoreRecorded>()
                        .connect()
                        .await
                }
            };
            match relay(wrong_password.clone()).await {
                Err(AmqpError::AccessRefused { user, reason, .. }) => {
                    assert_eq!(user, "guest");
                    assert!(reason.contains("ACCESS_REFUSED"), "{reason}");
                }
                Err(other) => panic!("not AccessRefused: {other}"),
                Ok(_) => panic!("a wrong password connected"),
            }
            assert!(matches!(
                relay("amqp://guest:guest@127.0.0.1:1/%2f".into()).await,
                Err(AmqpError::Unreachable { endpoint, .. }) if endpoint == "127.0.0.1:1//"
            ));
            assert!(matches!(
                relay("rabbit, please".into()).await,
                Err(AmqpError::InvalidUri { .. })
            ));

            let consumer_on = |uri: &str| {
                let mut consumer = Consumer::new(settings(uri, &run), format!("{run}.tally"));
                consumer.subscribe_named(["score_recorded"], "any", |_: RecordedEvent| async {
                    Ok::<(), BoxError>(())
                });
                consumer
            };
            assert!(matches!(
                consumer_on(&wrong_password).start().await,
                Err(AmqpError::AccessRefused { .. })
            ));
            assert!(matches!(
                consumer_on("amqp://guest:guest@127.0.0.1:1/%2f")
                    .start()
                    .await,
                Err(AmqpError::Unreachable { .. })
            ));
        },
    );
}

#[test]
fn an_exchange_declared_with_another_type_is_a_typed_error_at_start() {
    on_broker(
        "an_exchange_declared_with_another_type_is_a_typed_error_at_start",
        |uri| async move {
            let run = Run::new(&uri, "exchange-conflict", "tally");
            let channel = raw_channel(&uri).await;
            channel
                .exchange_declare(
                    format!("{}.exchange", run.name).as_str().into(),
                    lapin::ExchangeKind::Fanout,
                    lapin::options::ExchangeDeclareOptions::default(),
                    FieldTable::default(),
                )
                .await
                .expect("someone else's exchange");
            let refused = Relay::builder(run.settings())
                .publish::<ScoreRecorded>()
                .connect()
                .await;
            match refused {
                Err(AmqpError::ExchangeConflict { exchange, reason }) => {
                    assert_eq!(exchange, format!("{}.exchange", run.name));
                    assert!(reason.contains("PRECONDITION_FAILED"), "{reason}");
                }
                Err(other) => panic!("not ExchangeConflict: {other}"),
                Ok(_) => panic!("a conflicting exchange was accepted"),
            }
        },
    );
}

#[test]
fn a_queue_declared_with_other_arguments_is_a_typed_error_at_start() {
    on_broker(
        "a_queue_declared_with_other_arguments_is_a_typed_error_at_start",
        |uri| async move {
            let run = Run::new(&uri, "conflict", "tally");
            let channel = raw_channel(&uri).await;
            let options = QueueDeclareOptions {
                durable: true,
                ..QueueDeclareOptions::default()
            };
            channel
                .queue_declare(run.queue.as_str().into(), options, FieldTable::default())
                .await
                .expect("someone else's queue");

            let mut consumer = run.consumer();
            consumer.subscribe_named(["score_recorded"], "any", |_: RecordedEvent| async {
                Ok::<(), BoxError>(())
            });
            match consumer.start().await {
                Err(AmqpError::QueueConflict { queue, reason }) => {
                    assert_eq!(queue, run.queue);
                    assert!(reason.contains("x-dead-letter-exchange"), "{reason}");
                }
                Err(other) => panic!("not QueueConflict: {other}"),
                Ok(_) => panic!("a conflicting queue was accepted"),
            }
        },
    );
}

/// A TCP relay to the broker that the test can cut, so that one client loses the broker
/// while every other connection on it goes on.
struct Cuttable {
    address: std::net::SocketAddr,
    tasks: tokio::task::JoinSet<()>,
}

impl Cuttable {
    async fn to(broker: String) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("binds");
        let address = listener.local_addr().expect("an address");
        let mut tasks = tokio::task::JoinSet::new();
        tasks.spawn(async move {
            let mut pipes = tokio::task::JoinSet::new();
            while let Ok((mut client, _)) = listener.accept().await {
                let broker = broker.clone();
                pipes.spawn(async move {
                    if let Ok(mut server) = tokio::net::TcpStream::connect(broker).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
            }
        });
        Self { address, tasks }
    }

    /// Drops the listener and every connection through it.
    fn cut(mut self) {
        self.tasks.abort_all();
    }
}

#[test]
fn a_relay_closed_while_the_broker_is_away_stops_before_the_unpublished_event() {
    on_broker(
        "a_relay_closed_while_the_broker_is_away_stops_before_the_unpublished_event",
        |uri| async move {
            let run = Run::new(&uri, "relay-close", "tally");
            let received = Seen::default();
            let mut consumer = run.consumer();
            received.add_to(&mut consumer, "count");
            let consuming = consumer.start().await.expect("the consumer starts");

            let broker = lapin::uri::AMQPUri::from_str(&uri).expect("an AMQP URI");
            let proxy = Cuttable::to(format!(
                "{}:{}",
                broker.authority.host, broker.authority.port
            ))
            .await;
            let through = uri.replacen(
                &format!("{}:{}", broker.authority.host, broker.authority.port),
                &proxy.address.to_string(),
                1,
            );
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
            let received = Seen::default();
            let mut consumer = run.consumer();
            consumer.bind("#");
            received.add_to(&mut consumer, "count");
            let consuming = consumer.start().await.expect("the consumer starts");
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
