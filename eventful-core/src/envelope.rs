//! The event envelope: what is appended ([`NewEvent`]), what is stored ([`RecordedEvent`]),
//! and the numbers that order them ([`Version`], [`Position`], [`ExpectedVersion`]).

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::names::{StreamId, TypeName};
use crate::payload::{Payload, PayloadRef};

/// A `u64` counter type: `new`, `get`, `next`, `Display`, `From<u64>`, serialized as the number.
macro_rules! counter {
    ($(#[$doc:meta])* $name:ident, $(#[$zero_doc:meta])* $zero:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize,
            Deserialize,
        )]
        #[serde(transparent)]
        pub struct $name(u64);

        impl $name {
            $(#[$zero_doc])*
            pub const $zero: $name = $name(0);

            #[doc = concat!("A ", $what, " from its number.")]
            pub const fn new(number: u64) -> Self {
                Self(number)
            }

            /// The number.
            pub const fn get(self) -> u64 {
                self.0
            }

            #[doc = concat!("The ", $what, " after this one.")]
            pub const fn next(self) -> Self {
                Self(self.0 + 1)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl From<u64> for $name {
            fn from(number: u64) -> Self {
                Self(number)
            }
        }
    };
}

counter!(
    /// A stream's version: how many events it holds. The first event of a stream is version 1;
    /// a stream that does not exist is at version 0.
    ///
    /// ```
    /// use eventful_core::Version;
    ///
    /// assert_eq!(Version::NONE.next(), Version::new(1));
    /// ```
    Version,
    /// The version of a stream with no events.
    NONE,
    "version"
);

counter!(
    /// An event's place in the store-wide order. Positions increase strictly in the order
    /// appends become visible; they may have gaps. [`Position::START`] is before the first
    /// event.
    ///
    /// ```
    /// use eventful_core::Position;
    ///
    /// assert!(Position::START < Position::new(1));
    /// ```
    Position,
    /// Before every event: reading from here reads everything.
    START,
    "position"
);

/// What an append requires of the stream's version: the optimistic-concurrency check.
///
/// ```
/// use eventful_core::{ExpectedVersion, Version};
///
/// assert!(ExpectedVersion::Exact(Version::new(3)).accepts(Version::new(3)));
/// assert!(!ExpectedVersion::NoStream.accepts(Version::new(3)));
/// assert!(ExpectedVersion::Any.accepts(Version::new(3)));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ExpectedVersion {
    /// Append whatever the stream's version.
    Any,
    /// The stream must not exist yet (it has no events).
    NoStream,
    /// The stream must be at exactly this version. `Exact(Version::NONE)` is `NoStream`.
    Exact(Version),
}

impl ExpectedVersion {
    /// Whether a stream at `actual` satisfies this expectation.
    pub fn accepts(self, actual: Version) -> bool {
        match self {
            Self::Any => true,
            Self::NoStream => actual == Version::NONE,
            Self::Exact(expected) => actual == expected,
        }
    }

    /// The version the stream is expected at, when one is named.
    pub fn version(self) -> Option<Version> {
        match self {
            Self::Any => None,
            Self::NoStream => Some(Version::NONE),
            Self::Exact(version) => Some(version),
        }
    }
}

impl fmt::Display for ExpectedVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Any => f.write_str("any version"),
            Self::NoStream => f.write_str("no stream"),
            Self::Exact(version) => write!(f, "version {version}"),
        }
    }
}

/// Correlation, causation and free-form metadata carried by every event.
///
/// The correlation id ties together everything one request caused, across aggregates; the
/// causation id names the event (or message) that directly caused this one. Policies set both.
///
/// ```
/// use eventful_core::Metadata;
/// use uuid::Uuid;
///
/// let request = Uuid::new_v4();
/// let metadata = Metadata::default()
///     .with_correlation_id(request)
///     .with_entry("client", "ios-2.4.1");
/// assert_eq!(metadata.correlation_id, Some(request));
/// assert_eq!(metadata.extra["client"], "ios-2.4.1");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Metadata {
    /// Ties together everything one request caused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<Uuid>,
    /// The event or message that directly caused this event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub causation_id: Option<Uuid>,
    /// Free-form entries: a client version, a request id, a user id, …
    #[serde(default, skip_serializing_if = "Entries::is_empty")]
    pub extra: Entries,
}

