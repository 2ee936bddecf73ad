//! What a running handler reports: how far it got, and why it stopped if it did.

use std::sync::Arc;

use crate::envelope::{Position, Version};
use crate::names::{NameError, StreamId, TypeName};
use crate::store::StoreError;
use crate::upcast::BoxError;

/// A handler gave up on an event after its retries. Its checkpoint stays before the event,
/// so restarting it (or the program) delivers the event again.
#[derive(Debug, thiserror::Error)]
#[error(
    "handler `{handler}` failed on `{event_type}` at version {version} of stream `{stream_id}` \
     (position {position}) after {attempts} attempts: {error}"
)]
pub struct HandlerFailure {
    /// The handler's name.
    pub handler: String,
    /// The stream of the event it failed on.
    pub stream_id: StreamId,
    /// That event's version.
    pub version: Version,
    /// That event's position.
    pub position: Position,
    /// That event's type.
    pub event_type: TypeName,
    /// Attempts made.
    pub attempts: u32,
    /// The handler's last error.
    #[source]
    pub error: BoxError,
}

/// Where one handler is.
#[derive(Debug, Clone)]
pub struct HandlerStatus {
    /// The handler's name.
    pub name: String,
    /// Every event up to here has been handled, and its checkpoint saved (unless the
    /// checkpoint store failed: then the save is tried again after the next batch, and a
    /// restart in between delivers those events again).
    pub processed: Position,
    /// Why it stopped, if it failed.
    pub failure: Option<Arc<HandlerFailure>>,
}

/// Why the bus could not start, or why waiting on it failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BusError {
    /// Two handlers share a name, and so would share a checkpoint.
    #[error("two handlers are named `{0}`; names key checkpoints and must be unique")]
    DuplicateName(String),
    /// A handler subscribes to an event type name that is not valid.
    #[error("handler `{handler}` subscribes to an invalid event type: {source}")]
    InvalidEventType {
        /// The handler's name.
        handler: String,
        /// What is wrong with the name.
        #[source]
        source: NameError,
    },
    /// A handler failed on an event.
    #[error(transparent)]
    HandlerFailed(Arc<HandlerFailure>),
    /// A handler's task ended without a failure report (the bus was shut down, or the handler
    /// panicked).
    #[error("handler `{0}` is not running")]
    Stopped(String),
    /// No handler has this name.
    #[error("no handler is named `{0}`")]
    UnknownHandler(String),
    /// A handler could not reset its read model before a rebuild.
    #[error("handler `{handler}` could not reset: {source}")]
    Reset {
        /// The handler's name.
        handler: String,
        /// Its error.
        #[source]
        source: BoxError,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}
