//! The log itself: every event once, in position order, in fixed-size chunks; each stream an
//! index of positions into it; type names interned.
//!
//! Positions are dense (event `p` is at index `p - 1`), so a read by position is an index,
//! a read of a stream follows its own index, and nothing grows with the store but the log.
//! Event ids are indexed too (`crate::ids`), so that finding an event by id, and holding every
//! id once in the store, costs the same whatever the size of the store.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use eventful_core::{
    AllBatch, AppendResult, Duplicate, EventFilter, ExpectedVersion, Metadata, NewEvent, Payload,
    Position, RecordedEvent, StoreError, StreamId, TypeName, Version,
};
use foldhash::fast::RandomState;
use uuid::Uuid;

use crate::chunks::Chunks;
use crate::ids::IdIndex;

/// How many events a read of the whole log looks at, at most, while holding the lock.
const SCAN_LIMIT: usize = 64 * 1024;

/// One stored event, without what its position and stream already say.
struct StoredEvent {
    event_id: Uuid,
    stream: u32,
    /// Index into [`Log::event_types`].
    event_type: u32,
    /// Index into [`Log::aggregate_types`].
    aggregate_type: u32,
    version: u32,
    /// Never decreases along the log.
    recorded_at: DateTime<Utc>,
    /// Boxed and absent when empty, which is most of the time.
    metadata: Option<Box<Metadata>>,
    payload: Payload,
}

struct StreamEntry {
    id: StreamId,
    /// `positions[v - 1]` is the position of version `v`.
    positions: Vec<u32>,
}

/// A table of names, each given a small number once.
struct Interner<K> {
    names: Vec<K>,
    numbers: HashMap<K, u32, RandomState>,
    /// The number given last: runs of one type are common, and a comparison is cheaper
    /// than a hash.
    last: u32,
}

impl<K> Default for Interner<K> {
    fn default() -> Self {
        Self {
            names: Vec::new(),
            numbers: HashMap::default(),
            last: 0,
        }
    }
}

impl<K: Clone + Eq + std::hash::Hash> Interner<K> {
    fn number(&mut self, name: &K) -> u32 {
        if self.names.get(self.last as usize) == Some(name) {
            return self.last;
        }
        if let Some(&number) = self.numbers.get(name) {
            self.last = number;
            return number;
        }
        let number = self.names.len() as u32;
        self.names.push(name.clone());
        self.numbers.insert(name.clone(), number);
        self.last = number;
        number
    }
}

pub(crate) struct Log {
    events: Chunks<StoredEvent>,
    /// The position of every event, found by its id.
    ids: IdIndex,
    streams: Vec<StreamEntry>,
    stream_numbers: HashMap<StreamId, u32, RandomState>,
    event_types: Interner<(TypeName, u32)>,
    aggregate_types: Interner<TypeName>,
    last_recorded_at: DateTime<Utc>,
}

impl Default for Log {
    fn default() -> Self {
        Self {
            events: Chunks::default(),
            ids: IdIndex::default(),
            streams: Vec::new(),
            stream_numbers: HashMap::default(),
            event_types: Interner::default(),
            aggregate_types: Interner::default(),
            last_recorded_at: DateTime::<Utc>::MIN_UTC,
        }
    }
}

impl Log {
    /// Position of the last event; 0 when empty.
    pub(crate) fn head(&self) -> u64 {
        self.events.len() as u64
    }

    fn stream(&self, stream_id: &str) -> Option<&StreamEntry> {
        let number = *self.stream_numbers.get(stream_id)?;
        Some(&self.streams[number as usize])
    }

    pub(crate) fn stream_version(&self, stream_id: &str) -> Version {
        self.stream(stream_id).map_or(Version::NONE, |stream| {
            Version::new(stream.positions.len() as u64)
        })
    }

