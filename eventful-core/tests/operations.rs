//! What an operator acts with: pausing and resuming a handler, rebuilding a read model into
//! a fresh copy while the old one serves reads, and the spans a command leaves.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use common::{GameCompletedEvent, Player, PlayerCommand, publish_game_completed};
use eventful_core::bus::{HandlerSettings, OnFailure};
use eventful_core::prelude::*;
use eventful_core::swappable::Swappable;
use eventful_core::{CheckpointStore, CommandError, RetryPolicy, Upcasters, Uuid};
use eventful_store_memory::MemoryStore;
use parking_lot::Mutex;
use tokio::sync::Semaphore;

/// Counts `game_completed` events by name of the handler that saw them.
fn counting(bus: &mut EventBus<MemoryStore>, seen: &Arc<AtomicU64>) {
    let seen = seen.clone();
    bus.subscribe::<GameCompletedEvent, _, _>("count_games", move |_| {
        let seen = seen.clone();
        async move {
            seen.fetch_add(1, Ordering::SeqCst);
            Ok::<(), BoxError>(())
        }
    });
    bus.configure("count_games", HandlerSettings::durable());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_handler_reads_nothing_keeps_its_claim_and_goes_on_when_resumed() {
    let store = MemoryStore::new();
    publish_game_completed(&store, "m1", "a", 10).await;
    let lease = Duration::from_millis(100);

    let here = Arc::new(AtomicU64::new(0));
    let mut bus = EventBus::new(store.clone(), store.clone())
        .with_instance_id("a")
        .with_lease(lease);
    counting(&mut bus, &here);
    let running = bus.start().expect("starts");
    running.wait_until_caught_up().await.expect("caught up");
    assert_eq!(here.load(Ordering::SeqCst), 1);

    running.pause("count_games").await.expect("pauses");
    assert!(running.status().await.expect("status")[0].paused);
    publish_game_completed(&store, "m2", "a", 20).await;
    publish_game_completed(&store, "m3", "b", 30).await;

    // Another instance would take a claim left unrenewed within a lease and a quarter.
    let there = Arc::new(AtomicU64::new(0));
    let mut other = EventBus::new(store.clone(), store.clone())
        .with_instance_id("b")
        .with_lease(lease);
    counting(&mut other, &there);
    let other = other.start().expect("starts");
    // Wait for the claim to be renewed, while paused, past two leases after the other
    // instance started: unrenewed, it would have run out and been taken meanwhile.
    let lease_until = || async {
        let segments = store.segments("count_games").await.expect("segments");
        (segments[0].owner.clone(), segments[0].lease_until)
    };
    let started = chrono::Utc::now();
    let renewed = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let (owner, until) = lease_until().await;
            assert_eq!(
                owner.as_deref(),
                Some("a"),
                "the claim stays with the paused instance"
            );
            if until.is_some_and(|until| until > started + lease * 3) {
                return;
            }
            tokio::time::sleep(lease / 10).await;
        }
    })
    .await;
    assert!(
        renewed.is_ok(),
        "the paused instance never renewed its claim"
    );
    let status = &running.status().await.expect("status")[0];
    assert_eq!(
        status.segments[0].owner.as_deref(),
        Some("a"),
        "the claim is kept"
    );
    assert_eq!(status.lag, 2, "nothing read while paused");
    assert_eq!(here.load(Ordering::SeqCst), 1);
    assert_eq!(there.load(Ordering::SeqCst), 0);

    running.resume("count_games").expect("resumes");
    running.wait_until_caught_up().await.expect("caught up");
    assert_eq!(here.load(Ordering::SeqCst), 3);
    assert_eq!(there.load(Ordering::SeqCst), 0);
    assert!(!running.status().await.expect("status")[0].paused);
    assert!(matches!(
        running.pause("no_such_handler").await,
        Err(eventful_core::BusError::UnknownHandler(name)) if name == "no_such_handler"
    ));
    other.shutdown().await;
    running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pause_resumed_before_the_handler_saw_it_returns() {
    let store = MemoryStore::new();
    publish_game_completed(&store, "m1", "a", 10).await;
    let (gate, entered) = (Arc::new(Semaphore::new(0)), Arc::new(Semaphore::new(0)));
    let mut bus = EventBus::new(store.clone(), store.clone());
    {
        let (gate, entered) = (gate.clone(), entered.clone());
        bus.subscribe::<GameCompletedEvent, _, _>("held", move |_| {
            let (gate, entered) = (gate.clone(), entered.clone());
            async move {
                entered.add_permits(1);
                gate.acquire().await?.forget();
                Ok::<(), BoxError>(())
            }
        });
    }
    let running = Arc::new(bus.start().expect("starts"));
    // The handler is inside its batch: it cannot see the pause until the gate opens.
    entered.acquire().await.expect("open").forget();
    let pause = {
        let running = running.clone();
        tokio::spawn(async move { running.pause("held").await })
    };
    while !running.status().await.expect("status")[0].paused {
        tokio::task::yield_now().await;
    }
    running.resume("held").expect("resumes");
    let paused = tokio::time::timeout(Duration::from_secs(10), pause).await;
    assert!(
        matches!(paused, Ok(Ok(Ok(())))),
        "the pause returned once resumed: {paused:?}"
    );
    gate.add_permits(1);
    running.wait_until_caught_up().await.expect("caught up");
    assert!(!running.status().await.expect("status")[0].paused);
}

