//! The log itself: every event once, in position order, in fixed-size chunks; each stream an
//! index of positions into it; kinds of event (aggregate type, event type, schema version,
//! payload format) interned; payload bytes and metadata in tables of their own.
//!
//! Positions are dense (event `p` is at index `p - 1`), so a read by position is an index,
//! a read of a stream follows its own index, and nothing grows with the store but the log.
//! Event ids are indexed too (`crate::ids`), so that finding an event by id, and holding every
//! id once in the store, costs the same whatever the size of the store.
//!
//! An event is 56 bytes here, besides its payload's bytes (`crate::payloads`): its id, time,
//! stream, version, kind, metadata (a number, 0 for none, which is most of the time) and where
//! its payload's bytes are.

use std::collections::HashMap;

use bytes::{Bytes, BytesMut};
use chrono::{DateTime, Utc};
use eventful_core::{
    AllBatch, AppendResult, Duplicate, EventFilter, EventRef, EventVisitor, ExpectedVersion,
    Metadata, NewEvent, Payload, PayloadFormat, PayloadRef, Position, RecordedEvent, StoreError,
    StreamId, TypeName, Version,
};
use foldhash::fast::RandomState;
use uuid::Uuid;

use crate::chunks::{self, Chunks, Grown};
use crate::ids::IdIndex;
use crate::payloads::{self, PayloadBytes, Slot};
use crate::stream_table::{StreamEntry, StreamTable};

/// How many events a read of the whole log looks at, at most, while holding the lock.
const SCAN_LIMIT: usize = 64 * 1024;

/// The metadata of the events that carry none: most of them.
static NO_METADATA: Metadata = Metadata {
    correlation_id: None,
    causation_id: None,
    extra: eventful_core::Entries::new(),
};

/// One stored event, without what its position and stream already say.
#[derive(Default)]
struct StoredEvent {
    event_id: Uuid,
    /// Never decreases along the log.
    recorded_at: DateTime<Utc>,
    stream: u32,
    version: u32,
    /// Index into [`Log::kinds`].
    kind: u32,
    /// 0 for none; else one more than the index into [`Log::metadata`].
    metadata: u32,
    payload: Slot,
}

/// Which of the log's chunks a caller should make ahead ([`Log::wanted`]).
#[must_use]
pub(crate) struct Wanted {
    events: bool,
    payloads: bool,
}

impl Wanted {
    const NOTHING: Self = Self {
        events: false,
        payloads: false,
    };

    pub(crate) fn any(&self) -> bool {
        self.events || self.payloads
    }

    /// The chunks wanted, made; slow (their pages are touched): without the log's lock.
    pub(crate) fn make(&self) -> Made {
        Made {
            events: self.events.then(chunks::made_chunk),
            payloads: self.payloads.then(payloads::made_chunk),
        }
    }
}

/// Chunks made ahead for the log ([`Wanted::make`]).
pub(crate) struct Made {
    events: Option<Vec<StoredEvent>>,
    payloads: Option<Vec<u8>>,
}

/// What events of one kind share: written by one aggregate type as one event type, at one
/// schema version, in one payload format.
#[derive(Clone, PartialEq, Eq, Hash)]
struct Kind {
    aggregate_type: TypeName,
    event_type: TypeName,
    schema_version: u32,
    format: PayloadFormat,
}

