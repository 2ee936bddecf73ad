//! The player service as three instances on one store, each on a runtime of its own (on
//! MongoDB, each with a client of its own): one is killed mid-run without giving anything
//! up, one game result is poison. Every result is awarded exactly once, every event is
//! handled, the survivors take the dead instance's segments over, the poison result is
//! parked and awarded once when replayed after the fix, and each instance's read model
//! equals a rebuild from the log.

use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

use eventful_core::bus::{HandlerSettings, OnFailure};
use eventful_core::projection::rebuild;
use eventful_core::{
    CheckpointStore, CommandContext, EventBus, EventFilter, EventStore, EventStoreExt, Position,
    RecordedEvent, RunningBus, SnapshotStore, Upcasters, Uuid,
};
use eventful_examples::game_mode::GameMode;
use eventful_examples::ids::{PlayerId, SessionId};
use eventful_examples::integration::{GameCompletedEvent, topics};
use eventful_examples::player::PlayerService;
use eventful_examples::publish::Publisher;
use eventful_examples::read_models::Leaderboard;
use eventful_examples::store::shared;
use eventful_store_memory::MemoryStore;
use eventful_store_mongo::{MongoSettings, MongoStore};
use futures::TryStreamExt;
use tokio::runtime::Runtime;

const POLICY: &str = "award_game_results";
const SEGMENTS: u32 = 4;
const LEASE: Duration = Duration::from_millis(600);
const PLAYERS: u64 = 12;
const RESULTS: u64 = 90;
/// The player no instance knows until the fix.
const LATE_PLAYER: PlayerId = PlayerId(999);
const PATIENCE: Duration = Duration::from_secs(60);

/// One instance of the player service: its runtime, its bus, its in-memory read model.
struct Instance<S> {
    id: String,
    runtime: Runtime,
    bus: Option<RunningBus<S>>,
    leaderboard: Leaderboard,
}

fn start_instance<S, Connect, Connected>(id: &str, connect: Connect) -> Instance<S>
where
    S: EventStore + SnapshotStore + CheckpointStore + Clone + 'static,
    Connect: FnOnce() -> Connected,
    Connected: Future<Output = S>,
{
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a runtime");
    let leaderboard = Leaderboard::default();
    let bus = runtime.block_on(async {
        let store = connect().await;
        let players = PlayerService::new(store.clone());
        let mut bus = EventBus::new(store.clone(), store)
            .with_instance_id(id)
            .with_lease(LEASE);
        players.add_handlers(&mut bus).expect("handlers");
        // Spread over the three: at most two segments each, and room for two survivors to
        // hold all four.
        bus.configure(
            POLICY,
            HandlerSettings::durable()
                .with_segments(SEGMENTS)
                .with_max_claims(2)
                .with_on_failure(OnFailure::Park),
        );
        bus.projection(leaderboard.clone());
        bus.start().expect("the bus starts")
    });
    Instance {
        id: id.to_owned(),
        runtime,
        bus: Some(bus),
        leaderboard,
    }
}

impl<S: EventStore + Clone + 'static> Instance<S> {
    fn bus(&self) -> &RunningBus<S> {
        self.bus.as_ref().expect("running")
    }

    /// The segments of the policy this instance holds now.
    fn held(&self) -> u32 {
        self.runtime.block_on(async {
            let status = self.bus().status().await.expect("status");
            let policy = status
                .iter()
                .find(|status| status.name == POLICY)
                .expect("the policy runs");
            policy
                .segments
                .iter()
                .filter(|segment| segment.mine)
                .count() as u32
        })
    }

    /// Ends the instance as a crash would: its tasks are dropped where they are, nothing is
    /// released. The bus is handed back to be dropped after the test: dropping it now would
    /// tell a task still being torn down to stop, which releases its claims as a clean
    /// shutdown does.
    fn kill(mut self) -> Option<RunningBus<S>> {
        let bus = self.bus.take();
        self.runtime.shutdown_background();
        bus
    }

    fn shutdown(mut self) {
        if let Some(bus) = self.bus.take() {
            self.runtime.block_on(bus.shutdown());
        }
    }
}

fn result(player: PlayerId, session: u64) -> GameCompletedEvent {
    GameCompletedEvent {
        player_id: player,
        session_id: SessionId(session),
        mode: GameMode::Ranked,
        score: 100 + session * 7 % 500,
        placement: 1,
    }
}

