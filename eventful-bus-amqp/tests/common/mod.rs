//! What the RabbitMQ tests share: the runtime, the broker's URI (or a skip), names of this
//! run's own cleaned up after it, a tiny domain (scores recorded by one service, relayed, and
//! tallied by another through a policy) with the two services started on the broker, messages
//! published and dead letters read by hand, the relay's delivery counts, and bounded waits.

#![allow(dead_code, unreachable_pub)]

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::process::Command as Process;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use eventful_bus_amqp::message::encode_body;
use eventful_bus_amqp::{AmqpSettings, Consumer, Relay, RunningConsumer};
use eventful_core::prelude::*;
use eventful_core::repository::append_events;
use eventful_core::telemetry::DELIVERIES_TOTAL;
use eventful_core::{
    EventBus, EventFilter, EventHandler, EventStore, ExpectedVersion, Position, RunningBus,
    StreamId, TypeName,
};
use eventful_store_memory::MemoryStore;
use lapin::options::{BasicGetOptions, ExchangeDeleteOptions, QueueDeleteOptions};
use lapin::types::AMQPValue;
use lapin::{Connection, ConnectionProperties};
use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

/// How long a test waits for what must happen before it fails.
pub const PATIENCE: Duration = Duration::from_secs(60);

/// The runtime a test runs in: two workers, so that the relay's and the consumer's tasks go on
/// while the test waits.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime")
}

/// Runs `test` on [`runtime`] with the broker's URI, or only prints a skip notice when
/// `EVENTFUL_AMQP_URI` is unset.
pub fn on_broker<Fut: Future<Output = ()>>(test: &str, body: impl FnOnce(String) -> Fut) {
    if let Some(uri) = amqp_uri(test) {
        runtime().block_on(body(uri));
    }
}

/// The broker's URI from `EVENTFUL_AMQP_URI`; `None`, with a notice, when it is unset.
pub fn amqp_uri(test: &str) -> Option<String> {
    match std::env::var("EVENTFUL_AMQP_URI") {
        Ok(uri) if !uri.is_empty() => Some(uri),
        _ => {
            eprintln!("skipped {test}: EVENTFUL_AMQP_URI is not set (.ci/run sets it)");
            None
        }
    }
}

/// A name no other run uses: `eventful-test-<what>-<random>`.
pub fn unique(what: &str) -> String {
    let random = uuid::Uuid::new_v4().simple().to_string();
    format!("eventful-test-{what}-{}", &random[..12])
}

/// Settings on an exchange of this test's own, connections named `run`.
pub fn settings(uri: &str, run: &str) -> AmqpSettings {
    AmqpSettings::new(uri)
        .with_exchange(format!("{run}.exchange"))
        .with_connection_name(run)
}

/// Deletes the test's exchanges and queues.
pub async fn clean_up(uri: &str, run: &str, queues: &[&str]) {
    let Ok(connection) = Connection::connect(uri, ConnectionProperties::default()).await else {
        return;
    };
    if let Ok(channel) = connection.create_channel().await {
        for queue in queues {
            for name in [queue.to_string(), format!("{queue}.dead-letter")] {
                let _ = channel
                    .queue_delete(name.as_str().into(), QueueDeleteOptions::default())
                    .await;
            }
        }
        let settings = settings(uri, run);
        for exchange in [
            settings.exchange().to_owned(),
            settings.dead_letter_exchange(),
        ] {
            let _ = channel
                .exchange_delete(exchange.as_str().into(), ExchangeDeleteOptions::default())
                .await;
        }
    }
    let _ = connection.close(200, "test done".into()).await;
}

/// Deletes the test's exchanges and queues when dropped, so that a test that fails half-way
/// leaves no durable queue behind.
pub struct CleanUp {
    uri: String,
    run: String,
    queues: Vec<String>,
}