/// A table of names, each given a small number once.
struct Interner<K> {
    names: Vec<K>,
    numbers: HashMap<K, u32, RandomState>,
    /// The number given last, once there are more names than are searched one by one: runs
    /// of one type are common, and a comparison is cheaper than a hash.
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

/// Up to this many names are searched one by one, which is cheaper than hashing a key, and
/// writes nothing: two tasks appending events of different types would otherwise move the
/// line of `last` between their cores at every other append.
const SCANNED_NAMES: usize = 8;

impl<K: Clone + Eq + std::hash::Hash> Interner<K> {
    /// The number of the name for which `is` holds, given it now (made by `make`) if there is
    /// none yet.
    fn number_of(&mut self, is: impl Fn(&K) -> bool, make: impl FnOnce() -> K) -> u32 {
        if self.names.len() <= SCANNED_NAMES {
            if let Some(number) = self.names.iter().position(&is) {
                return number as u32;
            }
        } else if self.names.get(self.last as usize).is_some_and(&is) {
            return self.last;
        }
        let name = make();
        let number = match self.numbers.get(&name) {
            Some(&number) => number,
            None => {
                let number = self.names.len() as u32;
                self.names.push(name.clone());
                self.numbers.insert(name, number);
                number
            }
        };
        self.last = number;
        number
    }
}

/// The fields every append writes come first, on the lock's cache line (see the store's
/// `Inner`): appends by two tasks move one line between their cores for them, not several.
#[repr(C)]
pub(crate) struct Log {
    /// How many events `events` holds.
    len: u32,
    last_recorded_at: DateTime<Utc>,
    /// The position of every event, found by its id.
    ids: IdIndex,
    events: Chunks<StoredEvent>,
    streams: StreamTable,
    kinds: Interner<Kind>,
    payloads: PayloadBytes,
    /// The metadata of the events that carry some.
    metadata: Grown<Metadata>,
}

impl Default for Log {
    fn default() -> Self {
        Self {
            len: 0,
            events: Chunks::default(),
            ids: IdIndex::default(),
            streams: StreamTable::default(),
            kinds: Interner::default(),
            payloads: PayloadBytes::default(),
            metadata: Grown::default(),
            last_recorded_at: DateTime::<Utc>::MIN_UTC,
        }
    }
}

impl Log {
    /// How far into the log the fields every append writes reach.
    #[cfg(test)]
    pub(crate) const HOT_END: usize = std::mem::offset_of!(Log, ids) + IdIndex::HOT_END;

    /// Position of the last event; 0 when empty.
    pub(crate) fn head(&self) -> u64 {
        u64::from(self.len)
    }

    fn stream(&self, stream_id: &str) -> Option<&StreamEntry> {
        Some(&self.streams[self.streams.number_of(stream_id)?])
    }

    pub(crate) fn stream_version(&self, stream_id: &str) -> Version {
        self.stream(stream_id).map_or(Version::NONE, |stream| {
            Version::new(stream.positions.len() as u64)
        })
    }

