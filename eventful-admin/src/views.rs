//! The JSON the admin API answers with: plain serde types, one per kind of answer, named in
//! docs/operations.md.

use chrono::{DateTime, Utc};
use eventful_core::bus::{OnFailure, Progress};
use eventful_core::progress::ParkedEvent;
use eventful_core::{HandlerStatus, RecordedEvent};
use serde::Serialize;
use uuid::Uuid;

/// One handler, as `GET /handlers` lists it.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct HandlerView {
    /// Its name.
    pub name: String,
    /// `volatile` (in this process) or `durable` (in the checkpoint store, shared).
    pub progress: &'static str,
    /// `stop` or `park`: what it does with an event it keeps failing on.
    pub on_failure: &'static str,
    /// Every event up to here is handled (the least of its segments).
    pub position: u64,
    /// Events stored after `position`.
    pub lag: u64,
    /// Events it parked.
    pub parked: usize,
    /// Paused in this instance.
    pub paused: bool,
    /// Every one of its segments' tasks runs in this instance (false once the bus stopped,
    /// or the handler stopped, halted or panicked).
    pub running: bool,
    /// Whether `POST /handlers/{name}/rebuild` can rebuild it into a fresh copy.
    pub rebuildable: bool,
    /// Why it stopped in this instance, if it did.
    pub failure: Option<String>,
    /// Why it cannot run in this instance, if it cannot.
    pub halted: Option<String>,
    /// Each segment.
    pub segments: Vec<SegmentView>,
}

/// One segment of a handler.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct SegmentView {
    /// `index/count`.
    pub segment: String,
    /// The instance holding it, if one does.
    pub owner: Option<String>,
    /// That instance is the one answering.
    pub mine: bool,
    /// Every event of the segment up to here is handled.
    pub position: u64,
    /// Events stored after it.
    pub lag: u64,
}

impl HandlerView {
    pub(crate) fn of(status: &HandlerStatus, rebuildable: bool) -> Self {
        Self {
            name: status.name.clone(),
            progress: match status.settings.progress {
                Progress::Volatile => "volatile",
                _ => "durable",
            },
            on_failure: match status.settings.on_failure {
                OnFailure::Stop => "stop",
                _ => "park",
            },
            position: status.processed.get(),
            lag: status.lag,
            parked: status.parked,
            paused: status.paused,
            running: status.running,
            rebuildable,
            failure: status.failure.as_ref().map(ToString::to_string),
            halted: status.halted.as_ref().map(ToString::to_string),
            segments: status
                .segments
                .iter()
                .map(|segment| SegmentView {
                    segment: segment.segment.to_string(),
                    owner: segment.owner.clone(),
                    mine: segment.mine,
                    position: segment.processed.get(),
                    lag: segment.lag,
                })
                .collect(),
        }
    }
}

/// One parked event.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct ParkedView {
    /// The event.
    pub event_id: Uuid,
    /// Its stream.
    pub stream_id: String,
    /// Its version there.
    pub version: u64,
    /// Its position in the log.
    pub position: u64,
    /// Its type.
    pub event_type: String,
    /// The handler's last error.
    pub error: String,
    /// Attempts made.
    pub attempts: u32,
    /// When it was parked, or last replayed without success.
    pub parked_at: DateTime<Utc>,
}

impl From<&ParkedEvent> for ParkedView {
    fn from(parked: &ParkedEvent) -> Self {
        Self {
            event_id: parked.event_id,
            stream_id: parked.stream_id.to_string(),
            version: parked.version.get(),
            position: parked.position.get(),
            event_type: parked.event_type.to_string(),
            error: parked.error.clone(),
            attempts: parked.attempts,
            parked_at: parked.parked_at,
        }
    }
}

/// A recorded event, its payload as stored.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct EventView {
    /// Its id.
    pub event_id: Uuid,
    /// Its stream.
    pub stream_id: String,
    /// Its aggregate type.
    pub aggregate_type: String,
    /// Its type.
    pub event_type: String,
    /// Its schema version.
    pub schema_version: u32,
    /// Its version in the stream.
    pub version: u64,
    /// Its position in the log.
    pub position: u64,
    /// When the store committed it.
    pub recorded_at: DateTime<Utc>,
    /// The correlation id.
    pub correlation_id: Option<Uuid>,
    /// The causation id.
    pub causation_id: Option<Uuid>,
    /// Free-form metadata.
    pub metadata: serde_json::Map<String, serde_json::Value>,
    /// The payload, as stored.
    pub payload: serde_json::Value,
}

impl EventView {
    pub(crate) fn of(event: &RecordedEvent) -> Result<Self, serde_json::Error> {
        Ok(Self {
            event_id: event.event_id,
            stream_id: event.stream_id.to_string(),
            aggregate_type: event.aggregate_type.to_string(),
            event_type: event.event_type.to_string(),
            schema_version: event.schema_version,
            version: event.version.get(),
            position: event.position.get(),
            recorded_at: event.recorded_at,
            correlation_id: event.metadata.correlation_id,
            causation_id: event.metadata.causation_id,
            metadata: match serde_json::to_value(&event.metadata.extra)? {
                serde_json::Value::Object(map) => map,
                _ => serde_json::Map::new(),
            },
            payload: serde_json::from_slice(event.payload.as_bytes())?,
        })
    }
}

/// `GET /streams/{stream_id}`: the events read, and where the stream is now.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct StreamView {
    /// The stream.
    pub stream_id: String,
    /// Its version now.
    pub current_version: u64,
    /// The events, in order.
    pub events: Vec<EventView>,
}

/// `GET /aggregates/{type}/{id}`: the state as of a version.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct AggregateView {
    /// The aggregate type.
    pub aggregate_type: String,
    /// Its stream.
    pub stream_id: String,
    /// The version the state is as of.
    pub version: u64,
    /// The stream's version now.
    pub current_version: u64,
    /// The state, serialized.
    pub state: serde_json::Value,
}
