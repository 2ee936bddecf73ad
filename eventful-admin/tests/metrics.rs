//! Each metric moves with the action that should move it, read in-process from a debugging
//! recorder installed for the test's thread (its runtime runs every task on that thread).

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use common::{Player, PlayerEvent, add_mailer, create, gain, quick_retry};
use eventful_core::prelude::*;
use eventful_core::telemetry::{
    COMMAND_DURATION_SECONDS, COMMAND_RETRIES_TOTAL, COMMANDS_TOTAL, EVENTS_APPENDED_TOTAL,
    EVENTS_PARKED_TOTAL, HANDLER_EVENTS_TOTAL, HANDLER_FAILURES_TOTAL, HANDLER_LAG_EVENTS,
    HANDLER_LAG_SECONDS, HANDLER_POSITION, HANDLER_STOPPED, SNAPSHOT_FAILURES_TOTAL,
    SNAPSHOTS_SAVED_TOTAL,
};
use eventful_core::{
    CommandError, NewEvent, Payload, RetryPolicy, Snapshot, SnapshotStore, StoreError,
};
use eventful_store_memory::MemoryStore;
use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
use tokio::sync::Semaphore;

/// Runs `test` on a single-threaded runtime with a fresh debugging recorder as this thread's
/// recorder, and gives it what reads the recorder.
fn with_recorder<F: std::future::Future<Output = ()>>(test: impl FnOnce(Readings) -> F) {
    let recorder = DebuggingRecorder::new();
    let readings = Readings(recorder.snapshotter());
    let _local = metrics::set_default_local_recorder(&recorder);
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(test(readings));
}

/// Reads the recorder. A read takes what was recorded since the last one: counters count from
/// zero again, gauges read 0 until set again.
struct Readings(Snapshotter);

/// A metric's labels.
type Labels = BTreeMap<String, String>;

/// Every metric recorded since the last reading, by name and labels.
struct Reading(Vec<(String, Labels, DebugValue)>);

impl Readings {
    fn take(&self) -> Reading {
        Reading(
            self.0
                .snapshot()
                .into_vec()
                .into_iter()
                .map(|(key, _, _, value)| {
                    let key = key.key();
                    let labels = key
                        .labels()
                        .map(|label| (label.key().to_owned(), label.value().to_owned()))
                        .collect();
                    (key.name().to_owned(), labels, value)
                })
                .collect(),
        )
    }
}

impl Reading {
    fn find(&self, name: &str, labels: &[(&str, &str)]) -> Option<&DebugValue> {
        self.0
            .iter()
            .find(|(metric, got, _)| {
                metric == name
                    && labels
                        .iter()
                        .all(|(key, value)| got.get(*key).map(String::as_str) == Some(*value))
            })
            .map(|(_, _, value)| value)
    }

    fn counter(&self, name: &str, labels: &[(&str, &str)]) -> u64 {
        match self.find(name, labels) {
            Some(DebugValue::Counter(count)) => *count,
            None => 0,
            Some(other) => panic!("{name} is not a counter: {other:?}"),
        }
    }

    fn gauge(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        match self.find(name, labels) {
            Some(DebugValue::Gauge(value)) => value.into_inner(),
            other => panic!("{name} {labels:?} is not a gauge that was set: {other:?}"),
        }
    }

    fn samples(&self, name: &str, labels: &[(&str, &str)]) -> Vec<f64> {
        match self.find(name, labels) {
            Some(DebugValue::Histogram(values)) => {
                values.iter().map(|value| value.into_inner()).collect()
            }
            None => Vec::new(),
            Some(other) => panic!("{name} is not a histogram: {other:?}"),
        }
    }
}

const PLAYER: (&str, &str) = ("aggregate", "player");

fn outcome(label: &str) -> [(&str, &str); 2] {
    [PLAYER, ("outcome", label)]
}

