//! What almost every user of eventful imports: `use eventful_core::prelude::*;`.

pub use crate::aggregate::{Aggregate, Command};
pub use crate::bus::EventBus;
pub use crate::envelope::{ExpectedVersion, Metadata, Position, RecordedEvent, Version};
pub use crate::event::Event;
pub use crate::handler::EventHandler;
pub use crate::names::{StreamId, TypeName};
pub use crate::policy::{Policy, Reaction};
pub use crate::projection::Projection;
pub use crate::registration::Resources;
pub use crate::repository::{CommandContext, CommandError, Repository};
pub use crate::store::{EventFilter, EventStore};
pub use crate::streams::EventStoreExt;
pub use crate::upcast::BoxError;
pub use async_trait::async_trait;
#[cfg(feature = "derive")]
pub use eventful_derive::{Command, Event, aggregate, policy, projection, register};