    /// Appends copies of `events`, recorded at `now` or at the time of the event before,
    /// whichever is later.
    pub(crate) fn append(
        &mut self,
        stream_id: &StreamId,
        expected: ExpectedVersion,
        events: &[NewEvent],
        now: DateTime<Utc>,
    ) -> Result<AppendResult, StoreError> {
        check_distinct_ids(stream_id, events)?;
        let number = self.streams.number_of(stream_id.as_str());
        let actual = number.map_or(Version::NONE, |number| {
            Version::new(self.streams[number].positions.len() as u64)
        });
        if let Some(stored) = self.already_stored(stream_id, number, expected, events)? {
            return Ok(stored);
        }
        if !expected.accepts(actual) {
            return Err(StoreError::Conflict {
                stream_id: stream_id.clone(),
                expected,
                actual,
            });
        }
        if events
            .iter()
            .any(|event| u32::try_from(event.payload.len()).is_err())
        {
            return Err(StoreError::CapacityExceeded {
                what: "bytes in one payload",
                limit: u64::from(u32::MAX),
            });
        }
        let recorded_at = now.max(self.last_recorded_at);
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
        for (offset, event) in (1u32..).zip(events.iter()) {
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

    /// Stores one event at the next position. Its payload's size was checked.
    fn push(&mut self, stream: u32, version: u32, recorded_at: DateTime<Utc>, event: &NewEvent) {
        let position = self.head() + 1;
        self.ids.insert(event.event_id, position as u32);
        let kind = self.kinds.number_of(
            |kind| {
                kind.event_type == event.event_type
                    && kind.aggregate_type == event.aggregate_type
                    && kind.schema_version == event.schema_version
                    && kind.format == event.payload.format()
            },
            || Kind {
                aggregate_type: event.aggregate_type.clone(),
                event_type: event.event_type.clone(),
                schema_version: event.schema_version,
                format: event.payload.format(),
            },
        );
        let metadata = if event.metadata.is_empty() {
            0
        } else {
            self.metadata.push(event.metadata.clone());
            // At most one entry an event, and the log holds fewer than `u32::MAX` events.
            self.metadata.len() as u32
        };
        let payload = match self.payloads.push(event.payload.as_bytes()) {
            Ok(slot) => slot,
            Err(_) => unreachable!("appends refuse payloads over `u32::MAX` bytes first"),
        };
        self.events.push_at(
            self.len as usize,
            StoredEvent {
                event_id: event.event_id,
                recorded_at,
                stream,
                version,
                kind,
                metadata,
                payload,
            },
        );
        self.len += 1;
        self.streams.get_mut(stream).positions.push(position as u32);
    }

    /// The chunks the log will soon begin, for the caller that just appended `count` events
    /// to make once it has let go of the lock ([`Wanted::make`]) and give back
    /// ([`Log::give`]). Looked at once every [`chunks::STEP`] events, as cheap as can be the
    /// other times.
    pub(crate) fn wanted(&mut self, count: usize) -> Wanted {
        if self.len as usize % chunks::STEP >= count {
            return Wanted::NOTHING;
        }
        Wanted {
            events: self.events.wants_next(self.len as usize),
            payloads: self.payloads.wants_next(),
        }
    }

    pub(crate) fn give(&mut self, made: Made) {
        if let Some(events) = made.events {
            self.events.give_next(events);
        }
        if let Some(payloads) = made.payloads {
            self.payloads.give_next(payloads);
        }
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
        if u32::try_from(event.payload.len()).is_err() {
            return Err(RestoreRefusal::TooLarge);
        }
        if let Some(stored) = self.position_of(event.event_id) {
            let stored = self.event(stored);
            return Err(RestoreRefusal::RepeatedId {
                stream_id: self.streams[stored.stream].id.clone(),
                version: u64::from(stored.version),
            });
        }
        self.last_recorded_at = event.recorded_at;
        let stream = match self.streams.number_of(event.stream_id.as_str()) {
            Some(number) => number,
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
        self.push(stream, version, recorded_at, &new_event);
        Ok(())
    }

    /// Whether every payload the log holds is JSON.
    pub(crate) fn payloads_all_json(&self) -> bool {
        self.kinds
            .names
            .iter()
            .all(|kind| kind.format == PayloadFormat::Json)
    }

    /// Every event, in position order, borrowed.
    pub(crate) fn all(&self) -> impl Iterator<Item = EventRef<'_>> + '_ {
        (1..=self.head()).map(|position| self.event_ref(position))
    }

    fn new_stream(&mut self, stream_id: &StreamId) -> u32 {
        self.streams.insert(stream_id.clone())
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
        let positions = &self.streams[stored.stream].positions;
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
                stream_id: self.streams[stored.stream].id.clone(),
                version: Version::new(u64::from(stored.version)),
            },
        }
    }

    fn event(&self, position: u64) -> &StoredEvent {
        &self.events[(position - 1) as usize]
    }

    fn kind(&self, event: &StoredEvent) -> &Kind {
        &self.kinds.names[event.kind as usize]
    }

    fn metadata(&self, event: &StoredEvent) -> &Metadata {
        match event.metadata {
            0 => &NO_METADATA,
            number => &self.metadata[number as usize - 1],
        }
    }

    /// The event at `position`, borrowed where it is kept.
    fn event_ref(&self, position: u64) -> EventRef<'_> {
        let event = self.event(position);
        self.event_ref_in(position, &self.streams[event.stream].id)
    }

    /// [`Log::event_ref`] of an event known to be in stream `stream_id`: a stream's reader
    /// looks its entry up once, not once an event. Inlined into the reading loop, where the
    /// event is built in place of its call.
    #[inline(always)]
    fn event_ref_in<'a>(&'a self, position: u64, stream_id: &'a StreamId) -> EventRef<'a> {
        let event = self.event(position);
        let kind = self.kind(event);
        EventRef {
            event_id: event.event_id,
            stream_id,
            aggregate_type: &kind.aggregate_type,
            event_type: &kind.event_type,
            schema_version: kind.schema_version,
            version: Version::new(u64::from(event.version)),
            position: Position::new(position),
            recorded_at: event.recorded_at,
            metadata: self.metadata(event),
            payload: PayloadRef::new(self.payloads.get(&event.payload), kind.format),
        }
    }

    /// The events at `positions`, owned: their payloads copied into one buffer they share.
    fn recorded(&self, positions: impl IntoIterator<Item = u64>) -> Vec<RecordedEvent> {
        let mut bytes = BytesMut::new();
        let mut ends = Vec::new();
        let mut events: Vec<RecordedEvent> = positions
            .into_iter()
            .map(|position| {
                let event = self.event_ref(position);
                bytes.extend_from_slice(event.payload.as_bytes());
                ends.push(bytes.len());
                // Each payload is filled in below, once every one is in the buffer.
                event.to_recorded_with(Payload::from_kept(Bytes::new(), event.payload.format()))
            })
            .collect();
        let bytes = bytes.freeze();
        let mut start = 0;
        for (event, end) in events.iter_mut().zip(ends) {
            event.payload = Payload::from_kept(bytes.slice(start..end), event.payload.format());
            start = end;
        }
        events
    }