impl Metadata {
    /// Sets the correlation id.
    pub fn with_correlation_id(mut self, id: Uuid) -> Self {
        self.correlation_id = Some(id);
        self
    }

    /// Sets the causation id.
    pub fn with_causation_id(mut self, id: Uuid) -> Self {
        self.causation_id = Some(id);
        self
    }

    /// Adds a free-form entry.
    pub fn with_entry(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.extra.insert(key.into(), value.into());
        self
    }

    /// Whether there is nothing in it.
    pub fn is_empty(&self) -> bool {
        self.correlation_id.is_none() && self.causation_id.is_none() && self.extra.is_empty()
    }
}

/// A fresh event id: a time-ordered UUID (version 7: the Unix time in milliseconds, then the
/// fraction of the millisecond in 1/65,536ths, then random bits), so that ids sort by creation
/// time and index well. The ids one thread makes strictly increase; ids made by different
/// threads are in the order of the clock, to 15 nanoseconds, so that a store sees them arrive
/// nearly in order and can index them so.
///
/// ```
/// let a = eventful_core::envelope::new_event_id();
/// let b = eventful_core::envelope::new_event_id();
/// assert_eq!(a.get_version_num(), 7);
/// assert!(b > a, "increasing within a thread");
/// ```
pub fn new_event_id() -> Uuid {
    // Not `Uuid::now_v7()`, which takes a process-wide lock and draws its bits from `rand`'s
    // ChaCha. Nor one process-wide counter: its cache line moved between the cores on every
    // event, 7% of a command's time with two tasks. The clock's fraction of a millisecond
    // (RFC 9562's "increased clock precision") orders ids across threads instead, and each
    // thread keeps its own last value: never behind the clock, one more than the last when
    // the clock has not moved (past 65,536 in a millisecond the millisecond field runs ahead
    // of the clock until it catches up). The 58 bits after it stay random, for uniqueness
    // across threads and processes.
    thread_local! {
        static LAST: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
    }
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    // In 64-bit arithmetic: `as_millis` is 128-bit.
    let nanos = since.subsec_nanos();
    let millis = since
        .as_secs()
        .wrapping_mul(1000)
        .wrapping_add(u64::from(nanos / 1_000_000))
        & ((1 << 48) - 1);
    let fraction = (u64::from(nanos % 1_000_000) << 16) / 1_000_000;
    let now = (millis << 16) | fraction;
    let ordered = LAST.with(|last| {
        let ordered = now.max(last.get() + 1);
        last.set(ordered);
        ordered
    });
    // unix_ts_ms (48) | version (4) | fraction high 12 | variant (2) | fraction low 4 | random 58
    let sequence = ordered & 0xffff;
    let high = (u128::from(ordered >> 16) << 80)
        | (0x7 << 76)
        | (u128::from(sequence >> 4) << 64)
        | (0b10 << 62)
        | (u128::from(sequence & 0xf) << 58);
    Uuid::from_u128(high | (fastrand::u128(..) & ((1 << 58) - 1)))
}

/// Free-form metadata: string keys to string values, kept sorted by key.
///
/// A small sorted list rather than a tree: events usually carry none or a few entries, and
/// an empty one costs nothing to make, clone or drop on every event.
///
/// ```
/// use eventful_core::envelope::Entries;
///
/// let mut entries: Entries = [("region", "eu"), ("client", "ios")].into_iter().collect();
/// entries.insert("client", "android");
/// assert_eq!(entries.get("client"), Some("android"));
/// assert_eq!(entries["region"], "eu");
/// assert_eq!(entries.iter().map(|(key, _)| key).collect::<Vec<_>>(), ["client", "region"]);
/// ```
#[derive(Debug, Default, PartialEq, Eq, Hash)]
pub struct Entries(Vec<(String, String)>);

