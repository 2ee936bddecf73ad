//! Shared progress: what a handler run by several processes keeps in the store so that each
//! event is handled once in total — segments of the log by stream ([`Segment`]), claims on
//! them with a lease ([`Claim`], [`ClaimOutcome`]), where each segment is ([`SegmentProgress`]),
//! and the events it gave up on ([`ParkedEvent`]).
//!
//! The [`CheckpointStore`](crate::CheckpointStore) methods that keep these are the contract;
//! the bus (`crate::bus`) is their user. docs/scaling.md tells the whole story.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::envelope::{Position, RecordedEvent, Version};
use crate::names::{StreamId, TypeName};

/// One of the `count` parts a handler's work is split into: the events of a stream always
/// fall in the same segment ([`Segment::of`]), so they stay in order on one instance.
///
/// ```
/// use eventful_core::progress::Segment;
///
/// let segments = Segment::all(4);
/// assert_eq!(segments.len(), 4);
/// let mine = Segment::of("player-7", 4);
/// assert_eq!(mine, Segment::of("player-7", 4), "stable for a stream");
/// assert!(segments.contains(&mine));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Segment {
    /// Which part, from 0.
    pub index: u32,
    /// Of how many.
    pub count: u32,
}

impl Segment {
    /// The single segment of a handler that is not split.
    pub const WHOLE: Self = Self { index: 0, count: 1 };

    /// The segments of a handler split in `count` (at least 1).
    pub fn all(count: u32) -> Vec<Self> {
        let count = count.max(1);
        (0..count).map(|index| Self { index, count }).collect()
    }

    /// The segment of `stream_id` among `count`: a hash of the stream id (64-bit FNV-1a,
    /// fixed here so that every process and every version agrees) modulo `count`.
    pub fn of(stream_id: &str, count: u32) -> Self {
        const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
        const PRIME: u64 = 0x0000_0100_0000_01b3;
        let hash = stream_id.bytes().fold(OFFSET, |hash, byte| {
            (hash ^ u64::from(byte)).wrapping_mul(PRIME)
        });
        let count = count.max(1);
        Self {
            index: (hash % u64::from(count)) as u32,
            count,
        }
    }

    /// Whether the events of `stream_id` belong to this segment.
    pub fn holds(&self, stream_id: &str) -> bool {
        Self::of(stream_id, self.count) == *self
    }
}

impl std::fmt::Display for Segment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// A claim held on one segment of a handler: only its owner processes that segment and saves
/// its position, until the lease runs out unrenewed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    /// The handler.
    pub handler: String,
    /// The segment.
    pub segment: Segment,
    /// Who holds it: an instance id, unique per running bus.
    pub owner: String,
    /// How long each claim or renewal holds.
    pub lease: Duration,
}

impl Claim {
    /// When the lease of a claim taken or renewed at `now` ends.
    pub fn lease_end(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        now + chrono::Duration::from_std(self.lease).unwrap_or(chrono::Duration::MAX)
    }
}

/// What a [`claim`](crate::CheckpointStore::claim) came to.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClaimOutcome {
    /// The claim is held (taken, or renewed) until `lease_until`; the segment's work resumes
    /// after `position`.
    Held {
        /// The segment's saved position.
        position: Position,
        /// When the lease runs out unless renewed.
        lease_until: DateTime<Utc>,
    },
    /// Another instance holds it until `lease_until`.
    HeldBy {
        /// That instance.
        owner: String,
        /// When its lease runs out unless renewed.
        lease_until: DateTime<Utc>,
    },
    /// The store holds this handler's progress split in another number of segments: the
    /// handler was re-split without [`reshape_segments`](crate::bus::reshape_segments).
    OtherSegments {
        /// The number of segments the store holds.
        count: u32,
    },
}

/// Where one segment of a handler is, as the store keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SegmentProgress {
    /// The segment.
    pub segment: Segment,
    /// Every event of the segment up to here has been handled.
    pub position: Position,
    /// Who holds the claim, if anyone does.
    pub owner: Option<String>,
    /// When the owner's lease runs out unless renewed.
    pub lease_until: Option<DateTime<Utc>>,
}

impl SegmentProgress {
    /// A segment nobody has worked on yet.
    pub fn new(segment: Segment) -> Self {
        Self {
            segment,
            position: Position::START,
            owner: None,
            lease_until: None,
        }
    }

    /// Whether `owner` may take it at `now`: it is free, its lease ran out, or it is
    /// `owner`'s already.
    pub fn claimable_by(&self, owner: &str, now: DateTime<Utc>) -> bool {
        match (&self.owner, self.lease_until) {
            (None, _) => true,
            (Some(holder), _) if holder == owner => true,
            (Some(_), Some(until)) => until <= now,
            (Some(_), None) => true,
        }
    }
}

/// An event a handler gave up on after its retries, kept so that it can be listed, replayed
/// into the handler once fixed, or dismissed, while the handler goes on with the next ones.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ParkedEvent {
    /// The handler that gave up.
    pub handler: String,
    /// The event.
    pub event_id: Uuid,
    /// Its stream.
    pub stream_id: StreamId,
    /// Its version there.
    pub version: Version,
    /// Its position in the log (where a replay reads it from).
    pub position: Position,
    /// Its type.
    pub event_type: TypeName,
    /// The handler's last error, as text.
    pub error: String,
    /// Attempts made before it was parked (and on each replay since).
    pub attempts: u32,
    /// When it was parked (or last replayed without success).
    pub parked_at: DateTime<Utc>,
}

impl ParkedEvent {
    /// `event`, parked by `handler` after `attempts` attempts that ended in `error`.
    pub fn new(
        handler: &str,
        event: &RecordedEvent,
        attempts: u32,
        error: &(dyn std::error::Error + '_),
    ) -> Self {
        Self {
            handler: handler.to_owned(),
            event_id: event.event_id,
            stream_id: event.stream_id.clone(),
            version: event.version,
            position: event.position,
            event_type: event.event_type.clone(),
            error: error.to_string(),
            attempts,
            parked_at: Utc::now(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_are_stable_and_spread() {
        // Fixed values (64-bit FNV-1a, worked out apart from this code): a change here would
        // move streams between segments in running systems.
        assert_eq!(Segment::of("player-1", 1_000_000).index, 154_866);
        assert_eq!(Segment::of("player-1", 4).index, 2);
        assert_eq!(Segment::of("player-1", 7).index, 4);
        assert_eq!(Segment::of("game_session-42", 1_000_000).index, 198_301);
        let mut counts = [0u32; 4];
        for n in 0..4000 {
            counts[Segment::of(&format!("player-{n}"), 4).index as usize] += 1;
        }
        assert!(
            counts.iter().all(|&count| (800..1200).contains(&count)),
            "{counts:?}"
        );
        assert_eq!(Segment::of("anything", 0), Segment::WHOLE);
    }

    #[test]
    fn a_split_keeps_each_stream_under_its_parent() {
        for n in 0..1000 {
            let stream = format!("session-{n}");
            let parent = Segment::of(&stream, 3);
            let child = Segment::of(&stream, 6);
            assert_eq!(child.index % 3, parent.index, "{stream}");
        }
    }

    #[test]
    fn who_may_claim() {
        let now = Utc::now();
        let mut progress = SegmentProgress::new(Segment::WHOLE);
        assert!(progress.claimable_by("a", now));
        progress.owner = Some("a".into());
        progress.lease_until = Some(now + chrono::Duration::seconds(5));
        assert!(progress.claimable_by("a", now));
        assert!(!progress.claimable_by("b", now));
        assert!(progress.claimable_by("b", now + chrono::Duration::seconds(6)));
    }
}
