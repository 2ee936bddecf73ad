//! `#[register]`: handlers listed without building them, then built from resources and run
//! by `register_all` on a bus over the memory store. Besides the trait impls here, it lists
//! the `#[projection]` of `leaderboard.rs` and the `#[policy]` of `game_results.rs`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use eventful_core::prelude::*;
use eventful_core::registration::{HandlerKind, RegistrationError, registered_handlers};
use eventful_core::{EventType, Upcasters};
use eventful_store_memory::MemoryStore;
use parking_lot::Mutex;

use crate::player::{Player, PlayerCommand, PlayerEvent};

/// Total xp gained by every player.
#[derive(Default)]
struct XpLeaderboard(AtomicU64);

#[register]
#[async_trait]
impl Projection for XpLeaderboard {
    type Event = PlayerEvent;

    fn name(&self) -> &str {
        "xp_leaderboard"
    }

    async fn apply(&self, event: &RecordedEvent<PlayerEvent>) -> Result<(), BoxError> {
        if let PlayerEvent::XpGained { amount } = event.payload {
            self.0.fetch_add(amount, Ordering::Relaxed);
        }
        Ok(())
    }

    async fn reset(&self) -> Result<(), BoxError> {
        self.0.store(0, Ordering::Relaxed);
        Ok(())
    }
}

/// Shares what the handlers saw with the test.
#[derive(Default)]
struct Seen {
    leaderboard_total: AtomicU64,
    log: Mutex<Vec<String>>,
}

/// Grants an achievement at level 2: a policy that needs the player repository.
struct LevelTwoAchievement {
    players: Arc<Repository<Player, MemoryStore>>,
}

impl LevelTwoAchievement {
    fn new(resources: &Resources) -> Result<Self, RegistrationError> {
        Ok(Self {
            players: resources
                .get::<Arc<Repository<Player, MemoryStore>>>()?
                .clone(),
        })
    }
}

#[async_trait]
#[register(build = LevelTwoAchievement::new)]
impl Policy for LevelTwoAchievement {
    type Event = PlayerEvent;

    fn name(&self) -> &str {
        "level_two_achievement"
    }

    async fn react(
        &self,
        event: &RecordedEvent<PlayerEvent>,
        reaction: &Reaction,
    ) -> Result<(), BoxError> {
        if let PlayerEvent::LevelReached { level: 2 } = event.payload {
            let player_id = event.stream_id.trim_start_matches("player-").parse()?;
            let command = PlayerCommand::UnlockAchievement(player_id, "level_two".into());
            self.players
                .execute_with(command, reaction.command_context())
                .await?;
        }
        Ok(())
    }
}

/// Logs every event by stored name: a raw handler.
struct EventLog {
    seen: Arc<Seen>,
}

impl EventLog {
    fn new(resources: &Resources) -> Result<Self, RegistrationError> {
        Ok(Self {
            seen: resources.get::<Arc<Seen>>()?.clone(),
        })
    }
}

#[register(build = EventLog::new)]
#[async_trait]
impl EventHandler for EventLog {
    fn name(&self) -> &str {
        "event_log"
    }

    fn filter(&self) -> EventFilter {
        EventFilter::all()
    }

    async fn handle(&self, event: &RecordedEvent, _: &Upcasters) -> Result<(), BoxError> {
        self.seen.log.lock().push(event.event_type.to_string());
        if event.event_type == "xp_gained" {
            let amount = event.payload.to_value()?["amount"]
                .as_u64()
                .unwrap_or_default();
            self.seen
                .leaderboard_total
                .fetch_add(amount, Ordering::Relaxed);
        }
        Ok(())
    }
}

#[test]
fn registered_handlers_are_listed_without_being_built() {
    let listed: Vec<_> = registered_handlers()
        .into_iter()
        .map(|registration| {
            let rust_type = (registration.rust_type)();
            let short = rust_type.rsplit("::").next().unwrap_or(rust_type);
            (
                short,
                registration.kind,
                registration.event_types.map(<[EventType]>::len),
            )
        })
        .collect();
    assert_eq!(
        listed,
        [
            ("AwardGameResults", HandlerKind::Policy, Some(1)),
            ("Leaderboard", HandlerKind::Projection, Some(4)),
            ("EventLog", HandlerKind::EventHandler, None),
            ("LevelTwoAchievement", HandlerKind::Policy, Some(4)),
            ("XpLeaderboard", HandlerKind::Projection, Some(4)),
        ]
    );
    let described = registered_handlers()
        .iter()
        .map(ToString::to_string)
        .find(|line| line.contains("XpLeaderboard"))
        .expect("listed");
    assert!(
        described.ends_with(
            "XpLeaderboard, on player_created, xp_gained, level_reached, achievement_unlocked"
        ),
        "{described}"
    );
}

#[test]
fn a_missing_resource_is_named_and_nothing_is_added() {
    let store = MemoryStore::new();
    let players = Arc::new(Repository::<Player, _>::new(store.clone()));
    let mut bus = EventBus::new(store.clone(), store);
    let error = bus
        .register_all(&Resources::new().with(players))
        .err()
        .expect("resources are missing");
    let message = error.to_string();
    assert!(message.contains("EventLog"), "{message}");
    assert!(message.contains("registration::Seen>`"), "{message}");
    assert_eq!(bus.handlers().count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_all_wires_every_handler_into_a_bus() -> Result<(), Box<dyn std::error::Error>> {
    let store = MemoryStore::new();
    let players = Arc::new(Repository::<Player, _>::new(store.clone()));
    let seen = Arc::new(Seen::default());
    let resources = Resources::new().with(players.clone()).with(seen.clone());

    let mut bus = EventBus::new(store.clone(), store.clone());
    bus.register_all(&resources)?;
    let mut names: Vec<_> = bus.handlers().map(|(name, _)| name.to_owned()).collect();
    names.sort();
    assert_eq!(
        names,
        [
            "award_game_results",
            "event_log",
            "leaderboard",
            "level_two_achievement",
            "xp_leaderboard"
        ]
    );

    let running = bus.start()?;
    players
        .execute(PlayerCommand::Create {
            player_id: 7,
            name: "ana".into(),
            email: "ana@example.com".into(),
        })
        .await?;
    players
        .execute(PlayerCommand::GainXp {
            player_id: 7,
            amount: 1500,
        })
        .await?;
    // The policy's command appends more events: wait until they are handled too.
    for _ in 0..100 {
        running.wait_until_caught_up().await?;
        if players
            .load(&7)
            .await?
            .state
            .achievements
            .contains("level_two")
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    running.wait_until_caught_up().await?;
    running.shutdown().await;

    assert!(
        players
            .load(&7)
            .await?
            .state
            .achievements
            .contains("level_two")
    );
    assert_eq!(seen.leaderboard_total.load(Ordering::Relaxed), 1500);
    assert_eq!(
        *seen.log.lock(),
        [
            "player_created",
            "xp_gained",
            "level_reached",
            "achievement_unlocked"
        ]
    );
    Ok(())
}
