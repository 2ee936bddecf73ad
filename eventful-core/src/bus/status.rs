//! What a running handler reports: how far it got, and why it stopped if it did
//! ([`RunningBus::status`] gathers it).

use std::sync::Arc;

use uuid::Uuid;

use super::runner::SegmentState;
use super::running::RunningBus;
use super::settings::{HandlerSettings, Progress};
use crate::progress::Segment;

use crate::checkpoint::CheckpointStore;
use crate::envelope::{Position, Version};
use crate::names::{NameError, StreamId, TypeName};
use crate::store::{EventStore, StoreError};
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

/// Where one handler is, across every instance running it on this store.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct HandlerStatus {
    /// The handler's name.
    pub name: String,
    /// How it runs.
    pub settings: HandlerSettings,
    /// Every event up to here has been handled (the least of its segments' positions), and,
    /// for durable progress, saved: a restart in between delivers the events after the last
    /// save again.
    pub processed: Position,
    /// Events after `processed` stored now: how far behind the head of the log it is.
    pub lag: u64,
    /// Each segment: who works on it and where it is.
    pub segments: Vec<SegmentStatus>,
    /// Events it parked, waiting to be replayed or dismissed.
    pub parked: usize,
    /// It is paused in this instance ([`RunningBus::pause`](crate::RunningBus::pause)).
    pub paused: bool,
    /// Every one of its segments' tasks runs in this instance: false once one has ended — the
    /// bus was stopped, the handler stopped on an event (see `failure`) or halted (see
    /// `halted`), or its task panicked (neither is set then).
    pub running: bool,
    /// Why it stopped in this instance, if it did: the event it failed on.
    pub failure: Option<Arc<HandlerFailure>>,
    /// Why it cannot run at all in this instance, if it cannot: its progress is stored in
    /// another number of segments ([`BusError::SegmentsChanged`]), or a saved position is, or
    /// a save would be, past the head of the log
    /// ([`StoreError::PositionBeyondHead`], inside [`BusError::Store`]).
    pub halted: Option<Arc<BusError>>,
}

/// One segment of a handler.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SegmentStatus {
    /// The segment.
    pub segment: Segment,
    /// The instance holding it, if one does.
    pub owner: Option<String>,
    /// That instance is this one.
    pub mine: bool,
    /// Every event of the segment up to here has been handled.
    pub processed: Position,
    /// Events after `processed` stored now.
    pub lag: u64,
}

impl<S: EventStore + Clone + 'static> RunningBus<S> {
    /// Where each handler is: per segment, who holds it (this instance or another), its
    /// position and lag behind the head of the log; and how many events it parked.
    pub async fn status(&self) -> Result<Vec<HandlerStatus>, BusError> {
        let head = self.store.head_position().await?;
        let lag = |processed: Position| head.get().saturating_sub(processed.get());
        let mut statuses = Vec::with_capacity(self.subscribers.len());
        for subscriber in &self.subscribers {
            let name = subscriber.handler.name();
            let local: Vec<SegmentState> = subscriber
                .segments
                .iter()
                .map(|runner| runner.state.borrow().clone())
                .collect();
            let stored = match subscriber.settings.progress {
                Progress::Volatile => Vec::new(),
                Progress::Durable => self.checkpoints.segments(name).await?,
            };
            let segments: Vec<SegmentStatus> = subscriber
                .segments
                .iter()
                .zip(&local)
                .map(|(runner, state)| {
                    let record = stored
                        .iter()
                        .find(|record| record.segment == runner.segment);
                    let (owner, processed) = match (subscriber.settings.progress, record) {
                        (Progress::Volatile, _) => (Some(self.instance.clone()), state.processed),
                        (Progress::Durable, Some(record)) => {
                            (record.owner.clone(), record.position)
                        }
                        (Progress::Durable, None) => (None, Position::START),
                    };
                    SegmentStatus {
                        segment: runner.segment,
                        mine: state.holding,
                        owner,
                        processed,
                        lag: lag(processed),
                    }
                })
                .collect();
            let processed = segments
                .iter()
                .map(|segment| segment.processed)
                .min()
                .unwrap_or(Position::START);
            statuses.push(HandlerStatus {
                name: name.to_owned(),
                settings: subscriber.settings,
                processed,
                lag: lag(processed),
                parked: self.checkpoints.parked(name).await?.len(),
                paused: *subscriber.paused.borrow(),
                running: !local.iter().any(|state| state.ended),
                failure: local.iter().find_map(|state| state.failure.clone()),
                halted: local.iter().find_map(|state| state.halted.clone()),
                segments,
            });
        }
        Ok(statuses)
    }
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
    /// The store holds the handler's progress in another number of segments than it is
    /// configured with: reshape it first ([`reshape_segments`](crate::bus::reshape_segments)).
    #[error(
        "handler `{handler}` is configured with {configured} segments, but its progress is \
         stored in {stored}; reshape it with `eventful_core::bus::reshape_segments` first"
    )]
    SegmentsChanged {
        /// The handler's name.
        handler: String,
        /// Segments in the store.
        stored: u32,
        /// Segments configured.
        configured: u32,
    },
    /// A segment is still claimed by a live instance: stop every instance running the handler
    /// first.
    #[error("segment {segment} of handler `{handler}` is held by `{owner}`; stop it first")]
    SegmentInUse {
        /// The handler's name.
        handler: String,
        /// The segment.
        segment: Segment,
        /// Its owner.
        owner: String,
    },
    /// Segments cannot be merged while they are at different positions (each would then
    /// skip or repeat events of the others): let the handler catch up first.
    #[error(
        "handler `{handler}`: segments {first} and {second} are at positions {first_position} \
         and {second_position}; merge them once the handler has caught up"
    )]
    SegmentsApart {
        /// The handler's name.
        handler: String,
        /// One segment.
        first: Segment,
        /// Its position.
        first_position: Position,
        /// Another, to be merged with it.
        second: Segment,
        /// Its position.
        second_position: Position,
    },
    /// A number of segments that is neither a multiple nor a divisor of the current one:
    /// reshape in steps that are.
    #[error(
        "handler `{handler}` cannot go from {from} to {to} segments in one step: the new \
         number must be a multiple or a divisor of the old"
    )]
    SegmentCount {
        /// The handler's name.
        handler: String,
        /// Segments now.
        from: u32,
        /// Segments asked for.
        to: u32,
    },
    /// A handler cannot run in this instance: its progress is stored in another number of
    /// segments, or lies past the head of the log (see [`HandlerStatus::halted`]).
    #[error("handler `{handler}` cannot run: {reason}")]
    Halted {
        /// The handler's name.
        handler: String,
        /// Why.
        #[source]
        reason: Arc<BusError>,
    },
    /// No such event is parked by the handler.
    #[error("handler `{handler}` has no parked event {event_id}")]
    NotParked {
        /// The handler's name.
        handler: String,
        /// The event asked for.
        event_id: Uuid,
    },
    /// The store failed.
    #[error("{0}")]
    Store(#[from] StoreError),
}