    /// The stream `stream_id` as stored, and the positions of its events from version `from`,
    /// at most `limit` of them; `None` if it does not exist.
    fn stream_positions(
        &self,
        stream_id: &str,
        from: Version,
        limit: usize,
    ) -> Option<(&StreamId, &[u32])> {
        let stream = self.stream(stream_id)?;
        let start = (from.get().max(1) - 1).min(stream.positions.len() as u64) as usize;
        let end = start.saturating_add(limit).min(stream.positions.len());
        Some((&stream.id, &stream.positions[start..end]))
    }

    pub(crate) fn read_stream(
        &self,
        stream_id: &str,
        from: Version,
        limit: usize,
    ) -> Vec<RecordedEvent> {
        let positions = self
            .stream_positions(stream_id, from, limit)
            .map_or(&[][..], |(_, positions)| positions);
        self.recorded(positions.iter().map(|&position| u64::from(position)))
    }

    /// Hands the events [`Log::read_stream`] would return to `visit`, in place.
    pub(crate) fn visit_stream<F: EventVisitor + ?Sized>(
        &self,
        stream_id: &str,
        from: Version,
        limit: usize,
        visit: &mut F,
    ) -> usize {
        let Some((stream_id, positions)) = self.stream_positions(stream_id, from, limit) else {
            return 0;
        };
        let mut visited = 0;
        for &position in positions {
            visited += 1;
            if visit(self.event_ref_in(u64::from(position), stream_id)).is_break() {
                break;
            }
        }
        visited
    }

    pub(crate) fn find_event(&self, stream_id: &str, event_id: Uuid) -> Option<RecordedEvent> {
        let number = self.streams.number_of(stream_id)?;
        let position = self.position_of(event_id)?;
        (self.event(position).stream == number)
            .then(|| self.recorded([position]).pop())
            .flatten()
    }

    pub(crate) fn read_all(&self, from: Position, filter: &EventFilter, limit: usize) -> AllBatch {
        let head = self.head();
        let mut next = from.get().max(1);
        if let Some(recorded_from) = filter.recorded_from {
            next = next.max(self.first_recorded_at_or_after(recorded_from));
        }
        let selection = Selection::new(self, filter);
        let recorded_before = filter.recorded_before;
        let mut positions = Vec::new();
        let mut scanned = 0;
        while next <= head && positions.len() < limit && scanned < SCAN_LIMIT {
            let event = self.event(next);
            if recorded_before.is_some_and(|before| event.recorded_at >= before) {
                // Times never decrease along the log: nothing later can match, now or ever.
                next = head + 1;
                break;
            }
            if selection.admits(event) {
                positions.push(next);
            }
            next += 1;
            scanned += 1;
        }
        AllBatch {
            events: self.recorded(positions),
            next: Position::new(next),
            end_of_log: next > head,
        }
    }

    /// The first position recorded at or after `time` (one past the head if none).
    fn first_recorded_at_or_after(&self, time: DateTime<Utc>) -> u64 {
        self.events
            .partition_point(self.len as usize, |event| event.recorded_at < time) as u64
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
    #[error(
        "a payload of more bytes than the memory store holds in one ({})",
        u32::MAX
    )]
    TooLarge,
    #[error("its id is already stored in stream `{stream_id}` at version {version}")]
    RepeatedId { stream_id: StreamId, version: u64 },
}

/// A filter's type names resolved to the kinds of event they admit, once per read.
struct Selection {
    /// `None` admits every kind.
    kinds: Option<Vec<u32>>,
}

impl Selection {
    fn new(log: &Log, filter: &EventFilter) -> Self {
        let admits = |kind: &Kind| {
            (filter.event_types.is_empty() || filter.event_types.contains(&kind.event_type))
                && (filter.aggregate_types.is_empty()
                    || filter.aggregate_types.contains(&kind.aggregate_type))
        };
        let kinds =
            (!filter.event_types.is_empty() || !filter.aggregate_types.is_empty()).then(|| {
                log.kinds
                    .names
                    .iter()
                    .enumerate()
                    .filter(|(_, kind)| admits(kind))
                    .map(|(number, _)| number as u32)
                    .collect()
            });
        Self { kinds }
    }

    fn admits(&self, event: &StoredEvent) -> bool {
        self.kinds
            .as_ref()
            .is_none_or(|kinds| kinds.contains(&event.kind))
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
