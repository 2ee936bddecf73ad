//! `#[projection]`: a leaderboard of the players, written as one method per event variant
//! (sync and async, returning nothing or a `Result`, with and without the envelope), fed by an
//! `EventBus` over the memory store, rebuilt through its `#[reset]` method, and registered
//! with `#[register]` written above the macro.

use std::collections::BTreeMap;

use eventful_core::prelude::*;
use eventful_core::projection::rebuild;
use eventful_core::{AggregateIdError, Upcasters};
use eventful_store_memory::MemoryStore;
use parking_lot::Mutex;

use crate::player::{Player, PlayerCommand, PlayerCreated, PlayerEvent, PlayerId};

/// One player's line on the board.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Entry {
    pub(crate) name: String,
    pub(crate) xp: u64,
    pub(crate) level: u32,
}

/// Every player by id, with their xp and level.
#[derive(Default)]
pub(crate) struct Leaderboard {
    entries: Mutex<BTreeMap<PlayerId, Entry>>,
}

impl Leaderboard {
    /// The board, best first.
    pub(crate) fn standings(&self) -> Vec<Entry> {
        let mut entries: Vec<Entry> = self.entries.lock().values().cloned().collect();
        entries.sort_by(|a, b| b.xp.cmp(&a.xp).then_with(|| a.name.cmp(&b.name)));
        entries
    }
}

#[register]
#[projection(name = "leaderboard", event = PlayerEvent)]
impl Leaderboard {
    /// A tuple variant: its one field, bound in order, and the envelope for the player's id.
    #[on(PlayerEvent::Created(..))]
    fn created(
        &self,
        created: &PlayerCreated,
        event: &RecordedEvent<PlayerEvent>,
    ) -> Result<(), AggregateIdError> {
        let player = event.aggregate_id::<Player>()?;
        self.entries.lock().insert(
            player,
            Entry {
                name: created.name.clone(),
                xp: 0,
                level: 1,
            },
        );
        Ok(())
    }

    /// Async, the envelope first, a field by name after it.
    #[on(PlayerEvent::XpGained)]
    async fn xp_gained(
        &self,
        event: &RecordedEvent<PlayerEvent>,
        amount: &u64,
    ) -> Result<(), BoxError> {
        let player = event.aggregate_id::<Player>()?;
        self.entries.lock().entry(player).or_default().xp += amount;
        Ok(())
    }

    /// Returns nothing; `level` borrowed from `LevelReached { level }`.
    #[on(PlayerEvent::LevelReached)]
    fn level_reached(&self, level: &u32, event: &RecordedEvent<PlayerEvent>) {
        if let Ok(player) = event.aggregate_id::<Player>() {
            self.entries.lock().entry(player).or_default().level = *level;
        }
    }

    // `AchievementUnlocked` has no method: a read model handles what it needs.

    #[reset]
    fn clear(&self) {
        self.entries.lock().clear();
    }
}

async fn create_and_level(
    players: &Repository<Player, MemoryStore>,
    player_id: PlayerId,
    name: &str,
    xp: u64,
) -> Result<(), Box<dyn std::error::Error>> {
    players
        .execute(PlayerCommand::Create {
            player_id,
            name: name.into(),
            email: format!("{name}@example.com"),
        })
        .await?;
    players
        .execute(PlayerCommand::GainXp {
            player_id,
            amount: xp,
        })
        .await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_projection_written_with_the_macro_runs_on_a_bus()
-> Result<(), Box<dyn std::error::Error>> {
    let store = MemoryStore::new();
    let players = Repository::<Player, _>::new(store.clone());
    let leaderboard = std::sync::Arc::new(Leaderboard::default());
    assert_eq!(leaderboard.name(), "leaderboard");

    let mut bus = EventBus::new(store.clone(), store.clone());
    bus.projection(leaderboard.clone());
    let running = bus.start()?;
    create_and_level(&players, 1, "ana", 2_500).await?;
    create_and_level(&players, 2, "bo", 700).await?;
    players
        .execute(PlayerCommand::UnlockAchievement(2, "first_blood".into()))
        .await?;
    running.wait_until_caught_up().await?;
    running.shutdown().await;

    let expected = [
        Entry {
            name: "ana".into(),
            xp: 2_500,
            level: 3,
        },
        Entry {
            name: "bo".into(),
            xp: 700,
            level: 1,
        },
    ];
    assert_eq!(leaderboard.standings(), expected);

    // `rebuild` clears it through the #[reset] method, then feeds every event again.
    rebuild(&store, &Upcasters::new(), &*leaderboard).await?;
    assert_eq!(leaderboard.standings(), expected);
    Ok(())
}

/// What an audit trail records, with a field named like the envelope parameter.
#[derive(Event, serde::Serialize, serde::Deserialize, Debug)]
enum AuditEvent {
    Logged { event: String },
}

#[derive(Default)]
struct AuditTrail(Mutex<Vec<String>>);

#[projection(name = "audit_trail", event = AuditEvent)]
impl AuditTrail {
    #[on(AuditEvent::Logged)]
    fn logged(&self, event: &String, envelope: &RecordedEvent<AuditEvent>) {
        self.0
            .lock()
            .push(format!("{}: {event}", envelope.stream_id));
    }
}

#[tokio::test]
async fn a_field_named_event_is_the_field_not_the_envelope() {
    let mut feed = eventful_core::test_kit::ProjectionFeed::new(AuditTrail::default());
    feed.feed(
        "audit-1",
        [AuditEvent::Logged {
            event: "login".into(),
        }],
    )
    .await;
    assert_eq!(*feed.projection().0.lock(), ["audit-1: login"]);
}
