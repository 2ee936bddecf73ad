//! Shared handlers' progress in memory: segments with their claims, and parked events, each
//! under its own lock, so that claiming is atomic and never waits for the log.

use std::collections::{BTreeMap, HashMap};

use chrono::Utc;
use eventful_core::progress::{Claim, ClaimOutcome, ParkedEvent, Segment, SegmentProgress};
use eventful_core::{Position, StoreError};
use parking_lot::Mutex;
use uuid::Uuid;

/// One handler's parked events, in log order.
type Parked = BTreeMap<(Position, Uuid), ParkedEvent>;

#[derive(Default)]
pub(crate) struct Shared {
    /// Per handler, its segments in index order.
    segments: Mutex<HashMap<String, Vec<SegmentProgress>>>,
    /// Per handler, its parked events by position.
    parked: Mutex<HashMap<String, Parked>>,
}

impl Shared {
    pub(crate) fn claim(&self, claim: &Claim) -> ClaimOutcome {
        let mut segments = self.segments.lock();
        let held = segments.entry(claim.handler.clone()).or_insert_with(|| {
            Segment::all(claim.segment.count)
                .into_iter()
                .map(SegmentProgress::new)
                .collect()
        });
        let count = held.len() as u32;
        let Some(record) = held
            .get_mut(claim.segment.index as usize)
            .filter(|record| record.segment == claim.segment)
        else {
            return ClaimOutcome::OtherSegments { count };
        };
        let now = Utc::now();
        if record.claimable_by(&claim.owner, now) {
            let lease_until = claim.lease_end(now);
            record.owner = Some(claim.owner.clone());
            record.lease_until = Some(lease_until);
            ClaimOutcome::Held {
                position: record.position,
                lease_until,
            }
        } else {
            ClaimOutcome::HeldBy {
                owner: record.owner.clone().unwrap_or_default(),
                lease_until: record.lease_until.unwrap_or(now),
            }
        }
    }

    pub(crate) fn save_claimed(&self, claim: &Claim, position: Position) -> Result<(), StoreError> {
        let mut segments = self.segments.lock();
        let record = segments
            .get_mut(&claim.handler)
            .and_then(|held| held.get_mut(claim.segment.index as usize))
            .filter(|record| record.segment == claim.segment);
        match record {
            Some(record) if record.owner.as_deref() == Some(claim.owner.as_str()) => {
                record.position = position;
                record.lease_until = Some(claim.lease_end(Utc::now()));
                Ok(())
            }
            other => Err(StoreError::ClaimLost {
                handler: claim.handler.clone(),
                segment: claim.segment,
                owner: claim.owner.clone(),
                holder: other.and_then(|record| record.owner.clone()),
            }),
        }
    }

    pub(crate) fn release(&self, claim: &Claim) {
        let mut segments = self.segments.lock();
        if let Some(record) = segments
            .get_mut(&claim.handler)
            .and_then(|held| held.get_mut(claim.segment.index as usize))
            .filter(|record| {
                record.segment == claim.segment
                    && record.owner.as_deref() == Some(claim.owner.as_str())
            })
        {
            record.owner = None;
            record.lease_until = None;
        }
    }

    pub(crate) fn segments(&self, handler: &str) -> Vec<SegmentProgress> {
        self.segments
            .lock()
            .get(handler)
            .cloned()
            .unwrap_or_default()
    }

    pub(crate) fn put_segments(&self, handler: &str, mut segments: Vec<SegmentProgress>) {
        // Claims find a segment at its index.
        segments.sort_by_key(|progress| progress.segment.index);
        let mut held = self.segments.lock();
        if segments.is_empty() {
            held.remove(handler);
        } else {
            held.insert(handler.to_owned(), segments);
        }
    }

    /// Every handler's segments, for saving the store.
    pub(crate) fn all_segments(&self) -> Vec<(String, Vec<SegmentProgress>)> {
        let segments = self.segments.lock();
        segments
            .iter()
            .map(|(handler, held)| (handler.clone(), held.clone()))
            .collect()
    }

    pub(crate) fn park(&self, parked: ParkedEvent) {
        let mut all = self.parked.lock();
        let handler = all.entry(parked.handler.clone()).or_default();
        handler.retain(|(_, event_id), _| *event_id != parked.event_id);
        handler.insert((parked.position, parked.event_id), parked);
    }

    pub(crate) fn parked(&self, handler: &str) -> Vec<ParkedEvent> {
        self.parked
            .lock()
            .get(handler)
            .map(|parked| parked.values().cloned().collect())
            .unwrap_or_default()
    }

    /// Every parked event, for saving the store.
    pub(crate) fn all_parked(&self) -> Vec<ParkedEvent> {
        let parked = self.parked.lock();
        parked
            .values()
            .flat_map(|handler| handler.values().cloned())
            .collect()
    }

    pub(crate) fn unpark(&self, handler: &str, event_id: Uuid) -> bool {
        let mut all = self.parked.lock();
        let Some(parked) = all.get_mut(handler) else {
            return false;
        };
        let before = parked.len();
        parked.retain(|(_, id), _| *id != event_id);
        before != parked.len()
    }
}