/// Sums scores; a gated copy waits before its event number `gate_at + 1` until the test
/// lets it go, so that the test can look at the reads while a rebuild is under way; a score
/// listed in `refused` fails (a poison event) while it is listed.
struct Scores {
    total: AtomicU64,
    applied: AtomicU64,
    gate: Option<Arc<Semaphore>>,
    entered: Option<Arc<Semaphore>>,
    gate_at: u64,
    refused: Arc<Mutex<Vec<u64>>>,
}

impl Scores {
    fn free(refused: &Arc<Mutex<Vec<u64>>>) -> Self {
        Self {
            total: AtomicU64::new(0),
            applied: AtomicU64::new(0),
            gate: None,
            entered: None,
            gate_at: 0,
            refused: refused.clone(),
        }
    }
}

#[async_trait]
impl Projection for Scores {
    type Event = GameCompletedEvent;

    fn name(&self) -> &str {
        "scores"
    }

    async fn apply(&self, event: &RecordedEvent<GameCompletedEvent>) -> Result<(), BoxError> {
        if self.refused.lock().contains(&event.payload.score) {
            return Err(format!("score {} is refused", event.payload.score).into());
        }
        if let (Some(gate), Some(entered)) = (&self.gate, &self.entered)
            && self.applied.load(Ordering::SeqCst) == self.gate_at
        {
            entered.add_permits(1);
            gate.acquire().await?.forget();
        }
        self.total.fetch_add(event.payload.score, Ordering::SeqCst);
        self.applied.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }

    async fn reset(&self) -> Result<(), BoxError> {
        self.total.store(0, Ordering::SeqCst);
        self.applied.store(0, Ordering::SeqCst);
        Ok(())
    }
}

/// A swappable `Scores` whose first copy runs free and whose later copies wait at `gate`
/// before their first event.
fn gated_scores(gate: &Arc<Semaphore>, entered: &Arc<Semaphore>) -> Swappable<Scores> {
    gated_scores_at(gate, entered, 0)
}