    pub(crate) fn append(
        &mut self,
        stream_id: &StreamId,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
    ) -> Result<AppendResult, StoreError> {
        check_distinct_ids(stream_id, &events)?;
        let number = self.stream_numbers.get(stream_id.as_str()).copied();
        let actual = number.map_or(Version::NONE, |number| {
            Version::new(self.streams[number as usize].positions.len() as u64)
        });
        if let Some(stored) = self.already_stored(stream_id, number, expected, &events)? {
            return Ok(stored);
        }
        if !expected.accepts(actual) {
            return Err(StoreError::Conflict {
                stream_id: stream_id.clone(),
                expected,
                actual,
            });
        }
        let recorded_at = Utc::now().max(self.last_recorded_at);
        if events.is_empty() {
            return Ok(AppendResult {
                last_version: actual,
                first_position: Position::START,
                recorded_at,
                already_stored: false,
            });
        }
        let count = events.len() as u64;
        let first_position = self.head() + 1;
        if first_position + count > u64::from(u32::MAX) {
            return Err(StoreError::CapacityExceeded {
                what: "events",
                limit: u64::from(u32::MAX),
            });
        }
        self.last_recorded_at = recorded_at;
        let stream = match number {
            Some(number) => number,
            None => self.new_stream(stream_id),
        };
        for (offset, event) in (1u32..).zip(events) {
            let version = actual.get() as u32 + offset;
            self.push(stream, version, recorded_at, event);
        }
        Ok(AppendResult {
            last_version: Version::new(actual.get() + count),
            first_position: Position::new(first_position),
            recorded_at,
            already_stored: false,
        })
    }

    /// Stores one event at the next position.
    fn push(&mut self, stream: u32, version: u32, recorded_at: DateTime<Utc>, event: NewEvent) {
        let position = self.head() + 1;
        self.ids.insert(event.event_id, position as u32);
        let event_type = self
            .event_types
            .number(&(event.event_type, event.schema_version));
        let aggregate_type = self.aggregate_types.number(&event.aggregate_type);
        self.events.push(StoredEvent {
            event_id: event.event_id,
            stream,
            event_type,
            aggregate_type,
            version,
            recorded_at,
            metadata: (!event.metadata.is_empty()).then(|| Box::new(event.metadata)),
            payload: event.payload,
        });
        self.streams[stream as usize]
            .positions
            .push(position as u32);
    }

    /// Puts back an event read from a saved store, checking that it continues the log: the
    /// next position, the next version of its stream, a time no earlier than the last, an id
    /// not stored yet.
    pub(crate) fn restore(&mut self, event: RecordedEvent) -> Result<(), RestoreRefusal> {
        if event.position.get() != self.head() + 1 {
            return Err(RestoreRefusal::Position {
                expected: self.head() + 1,
                found: event.position.get(),
            });
        }
        if event.position.get() >= u64::from(u32::MAX) {
            return Err(RestoreRefusal::TooMany);
        }
        let actual = self.stream_version(&event.stream_id);
        if event.version != actual.next() {
            return Err(RestoreRefusal::Version {
                expected: actual.next().get(),
                found: event.version.get(),
            });
        }
        if event.recorded_at < self.last_recorded_at {
            return Err(RestoreRefusal::Time);
        }
        if let Some(stored) = self.position_of(event.event_id) {
            let stored = self.event(stored);
            return Err(RestoreRefusal::RepeatedId {
                stream_id: self.streams[stored.stream as usize].id.clone(),
                version: u64::from(stored.version),
            });
        }
        self.last_recorded_at = event.recorded_at;
        let stream = match self.stream_numbers.get(event.stream_id.as_str()) {
            Some(&number) => number,
            None => self.new_stream(&event.stream_id),
        };
        let version = event.version.get() as u32;
        let recorded_at = event.recorded_at;
        let new_event = NewEvent {
            event_id: event.event_id,
            aggregate_type: event.aggregate_type,
            event_type: event.event_type,
            schema_version: event.schema_version,
            metadata: event.metadata,
            payload: event.payload,
        };
        self.push(stream, version, recorded_at, new_event);
        Ok(())
    }

