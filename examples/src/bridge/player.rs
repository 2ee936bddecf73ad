//! The player service's process: its store, its bus (the registered policies, the
//! achievement stand-in, the relay of its own news), and a consumer whose inbox records the
//! session service's `game_completed` and `session_ended` in the player store.

use std::fmt;
use std::sync::Arc;

use eventful_admin::Admin;
use eventful_bus_amqp::{Consumer, Inbox, Relay};
use eventful_core::{
    BoxError, CheckpointStore, CommandContext, EventBus, EventStore, RecordedEvent, SnapshotStore,
    TypeName, Uuid,
};
use eventful_store_memory::MemoryStore;

use super::operations::{AdminSide, ready_note, stop_service};
use super::{BridgeOptions, PLAYER_SERVICE, amqp, open_mongo, stop_signal};
use crate::error::Error;
use crate::ids::PlayerId;
use crate::integration::GameCompletedEvent;
use crate::options::StoreChoice;
use crate::player::{Player, PlayerEvent, PlayerService};
use crate::simulation::{AchievementService, email_of, name_of};
use crate::store::shared;

/// The correlation id of the sign-ups, and the namespace of their idempotency keys: every
/// instance signs the same players up, and the first to do it records them.
const SIGN_UP: Uuid = Uuid::from_u128(0x5f1c_9a3e_2b7d_4c11_8e0a_6d4f_3b2a_1c09);

/// What an instance did, printed when it stops.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stopped {
    /// The instance.
    pub instance: String,
    /// Messages its consumer handled.
    pub handled: u64,
    /// Messages its consumer dead-lettered.
    pub dead_lettered: u64,
    /// Events its relay published (while it held the relay's claim).
    pub published: u64,
}

impl fmt::Display for Stopped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "STOPPED {PLAYER_SERVICE} instance={}: {} messages handled, {} dead-lettered, {} events published",
            self.instance, self.handled, self.dead_lettered, self.published
        )
    }
}

/// Runs one instance of the player service until SIGINT or SIGTERM.
pub async fn serve(options: BridgeOptions) -> Result<Stopped, Error> {
    match &options.store {
        StoreChoice::Memory => serve_on(MemoryStore::new(), options).await,
        StoreChoice::Mongo { uri } => {
            let store = open_mongo(uri, &options.database).await?;
            serve_on(store, options).await
        }
    }
}

/// Runs one instance of the player service on `store`.
pub async fn serve_on<S>(store: S, options: BridgeOptions) -> Result<Stopped, Error>
where
    S: EventStore + SnapshotStore + CheckpointStore + Clone + 'static,
{
    let admin_side = AdminSide::install(options.admin).await?;
    let amqp = amqp(&options, PLAYER_SERVICE);
    let service = PlayerService::new(store.clone());
    let relay = Relay::builder(amqp.clone())
        .publish::<PlayerEvent>()
        .connect()
        .await?;
    let mut bus = EventBus::new(store.clone(), store.clone())
        .with_instance_id(&options.instance)
        .with_lease(options.lease);
    service.add_handlers(&mut bus)?;
    bus.policy(AchievementService::new(shared(store.clone())));
    bus.handler(relay.clone());
    // Durable, so claimed: one instance tells each piece of news.
    bus.subscribe::<PlayerEvent, _, _>("tell_player_news", |event| async move {
        println!("{} v{}: {}", event.stream_id, event.version, event.payload);
        Ok::<(), BoxError>(())
    });
    bus.subscribe_named(
        ["session_ended"],
        "tell_sessions_ended",
        |event: RecordedEvent| async move {
            println!("{} ended", event.stream_id);
            Ok::<(), BoxError>(())
        },
    );
    let running = Arc::new(bus.start()?);

    for player_id in (1..=options.players as u64).map(PlayerId) {
        let key = Uuid::new_v5(&SIGN_UP, &player_id.0.to_be_bytes());
        let context = CommandContext::default()
            .with_correlation_id(SIGN_UP)
            .with_idempotency_key(key);
        service
            .sign_up(
                player_id,
                &name_of(player_id),
                &email_of(player_id),
                context,
            )
            .await?;
    }

    let mut consumer = Consumer::new(amqp, options.queue(PLAYER_SERVICE));
    consumer.handler(
        Inbox::new(store.clone())
            .receive::<GameCompletedEvent>()
            .receive_types([TypeName::from_static("session_ended")]),
    );
    let consuming = consumer.start().await?;
    let operations = admin_side.map(|side| {
        let admin = Admin::new(store.clone(), Arc::clone(&running)).with_aggregate::<Player>();
        side.serve(admin, [relay.health(), consuming.health()])
    });
    println!(
        "READY {PLAYER_SERVICE} instance={} queue={} keys={}{}",
        options.instance,
        consuming.queue(),
        consuming.routing_keys().join(","),
        ready_note(operations.as_ref())
    );

    let stopped = stop_signal().await;
    let stats = stop_service(operations, consuming, &relay, &running).await;
    stopped?;
    Ok(Stopped {
        instance: options.instance,
        handled: stats.handled,
        dead_lettered: stats.dead_lettered,
        published: relay.published(),
    })
}