impl Clone for Entries {
    /// An empty list, which most events carry, is cloned without a call into the allocator's
    /// path (`Vec::clone` goes through it even for no elements), and without a call at all:
    /// each event's metadata is cloned twice as it is appended, and the call and its return
    /// were 20 instructions a clone.
    #[inline]
    fn clone(&self) -> Self {
        if self.0.is_empty() {
            Self::new()
        } else {
            self.clone_entries()
        }
    }
}

impl Entries {
    /// No entries.
    pub const fn new() -> Self {
        Self(Vec::new())
    }

    #[inline(never)]
    fn clone_entries(&self) -> Self {
        Self(self.0.clone())
    }

    fn find(&self, key: &str) -> Result<usize, usize> {
        self.0.binary_search_by(|(k, _)| k.as_str().cmp(key))
    }

    /// Sets `key` to `value`, returning the value it replaces.
    pub fn insert(&mut self, key: impl Into<String>, value: impl Into<String>) -> Option<String> {
        let key = key.into();
        let value = value.into();
        match self.find(&key) {
            Ok(index) => Some(std::mem::replace(&mut self.0[index].1, value)),
            Err(index) => {
                self.0.insert(index, (key, value));
                None
            }
        }
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.find(key).ok().map(|index| self.0[index].1.as_str())
    }

    /// Removes `key`, returning its value.
    pub fn remove(&mut self, key: &str) -> Option<String> {
        self.find(key).ok().map(|index| self.0.remove(index).1)
    }

    /// The entries, sorted by key.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &str)> + '_ {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// How many entries there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::ops::Index<&str> for Entries {
    type Output = String;

    /// # Panics
    ///
    /// When there is no entry `key`, as a map's indexing does.
    fn index(&self, key: &str) -> &String {
        match self.find(key) {
            Ok(index) => &self.0[index].1,
            Err(_) => panic!("no metadata entry `{key}`"),
        }
    }
}

impl<K: Into<String>, V: Into<String>> Extend<(K, V)> for Entries {
    fn extend<I: IntoIterator<Item = (K, V)>>(&mut self, entries: I) {
        for (key, value) in entries {
            self.insert(key, value);
        }
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for Entries {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(entries: I) -> Self {
        let mut collected = Self::new();
        collected.extend(entries);
        collected
    }
}

impl<'a> IntoIterator for &'a Entries {
    type Item = (&'a str, &'a str);
    type IntoIter = std::iter::Map<
        std::slice::Iter<'a, (String, String)>,
        fn(&'a (String, String)) -> (&'a str, &'a str),
    >;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

impl Serialize for Entries {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.iter())
    }
}

impl<'de> Deserialize<'de> for Entries {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let map = std::collections::BTreeMap::<String, String>::deserialize(deserializer)?;
        Ok(Self(map.into_iter().collect()))
    }
}

/// An event to append: everything but what the store assigns (stream, version, position, time).
///
/// ```
/// use eventful_core::{NewEvent, Payload, TypeName};
///
/// let event = NewEvent::new(
///     TypeName::from_static("player"),
///     TypeName::from_static("xp_gained"),
///     1,
///     Payload::from_json_slice(br#"{"amount":100}"#)?,
/// );
/// assert_eq!(event.event_type, "xp_gained");
/// # Ok::<(), eventful_core::PayloadError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    /// The event's id. Appending an event whose id the stream already holds does not store it twice.
    pub event_id: Uuid,
    /// The type of the aggregate whose stream this is.
    pub aggregate_type: TypeName,
    /// The stored type name of the event.
    pub event_type: TypeName,
    /// The shape revision of the payload, for upcasting.
    pub schema_version: u32,
    /// Correlation, causation and free-form entries.
    pub metadata: Metadata,
    /// The serialized event.
    pub payload: Payload,
}