impl CleanUp {
    /// Cleans up after `run` and its `queues` at the end of the scope.
    pub fn new(uri: &str, run: &str, queues: &[&str]) -> Self {
        Self {
            uri: uri.to_owned(),
            run: run.to_owned(),
            queues: queues.iter().map(|queue| (*queue).to_owned()).collect(),
        }
    }
}

impl Drop for CleanUp {
    fn drop(&mut self) {
        let (uri, run) = (self.uri.clone(), self.run.clone());
        let queues = std::mem::take(&mut self.queues);
        // Dropped inside the test's runtime, which cannot be blocked on: a thread of its own.
        let cleaning = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime");
            let queues: Vec<&str> = queues.iter().map(String::as_str).collect();
            runtime.block_on(clean_up(&uri, &run, &queues));
        });
        let _ = cleaning.join();
    }
}

/// A test's names on the broker: the run `eventful-test-<what>-<random>` and its queue
/// `<run>.<queue>`, both deleted when it is dropped.
pub struct Run {
    pub uri: String,
    pub name: String,
    pub queue: String,
    _clean: CleanUp,
}

impl Run {
    /// A run of `what` on the broker at `uri`, its queue named `queue` after it.
    pub fn new(uri: &str, what: &str, queue: &str) -> Self {
        let name = unique(what);
        let queue = format!("{name}.{queue}");
        let clean = CleanUp::new(uri, &name, &[&queue]);
        Self {
            uri: uri.to_owned(),
            name,
            queue,
            _clean: clean,
        }
    }

    /// [`settings`] for this run.
    pub fn settings(&self) -> AmqpSettings {
        settings(&self.uri, &self.name)
    }

    /// A consumer on this run's queue, with its settings.
    pub fn consumer(&self) -> Consumer {
        Consumer::new(self.settings(), self.queue.clone())
    }
}

/// A relay of scores on `settings`, connected.
pub async fn score_relay(settings: AmqpSettings) -> Relay {
    Relay::builder(settings)
        .publish::<ScoreRecorded>()
        .connect()
        .await
        .expect("the relay connects")
}

/// A bus on `scores` with `handler` (a relay, or one wrapping it) as its one handler, started.
pub fn start_bus(scores: &MemoryStore, handler: impl EventHandler) -> RunningBus<MemoryStore> {
    let mut bus = EventBus::new(scores.clone(), scores.clone());
    bus.handler(handler);
    bus.start().expect("the bus starts")
}

/// The score service relaying to the tally service: a tally consumer started first, then a
/// relay of the score store on a bus.
pub struct Pair {
    pub tallies: MemoryStore,
    pub consuming: RunningConsumer,
    pub scores: MemoryStore,
    pub relay: Relay,
    pub running: RunningBus<MemoryStore>,
}

impl Pair {
    /// Starts `consumer` with the tally policy, then `gate` (if any) after it, so that a held
    /// message's tally is recorded and its acknowledgement still to come; then a relay on
    /// `settings`.
    pub async fn start(
        mut consumer: Consumer,
        gate: Option<&Gate>,
        settings: AmqpSettings,
    ) -> Self {
        let tallies = MemoryStore::new();
        consumer.policy(TallyScores::on(&tallies));
        if let Some(gate) = gate {
            gate.add_to(&mut consumer);
        }
        let consuming = consumer.start().await.expect("the consumer starts");
        let scores = MemoryStore::new();
        let relay = score_relay(settings).await;
        let running = start_bus(&scores, relay.clone());
        Self {
            tallies,
            consuming,
            scores,
            relay,
            running,
        }
    }

    /// Waits until at least `count` scores are tallied.
    pub async fn wait_for_tallies(&self, count: usize) {
        eventually(&format!("{count} scores tallied"), || async {
            additions(&self.tallies).await.len() >= count
        })
        .await;
    }