    /// Every event, in position order.
    pub(crate) fn all(&self) -> impl Iterator<Item = RecordedEvent> + '_ {
        (1..=self.head()).map(|position| self.recorded(position))
    }

    fn new_stream(&mut self, stream_id: &StreamId) -> u32 {
        let number = self.streams.len() as u32;
        self.streams.push(StreamEntry {
            id: stream_id.clone(),
            positions: Vec::new(),
        });
        self.stream_numbers.insert(stream_id.clone(), number);
        number
    }

    /// The position of the event with this id, if it is stored.
    fn position_of(&self, event_id: Uuid) -> Option<u64> {
        self.ids
            .find(event_id, |p| self.event(u64::from(p)).event_id)
            .map(u64::from)
    }

    /// An earlier append of exactly these events at the versions this one would give them
    /// (with `Any`, anywhere in the stream), if there was one; a typed refusal when any of
    /// their ids is stored anywhere else.
    fn already_stored(
        &self,
        stream_id: &StreamId,
        number: Option<u32>,
        expected: ExpectedVersion,
        events: &[NewEvent],
    ) -> Result<Option<AppendResult>, StoreError> {
        let Some(first) = events.first() else {
            return Ok(None);
        };
        let Some(first_position) = self.position_of(first.event_id) else {
            return match events[1..]
                .iter()
                .find_map(|event| self.position_of(event.event_id))
            {
                Some(position) => Err(self.duplicate(stream_id, position)),
                None => Ok(None),
            };
        };
        let stored = self.event(first_position);
        let first_version = u64::from(stored.version);
        let same_place = Some(stored.stream) == number
            && expected
                .version()
                .is_none_or(|expected| expected.get() + 1 == first_version);
        if !same_place {
            return Err(self.duplicate(stream_id, first_position));
        }
        let positions = &self.streams[stored.stream as usize].positions;
        for (offset, event) in events.iter().enumerate() {
            let stored_here = positions
                .get(first_version as usize - 1 + offset)
                .is_some_and(|&p| self.event(u64::from(p)).event_id == event.event_id);
            if !stored_here {
                return Err(match self.position_of(event.event_id) {
                    Some(position) => self.duplicate(stream_id, position),
                    None => self.duplicate(stream_id, first_position),
                });
            }
        }
        Ok(Some(AppendResult {
            last_version: Version::new(first_version + events.len() as u64 - 1),
            first_position: Position::new(first_position),
            recorded_at: stored.recorded_at,
            already_stored: true,
        }))
    }

    /// The refusal of an append to `stream_id` of an id already stored at `position`.
    fn duplicate(&self, stream_id: &StreamId, position: u64) -> StoreError {
        let stored = self.event(position);
        StoreError::DuplicateEvent {
            stream_id: stream_id.clone(),
            event_id: stored.event_id,
            duplicate: Duplicate::Stored {
                stream_id: self.streams[stored.stream as usize].id.clone(),
                version: Version::new(u64::from(stored.version)),
            },
        }
    }

    fn event(&self, position: u64) -> &StoredEvent {
        &self.events[(position - 1) as usize]
    }

    fn recorded(&self, position: u64) -> RecordedEvent {
        let event = self.event(position);
        let (event_type, schema_version) = &self.event_types.names[event.event_type as usize];
        RecordedEvent {
            event_id: event.event_id,
            stream_id: self.streams[event.stream as usize].id.clone(),
            aggregate_type: self.aggregate_types.names[event.aggregate_type as usize].clone(),
            event_type: event_type.clone(),
            schema_version: *schema_version,
            version: Version::new(u64::from(event.version)),
            position: Position::new(position),
            recorded_at: event.recorded_at,
            metadata: event.metadata.as_deref().cloned().unwrap_or_default(),
            payload: event.payload.clone(),
        }
    }

    pub(crate) fn read_stream(
        &self,
        stream_id: &str,
        from: Version,
        limit: usize,
    ) -> Vec<RecordedEvent> {
        let Some(stream) = self.stream(stream_id) else {
            return Vec::new();
        };
        let start = (from.get().max(1) - 1).min(stream.positions.len() as u64) as usize;
        let end = start.saturating_add(limit).min(stream.positions.len());
        stream.positions[start..end]
            .iter()
            .map(|&position| self.recorded(u64::from(position)))
            .collect()
    }

    pub(crate) fn find_event(&self, stream_id: &str, event_id: Uuid) -> Option<RecordedEvent> {
        let number = *self.stream_numbers.get(stream_id)?;
        let position = self.position_of(event_id)?;
        (self.event(position).stream == number).then(|| self.recorded(position))
    }

    pub(crate) fn read_all(&self, from: Position, filter: &EventFilter, limit: usize) -> AllBatch {
        let head = self.head();
        let mut next = from.get().max(1);
        if let Some(recorded_from) = filter.recorded_from {
            next = next.max(self.first_recorded_at_or_after(recorded_from));
        }
        let selection = Selection::new(self, filter);
        let recorded_before = filter.recorded_before;
        let mut events = Vec::new();
        let mut scanned = 0;
        while next <= head && events.len() < limit && scanned < SCAN_LIMIT {
            let event = self.event(next);
            if recorded_before.is_some_and(|before| event.recorded_at >= before) {
                // Times never decrease along the log: nothing later can match, now or ever.
                next = head + 1;
                break;
            }
            if selection.admits(event) {
                events.push(self.recorded(next));
            }
            next += 1;
            scanned += 1;
        }
        AllBatch {
            events,
            next: Position::new(next),
            end_of_log: next > head,
        }
    }

    /// The first position recorded at or after `time` (one past the head if none).
    fn first_recorded_at_or_after(&self, time: DateTime<Utc>) -> u64 {
        self.events
            .partition_point(|event| event.recorded_at < time) as u64
            + 1
    }
}