/// A swappable `Scores` whose first copy runs free and whose later copies wait at `gate`
/// before their event number `gate_at + 1`.
fn gated_scores_at(
    gate: &Arc<Semaphore>,
    entered: &Arc<Semaphore>,
    gate_at: u64,
) -> Swappable<Scores> {
    let made = AtomicU64::new(0);
    let (gate, entered) = (gate.clone(), entered.clone());
    let refused = Arc::new(Mutex::new(Vec::new()));
    Swappable::new(move || {
        let first = made.fetch_add(1, Ordering::SeqCst) == 0;
        Scores {
            gate: (!first).then(|| gate.clone()),
            entered: (!first).then(|| entered.clone()),
            gate_at,
            ..Scores::free(&refused)
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rebuild_into_a_fresh_copy_leaves_the_old_one_serving_reads_until_the_swap() {
    let store = MemoryStore::new();
    for (game, score) in [("m1", 10), ("m2", 20), ("m3", 30)] {
        publish_game_completed(&store, game, "a", score).await;
    }
    let (gate, entered) = (Arc::new(Semaphore::new(0)), Arc::new(Semaphore::new(0)));
    let scores = gated_scores(&gate, &entered);
    let mut bus = EventBus::new(store.clone(), store.clone());
    bus.projection(scores.clone());
    let running = bus.start().expect("starts");
    running.wait_until_caught_up().await.expect("caught up");
    let old = scores.current();
    assert_eq!(old.total.load(Ordering::SeqCst), 60);

    let rebuild = {
        let (scores, store) = (scores.clone(), store.clone());
        tokio::spawn(async move { scores.rebuild(&store, &Upcasters::new()).await })
    };
    entered.acquire().await.expect("open").forget();
    // The fresh copy is held at its first event: reads see the old copy, which the bus
    // still feeds.
    publish_game_completed(&store, "m4", "b", 40).await;
    running.wait_until_caught_up().await.expect("caught up");
    assert!(Arc::ptr_eq(&scores.current(), &old));
    assert_eq!(scores.current().total.load(Ordering::SeqCst), 100);

    gate.add_permits(1);
    let reached = rebuild.await.expect("joins").expect("rebuilt");
    assert!(reached >= Position::new(3), "{reached}");
    let fresh = scores.current();
    assert!(!Arc::ptr_eq(&fresh, &old), "the fresh copy is swapped in");
    publish_game_completed(&store, "m5", "b", 50).await;
    running.wait_until_caught_up().await.expect("caught up");
    assert_eq!(fresh.total.load(Ordering::SeqCst), 150, "every event once");
    assert_eq!(fresh.applied.load(Ordering::SeqCst), 5);
    assert_eq!(
        old.total.load(Ordering::SeqCst),
        100,
        "the old copy is left behind"
    );
    running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fresh_copy_ahead_of_the_bus_is_not_given_its_events_twice() {
    let store = MemoryStore::new();
    publish_game_completed(&store, "m1", "a", 10).await;
    let (gate, entered) = (Arc::new(Semaphore::new(100)), Arc::new(Semaphore::new(0)));
    let scores = gated_scores(&gate, &entered);
    let mut bus = EventBus::new(store.clone(), store.clone());
    bus.projection(scores.clone());
    let running = bus.start().expect("starts");
    running.wait_until_caught_up().await.expect("caught up");

    // Paused, the bus falls behind the log; the rebuild reads it to the end.
    running.pause("scores").await.expect("pauses");
    publish_game_completed(&store, "m2", "a", 20).await;
    publish_game_completed(&store, "m3", "a", 30).await;
    let reached = scores
        .rebuild(&store, &Upcasters::new())
        .await
        .expect("rebuilt");
    assert_eq!(reached, store.head_position().await.expect("head"));
    assert_eq!(scores.current().total.load(Ordering::SeqCst), 60);

    running.resume("scores").expect("resumes");
    publish_game_completed(&store, "m4", "a", 40).await;
    running.wait_until_caught_up().await.expect("caught up");
    assert_eq!(scores.current().total.load(Ordering::SeqCst), 100);
    assert_eq!(scores.current().applied.load(Ordering::SeqCst), 4);
    running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_swap_brings_the_fresh_copy_to_events_the_live_one_got_after_its_read() {
    let store = MemoryStore::new();
    for (game, score) in [("m1", 10), ("m2", 20), ("m3", 30)] {
        publish_game_completed(&store, game, "a", score).await;
    }
    // The fresh copy waits at its third event, the last of the log it read.
    let (gate, entered) = (Arc::new(Semaphore::new(0)), Arc::new(Semaphore::new(0)));
    let scores = gated_scores_at(&gate, &entered, 2);
    let mut bus = EventBus::new(store.clone(), store.clone());
    bus.projection(scores.clone());
    let running = bus.start().expect("starts");
    running.wait_until_caught_up().await.expect("caught up");

    let rebuild = {
        let (scores, store) = (scores.clone(), store.clone());
        tokio::spawn(async move { scores.rebuild(&store, &Upcasters::new()).await })
    };
    entered.acquire().await.expect("open").forget();
    // The live copy gets an event the fresh copy's read ended before.
    let m4 = publish_game_completed(&store, "m4", "b", 40).await;
    running.wait_until_caught_up().await.expect("caught up");
    assert_eq!(scores.current().total.load(Ordering::SeqCst), 100);

    gate.add_permits(1);
    let reached = rebuild.await.expect("joins").expect("rebuilt");
    assert_eq!(
        reached, m4.position,
        "swapped at the live copy's last event"
    );
    let fresh = scores.current();
    assert_eq!(
        fresh.total.load(Ordering::SeqCst),
        100,
        "caught up at the swap"
    );
    assert_eq!(fresh.applied.load(Ordering::SeqCst), 4);
    publish_game_completed(&store, "m5", "b", 50).await;
    running.wait_until_caught_up().await.expect("caught up");
    assert_eq!(fresh.applied.load(Ordering::SeqCst), 5, "every event once");
    running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parked_event_replayed_on_a_swappable_reaches_its_copy() {
    let store = MemoryStore::new();
    let refused = Arc::new(Mutex::new(vec![20]));
    let scores = {
        let refused = refused.clone();
        Swappable::new(move || Scores::free(&refused))
    };
    for (game, score) in [("m1", 10), ("m2", 20), ("m3", 30)] {
        publish_game_completed(&store, game, "a", score).await;
    }
    let mut bus = EventBus::new(store.clone(), store.clone()).with_retry(RetryPolicy::never());
    bus.projection(scores.clone());
    bus.configure(
        "scores",
        HandlerSettings::durable().with_on_failure(OnFailure::Park),
    );
    let running = bus.start().expect("starts");
    running.wait_until_caught_up().await.expect("caught up");
    let parked = running.parked("scores").await.expect("parked");
    assert_eq!(parked.len(), 1, "{parked:?}");
    assert_eq!(scores.current().total.load(Ordering::SeqCst), 40);

    refused.lock().clear();
    running
        .replay_parked("scores", parked[0].event_id)
        .await
        .expect("replayed");
    assert_eq!(scores.current().total.load(Ordering::SeqCst), 60, "applied");
    assert!(running.parked("scores").await.expect("parked").is_empty());
    running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_swappable_split_into_segments_gets_every_event_of_each() {
    let store = MemoryStore::new();
    let games = 64;
    for game in 0..games {
        publish_game_completed(&store, &format!("m{game}"), "a", 1).await;
    }
    let scores = Swappable::new({
        let refused = Arc::new(Mutex::new(Vec::new()));
        move || Scores::free(&refused)
    });
    let mut bus = EventBus::new(store.clone(), store.clone());
    bus.projection(scores.clone());
    bus.configure("scores", HandlerSettings::durable().with_segments(4));
    let running = bus.start().expect("starts");
    running.wait_until_caught_up().await.expect("caught up");
    let segments = running.status().await.expect("status")[0].segments.clone();
    assert!(
        segments
            .iter()
            .all(|segment| segment.processed > Position::START),
        "each segment had events: {segments:?}"
    );
    assert_eq!(scores.current().applied.load(Ordering::SeqCst), games);

    scores
        .rebuild(&store, &Upcasters::new())
        .await
        .expect("rebuilt");
    for game in games..games + 16 {
        publish_game_completed(&store, &format!("m{game}"), "a", 1).await;
    }
    running.wait_until_caught_up().await.expect("caught up");
    assert_eq!(scores.current().applied.load(Ordering::SeqCst), games + 16);
    running.shutdown().await;
}

/// A span's fields by name, as text.
type SpanFields = BTreeMap<String, String>;

/// The fields of every span that closed, by span name, as the subscriber saw them.
#[derive(Clone, Default)]
struct ClosedSpans(Arc<Mutex<Vec<(String, SpanFields)>>>);

struct Fields(SpanFields);

impl tracing::field::Visit for Fields {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
}

impl<S> tracing_subscriber::Layer<S> for ClosedSpans
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    fn on_new_span(
        &self,
        attrs: &tracing::span::Attributes<'_>,
        id: &tracing::span::Id,
        ctx: tracing_subscriber::layer::Context<'_, S>,
    ) {
        let mut fields = Fields(BTreeMap::new());
        attrs.record(&mut fields);
        if let Some(parent) = ctx.span(id).and_then(|span| span.parent()) {
            fields.0.insert("parent".into(), parent.name().to_owned());
        }
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(fields);
        }
    }

    fn on_record(
        &self,
        id: &tracing::span::Id,
        values: &tracing::span::Record<'_>,
        ctx: tracing_subscriber::layer::Context<'_, S>,
    ) {
        if let Some(span) = ctx.span(id)
            && let Some(fields) = span.extensions_mut().get_mut::<Fields>()
        {
            values.record(fields);
        }
    }

    fn on_close(&self, id: tracing::span::Id, ctx: tracing_subscriber::layer::Context<'_, S>) {
        if let Some(span) = ctx.span(&id)
            && let Some(fields) = span.extensions_mut().remove::<Fields>()
        {
            self.0.lock().push((span.name().to_owned(), fields.0));
        }
    }
}

impl ClosedSpans {
    fn named(&self, name: &str) -> Vec<SpanFields> {
        let closed = self.0.lock();
        closed
            .iter()
            .filter(|(span, _)| span == name)
            .map(|(_, fields)| fields.clone())
            .collect()
    }
}

/// Runs `work` on a one-thread runtime with a subscriber that keeps every span that closes;
/// returns what `work` returned and the spans.
fn with_spans<T>(work: impl std::future::Future<Output = T>) -> (T, ClosedSpans) {
    use tracing_subscriber::layer::SubscriberExt;

    let spans = ClosedSpans::default();
    let subscriber = tracing_subscriber::registry().with(spans.clone());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let output = tracing::subscriber::with_default(subscriber, || runtime.block_on(work));
    (output, spans)
}

#[test]
fn commands_leave_spans_with_their_outcome_attempts_and_correlation() {
    let request = Uuid::new_v4();
    let ((), spans) = with_spans(async {
        let store = MemoryStore::new();
        let context = CommandContext::default().with_correlation_id(request);
        let players = Repository::<Player, _>::new(store.clone());
        players
            .execute_with(PlayerCommand::create("a"), context.clone())
            .await
            .expect("created");
        let refused = players.execute(PlayerCommand::create("a")).await;
        assert!(matches!(refused, Err(CommandError::Rejected { .. })));
        // A second repository moves the stream behind the first one's cached state: the
        // first one's next command conflicts once, then commits.
        let other = Repository::<Player, _>::new(store.clone());
        other
            .execute(PlayerCommand::gain("a", 5))
            .await
            .expect("xp");
        players
            .execute(PlayerCommand::gain("a", 5))
            .await
            .expect("xp after a retry");
    });

    let commands = spans.named("command");
    assert_eq!(commands.len(), 4, "{commands:?}");
    let field = |index: usize, name: &str| commands[index].get(name).cloned().unwrap_or_default();
    assert_eq!(field(0, "outcome"), "ok");
    assert_eq!(field(0, "aggregate"), "player");
    assert_eq!(field(0, "stream"), "player-a");
    assert_eq!(field(0, "correlation_id"), request.to_string());
    assert_eq!(field(1, "correlation_id"), "", "none was given");
    assert_eq!(field(0, "attempts"), "1");
    assert_eq!(field(0, "version"), "1");
    assert_eq!(field(1, "outcome"), "rejected");
    assert_eq!(field(3, "outcome"), "ok");
    assert_eq!(field(3, "attempts"), "2", "the conflict was retried");
    assert_eq!(field(3, "version"), "3");

    let appends = spans.named("append");
    assert_eq!(
        appends[0]
            .get("correlation_id")
            .cloned()
            .unwrap_or_default(),
        request.to_string(),
        "the append carries the command's ids"
    );
    let outcomes: Vec<_> = appends
        .iter()
        .map(|append| append.get("outcome").cloned().unwrap_or_default())
        .collect();
    assert_eq!(outcomes, ["ok", "ok", "conflict", "ok"]);
    assert!(
        appends
            .iter()
            .all(|append| append.get("parent").map(String::as_str) == Some("command"))
    );
}

#[test]
fn handlers_and_deliveries_leave_spans_with_their_positions_outcome_and_correlation() {
    use eventful_core::telemetry::{Delivery, DeliveryKind, DeliveryOutcome};

    let request = Uuid::new_v4();
    let ((first, second), spans) = with_spans(async {
        let store = MemoryStore::new();
        let context = CommandContext::default().with_correlation_id(request);
        let players = Repository::<Player, _>::new(store.clone());
        let first = players
            .execute_with(PlayerCommand::create("a"), context.clone())
            .await
            .expect("created");
        let second = players
            .execute_with(PlayerCommand::gain("a", 5), context)
            .await
            .expect("xp");
        let mut bus = EventBus::new(store.clone(), store.clone()).with_retry(RetryPolicy::never());
        // Fails on xp: the second event's span says so, and the batch stops there.
        bus.subscribe::<common::PlayerEvent, _, _>("ledger", |event| async move {
            match event.payload {
                common::PlayerEvent::XpGained { .. } => Err::<(), BoxError>("full".into()),
                _ => Ok(()),
            }
        });
        let running = bus.start().expect("starts");
        assert!(
            running.wait_until_caught_up().await.is_err(),
            "stopped on xp"
        );
        running.shutdown().await;
        Delivery::start(DeliveryKind::Relay, "game-events", &second.events[0])
            .finish(DeliveryOutcome::Delivered);
        (first.events[0].clone(), second.events[0].clone())
    });

    let field = |fields: &SpanFields, name: &str| fields.get(name).cloned().unwrap_or_default();
    let batches = spans.named("handler_batch");
    assert_eq!(batches.len(), 1, "{batches:?}");
    assert_eq!(field(&batches[0], "handler"), "ledger");
    assert_eq!(field(&batches[0], "segment"), "0/1");
    assert_eq!(field(&batches[0], "from"), "1");
    assert_eq!(
        field(&batches[0], "events"),
        "1",
        "one handled before the failure"
    );
    assert_eq!(field(&batches[0], "outcome"), "failed");

    let events = spans.named("handle_event");
    assert_eq!(events.len(), 2, "{events:?}");
    assert_eq!(field(&events[0], "event_id"), first.event_id.to_string());
    assert_eq!(field(&events[0], "position"), first.position.to_string());
    assert_eq!(field(&events[0], "correlation_id"), request.to_string());
    assert_eq!(field(&events[0], "outcome"), "ok");
    assert_eq!(field(&events[0], "parent"), "handler_batch");
    assert_eq!(field(&events[1], "event_type"), "xp_gained");
    assert_eq!(field(&events[1], "outcome"), "failed");

    let deliveries = spans.named("delivery");
    assert_eq!(deliveries.len(), 1, "{deliveries:?}");
    assert_eq!(field(&deliveries[0], "kind"), "relay");
    assert_eq!(field(&deliveries[0], "destination"), "game-events");
    assert_eq!(
        field(&deliveries[0], "event_id"),
        second.event_id.to_string()
    );
    assert_eq!(field(&deliveries[0], "correlation_id"), request.to_string());
    assert_eq!(field(&deliveries[0], "outcome"), "delivered");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shared_bus_stops_through_a_reference_and_gives_its_claims_up() {
    let store = MemoryStore::new();
    publish_game_completed(&store, "m1", "a", 10).await;
    let seen = Arc::new(AtomicU64::new(0));
    let mut bus = EventBus::new(store.clone(), store.clone()).with_instance_id("a");
    counting(&mut bus, &seen);
    let shared = Arc::new(bus.start().expect("starts"));
    shared.wait_until_caught_up().await.expect("caught up");
    let owner = |status: &[eventful_core::HandlerStatus]| status[0].segments[0].owner.clone();
    assert_eq!(
        owner(&shared.status().await.expect("status")),
        Some("a".into())
    );

    let other_holder = shared.clone();
    shared.stop().await;
    assert_eq!(owner(&other_holder.status().await.expect("status")), None);
    publish_game_completed(&store, "m2", "a", 20).await;
    let head = store.head_position().await.expect("head");
    assert!(matches!(
        other_holder.wait_until(head).await,
        Err(eventful_core::BusError::Stopped(name)) if name == "count_games"
    ));
    assert_eq!(seen.load(Ordering::SeqCst), 1);
}
