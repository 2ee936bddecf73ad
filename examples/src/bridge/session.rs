//! The game-session service's process: its store, its bus (the service's policies, the game
//! servers, the relay of `session_ended` and `game_completed`), and a consumer whose inbox
//! records matchmaking's and the gateway's events. With `--play`, the stand-ins that drive
//! matches run here too, with a store and a relay of their own: their events reach the
//! service over the broker like anyone's.

use std::fmt;
use std::sync::Arc;

use eventful_admin::Admin;
use eventful_bus_amqp::{Consumer, Inbox, Relay};
use eventful_core::{BoxError, CheckpointStore, EventBus, EventStore, RecordedEvent, TypeName};
use eventful_store_memory::MemoryStore;

use super::arrivals::Arrivals;
use super::operations::{AdminSide, ready_note, stop_service};
use super::{BridgeOptions, GAME_SESSION, amqp, open_mongo, stop_signal};
use crate::error::Error;
use crate::game_session::{GameSession, GameSessionService};
use crate::ids::{PlayerId, SessionId};
use crate::integration::{GameCompletedEvent, MatchmakingCompletedEvent, PlayerDisconnectedEvent};
use crate::options::StoreChoice;
use crate::simulation::{GameServer, MatchSimulator};
use crate::store::shared;

/// What the process did, printed when it stops.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stopped {
    /// The instance.
    pub instance: String,
    /// Matches the driver played (0 without `--play`).
    pub played: usize,
    /// Messages its consumer handled.
    pub handled: u64,
    /// Events its relay published.
    pub published: u64,
}

impl fmt::Display for Stopped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "STOPPED {GAME_SESSION} instance={}: {} matches played, {} messages handled, {} events published",
            self.instance, self.played, self.handled, self.published
        )
    }
}

/// Runs the game-session service until SIGINT or SIGTERM (with `--play`, playing first).
pub async fn serve(options: BridgeOptions) -> Result<Stopped, Error> {
    match &options.store {
        StoreChoice::Memory => serve_on(MemoryStore::new(), options).await,
        StoreChoice::Mongo { uri } => {
            let store = open_mongo(uri, &options.database).await?;
            serve_on(store, options).await
        }
    }
}

/// Runs the game-session service on `store`.
pub async fn serve_on<S>(store: S, options: BridgeOptions) -> Result<Stopped, Error>
where
    S: EventStore + CheckpointStore + Clone + 'static,
{
    let admin_side = AdminSide::install(options.admin).await?;
    let amqp = amqp(&options, GAME_SESSION);
    let service = GameSessionService::new(store.clone());
    let game_server = GameServer::new(service.sessions().clone());
    let relay = Relay::builder(amqp.clone())
        .publish::<GameCompletedEvent>()
        .publish_types([TypeName::from_static("session_ended")])
        .connect()
        .await?;
    let mut bus = EventBus::new(store.clone(), store.clone())
        .with_instance_id(&options.instance)
        .with_lease(options.lease);
    service.add_handlers(&mut bus);
    game_server.subscribe(&mut bus);
    bus.handler(relay.clone());
    bus.subscribe_named(
        ["session_started", "player_left", "session_ended"],
        "tell_session_news",
        |event: RecordedEvent| async move {
            println!(
                "{} v{}: {}",
                event.stream_id, event.version, event.event_type
            );
            Ok::<(), BoxError>(())
        },
    );
    let running = Arc::new(bus.start()?);

    let mut consumer = Consumer::new(amqp.clone(), options.queue(GAME_SESSION));
    consumer.handler(
        Inbox::new(store.clone())
            .receive::<MatchmakingCompletedEvent>()
            .receive::<PlayerDisconnectedEvent>(),
    );
    let consuming = consumer.start().await?;
    let operations = admin_side.map(|side| {
        let admin = Admin::new(store.clone(), Arc::clone(&running)).with_aggregate::<GameSession>();
        side.serve(admin, [relay.health(), consuming.health()])
    });
    println!(
        "READY {GAME_SESSION} instance={} queue={} keys={}{}",
        options.instance,
        consuming.queue(),
        consuming.routing_keys().join(","),
        ready_note(operations.as_ref())
    );

    let played = if options.play {
        let stand_ins = MemoryStore::new();
        let stand_ins_relay = Relay::builder(amqp.with_connection_name("stand-ins"))
            .publish::<MatchmakingCompletedEvent>()
            .publish::<PlayerDisconnectedEvent>()
            .connect()
            .await?;
        let mut stand_ins_bus = EventBus::new(stand_ins.clone(), stand_ins.clone());
        stand_ins_bus.handler(stand_ins_relay);
        let stand_ins_bus = stand_ins_bus.start()?;
        let arrivals = Arrivals {
            stand_ins: &stand_ins_bus,
            sessions_store: store.clone(),
            sessions: &running,
        };
        let mut simulator = MatchSimulator::new(
            options.seed,
            shared(stand_ins),
            service.sessions().clone(),
            game_server,
        );
        let roster: Vec<_> = (1..=options.players as u64).map(PlayerId).collect();
        let matches = options.matches as u64;
        for number in 1..=matches {
            // All end but the last, which is still being played: as in `game_backend`.
            let plan = simulator.plan(SessionId(number), &roster, number < matches);
            simulator.play(&plan, &arrivals).await?;
            println!("MATCH {number} played");
        }
        println!("PLAYED {matches} matches");
        stand_ins_bus.shutdown().await;
        options.matches
    } else {
        0
    };

    let stopped = stop_signal().await;
    let stats = stop_service(operations, consuming, &relay, &running).await;
    stopped?;
    Ok(Stopped {
        instance: options.instance,
        played,
        handled: stats.handled,
        published: relay.published(),
    })
}