/// Why a saved event cannot continue the log.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RestoreRefusal {
    #[error("position {found} where {expected} comes next")]
    Position { expected: u64, found: u64 },
    #[error("version {found} where version {expected} of its stream comes next")]
    Version { expected: u64, found: u64 },
    #[error("recorded earlier than the event before it")]
    Time,
    #[error("more events than the memory store holds")]
    TooMany,
    #[error("its id is already stored in stream `{stream_id}` at version {version}")]
    RepeatedId { stream_id: StreamId, version: u64 },
}

/// A filter's type names resolved to interned numbers once per read.
struct Selection {
    event_types: Option<Vec<u32>>,
    aggregate_types: Option<Vec<u32>>,
}

impl Selection {
    fn new(log: &Log, filter: &EventFilter) -> Self {
        let event_types = (!filter.event_types.is_empty()).then(|| {
            log.event_types
                .names
                .iter()
                .enumerate()
                .filter(|(_, (name, _))| filter.event_types.contains(name))
                .map(|(number, _)| number as u32)
                .collect()
        });
        let aggregate_types = (!filter.aggregate_types.is_empty()).then(|| {
            log.aggregate_types
                .names
                .iter()
                .enumerate()
                .filter(|(_, name)| filter.aggregate_types.contains(name))
                .map(|(number, _)| number as u32)
                .collect()
        });
        Self {
            event_types,
            aggregate_types,
        }
    }

    fn admits(&self, event: &StoredEvent) -> bool {
        self.event_types
            .as_ref()
            .is_none_or(|types| types.contains(&event.event_type))
            && self
                .aggregate_types
                .as_ref()
                .is_none_or(|types| types.contains(&event.aggregate_type))
    }
}

/// Appends up to this long are checked for repeated ids pair by pair; longer ones with a set.
const PAIRWISE_LIMIT: usize = 16;

fn check_distinct_ids(stream_id: &StreamId, events: &[NewEvent]) -> Result<(), StoreError> {
    let repeated = if events.len() <= PAIRWISE_LIMIT {
        events
            .iter()
            .enumerate()
            .find(|(i, event)| events[..*i].iter().any(|e| e.event_id == event.event_id))
            .map(|(_, event)| event.event_id)
    } else {
        let mut seen = std::collections::HashSet::with_capacity(events.len());
        events
            .iter()
            .find(|event| !seen.insert(event.event_id))
            .map(|event| event.event_id)
    };
    match repeated {
        Some(event_id) => Err(StoreError::DuplicateEvent {
            stream_id: stream_id.clone(),
            event_id,
            duplicate: Duplicate::InAppend,
        }),
        None => Ok(()),
    }
}