#[test]
fn commands_count_by_outcome_with_retries_latency_and_events() {
    eventful_core::telemetry::init();
    with_recorder(|metrics| async move {
        let store = MemoryStore::new();
        let players = Repository::<Player, _>::new(store.clone());
        players.execute(create(1)).await.expect("created");
        let refused = players.execute(create(1)).await;
        assert!(matches!(refused, Err(CommandError::Rejected { .. })));
        let reading = metrics.take();
        assert_eq!(reading.counter(COMMANDS_TOTAL, &outcome("ok")), 1);
        assert_eq!(reading.counter(COMMANDS_TOTAL, &outcome("rejected")), 1);
        assert_eq!(reading.counter(EVENTS_APPENDED_TOTAL, &[PLAYER]), 1);
        assert_eq!(
            reading.samples(COMMAND_DURATION_SECONDS, &[PLAYER]).len(),
            2
        );

        // Another writer (one that keeps no cache, so never conflicts itself) moves the
        // stream behind the cached state: one conflict, retried.
        let other = Repository::<Player, _>::new(store.clone()).with_cache_capacity(0);
        other.execute(gain(1, 5)).await.expect("xp");
        players.execute(gain(1, 5)).await.expect("xp after a retry");
        let reading = metrics.take();
        assert_eq!(reading.counter(COMMANDS_TOTAL, &outcome("ok")), 2);
        assert_eq!(reading.counter(COMMAND_RETRIES_TOTAL, &[PLAYER]), 1);
        assert_eq!(reading.counter(EVENTS_APPENDED_TOTAL, &[PLAYER]), 2);

        // No retries allowed: the conflict is the outcome.
        let impatient =
            Repository::<Player, _>::new(store.clone()).with_retry(RetryPolicy::never());
        impatient.execute(gain(1, 1)).await.expect("xp");
        other.execute(gain(1, 1)).await.expect("xp");
        let conflict = impatient.execute(gain(1, 1)).await;
        assert!(matches!(conflict, Err(CommandError::Conflict { .. })));
        let reading = metrics.take();
        assert_eq!(reading.counter(COMMANDS_TOTAL, &outcome("conflict")), 1);
        assert_eq!(reading.counter(COMMAND_RETRIES_TOTAL, &[PLAYER]), 0);

        // An event that no longer decodes fails the command.
        let stream = StreamId::new("player-2").expect("valid");
        let garbage = NewEvent::new(
            TypeName::from_static("player"),
            TypeName::from_static("xp_gained"),
            1,
            Payload::encode(&serde_json::json!({ "amount": "lots" })).expect("json"),
        );
        store
            .append(&stream, ExpectedVersion::NoStream, &[garbage])
            .await
            .expect("appended");
        assert!(players.execute(gain(2, 1)).await.is_err());
        let reading = metrics.take();
        assert_eq!(reading.counter(COMMANDS_TOTAL, &outcome("failed")), 1);
        assert_eq!(reading.counter(COMMANDS_TOTAL, &outcome("ok")), 0);
        let latencies = reading.samples(COMMAND_DURATION_SECONDS, &[PLAYER]);
        assert_eq!(latencies.len(), 1);
        assert!(
            latencies
                .iter()
                .all(|seconds| (0.0..10.0).contains(seconds))
        );
    });
}

/// A snapshot store that refuses every save.
struct Refusing;

impl SnapshotStore for Refusing {
    async fn save_snapshot(&self, _: Snapshot) -> Result<(), StoreError> {
        Err(StoreError::Unavailable {
            source: "snapshot disk is full".into(),
        })
    }

    async fn load_snapshot(&self, _: &StreamId) -> Result<Option<Snapshot>, StoreError> {
        Ok(None)
    }
}

#[test]
fn snapshots_saved_and_failed_are_counted() {
    with_recorder(|metrics| async move {
        let store = MemoryStore::new();
        let saving =
            Repository::<Player, _>::new(store.clone()).with_snapshots(MemoryStore::new(), 2);
        saving.execute(create(1)).await.expect("created");
        saving.execute(gain(1, 1)).await.expect("xp");
        saving.execute(gain(1, 1)).await.expect("xp");
        saving.execute(gain(1, 1)).await.expect("xp");
        let failing = Repository::<Player, _>::new(store.clone()).with_snapshots(Refusing, 1);
        failing
            .execute(create(2))
            .await
            .expect("created all the same");
        let reading = metrics.take();
        assert_eq!(
            reading.counter(SNAPSHOTS_SAVED_TOTAL, &[PLAYER]),
            2,
            "at versions 2 and 4"
        );
        assert_eq!(reading.counter(SNAPSHOT_FAILURES_TOTAL, &[PLAYER]), 1);
    });
}

