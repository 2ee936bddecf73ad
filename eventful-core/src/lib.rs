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
//! # use eventful_core::{EventType, Payload, PayloadError, DecodeFailure};
//! # #[derive(serde::Serialize, serde::Deserialize, Debug, Clone, PartialEq)]
//! # pub enum PlayerEvent { XpGained { amount: u64 } }
//! # impl Event for PlayerEvent {
//! #     const EVENT_TYPES: &'static [EventType] = &[EventType::new("xp_gained", 1)];
//! #     fn event_type(&self) -> &'static EventType { &Self::EVENT_TYPES[0] }
//! #     fn encode(&self) -> Result<Payload, PayloadError> { Payload::encode_variant_content(self) }
//! #     fn decode(_: &str, p: &Payload) -> Result<Self, DecodeFailure> { Ok(p.decode_variant(0)?) }
//! # }
//! # pub struct GainXp { pub player_id: u64, pub amount: u64 }
//! # impl Command for GainXp {
//! #     type Aggregate = Player;
//! #     fn aggregate_id(&self) -> &u64 { &self.player_id }
//! # }
//! # #[derive(Debug, thiserror::Error)] #[error("no xp")] pub struct NoXp;
//!
//! #[derive(Default)]
//! struct Player { xp: u64 }
//!
//! impl Aggregate for Player {
//!     const TYPE: TypeName = TypeName::from_static("player");
//!     type Id = u64;
//!     type Command = GainXp;
//!     type Event = PlayerEvent;
//!     type Error = NoXp;
//!
//!     fn handle(&self, command: &GainXp) -> Result<Vec<PlayerEvent>, NoXp> {
//!         if command.amount == 0 { return Err(NoXp) }
//!         Ok(vec![PlayerEvent::XpGained { amount: command.amount }])
//!     }
//!
//!     fn apply(&mut self, event: &PlayerEvent) {
//!         match event { PlayerEvent::XpGained { amount } => self.xp += amount }
//!     }
//! }
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let players = Repository::<Player, _>::new(MemoryStore::new());
//! let committed = players.execute(GainXp { player_id: 7, amount: 250 }).await?;
//! assert_eq!(committed.events[0].stream_id.as_str(), "player-7");
//! assert_eq!(players.load(&7).await?.state.xp, 250);
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
//! | [`payload`] | [`Payload`]: the serialized (JSON) form stores keep |
//! | [`store`] | the [`EventStore`] trait, [`EventFilter`], [`StoreError`] |
//! | [`streams`] | [`EventStoreExt`]: streaming reads and live subscriptions for every store |
//! | [`snapshot`], [`checkpoint`] | the [`SnapshotStore`] and [`CheckpointStore`] traits |
//! | [`repository`] | the command path: [`Repository`], retries, snapshots, the aggregate cache |
//! | [`handler`], [`projection`], [`policy`] | consumers of the log: [`EventHandler`], [`Projection`], [`Policy`] |
//! | [`bus`] | the [`EventBus`] running handlers from their checkpoints |
//! | [`registration`] | handlers that register themselves with `#[register]`, wired by [`EventBus::register_all`] |
//! | [`upcast`] | [`Upcasters`]: reading old event shapes as new ones |
//! | [`test_kit`] | given / when / then for aggregates, and feeding projections by hand |
//! | `testing` | (feature `testing`) the store conformance suite and the game workload benchmark |

#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(clippy::unwrap_used)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod aggregate;
pub mod bus;
pub mod checkpoint;
mod codec;
pub mod envelope;
pub mod event;
pub mod handler;
pub mod names;
pub mod payload;
pub mod policy;
pub mod prelude;
pub mod projection;
pub mod registration;
pub mod repository;
pub mod snapshot;
pub mod store;
pub mod streams;
pub mod test_kit;
#[cfg(feature = "testing")]
pub mod testing;
pub mod upcast;

pub use crate::aggregate::{Aggregate, AggregateId, Command};
pub use crate::bus::{BusError, EventBus, HandlerFailure, HandlerStatus, RunningBus};
pub use crate::checkpoint::CheckpointStore;
pub use crate::envelope::{ExpectedVersion, Metadata, NewEvent, Position, RecordedEvent, Version};
pub use crate::event::{
    DecodeError, DecodeFailure, Event, EventRegistration, EventRegistry, EventType,
};
pub use crate::handler::EventHandler;
pub use crate::names::{NameError, StreamId, TypeName};
pub use crate::payload::{Payload, PayloadError};
pub use crate::policy::{Policy, Reaction};
pub use crate::projection::Projection;
pub use crate::registration::{
    HandlerKind, HandlerRegistration, RegistrationError, Resources, registered_handlers,
};
pub use crate::repository::{
    CommandContext, CommandError, Committed, LoadError, Loaded, Repository, RetryPolicy,
};
pub use crate::snapshot::{Snapshot, SnapshotStore};
pub use crate::store::{AllBatch, AppendResult, EventFilter, EventStore, StoreError};
pub use crate::streams::{EventStoreExt, EventStream};
pub use crate::upcast::{BoxError, UpcastError, Upcasters};
#[cfg(feature = "derive")]
#[cfg_attr(docsrs, doc(cfg(feature = "derive")))]
pub use eventful_derive::{Command, Event, aggregate, register};

/// Re-exported for generated code and for users who name these types.
#[doc(hidden)]
pub mod __private {
    pub use async_trait::async_trait;
    pub use inventory;
    pub use serde;
}

pub use async_trait::async_trait;
pub use uuid::Uuid;