/// Runs the whole scenario on `store` (the test's own handle) and three instances, each
/// connected by `connect`.
fn scenario<S, Connect, Connected>(main: &Runtime, store: S, connect: Connect)
where
    S: EventStore + SnapshotStore + CheckpointStore + Clone + 'static,
    Connect: Fn() -> Connected,
    Connected: Future<Output = S>,
{
    let service = PlayerService::new(store.clone());
    main.block_on(async {
        for id in (1..=PLAYERS).map(PlayerId) {
            service
                .sign_up(
                    id,
                    &format!("Player {}", id.0),
                    "p@example.com",
                    CommandContext::default(),
                )
                .await
                .expect("signed up");
        }
    });
    let instances: Vec<_> = ["first", "second", "third"]
        .into_iter()
        .map(|id| start_instance(id, &connect))
        .collect();
    let results = Publisher::new(shared(store.clone()), topics::GAME_RESULTS);
    // The last position published: on a store shared by processes, what a reader sees of the
    // log may stop below it for a while (the dead instance's unused positions stay open until
    // the gap timeout), so the survivors are waited for up to this, not up to a head read.
    let last_published = std::cell::Cell::new(Position::START);
    let publish = |session: u64, player: PlayerId| {
        let published = main
            .block_on(results.publish(
                &SessionId(session),
                &[result(player, session)],
                &CommandContext::default(),
            ))
            .expect("published");
        last_published.set(last_published.get().max(published.first_position));
        published.event_ids[0]
    };

    // The first third of the results, with every instance up; then the one holding the most
    // segments dies mid-run.
    for session in 1..=RESULTS / 3 {
        publish(session, PlayerId(1 + session % PLAYERS));
    }
    let mut instances = instances;
    // Every segment held before one instance dies (claims are taken as the instances start).
    eventually(main, "every segment is claimed", || async {
        let segments = store.segments(POLICY).await.expect("segments");
        segments.len() == SEGMENTS as usize && segments.iter().all(|s| s.owner.is_some())
    });
    let victim = (0..instances.len())
        .max_by_key(|&index| instances[index].held())
        .expect("three instances");
    assert!(instances[victim].held() > 0, "the victim holds segments");
    let victim = instances.remove(victim);
    let dead = victim.id.clone();
    let corpse = victim.kill();

    // The rest, with a poison result in the middle (a player no one has signed up yet).
    let mut poison = None;
    for session in RESULTS / 3 + 1..=RESULTS {
        if session == RESULTS / 2 {
            poison = Some(publish(session, LATE_PLAYER));
        }
        publish(session, PlayerId(1 + session % PLAYERS));
    }
    let poison = poison.expect("published");

    let survivor = &instances[0];
    let head = last_published.get();
    survivor
        .runtime
        .block_on(async { tokio::time::timeout(PATIENCE, survivor.bus().wait_until(head)).await })
        .expect("the survivors caught up within the patience")
        .expect("no handler stopped");

    // The survivors take every segment over once the dead instance's lease runs out (an
    // instance dying mid-run may save its last batch as it goes).
    eventually(main, "the survivors hold every segment", || async {
        let segments = store.segments(POLICY).await.expect("segments");
        segments
            .iter()
            .all(|s| s.owner.as_deref().is_some_and(|owner| owner != dead))
    });
    survivor
        .runtime
        .block_on(async { tokio::time::timeout(PATIENCE, survivor.bus().wait_until(head)).await })
        .expect("the survivors caught up within the patience")
        .expect("no handler stopped");
    let segments = main.block_on(store.segments(POLICY)).expect("segments");
    assert_eq!(segments.len(), SEGMENTS as usize);
    for segment in &segments {
        let owner = segment.owner.as_deref().expect("every segment is held");
        assert_ne!(
            owner, dead,
            "segment {} still held by the dead instance",
            segment.segment
        );
        assert!(
            segment.position >= head,
            "segment {} is behind",
            segment.segment
        );
    }

    // The poison result is parked, once, with its error; everything else was awarded once.
    let parked = main.block_on(store.parked(POLICY)).expect("parked");
    assert_eq!(parked.len(), 1, "{parked:?}");
    assert_eq!(parked[0].event_id, poison);
    assert!(
        parked[0].error.contains("there is no player 999"),
        "{}",
        parked[0].error
    );
    let awarded = awards(main, &store);
    let completed = events_of(main, &store, "game_completed");
    assert_eq!(completed.len() as u64, RESULTS + 1);
    for event in &completed {
        let expected = u32::from(event.event_id != poison);
        assert_eq!(
            awarded.get(&event.event_id).copied().unwrap_or(0),
            expected,
            "game_completed {} (position {}) awarded a wrong number of times",
            event.event_id,
            event.position
        );
    }

    // Fixed: the late player signs up, and the replay awards the parked result once.
    main.block_on(service.sign_up(
        LATE_PLAYER,
        "Late",
        "late@example.com",
        CommandContext::default(),
    ))
    .expect("signed up");
    survivor
        .runtime
        .block_on(survivor.bus().replay_parked(POLICY, poison))
        .expect("replayed");
    assert!(
        main.block_on(store.parked(POLICY))
            .expect("parked")
            .is_empty()
    );
    assert_eq!(awards(main, &store).get(&poison).copied(), Some(1));

    // Each survivor's read model is what a rebuild from the log gives.
    let head = main.block_on(store.head_position()).expect("head");
    for instance in &instances {
        instance
            .runtime
            .block_on(async {
                tokio::time::timeout(PATIENCE, instance.bus().wait_until(head)).await
            })
            .expect("caught up")
            .expect("no handler stopped");
        let rebuilt = Leaderboard::default();
        main.block_on(rebuild(&store, &Upcasters::new(), &rebuilt))
            .expect("rebuilt");
        assert_eq!(
            instance.leaderboard.standings(),
            rebuilt.standings(),
            "{}",
            instance.id
        );
        assert_eq!(instance.leaderboard.standings().len() as u64, PLAYERS + 1);
    }
    for instance in instances {
        instance.shutdown();
    }
    drop(corpse);
}