#[test]
fn handler_position_lag_failures_and_parked_events_move() {
    with_recorder(|metrics| async move {
        let store = MemoryStore::new();
        let players = Repository::<Player, _>::new(store.clone());
        players.execute(create(1)).await.expect("created");
        for _ in 0..599 {
            players.execute(gain(1, 1)).await.expect("xp");
        }
        // Old enough that the lag in seconds cannot read 0.
        tokio::time::sleep(Duration::from_millis(50)).await;

        // `gated` waits at the first event after the first batch (512 events).
        let (gate, entered) = (Arc::new(Semaphore::new(0)), Arc::new(Semaphore::new(0)));
        let mut bus = EventBus::new(store.clone(), store.clone()).with_retry(quick_retry());
        {
            let (gate, entered) = (gate.clone(), entered.clone());
            bus.subscribe::<PlayerEvent, _, _>("gated", move |event| {
                let (gate, entered) = (gate.clone(), entered.clone());
                async move {
                    if event.position == Position::new(513) {
                        entered.add_permits(1);
                        gate.acquire().await?.forget();
                    }
                    Ok::<(), BoxError>(())
                }
            });
        }
        let fixed = Arc::new(AtomicBool::new(false));
        add_mailer(&mut bus, &fixed);
        bus.subscribe::<PlayerEvent, _, _>("ledger", |event| async move {
            match event.payload {
                PlayerEvent::XpGained { amount: 13 } => Err::<(), BoxError>("ledger full".into()),
                _ => Ok(()),
            }
        });
        let running = bus.start().expect("starts");

        entered.acquire().await.expect("open").forget();
        let gated = [("handler", "gated"), ("segment", "0/1")];
        let reading = metrics.take();
        assert_eq!(reading.gauge(HANDLER_POSITION, &gated), 512.0);
        assert_eq!(reading.gauge(HANDLER_LAG_EVENTS, &gated), 88.0);
        let behind = reading.gauge(HANDLER_LAG_SECONDS, &gated);
        assert!(behind >= 0.05, "{behind}");
        assert_eq!(
            reading.counter(HANDLER_EVENTS_TOTAL, &[("handler", "gated")]),
            512
        );

        gate.add_permits(1);
        players.execute(gain(1, 13)).await.expect("xp");
        let head = store.head_position().await.expect("head");
        running
            .wait_until(Position::new(600))
            .await
            .expect("caught up to 600");
        assert!(
            running.wait_until(head).await.is_err(),
            "the ledger stopped"
        );
        // The mailer parks 13 xp and goes on; the ledger stops before it.
        let mailer = [("handler", "mailer")];
        let ledger = [("handler", "ledger")];
        let reading = metrics.take();
        assert_eq!(reading.gauge(HANDLER_POSITION, &gated), 601.0);
        assert_eq!(reading.gauge(HANDLER_LAG_EVENTS, &gated), 0.0);
        assert_eq!(reading.counter(HANDLER_FAILURES_TOTAL, &mailer), 1);
        assert_eq!(reading.counter(EVENTS_PARKED_TOTAL, &mailer), 1);
        assert_eq!(reading.counter(HANDLER_FAILURES_TOTAL, &ledger), 1);
        assert_eq!(reading.counter(EVENTS_PARKED_TOTAL, &ledger), 0);
        assert_eq!(
            reading.gauge(
                HANDLER_STOPPED,
                &[("handler", "ledger"), ("segment", "0/1")]
            ),
            1.0
        );
        running.shutdown().await;
    });
}

#[test]
fn a_paused_handler_reads_paused_and_its_lag_grows_while_it_waits() {
    use eventful_core::bus::HandlerSettings;
    use eventful_core::telemetry::HANDLER_PAUSED;
    with_recorder(|metrics| async move {
        let store = MemoryStore::new();
        let players = Repository::<Player, _>::new(store.clone());
        players.execute(create(1)).await.expect("created");
        let mut bus =
            EventBus::new(store.clone(), store.clone()).with_lease(Duration::from_millis(30));
        bus.subscribe::<PlayerEvent, _, _>("ledger", |_| async { Ok::<(), BoxError>(()) });
        bus.configure("ledger", HandlerSettings::durable());
        let running = bus.start().expect("starts");
        running.wait_until_caught_up().await.expect("caught up");
        let ledger = [("handler", "ledger"), ("segment", "0/1")];

        running.pause("ledger").await.expect("paused");
        assert_eq!(metrics.take().gauge(HANDLER_PAUSED, &ledger), 1.0);
        for _ in 0..3 {
            players.execute(gain(1, 1)).await.expect("xp");
        }
        // No batch runs while paused: only the waiting segment's looks can show the lag.
        let lag = tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                let reading = metrics.take();
                if let Some(DebugValue::Gauge(lag)) = reading.find(HANDLER_LAG_EVENTS, &ledger)
                    && lag.into_inner() == 3.0
                {
                    return;
                }
                tokio::task::yield_now().await;
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await;
        assert!(
            lag.is_ok(),
            "the lag of a paused handler never showed 3 events"
        );

        running.resume("ledger").expect("resumed");
        running.wait_until_caught_up().await.expect("caught up");
        let reading = metrics.take();
        assert_eq!(reading.gauge(HANDLER_PAUSED, &ledger), 0.0);
        assert_eq!(reading.gauge(HANDLER_LAG_EVENTS, &ledger), 0.0);
        running.shutdown().await;
    });
}

