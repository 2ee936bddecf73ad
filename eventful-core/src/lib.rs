//! # eventful
//!
//! Event sourcing and CQRS for game backends. A game team writes an aggregate (a player, a
//! game session) that decides on commands and evolves from events; eventful gives it durable
//! event streams with optimistic concurrency, snapshots, read models, cross-service reactions
//! and replay.
//!
//! ```
//! use eventful_core::prelude::*;
//! use eventful_store_memory::MemoryStore;
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Command, Debug)]
//! #[command(aggregate = Player)]
//! enum PlayerCommand {
//!     GainXp { #[aggregate_id] player_id: u64, amount: u64 },
//! }
//!
//! #[derive(Event, Serialize, Deserialize, Debug, Clone, PartialEq)]
//! enum PlayerEvent {
//!     XpGained { amount: u64 },
//!     LeveledUp { from: u32, to: u32 },
//! }
//!
//! #[derive(Debug, thiserror::Error)]
//! enum PlayerError {
//!     #[error("xp gained must be positive")]
//!     NoXp,
//! }
//!
//! #[derive(Default)]
//! struct Player { xp: u64, level: u32 }
//!
//! #[aggregate(name = "player", id = u64, command = PlayerCommand, event = PlayerEvent, error = PlayerError)]
//! impl Player {
//!     #[handle(PlayerCommand::GainXp)]
//!     fn gain_xp(&self, amount: &u64) -> Result<Vec<PlayerEvent>, PlayerError> {
//!         if *amount == 0 {
//!             return Err(PlayerError::NoXp);
//!         }
//!         let mut events = vec![PlayerEvent::XpGained { amount: *amount }];
//!         let level = ((self.xp + amount) / 1000 + 1) as u32;
//!         if level > self.level.max(1) {
//!             events.push(PlayerEvent::LeveledUp { from: self.level.max(1), to: level });
//!         }
//!         Ok(events)
//!     }
//!
//!     #[apply(PlayerEvent::XpGained)]
//!     fn xp_gained(&mut self, amount: &u64) { self.xp += amount }
//!
//!     #[apply(PlayerEvent::LeveledUp)]
//!     fn leveled_up(&mut self, to: &u32) { self.level = *to }
//! }
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let players = Repository::<Player, _>::new(MemoryStore::new());
//! let committed = players.execute(PlayerCommand::GainXp { player_id: 7, amount: 1_250 }).await?;
//! assert_eq!(committed.events[0].stream_id.as_str(), "player-7");
//! assert_eq!(committed.events[1].payload, PlayerEvent::LeveledUp { from: 1, to: 2 });
//! assert_eq!(players.load(&7).await?.state.xp, 1_250);
//! # Ok(()) }
//! # tokio::runtime::Runtime::new().unwrap().block_on(demo()).unwrap();
//! ```
//!
//! ## Map
//!
//! | module | what lives there |
//! | --- | --- |
//! | [`aggregate`](mod@aggregate) | [`Aggregate`] (decide, evolve) and [`Command`] |
//! | [`event`] | [`Event`], decoding errors, the process-wide [`EventRegistry`] |
//! | [`envelope`] | [`NewEvent`], [`RecordedEvent`], [`Metadata`], [`Version`], [`Position`], [`ExpectedVersion`] |
//! | [`names`] | [`StreamId`] and [`TypeName`], checked once when made |
//! | [`payload`] | [`Payload`]: the serialized form stores keep, in a [`PayloadFormat`] (JSON or postcard) |
//! | [`store`] | the [`EventStore`] trait, [`EventFilter`], [`StoreError`] |
//! | [`streams`] | [`EventStoreExt`]: streaming reads and live subscriptions for every store |
//! | [`snapshot`], [`checkpoint`] | the [`SnapshotStore`] and [`CheckpointStore`] traits |
//! | [`progress`] | what a handler shared by several processes keeps: segments, claims, parked events |
//! | [`repository`] | the command path: [`Repository`], retries, snapshots, the aggregate cache |
//! | [`handler`], [`projection`](mod@projection), [`policy`](mod@policy) | consumers of the log: [`EventHandler`], [`Projection`], [`Policy`] |
//! | [`bus`] | the [`EventBus`] running handlers from their checkpoints |
//! | [`swappable`] | a read model rebuilt into a fresh copy while the old one serves reads |
//! | [`registration`] | handlers that register themselves with `#[register]`, wired by [`EventBus::register_all`] |
//! | [`upcast`] | [`Upcasters`]: reading old event shapes as new ones |
//! | [`telemetry`] | the `tracing` spans and `metrics` eventful records, and the helpers relays and gateways record theirs with |
//! | [`test_kit`] | given / when / then for aggregates, feeding projections by hand, and the commands a policy sends ([`test_kit::given_events`]) |
//! | `testing` | (feature `testing`) the store conformance suite and the game workload benchmark |

#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(clippy::unwrap_used)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod aggregate;
pub mod bus;
pub mod checkpoint;
mod codec;
mod dyn_form;
pub mod envelope;
pub mod event;
pub mod handler;
pub mod names;
pub mod payload;
pub mod policy;
pub mod prelude;
pub mod progress;
pub mod projection;
pub mod registration;
pub mod repository;
pub mod snapshot;
pub mod store;
pub mod streams;
pub mod swappable;
pub mod telemetry;
pub mod test_kit;
#[cfg(feature = "testing")]
pub mod testing;
pub mod upcast;

pub use crate::aggregate::{Aggregate, AggregateId, AggregateIdError, Command};
pub use crate::bus::{BusError, EventBus, HandlerFailure, HandlerStatus, RunningBus};
pub use crate::checkpoint::{CheckpointStore, DynCheckpointStore};
pub use crate::envelope::{
    Entries, EventRef, ExpectedVersion, Metadata, NewEvent, Position, RecordedEvent, Version,
};
pub use crate::event::{
    DecodeError, DecodeFailure, Event, EventRegistration, EventRegistry, EventType,
};
pub use crate::handler::EventHandler;
pub use crate::names::{NameError, StreamId, TypeName};
pub use crate::payload::{Payload, PayloadError, PayloadFormat, PayloadRef};
pub use crate::policy::{Policy, Reaction, SentCommand};
pub use crate::projection::Projection;
pub use crate::registration::{
    HandlerKind, HandlerRegistration, RegistrationError, Resources, registered_handlers,
};
pub use crate::repository::{
    CommandContext, CommandError, Committed, LoadError, Loaded, Repository, RetryPolicy,
};
pub use crate::snapshot::{DynSnapshotStore, Snapshot, SnapshotStore};
pub use crate::store::{
    AllBatch, AppendResult, Duplicate, DynEventStore, EventFilter, EventStore, EventVisitor,
    RecordLocation, StoreError, StreamVisitor,
};
pub use crate::streams::{EventStoreExt, EventStream};
pub use crate::upcast::{BoxError, UpcastError, Upcasters};
#[cfg(feature = "derive")]
#[cfg_attr(docsrs, doc(cfg(feature = "derive")))]
pub use eventful_derive::{Command, Event, aggregate, policy, projection, register};

/// Re-exported for generated code and for users who name these types.
#[doc(hidden)]
pub mod __private {
    pub use async_trait::async_trait;
    pub use inventory;
    pub use serde;
}

pub use async_trait::async_trait;
pub use uuid::Uuid;