/// Waits, up to the patience, until `condition` holds.
fn eventually<Check, Checked>(main: &Runtime, what: &str, condition: Check)
where
    Check: Fn() -> Checked,
    Checked: Future<Output = bool>,
{
    let waited = main.block_on(async {
        tokio::time::timeout(PATIENCE, async {
            while !condition().await {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await
    });
    assert!(waited.is_ok(), "not within {PATIENCE:?}: {what}");
}

fn events_of<S: EventStore + Clone + 'static>(
    main: &Runtime,
    store: &S,
    event_type: &str,
) -> Vec<RecordedEvent> {
    main.block_on(
        store
            .read_all_events(Position::START, EventFilter::all())
            .try_collect::<Vec<_>>(),
    )
    .expect("the log reads")
    .into_iter()
    .filter(|event| event.event_type == event_type)
    .collect()
}

/// How many times each game result was awarded: the player events it caused that count a game.
fn awards<S: EventStore + Clone + 'static>(main: &Runtime, store: &S) -> HashMap<Uuid, u32> {
    let mut awarded = HashMap::new();
    for event in events_of(main, store, "stats_updated") {
        if let Some(cause) = event.metadata.causation_id {
            *awarded.entry(cause).or_insert(0) += 1;
        }
    }
    awarded
}

#[test]
fn three_instances_share_the_policy_through_a_crash_and_a_poison_event() {
    let main = Runtime::new().expect("a runtime");
    let store = MemoryStore::new();
    let shared_store = store.clone();
    scenario(&main, store, move || {
        let store = shared_store.clone();
        async move { store }
    });
}

#[test]
fn three_instances_on_mongodb_each_with_its_own_client() {
    let Ok(uri) = std::env::var("EVENTFUL_MONGO_URI") else {
        eprintln!(
            "skipped: EVENTFUL_MONGO_URI is not set, so the instances did not run on MongoDB"
        );
        return;
    };
    let database = format!("eventful_scaling_{}", Uuid::new_v4().simple());
    let settings = MongoSettings::new(uri).with_database(database);
    let main = Runtime::new().expect("a runtime");
    let store = main
        .block_on(MongoStore::connect(settings.clone()))
        .expect("MongoDB answers");
    scenario(&main, store.clone(), move || {
        let settings = settings.clone();
        async move {
            MongoStore::connect(settings)
                .await
                .expect("MongoDB answers")
        }
    });
    main.block_on(async { store.database().drop().await }).ok();
}
