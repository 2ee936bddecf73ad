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
use eventful_core::{
    BoxError, EventBus, EventFilter, EventHandler, EventStore, Position, RecordedEvent, Repository,
    Upcasters,
};
use eventful_store_memory::MemoryStore;
use lapin::options::{BasicGetOptions, QueueDeclareOptions};
use lapin::types::{AMQPValue, FieldTable};
use parking_lot::Mutex;
use tokio::sync::watch;
use uuid::Uuid;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime")
}

/// What a handler saw, by event id.
#[derive(Clone, Default)]
struct Seen(Arc<Mutex<Vec<RecordedEvent>>>);

impl Seen {
    fn ids(&self) -> Vec<Uuid> {
        self.0.lock().iter().map(|event| event.event_id).collect()
    }

    fn len(&self) -> usize {
        self.0.lock().len()
    }
}

#[test]
fn events_round_trip_typed_and_by_name_with_their_envelope() {
    let Some(uri) = amqp_uri("events_round_trip_typed_and_by_name_with_their_envelope") else {
        return;
    };
    runtime().block_on(async {
        let run = unique("round-trip");
        let queue = format!("{run}.tally");
        let scores = MemoryStore::new();
        let relay = Relay::builder(settings(&uri, &run))
            .publish::<ScoreRecorded>()
            .connect()
            .await
            .expect("the relay connects");
        let mut bus = EventBus::new(scores.clone(), scores.clone());
        bus.handler(relay.clone());
        let publishing = bus.start().expect("the bus starts");

        let typed = Seen::default();
        let named = Seen::default();
        let mut consumer = Consumer::new(settings(&uri, &run), queue.clone());
        let seen = typed.clone();
        consumer.subscribe::<ScoreRecorded, _, _>("typed", move |event| {
            let seen = seen.clone();
            async move {
                seen.0.lock().push(event.map_payload(|_| {
                    eventful_core::Payload::from_json_slice(b"{}").expect("json")
                }));
                Ok::<(), BoxError>(())
            }
        });
        let seen = named.clone();
        consumer.subscribe_named(["score_recorded"], "named", move |event: RecordedEvent| {
            let seen = seen.clone();
            async move {
                seen.0.lock().push(event);
                Ok::<(), BoxError>(())
            }
        });
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
        let sent = scores
            .read_all(Position::START, &EventFilter::all(), 1_000)
            .await
            .expect("read")
            .events;
        assert_eq!(
            *named.0.lock(),
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
        clean_up(&uri, &run, &[&queue]).await;
    });
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

#[test]
fn a_message_delivered_twice_to_two_instances_at_once_is_handled_once() {
    let Some(uri) = amqp_uri("a_message_delivered_twice_to_two_instances_at_once_is_handled_once")
    else {
        return;
    };
    runtime().block_on(async {
        let run = unique("redelivery");
        let queue = format!("{run}.tally");
        // The tally service: two instances on one store, competing on one queue.
        let tallies = MemoryStore::new();
        let inbox = MemoryStore::new();
        let rendezvous = Rendezvous::default();
        let mut instances = Vec::new();
        for _ in 0..2 {
            let mut consumer = Consumer::new(settings(&uri, &run), queue.clone()).with_prefetch(1);
            let meeting = rendezvous.clone();
            consumer.subscribe_named(["score_recorded"], "meet", move |event: RecordedEvent| {
                let meeting = meeting.clone();
                async move {
                    meeting.arrive(event.event_id).await;
                    Ok::<(), BoxError>(())
                }
            });
            consumer.policy(TallyScores {
                tallies: Repository::new(tallies.clone()),
            });
            consumer.handler(Inbox::new(inbox.clone()).receive::<ScoreRecorded>());
            instances.push(consumer.start().await.expect("an instance starts"));
        }

        // Each message twice, as the broker redelivers one whose acknowledgement was lost.
        let scores = MemoryStore::new();
        let ids = record_scores(&scores, 12).await;
        let sent = scores
            .read_all(Position::START, &EventFilter::all(), 100)
            .await
            .expect("read")
            .events;
        let publisher = raw_channel(&uri).await;
        for event in &sent {
            for _ in 0..2 {
                publish_raw(
                    &publisher,
                    &run,
                    "scores.score_recorded",
                    encode_body(event).expect("body"),
                )
                .await;
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

        let added = additions(&tallies).await;
        assert_eq!(added.len(), 12, "each score tallied once: {added:?}");
        let causes: HashSet<_> = added.iter().filter_map(|(cause, _)| *cause).collect();
        assert_eq!(
            causes,
            ids.iter().copied().collect(),
            "caused by the scores"
        );
        let recorded: Vec<Uuid> = inbox
            .read_all(Position::START, &EventFilter::all(), 100)
            .await
            .expect("read")
            .events
            .iter()
            .map(|event| event.event_id)
            .collect();
        assert_eq!(recorded.len(), 12, "the inbox holds each id once");
        assert_eq!(
            recorded.iter().copied().collect::<HashSet<_>>(),
            ids.iter().copied().collect()
        );

        for instance in instances {
            instance.shutdown().await;
        }
        clean_up(&uri, &run, &[&queue]).await;
    });
}

#[test]
fn a_message_whose_ack_was_lost_with_the_connection_is_redelivered_and_its_effect_recorded_once() {
    let Some(uri) = amqp_uri(
        "a_message_whose_ack_was_lost_with_the_connection_is_redelivered_and_its_effect_recorded_once",
    ) else {
        return;
    };
    runtime().block_on(async {
        let run = unique("lost-ack");
        let queue = format!("{run}.tally");
        let _clean = CleanUp::new(&uri, &run, &[&queue]);
        let tallies = MemoryStore::new();
        let inbox = MemoryStore::new();
        let gate = Gate::holding_delivery(1);
        let mut consumer = Consumer::new(settings(&uri, &run), queue.clone());
        // The effects first, then the gate: the first message's tally and inbox record are
        // written, and its acknowledgement is still to come, when the connection goes.
        consumer.policy(TallyScores {
            tallies: Repository::new(tallies.clone()),
        });
        consumer.handler(Inbox::new(inbox.clone()).receive::<ScoreRecorded>());
        gate.add_to(&mut consumer);
        let consuming = consumer.start().await.expect("the consumer starts");

        // Published by a connection of its own, which the broker does not close below.
        let scores = MemoryStore::new();
        let ids = record_scores(&scores, 5).await;
        let sent = scores
            .read_all(Position::START, &EventFilter::all(), 100)
            .await
            .expect("read")
            .events;
        let publisher = raw_channel(&uri).await;
        for event in &sent {
            let body = encode_body(event).expect("body");
            publish_raw(&publisher, &run, "scores.score_recorded", body).await;
        }

        let held = gate.holding().await;
        assert_eq!(held, ids[0]);
        assert_eq!(additions(&tallies).await.len(), 1, "its effect is recorded");
        let closed = tokio::task::spawn_blocking({
            let run = run.clone();
            move || close_connections_of(&run)
        })
        .await
        .expect("rabbitmqctl");
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

        let added = additions(&tallies).await;
        assert_eq!(added.len(), 5, "each score tallied once: {added:?}");
        let causes: HashSet<_> = added.iter().filter_map(|(cause, _)| *cause).collect();
        assert_eq!(
            causes,
            ids.iter().copied().collect(),
            "caused by the scores"
        );
        let recorded: Vec<Uuid> = inbox
            .read_all(Position::START, &EventFilter::all(), 100)
            .await
            .expect("read")
            .events
            .iter()
            .map(|event| event.event_id)
            .collect();
        assert_eq!(recorded, ids, "the inbox holds each id once");
        consuming.shutdown().await;
    });
}

#[test]
fn poison_and_undecodable_messages_are_dead_lettered_and_the_rest_goes_on() {
    let Some(uri) =
        amqp_uri("poison_and_undecodable_messages_are_dead_lettered_and_the_rest_goes_on")
    else {
        return;
    };
    runtime().block_on(async {
        let run = unique("poison");
        let queue = format!("{run}.tally");
        let handled = Seen::default();
        let mut consumer = Consumer::new(settings(&uri, &run), queue.clone()).with_attempts(3);
        let seen = handled.clone();
        consumer.subscribe::<ScoreRecorded, _, _>("refuses_13", move |event| {
            let seen = seen.clone();
            async move {
                if event.payload.points == 13 {
                    return Err::<(), BoxError>("13 is unlucky".into());
                }
                seen.0.lock().push(event.map_payload(|_| {
                    eventful_core::Payload::from_json_slice(b"{}").expect("json")
                }));
                Ok(())
            }
        });
        let consuming = consumer.start().await.expect("the consumer starts");

        let scores = MemoryStore::new();
        let ids = record_scores(&scores, 20).await;
        let sent = scores
            .read_all(Position::START, &EventFilter::all(), 100)
            .await
            .expect("read")
            .events;
        let publisher = raw_channel(&uri).await;
        for (n, event) in sent.iter().enumerate() {
            if n == 5 {
                publish_raw(
                    &publisher,
                    &run,
                    "scores.score_recorded",
                    b"{\"format\":1,\"not\":\"an envelope\"}".to_vec(),
                )
                .await;
            }
            publish_raw(
                &publisher,
                &run,
                "scores.score_recorded",
                encode_body(event).expect("body"),
            )
            .await;
        }

        eventually("19 handled and 2 dead-lettered", || async {
            let stats = consuming.stats();
            stats.handled >= 19 && stats.dead_lettered >= 2
        })
        .await;
        let mut expected = ids.clone();
        expected.remove(12);
        assert_eq!(
            handled.ids(),
            expected,
            "everything but the poison, in order"
        );

        let mut reasons = Vec::new();
        while let Some(dead) = publisher
            .basic_get(
                consuming.dead_letter_queue().as_str().into(),
                BasicGetOptions { no_ack: true },
            )
            .await
            .expect("basic.get")
        {
            let headers = dead
                .delivery
                .properties
                .headers()
                .clone()
                .unwrap_or_default();
            let reason = match headers.inner().get("x-eventful-reason") {
                Some(AMQPValue::LongString(reason)) => reason.to_string(),
                other => panic!("no reason: {other:?}"),
            };
            reasons.push((reason, dead.delivery.data.clone()));
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
        clean_up(&uri, &run, &[&queue]).await;
    });
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
    let Some(uri) = amqp_uri("a_relay_restarted_mid_stream_resumes_after_its_last_confirmed_event")
    else {
        return;
    };
    runtime().block_on(async {
        let run = unique("relay-restart");
        let queue = format!("{run}.tally");
        let received = Seen::default();
        let mut consumer = Consumer::new(settings(&uri, &run), queue.clone());
        let seen = received.clone();
        consumer.subscribe_named(["score_recorded"], "count", move |event: RecordedEvent| {
            let seen = seen.clone();
            async move {
                seen.0.lock().push(event);
                Ok::<(), BoxError>(())
            }
        });
        let consuming = consumer.start().await.expect("the consumer starts");

        let scores = MemoryStore::new();
        let ids = record_scores(&scores, 300).await;
        let first = Relay::builder(settings(&uri, &run))
            .publish::<ScoreRecorded>()
            .connect()
            .await
            .expect("connects");
        let mut bus = EventBus::new(scores.clone(), scores.clone());
        bus.handler(StopsAfter {
            relay: first.clone(),
            limit: 120,
        });
        let running = bus.start().expect("starts");
        assert!(
            running.wait_until_caught_up().await.is_err(),
            "the first relay stops"
        );
        running.shutdown().await;
        assert_eq!(first.published(), 120);

        let second = Relay::builder(settings(&uri, &run))
            .publish::<ScoreRecorded>()
            .connect()
            .await
            .expect("connects");
        let mut bus = EventBus::new(scores.clone(), scores.clone());
        bus.handler(second.clone());
        let running = bus.start().expect("starts");
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
        clean_up(&uri, &run, &[&queue]).await;
    });
}

#[test]
fn connections_closed_by_the_broker_lose_nothing_and_handle_nothing_twice() {
    let Some(uri) =
        amqp_uri("connections_closed_by_the_broker_lose_nothing_and_handle_nothing_twice")
    else {
        return;
    };
    runtime().block_on(async {
        let run = unique("closed");
        let queue = format!("{run}.tally");
        let _clean = CleanUp::new(&uri, &run, &[&queue]);
        let tallies = MemoryStore::new();
        // The 30th message is held in its handlers when the connections close, its tally
        // recorded and its acknowledgement still to come, with up to 15 more sent ahead.
        let gate = Gate::holding_delivery(30);
        let mut consumer = Consumer::new(settings(&uri, &run), queue.clone()).with_prefetch(16);
        consumer.policy(TallyScores {
            tallies: Repository::new(tallies.clone()),
        });
        gate.add_to(&mut consumer);
        let consuming = consumer.start().await.expect("the consumer starts");
        let scores = MemoryStore::new();
        let relay = Relay::builder(settings(&uri, &run))
            .publish::<ScoreRecorded>()
            .connect()
            .await
            .expect("connects");
        let mut bus = EventBus::new(scores.clone(), scores.clone());
        bus.handler(relay.clone());
        let running = bus.start().expect("starts");

        let mut ids = record_scores(&scores, 100).await;
        let held = gate.holding().await;
        let closed = tokio::task::spawn_blocking({
            let run = run.clone();
            move || close_connections_of(&run)
        })
        .await
        .expect("rabbitmqctl");
        assert!(
            closed >= 2,
            "the relay's and the consumer's connections: {closed}"
        );
        gate.open();
        ids.extend(record_scores_from(&scores, 100, 100).await);
        running
            .wait_until_caught_up()
            .await
            .expect("every score relayed");
        eventually("every score tallied", || async {
            additions(&tallies).await.len() >= 200
        })
        .await;
        eventually("the held message delivered again", || async {
            gate.deliveries_of(held) >= 2
        })
        .await;

        let added = additions(&tallies).await;
        assert_eq!(added.len(), 200, "nothing tallied twice");
        let causes: HashSet<_> = added.iter().filter_map(|(cause, _)| *cause).collect();
        assert_eq!(causes, ids.iter().copied().collect(), "nothing lost");
        let stats = consuming.stats();
        assert!(
            stats.redelivered >= 1,
            "messages in flight came again: {stats:?}"
        );
        assert!(stats.reconnects >= 1, "the consumer reconnected: {stats:?}");
        assert!(relay.reconnects() >= 1, "the relay reconnected");

        running.shutdown().await;
        consuming.shutdown().await;
    });
}

#[test]
fn a_bad_uri_unreachable_broker_or_refused_login_is_a_typed_error_at_start() {
    let Some(uri) =
        amqp_uri("a_bad_uri_unreachable_broker_or_refused_login_is_a_typed_error_at_start")
    else {
        return;
    };
    runtime().block_on(async {
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

        let mut consumer = Consumer::new(settings(&wrong_password, &run), format!("{run}.tally"));
        consumer.subscribe_named(["score_recorded"], "any", |_: RecordedEvent| async {
            Ok::<(), BoxError>(())
        });
        assert!(matches!(
            consumer.start().await,
            Err(AmqpError::AccessRefused { .. })
        ));
        let mut consumer = Consumer::new(
            settings("amqp://guest:guest@127.0.0.1:1/%2f", &run),
            format!("{run}.tally"),
        );
        consumer.subscribe_named(["score_recorded"], "any", |_: RecordedEvent| async {
            Ok::<(), BoxError>(())
        });
        assert!(matches!(
            consumer.start().await,
            Err(AmqpError::Unreachable { .. })
        ));
    });
}

#[test]
fn an_exchange_declared_with_another_type_is_a_typed_error_at_start() {
    let Some(uri) = amqp_uri("an_exchange_declared_with_another_type_is_a_typed_error_at_start")
    else {
        return;
    };
    runtime().block_on(async {
        let run = unique("exchange-conflict");
        let channel = raw_channel(&uri).await;
        channel
            .exchange_declare(
                format!("{run}.exchange").as_str().into(),
                lapin::ExchangeKind::Fanout,
                lapin::options::ExchangeDeclareOptions::default(),
                FieldTable::default(),
            )
            .await
            .expect("someone else's exchange");
        let refused = Relay::builder(settings(&uri, &run))
            .publish::<ScoreRecorded>()
            .connect()
            .await;
        match refused {
            Err(AmqpError::ExchangeConflict { exchange, reason }) => {
                assert_eq!(exchange, format!("{run}.exchange"));
                assert!(reason.contains("PRECONDITION_FAILED"), "{reason}");
            }
            Err(other) => panic!("not ExchangeConflict: {other}"),
            Ok(_) => panic!("a conflicting exchange was accepted"),
        }
        clean_up(&uri, &run, &[]).await;
    });
}

#[test]
fn a_queue_declared_with_other_arguments_is_a_typed_error_at_start() {
    let Some(uri) = amqp_uri("a_queue_declared_with_other_arguments_is_a_typed_error_at_start")
    else {
        return;
    };
    runtime().block_on(async {
        let run = unique("conflict");
        let queue = format!("{run}.tally");
        let channel = raw_channel(&uri).await;
        let options = QueueDeclareOptions {
            durable: true,
            ..QueueDeclareOptions::default()
        };
        channel
            .queue_declare(queue.as_str().into(), options, FieldTable::default())
            .await
            .expect("someone else's queue");

        let mut consumer = Consumer::new(settings(&uri, &run), queue.clone());
        consumer.subscribe_named(["score_recorded"], "any", |_: RecordedEvent| async {
            Ok::<(), BoxError>(())
        });
        match consumer.start().await {
            Err(AmqpError::QueueConflict {
                queue: named,
                reason,
            }) => {
                assert_eq!(named, queue);
                assert!(reason.contains("x-dead-letter-exchange"), "{reason}");
            }
            Err(other) => panic!("not QueueConflict: {other}"),
            Ok(_) => panic!("a conflicting queue was accepted"),
        }
        clean_up(&uri, &run, &[&queue]).await;
    });
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
    let Some(uri) =
        amqp_uri("a_relay_closed_while_the_broker_is_away_stops_before_the_unpublished_event")
    else {
        return;
    };
    runtime().block_on(async {
        let run = unique("relay-close");
        let queue = format!("{run}.tally");
        let received = Seen::default();
        let mut consumer = Consumer::new(settings(&uri, &run), queue.clone());
        let seen = received.clone();
        consumer.subscribe_named(["score_recorded"], "count", move |event: RecordedEvent| {
            let seen = seen.clone();
            async move {
                seen.0.lock().push(event);
                Ok::<(), BoxError>(())
            }
        });
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
        let relay = Relay::builder(settings(&through, &run))
            .publish::<ScoreRecorded>()
            .connect()
            .await
            .expect("connects through the proxy");
        let mut bus = EventBus::new(scores.clone(), scores.clone());
        bus.handler(relay.clone());
        let running = bus.start().expect("starts");
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

        let relay = Relay::builder(settings(&uri, &run))
            .publish::<ScoreRecorded>()
            .connect()
            .await
            .expect("connects");
        let mut bus = EventBus::new(scores.clone(), scores.clone());
        bus.handler(relay.clone());
        let running = bus.start().expect("starts");
        running.wait_until_caught_up().await.expect("relayed");
        assert_eq!(relay.published(), 5, "the rest, from the checkpoint");
        eventually("all 15 received", || async { received.len() >= 15 }).await;
        assert_eq!(received.ids(), ids, "each once, in order");

        running.shutdown().await;
        consuming.shutdown().await;
        clean_up(&uri, &run, &[&queue]).await;
    });
}

#[test]
fn an_event_whose_aggregate_type_a_routing_key_cannot_carry_stops_the_relay_on_it() {
    let Some(uri) =
        amqp_uri("an_event_whose_aggregate_type_a_routing_key_cannot_carry_stops_the_relay_on_it")
    else {
        return;
    };
    runtime().block_on(async {
        let run = unique("bad-key");
        let queue = format!("{run}.all");
        let _clean = CleanUp::new(&uri, &run, &[&queue]);
        let received = Seen::default();
        let mut consumer = Consumer::new(settings(&uri, &run), queue.clone());
        let seen = received.clone();
        consumer.bind("#");
        consumer.subscribe_named(["score_recorded"], "count", move |event: RecordedEvent| {
            let seen = seen.clone();
            async move {
                seen.0.lock().push(event);
                Ok::<(), BoxError>(())
            }
        });
        let consuming = consumer.start().await.expect("the consumer starts");
        // Any aggregate type: the relay learns of this one only from the event.
        let relay = Relay::builder(settings(&uri, &run))
            .publish::<ScoreRecorded>()
            .connect()
            .await
            .expect("connects");
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
        let mut bus = EventBus::new(scores.clone(), scores.clone());
        bus.handler(relay.clone());
        let running = bus.start().expect("starts");
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
    });
}