    /// After both links were cut while `gate` held `held`: every one of `ids` is relayed and
    /// tallied exactly once, the held message came again, and both links reconnected.
    pub async fn assert_recovered(&self, gate: &Gate, held: uuid::Uuid, ids: &[uuid::Uuid]) {
        self.running
            .wait_until_caught_up()
            .await
            .expect("every score relayed");
        self.wait_for_tallies(ids.len()).await;
        eventually("the held message delivered again", || async {
            gate.deliveries_of(held) >= 2
        })
        .await;
        assert_tallied_once(&self.tallies, ids).await;
        let stats = self.consuming.stats();
        assert!(
            stats.redelivered >= 1,
            "messages in flight came again: {stats:?}"
        );
        assert!(stats.reconnects >= 1, "the consumer reconnected: {stats:?}");
        assert!(self.relay.reconnects() >= 1, "the relay reconnected");
    }

    /// Stops the bus, then the consumer.
    pub async fn shutdown(self) {
        self.running.shutdown().await;
        self.consuming.shutdown().await;
    }
}

/// Every event a handler saw, in the order it saw them.
#[derive(Clone, Default)]
pub struct Seen(Arc<Mutex<Vec<RecordedEvent>>>);

impl Seen {
    /// Adds it to `consumer` as the handler `name` of every score, by name.
    pub fn add_to(&self, consumer: &mut Consumer, name: &str) {
        let seen = self.clone();
        consumer.subscribe_named(["score_recorded"], name, move |event: RecordedEvent| {
            let seen = seen.clone();
            async move {
                seen.push(event);
                Ok::<(), BoxError>(())
            }
        });
    }

    /// Keeps `event` as seen.
    pub fn push(&self, event: RecordedEvent) {
        self.0.lock().push(event);
    }

    /// What it saw.
    pub fn events(&self) -> Vec<RecordedEvent> {
        self.0.lock().clone()
    }

    /// The ids of what it saw.
    pub fn ids(&self) -> Vec<uuid::Uuid> {
        self.0.lock().iter().map(|event| event.event_id).collect()
    }

    /// How many events it saw.
    pub fn len(&self) -> usize {
        self.0.lock().len()
    }
}

/// Starts `consumer` with a [`Seen`] as its handler `count` of every score; returns both.
pub async fn start_counting(mut consumer: Consumer) -> (Seen, RunningConsumer) {
    let received = Seen::default();
    received.add_to(&mut consumer, "count");
    let consuming = consumer.start().await.expect("the consumer starts");
    (received, consuming)
}

/// An event as a typed handler may keep it: its envelope, the payload left out.
pub fn without_payload(event: RecordedEvent<ScoreRecorded>) -> RecordedEvent {
    event.map_payload(|_| eventful_core::Payload::from_json_slice(b"{}").expect("json"))
}