#[test]
fn events_appended_outside_a_repository_are_counted_by_aggregate() {
    use eventful_core::repository::append_events;
    use eventful_core::{CommandContext, ExpectedVersion, StreamId, TypeName};
    with_recorder(|metrics| async move {
        let store = MemoryStore::new();
        let stream = StreamId::new("player-9").expect("stream");
        let events = vec![
            PlayerEvent::XpGained { amount: 1 },
            PlayerEvent::XpGained { amount: 2 },
        ];
        // Once from a literal, once from a name made at run time: one series.
        for aggregate in [
            TypeName::from_static("player"),
            TypeName::new("player").expect("name"),
        ] {
            append_events(
                &store,
                &stream,
                &aggregate,
                ExpectedVersion::Any,
                events.clone(),
                &CommandContext::default(),
            )
            .await
            .expect("appended");
        }
        let reading = metrics.take();
        assert_eq!(reading.counter(EVENTS_APPENDED_TOTAL, &[PLAYER]), 4);
    });
}

#[test]
fn a_handler_whose_task_panicked_reads_stopped() {
    with_recorder(|metrics| async move {
        let store = MemoryStore::new();
        let players = Repository::<Player, _>::new(store.clone());
        players.execute(create(1)).await.expect("created");
        players.execute(gain(1, 13)).await.expect("xp");
        let mut bus = EventBus::new(store.clone(), store.clone());
        bus.subscribe::<PlayerEvent, _, _>("ledger", |event| async move {
            if let PlayerEvent::XpGained { amount: 13 } = event.payload {
                panic!("the ledger cannot count to 13");
            }
            Ok::<(), BoxError>(())
        });
        let running = bus.start().expect("starts");
        assert!(
            running.wait_until_caught_up().await.is_err(),
            "the task is gone"
        );
        let reading = metrics.take();
        assert_eq!(
            reading.gauge(
                HANDLER_STOPPED,
                &[("handler", "ledger"), ("segment", "0/1")]
            ),
            1.0
        );
        running.shutdown().await;
    });
}

#[test]
fn the_relay_and_gateway_helpers_count_deliveries_connections_and_dropped_clients() {
    use eventful_core::telemetry::{
        DELIVERIES_TOTAL, Delivery, DeliveryCounters, DeliveryKind, DeliveryOutcome,
        GATEWAY_CONNECTIONS, GATEWAY_SLOW_CLIENTS_DROPPED_TOTAL, GatewayConnection,
        slow_client_dropped,
    };
    with_recorder(|metrics| async move {
        let store = MemoryStore::new();
        let players = Repository::<Player, _>::new(store.clone());
        let committed = players.execute(create(1)).await.expect("created");
        let event = committed.events[0].clone();

        Delivery::start(DeliveryKind::Relay, "game-events", &event)
            .finish(DeliveryOutcome::Delivered);
        Delivery::start(DeliveryKind::Relay, "game-events", &event).finish(DeliveryOutcome::Failed);
        Delivery::start(DeliveryKind::Gateway, "player-1", &event).finish(DeliveryOutcome::Dropped);
        // Handles registered once count the same series.
        let relay = DeliveryCounters::new(DeliveryKind::Relay);
        relay
            .start("game-events", &event)
            .finish(DeliveryOutcome::Delivered);
        relay
            .start("game-events", &event)
            .finish(DeliveryOutcome::Failed);
        let first = GatewayConnection::open("websocket");
        let second = GatewayConnection::open("websocket");
        drop(first);
        slow_client_dropped("websocket");
        let reading = metrics.take();
        let delivered = |kind, outcome| {
            reading.counter(DELIVERIES_TOTAL, &[("kind", kind), ("outcome", outcome)])
        };
        assert_eq!(delivered("relay", "delivered"), 2);
        assert_eq!(delivered("relay", "failed"), 2);
        assert_eq!(delivered("gateway", "dropped"), 1);
        assert_eq!(
            reading.gauge(GATEWAY_CONNECTIONS, &[("transport", "websocket")]),
            1.0,
            "two opened, one gone"
        );
        assert_eq!(
            reading.counter(
                GATEWAY_SLOW_CLIENTS_DROPPED_TOTAL,
                &[("transport", "websocket")]
            ),
            1
        );
        drop(second);
    });
}