impl NewEvent {
    /// A new event with a fresh time-ordered id and empty metadata.
    pub fn new(
        aggregate_type: TypeName,
        event_type: TypeName,
        schema_version: u32,
        payload: Payload,
    ) -> Self {
        Self {
            event_id: new_event_id(),
            aggregate_type,
            event_type,
            schema_version,
            metadata: Metadata::default(),
            payload,
        }
    }

    /// Replaces the id.
    pub fn with_event_id(mut self, event_id: Uuid) -> Self {
        self.event_id = event_id;
        self
    }

    /// Replaces the metadata.
    pub fn with_metadata(mut self, metadata: Metadata) -> Self {
        self.metadata = metadata;
        self
    }
}

/// An event as stored: the envelope and its payload.
///
/// `P` is [`Payload`] (serialized) as read from a store, or the event type itself once decoded
/// (see [`RecordedEvent::map_payload`] and [`Upcasters::decode`](crate::Upcasters::decode)).
///
/// ```
/// use eventful_core::RecordedEvent;
///
/// fn describe(event: &RecordedEvent) -> String {
///     format!("{}@{} #{} {}", event.stream_id, event.version, event.position, event.event_type)
/// }
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedEvent<P = Payload> {
    /// The event's id.
    pub event_id: Uuid,
    /// The stream it belongs to.
    pub stream_id: StreamId,
    /// The type of the aggregate whose stream this is.
    pub aggregate_type: TypeName,
    /// The stored type name of the event.
    pub event_type: TypeName,
    /// The shape revision of the payload as it was written.
    pub schema_version: u32,
    /// Its version within the stream: 1, 2, 3, … with no gaps.
    pub version: Version,
    /// Its position in the store-wide order.
    pub position: Position,
    /// When the store recorded it (UTC).
    pub recorded_at: DateTime<Utc>,
    /// Correlation, causation and free-form entries.
    pub metadata: Metadata,
    /// The event: serialized as stored, or decoded.
    pub payload: P,
}

impl<P> RecordedEvent<P> {
    /// The typed id of the aggregate instance whose stream holds this event: what a read model
    /// or a policy keys by, without taking the stream id apart by hand.
    ///
    /// ```
    /// use eventful_core::{Aggregate, AggregateIdError, RecordedEvent};
    ///
    /// /// For a `player` aggregate with `u64` ids: `"player-7"` → 7.
    /// fn player_of<Player: Aggregate<Id = u64>>(event: &RecordedEvent) -> Result<u64, AggregateIdError> {
    ///     event.aggregate_id::<Player>()
    /// }
    /// ```
    pub fn aggregate_id<A: crate::aggregate::Aggregate>(
        &self,
    ) -> Result<A::Id, crate::aggregate::AggregateIdError>
    where
        A::Id: std::str::FromStr,
        <A::Id as std::str::FromStr>::Err: std::error::Error + Send + Sync + 'static,
    {
        A::id_of(&self.stream_id)
    }

    /// The same envelope around another payload.
    ///
    /// ```
    /// # use eventful_core::RecordedEvent;
    /// fn payload_size(event: RecordedEvent) -> RecordedEvent<usize> {
    ///     event.map_payload(|payload| payload.len())
    /// }
    /// ```
    pub fn map_payload<Q>(self, f: impl FnOnce(P) -> Q) -> RecordedEvent<Q> {
        let RecordedEvent {
            event_id,
            stream_id,
            aggregate_type,
            event_type,
            schema_version,
            version,
            position,
            recorded_at,
            metadata,
            payload,
        } = self;
        RecordedEvent {
            event_id,
            stream_id,
            aggregate_type,
            event_type,
            schema_version,
            version,
            position,
            recorded_at,
            metadata,
            payload: f(payload),
        }
    }
}