/// Waits until `done` holds, looking every few milliseconds; panics with `what` after
/// [`PATIENCE`].
pub async fn eventually<F, Fut>(what: &str, mut done: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let waited = tokio::time::timeout(PATIENCE, async {
        while !done().await {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    assert!(waited.is_ok(), "gave up waiting: {what}");
}

/// A consumer's handler that holds its `n`-th delivery until the test opens it (so that the
/// test can break the connection while that message is being handled and the ones sent ahead
/// wait), and counts every delivery by event id. Added after the handlers with effects, it
/// holds a message whose effects are recorded and whose acknowledgement is still to come.
#[derive(Clone)]
pub struct Gate {
    hold: u32,
    seen: Arc<AtomicU32>,
    deliveries: Arc<Mutex<HashMap<uuid::Uuid, u32>>>,
    held: Arc<watch::Sender<Option<uuid::Uuid>>>,
    open: Arc<watch::Sender<bool>>,
}

impl Gate {
    /// Holds the `n`-th delivery (from 1).
    pub fn holding_delivery(n: u32) -> Self {
        Self {
            hold: n,
            seen: Arc::default(),
            deliveries: Arc::default(),
            held: Arc::new(watch::channel(None).0),
            open: Arc::new(watch::channel(false).0),
        }
    }

    /// Adds it to `consumer` as the handler `gate` of every score.
    pub fn add_to(&self, consumer: &mut Consumer) {
        let gate = self.clone();
        consumer.subscribe_named(["score_recorded"], "gate", move |event: RecordedEvent| {
            let gate = gate.clone();
            async move {
                gate.pass(event.event_id).await;
                Ok::<(), BoxError>(())
            }
        });
    }

    async fn pass(&self, event_id: uuid::Uuid) {
        *self.deliveries.lock().entry(event_id).or_default() += 1;
        if self.seen.fetch_add(1, Ordering::SeqCst) + 1 == self.hold {
            self.held.send_replace(Some(event_id));
            let mut open = self.open.subscribe();
            let _ = open.wait_for(|open| *open).await;
        }
    }

    /// The event it holds, once it holds one.
    pub async fn holding(&self) -> uuid::Uuid {
        let mut held = self.held.subscribe();
        let held = tokio::time::timeout(PATIENCE, held.wait_for(Option::is_some))
            .await
            .expect("a delivery is held")
            .expect("the gate is alive");
        held.expect("held")
    }

    /// Lets the held delivery go, and every later one through.
    pub fn open(&self) {
        self.open.send_replace(true);
    }

    /// How many times `event_id` was delivered to it.
    pub fn deliveries_of(&self, event_id: uuid::Uuid) -> u32 {
        self.deliveries.lock().get(&event_id).copied().unwrap_or(0)
    }
}

/// Closes, from the broker's side, every connection whose client-given name contains `run`
/// (what `rabbitmqctl close_all_connections` does to all, limited to this test's, so that
/// tests running beside it keep theirs); returns how many it closed.
pub async fn close_connections_of(run: &str) -> usize {
    let run = run.to_owned();
    tokio::task::spawn_blocking(move || close_connections_now(&run))
        .await
        .expect("rabbitmqctl")
}

fn close_connections_now(run: &str) -> usize {
    let listed = Process::new("rabbitmqctl")
        .args([
            "list_connections",
            "--no-table-headers",
            "--silent",
            "pid",
            "client_properties",
        ])
        .output()
        .expect("rabbitmqctl runs");
    assert!(
        listed.status.success(),
        "rabbitmqctl list_connections: {listed:?}"
    );
    let mut closed = 0;
    for line in String::from_utf8_lossy(&listed.stdout).lines() {
        if !line.contains(run) {
            continue;
        }
        let pid = line.split_whitespace().next().expect("a pid");
        let status = Process::new("rabbitmqctl")
            .args(["close_connection", pid, "test"])
            .status()
            .expect("rabbitmqctl runs");
        assert!(status.success(), "rabbitmqctl close_connection {pid}");
        closed += 1;
    }
    closed
}

/// A channel of the test's own, in confirm mode, for publishing by hand and reading queues.
pub async fn raw_channel(uri: &str) -> lapin::Channel {
    let connection = Connection::connect(uri, ConnectionProperties::default())
        .await
        .expect("connects");
    let channel = connection.create_channel().await.expect("a channel");
    channel
        .confirm_select(lapin::options::ConfirmSelectOptions::default())
        .await
        .expect("confirms");
    // The connection lives as long as the channel is used: leak it to the test's end.
    std::mem::forget(connection);
    channel
}

/// Publishes `body` as the relay would, to the test's exchange, and waits for the confirm.
pub async fn publish_raw(channel: &lapin::Channel, run: &str, key: &str, body: Vec<u8>) {
    let properties = lapin::BasicProperties::default()
        .with_content_type(eventful_bus_amqp::message::CONTENT_TYPE.into())
        .with_delivery_mode(2);
    let confirmation = channel
        .basic_publish(
            settings("", run).exchange().into(),
            key.into(),
            lapin::options::BasicPublishOptions::default(),
            &body,
            properties,
        )
        .await
        .expect("published")
        .await
        .expect("confirmed");
    assert!(confirmation.is_ack());
}

/// Publishes `event` by hand, as the relay would, and waits for the confirm.
pub async fn publish_event(channel: &lapin::Channel, run: &str, event: &RecordedEvent) {
    let body = encode_body(event).expect("body");
    let key = eventful_bus_amqp::message::routing_key(&event.aggregate_type, &event.event_type)
        .expect("a routing key");
    publish_raw(channel, run, &key, body).await;
}

/// `count` scores recorded on a store of their own, as the relay would publish them.
pub async fn scores_to_send(count: u64) -> Vec<RecordedEvent> {
    let scores = MemoryStore::new();
    record_scores(&scores, count).await;
    all_events(&scores).await
}

/// `count` scores published by hand, on a connection of their own (which the broker does not
/// close when the test closes the run's); returns them.
pub async fn send_scores(uri: &str, run: &str, count: u64) -> Vec<RecordedEvent> {
    let sent = scores_to_send(count).await;
    let publisher = raw_channel(uri).await;
    for event in &sent {
        publish_event(&publisher, run, event).await;
    }
    sent
}

/// The next message in the dead-letter queue `queue`, taken: its `x-eventful-reason` and its
/// body.
pub async fn take_dead_letter(channel: &lapin::Channel, queue: &str) -> Option<(String, Vec<u8>)> {
    let dead = channel
        .basic_get(queue.into(), BasicGetOptions { no_ack: true })
        .await
        .expect("basic.get")?;
    let headers = dead
        .delivery
        .properties
        .headers()
        .clone()
        .unwrap_or_default();
    let Some(AMQPValue::LongString(reason)) = headers.inner().get("x-eventful-reason") else {
        panic!("no reason: {headers:?}");
    };
    Some((reason.to_string(), dead.delivery.data.clone()))
}

/// Installs a debugging recorder as the test binary's global one (the relay counts from the
/// bus's tasks, on any worker thread); returns what reads it.
pub fn install_recorder() -> Snapshotter {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    recorder
        .install()
        .expect("the only recorder of this test binary");
    snapshotter
}

/// The relay's deliveries with `outcome`, counted since the last call: a snapshot takes what
/// was counted since the one before.
pub fn relay_deliveries(snapshotter: &Snapshotter, outcome: &str) -> u64 {
    snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .filter(|(key, ..)| {
            let key = key.key();
            let label = |name: &str| {
                key.labels()
                    .find(|label| label.key() == name)
                    .map(|label| label.value().to_owned())
            };
            key.name() == DELIVERIES_TOTAL
                && label("kind").as_deref() == Some("relay")
                && label("outcome").as_deref() == Some(outcome)
        })
        .map(|(.., value)| match value {
            DebugValue::Counter(count) => count,
            other => panic!("{DELIVERIES_TOTAL} is not a counter: {other:?}"),
        })
        .sum()
}

/// A score, recorded by the score service on stream `scores-<player>`.
#[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct ScoreRecorded {
    pub player: u64,
    pub points: u64,
}

/// The score service's stream type.
pub const SCORES: TypeName = TypeName::from_static("scores");

/// Records `count` scores (points 1, 2, …), one append each, each its own request; returns
/// their ids in order.
pub async fn record_scores(store: &MemoryStore, count: u64) -> Vec<uuid::Uuid> {
    record_scores_from(store, 0, count).await
}

/// Records scores `first + 1 ..= first + count`.
pub async fn record_scores_from(store: &MemoryStore, first: u64, count: u64) -> Vec<uuid::Uuid> {
    let mut ids = Vec::new();
    for n in first..first + count {
        let stream = StreamId::for_aggregate("scores", &(n % 7)).expect("stream");
        let context = CommandContext::default().with_correlation_id(uuid::Uuid::new_v4());
        let score = ScoreRecorded {
            player: n % 7,
            points: n + 1,
        };
        let committed = append_events(
            store,
            &stream,
            &SCORES,
            ExpectedVersion::Any,
            vec![score],
            &context,
        )
        .await
        .expect("recorded");
        ids.push(committed.events[0].event_id);
    }
    ids
}

#[derive(Command, Debug, Clone)]
#[command(aggregate = Tally)]
pub enum TallyCommand {
    Add {
        #[aggregate_id]
        player: u64,
        points: u64,
    },
}

#[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
pub enum TallyEvent {
    Added { points: u64 },
}

#[derive(Debug, thiserror::Error)]
pub enum TallyError {
    #[error("no points")]
    NoPoints,
}

/// The tally service's aggregate: a player's points.
#[derive(Default)]
pub struct Tally {
    pub total: u64,
    pub additions: u64,
}

#[aggregate(name = "tally", id = u64, command = TallyCommand, event = TallyEvent, error = TallyError)]
impl Tally {
    #[handle(TallyCommand::Add)]
    fn add(&self, points: &u64) -> Result<Vec<TallyEvent>, TallyError> {
        if *points == 0 {
            return Err(TallyError::NoPoints);
        }
        Ok(vec![TallyEvent::Added { points: *points }])
    }

    #[apply(TallyEvent::Added)]
    fn added(&mut self, points: &u64) {
        self.total += points;
        self.additions += 1;
    }
}

/// `score_recorded` → `Add`, sent through the reaction: keyed by the score's event id.
pub struct TallyScores {
    pub tallies: Repository<Tally, MemoryStore>,
}

impl TallyScores {
    /// The policy tallying into `tallies`.
    pub fn on(tallies: &MemoryStore) -> Self {
        Self {
            tallies: Repository::new(tallies.clone()),
        }
    }
}

#[async_trait]
impl Policy for TallyScores {
    type Event = ScoreRecorded;

    fn name(&self) -> &str {
        "tally_scores"
    }

    async fn react(
        &self,
        event: &RecordedEvent<ScoreRecorded>,
        reaction: &Reaction,
    ) -> Result<(), BoxError> {
        let add = TallyCommand::Add {
            player: event.payload.player,
            points: event.payload.points,
        };
        reaction.send(&self.tallies, add).await?;
        Ok(())
    }
}

/// Every event in `store`, in order.
pub async fn all_events(store: &MemoryStore) -> Vec<RecordedEvent> {
    store
        .read_all(Position::START, &EventFilter::all(), 100_000)
        .await
        .expect("read")
        .events
}

/// The ids of every event in `store`, in order.
pub async fn event_ids(store: &MemoryStore) -> Vec<uuid::Uuid> {
    ids_of(&all_events(store).await)
}

/// The ids of `events`, in order.
pub fn ids_of(events: &[RecordedEvent]) -> Vec<uuid::Uuid> {
    events.iter().map(|event| event.event_id).collect()
}

/// Each of `ids` tallied exactly once: as many additions as scores, caused by them all.
pub async fn assert_tallied_once(tallies: &MemoryStore, ids: &[uuid::Uuid]) {
    let added = additions(tallies).await;
    assert_eq!(added.len(), ids.len(), "each score tallied once: {added:?}");
    let causes: HashSet<_> = added.iter().filter_map(|(cause, _)| *cause).collect();
    assert_eq!(
        causes,
        ids.iter().copied().collect(),
        "caused by the scores, none lost"
    );
}

/// Every `added` in the tally store, as (causation id, points).
pub async fn additions(store: &MemoryStore) -> Vec<(Option<uuid::Uuid>, u64)> {
    all_events(store)
        .await
        .iter()
        .filter(|event| event.event_type == "added")
        .map(|event| {
            let points = event.payload.to_value().expect("json")["points"]
                .as_u64()
                .expect("points");
            (event.metadata.causation_id, points)
        })
        .collect()
}