impl RecordedEvent {
    /// The event borrowed, as a store's visitor sees it.
    pub fn as_event_ref(&self) -> EventRef<'_> {
        EventRef {
            event_id: self.event_id,
            stream_id: &self.stream_id,
            aggregate_type: &self.aggregate_type,
            event_type: &self.event_type,
            schema_version: self.schema_version,
            version: self.version,
            position: self.position,
            recorded_at: self.recorded_at,
            metadata: &self.metadata,
            payload: self.payload.as_payload_ref(),
        }
    }
}

/// A stored event borrowed from where the store keeps it: what
/// [`EventStore::visit_stream`](crate::EventStore::visit_stream) hands its visitor, so that a
/// replay reads each event in place instead of copying it into a [`RecordedEvent`].
///
/// ```
/// use eventful_core::{EventRef, RecordedEvent};
///
/// fn describe(event: EventRef<'_>) -> String {
///     format!("{}@{} {} ({} bytes)", event.stream_id, event.version, event.event_type, event.payload.as_bytes().len())
/// }
/// fn owned(event: EventRef<'_>) -> RecordedEvent {
///     event.to_recorded()
/// }
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EventRef<'a> {
    /// The event's id.
    pub event_id: Uuid,
    /// The stream it belongs to.
    pub stream_id: &'a StreamId,
    /// The type of the aggregate whose stream this is.
    pub aggregate_type: &'a TypeName,
    /// The stored type name of the event.
    pub event_type: &'a TypeName,
    /// The shape revision of the payload as it was written.
    pub schema_version: u32,
    /// Its version within the stream.
    pub version: Version,
    /// Its position in the store-wide order.
    pub position: Position,
    /// When the store recorded it (UTC).
    pub recorded_at: DateTime<Utc>,
    /// Correlation, causation and free-form entries.
    pub metadata: &'a Metadata,
    /// The payload, in the format it was written in.
    pub payload: PayloadRef<'a>,
}

impl EventRef<'_> {
    /// The event as an owned [`RecordedEvent`], its payload copied.
    pub fn to_recorded(&self) -> RecordedEvent {
        self.to_recorded_with(self.payload.to_payload())
    }

    /// The event as an owned [`RecordedEvent`] carrying `payload` instead of a copy of its
    /// own: for a store that copies many payloads into one buffer and gives each its slice.
    pub fn to_recorded_with(&self, payload: Payload) -> RecordedEvent {
        RecordedEvent {
            event_id: self.event_id,
            stream_id: self.stream_id.clone(),
            aggregate_type: self.aggregate_type.clone(),
            event_type: self.event_type.clone(),
            schema_version: self.schema_version,
            version: self.version,
            position: self.position,
            recorded_at: self.recorded_at,
            metadata: self.metadata.clone(),
            payload,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::new_event_id;

    #[test]
    fn event_ids_increase_in_a_thread_and_are_unique_across_threads() {
        let made: Vec<Vec<uuid::Uuid>> = std::thread::scope(|scope| {
            let threads: Vec<_> = (0..2)
                .map(|_| scope.spawn(|| (0..20_000).map(|_| new_event_id()).collect()))
                .collect();
            threads
                .into_iter()
                .map(|thread| thread.join().expect("no panic"))
                .collect()
        });
        let later = new_event_id();
        assert!(
            made.iter().flatten().all(|id| *id < later),
            "an id made after the threads ended is above theirs: the clock orders ids across threads"
        );
        let mut all: Vec<_> = made.concat();
        for ids in &made {
            assert!(
                ids.windows(2).all(|pair| pair[0] < pair[1]),
                "increasing in a thread"
            );
        }
        for id in &all {
            assert_eq!(id.get_version_num(), 7);
            assert_eq!(id.get_variant(), uuid::Variant::RFC4122);
        }
        all.sort();
        all.dedup();
        assert_eq!(all.len(), 40_000, "no id made twice");
    }
}
