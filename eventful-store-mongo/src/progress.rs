//! Shared handlers' progress in the checkpoints collection: one document per segment of a
//! handler, claimed with one conditional update, and one per parked event.
//!
//! ```text
//! { _id: "eventful.segment:xp_policy:0", kind: "segment", handler: "xp_policy",
//!   index: 0, count: 2, position: 1234, owner: "b41c…", lease_until: 1764612345678 }
//! { _id: "eventful.parked:xp_policy:<event id>", kind: "parked", handler: "xp_policy",
//!   position: 77, event: { …the ParkedEvent… } }
//! ```
//!
//! Checkpoint names starting with `eventful.` are the store's own. A claim reads the segment,
//! and if it is free, expired or the claimer's own, updates it with a filter on the owner and
//! lease it read (compare and set): the server applies an update to one document atomically,
//! so of two claimers that read the same state only one matches. A save
//! under a claim is an update filtered on the owner, so a save by an instance that lost the
//! claim matches nothing and is refused. Lease ends are milliseconds since the epoch, written
//! by the claimer's clock.

use chrono::{DateTime, Utc};
use eventful_core::progress::{Claim, ClaimOutcome, ParkedEvent, Segment, SegmentProgress};
use eventful_core::{Position, RecordLocation, StoreError};
use futures::TryStreamExt;
use mongodb::Collection;
use mongodb::bson::{self, Bson, Document, doc};
use uuid::Uuid;

use crate::error::{MongoStoreError, is_duplicate_key};
use crate::problem::DecodeProblem;
use crate::store::Inner;

const KIND: &str = "kind";
const SEGMENT: &str = "segment";
const PARKED: &str = "parked";
const HANDLER: &str = "handler";
const INDEX: &str = "index";
const COUNT: &str = "count";
const POSITION: &str = "position";
const OWNER: &str = "owner";
const LEASE_UNTIL: &str = "lease_until";
const EVENT: &str = "event";

fn segment_id(handler: &str, index: u32) -> String {
    format!("eventful.segment:{handler}:{index}")
}

fn parked_id(handler: &str, event_id: Uuid) -> String {
    format!("eventful.parked:{handler}:{event_id}")
}

fn millis(time: DateTime<Utc>) -> i64 {
    time.timestamp_millis()
}

fn segment_document(handler: &str, progress: &SegmentProgress) -> Document {
    doc! {
        "_id": segment_id(handler, progress.segment.index),
        KIND: SEGMENT,
        HANDLER: handler,
        INDEX: i64::from(progress.segment.index),
        COUNT: i64::from(progress.segment.count),
        POSITION: i64::try_from(progress.position.get()).unwrap_or(i64::MAX),
        OWNER: progress.owner.clone().map_or(Bson::Null, Bson::String),
        LEASE_UNTIL: progress.lease_until.map_or(Bson::Null, |until| Bson::Int64(millis(until))),
    }
}

impl Inner {
    /// Refuses a position past the head of the log: known committed, or read. A database
    /// with no events is not the log (it keeps the checkpoints of another store's handlers)
    /// and cannot tell.
    pub(crate) async fn within_the_log(
        &self,
        name: &str,
        position: Position,
    ) -> Result<(), StoreError> {
        if position.get()
            <= self
                .log
                .head_event
                .load(std::sync::atomic::Ordering::Acquire)
        {
            return Ok(());
        }
        let head = self.log_head().await?;
        if head != 0 && position.get() > head {
            return Err(StoreError::PositionBeyondHead {
                name: name.to_owned(),
                position,
                head: Position::new(head),
            });
        }
        Ok(())
    }

    fn progress(&self) -> Collection<Document> {
        self.checkpoints.clone_with_type()
    }

    fn undecodable(&self, key: String, problem: DecodeProblem) -> StoreError {
        MongoStoreError::Undecodable {
            collection: self.checkpoints.name().to_owned(),
            location: RecordLocation::Key(key),
            problem,
        }
        .into()
    }

    fn read_segment(&self, document: &Document) -> Result<SegmentProgress, StoreError> {
        let key = document.get_str("_id").unwrap_or_default().to_owned();
        let number = |field: &'static str| {
            document
                .get(field)
                .and_then(|value| match value {
                    Bson::Int32(n) => u64::try_from(*n).ok(),
                    Bson::Int64(n) => u64::try_from(*n).ok(),
                    _ => None,
                })
                .ok_or(DecodeProblem::MissingField {
                    field: field.to_owned(),
                })
        };
        let read = || -> Result<SegmentProgress, DecodeProblem> {
            let small = |field: &'static str| -> Result<u32, DecodeProblem> {
                let value = number(field)?;
                u32::try_from(value).map_err(|_| DecodeProblem::OutOfRange {
                    field: field.to_owned(),
                    value: i64::try_from(value).unwrap_or(i64::MAX),
                    min: 0,
                    max: i64::from(u32::MAX),
                })
            };
            let (index, count) = (small(INDEX)?, small(COUNT)?);
            let mut progress = SegmentProgress::new(Segment { index, count });
            progress.position = Position::new(number(POSITION)?);
            progress.owner = document.get_str(OWNER).ok().map(str::to_owned);
            progress.lease_until = document
                .get_i64(LEASE_UNTIL)
                .ok()
                .and_then(DateTime::<Utc>::from_timestamp_millis);
            Ok(progress)
        };
        read().map_err(|problem| self.undecodable(key, problem))
    }

    pub(crate) async fn claim(&self, claim: &Claim) -> Result<ClaimOutcome, StoreError> {
        let held = self.segments(&claim.handler).await?;
        if let Some(first) = held.first() {
            if first.segment.count != claim.segment.count {
                return Ok(ClaimOutcome::OtherSegments {
                    count: first.segment.count,
                });
            }
        } else if let Some(count) = self
            .create_segments(&claim.handler, claim.segment.count)
            .await?
        {
            return Ok(ClaimOutcome::OtherSegments { count });
        }
        let now = Utc::now();
        let Some(current) = self
            .segments(&claim.handler)
            .await?
            .into_iter()
            .find(|progress| progress.segment.index == claim.segment.index)
        else {
            return Ok(ClaimOutcome::OtherSegments { count: 0 });
        };
        if current.segment.count != claim.segment.count {
            return Ok(ClaimOutcome::OtherSegments {
                count: current.segment.count,
            });
        }
        if !current.claimable_by(&claim.owner, now) {
            return Ok(ClaimOutcome::HeldBy {
                owner: current.owner.unwrap_or_default(),
                lease_until: current.lease_until.unwrap_or(now),
            });
        }
        // Compare and set on the claim as it was read: if another claimer changed it since,
        // this matches nothing. (Exact values, not `$or`: some wire-compatible servers do not
        // combine `$or` with the other conditions of a filter.)
        let lease_until = claim.lease_end(now);
        let filter = doc! {
            "_id": segment_id(&claim.handler, claim.segment.index),
            COUNT: i64::from(claim.segment.count),
            OWNER: current.owner.clone().map_or(Bson::Null, Bson::String),
            LEASE_UNTIL: current.lease_until.map_or(Bson::Null, |until| Bson::Int64(millis(until))),
        };
        let update =
            doc! { "$set": { OWNER: claim.owner.as_str(), LEASE_UNTIL: millis(lease_until) } };
        let claimed = self
            .progress()
            .update_one(filter, update)
            .await
            .map_err(|error| self.driver_error("claiming a segment", error))?;
        if claimed.matched_count > 0 {
            return Ok(ClaimOutcome::Held {
                position: current.position,
                lease_until,
            });
        }
        let current = self
            .segments(&claim.handler)
            .await?
            .into_iter()
            .find(|progress| progress.segment.index == claim.segment.index);
        Ok(match current {
            Some(progress) if progress.segment.count == claim.segment.count => {
                ClaimOutcome::HeldBy {
                    owner: progress.owner.unwrap_or_default(),
                    lease_until: progress.lease_until.unwrap_or(now),
                }
            }
            Some(progress) => ClaimOutcome::OtherSegments {
                count: progress.segment.count,
            },
            None => ClaimOutcome::OtherSegments { count: 0 },
        })
    }

    /// The handler's segments, free and at the start, unless another instance made them first;
    /// the number of segments another instance made them in, if not `count`.
    ///
    /// Segment 0 is inserted alone first: its unique `_id` decides between instances starting
    /// at once, so that two configured with different counts never both lay segments out
    /// (each would hold a part of the other's streams). Whoever wins or agrees with the winner
    /// then inserts the rest, a duplicate of which is another instance's identical work.
    async fn create_segments(&self, handler: &str, count: u32) -> Result<Option<u32>, StoreError> {
        let mut documents = Segment::all(count)
            .into_iter()
            .map(|segment| segment_document(handler, &SegmentProgress::new(segment)));
        let first = documents.next().unwrap_or_default();
        match self.progress().insert_one(first).await {
            Ok(_) => {}
            Err(error) if is_duplicate_key(&error) => {
                let laid_out = self
                    .segments(handler)
                    .await?
                    .first()
                    .map(|progress| progress.segment.count);
                if let Some(other) = laid_out.filter(|&other| other != count) {
                    return Ok(Some(other));
                }
            }
            Err(error) => return Err(self.driver_error("creating segments", error)),
        }
        let rest: Vec<Document> = documents.collect();
        if rest.is_empty() {
            return Ok(None);
        }
        match self.progress().insert_many(rest).ordered(false).await {
            Ok(_) => Ok(None),
            Err(error) if is_duplicate_key(&error) => Ok(None),
            Err(error) => Err(self.driver_error("creating segments", error)),
        }
    }

    pub(crate) async fn save_claimed(
        &self,
        claim: &Claim,
        position: Position,
    ) -> Result<(), StoreError> {
        self.within_the_log(&claim.handler, position).await?;
        let filter = doc! {
            "_id": segment_id(&claim.handler, claim.segment.index),
            COUNT: i64::from(claim.segment.count),
            OWNER: claim.owner.as_str(),
        };
        let update = doc! { "$set": {
            POSITION: i64::try_from(position.get()).unwrap_or(i64::MAX),
            LEASE_UNTIL: millis(claim.lease_end(Utc::now())),
        } };
        let saved = self
            .progress()
            .update_one(filter, update)
            .await
            .map_err(|error| self.driver_error("saving a segment's position", error))?;
        if saved.matched_count > 0 {
            return Ok(());
        }
        let holder = self
            .segments(&claim.handler)
            .await?
            .into_iter()
            .find(|progress| progress.segment == claim.segment)
            .and_then(|progress| progress.owner);
        Err(StoreError::ClaimLost {
            handler: claim.handler.clone(),
            segment: claim.segment,
            owner: claim.owner.clone(),
            holder,
        })
    }

    pub(crate) async fn release(&self, claim: &Claim) -> Result<(), StoreError> {
        let filter = doc! {
            "_id": segment_id(&claim.handler, claim.segment.index),
            OWNER: claim.owner.as_str(),
        };
        let update = doc! { "$set": { OWNER: Bson::Null, LEASE_UNTIL: Bson::Null } };
        self.progress()
            .update_one(filter, update)
            .await
            .map_err(|error| self.driver_error("releasing a segment", error))?;
        Ok(())
    }

    pub(crate) async fn segments(&self, handler: &str) -> Result<Vec<SegmentProgress>, StoreError> {
        let documents: Vec<Document> = self
            .progress()
            .find(doc! { KIND: SEGMENT, HANDLER: handler })
            .await
            .map_err(|error| self.driver_error("reading segments", error))?
            .try_collect()
            .await
            .map_err(|error| self.driver_error("reading segments", error))?;
        let mut segments = documents
            .iter()
            .map(|document| self.read_segment(document))
            .collect::<Result<Vec<_>, _>>()?;
        segments.sort_by_key(|progress| progress.segment.index);
        Ok(segments)
    }

    pub(crate) async fn put_segments(
        &self,
        handler: &str,
        segments: Vec<SegmentProgress>,
    ) -> Result<(), StoreError> {
        for progress in &segments {
            self.within_the_log(handler, progress.position).await?;
        }
        self.progress()
            .delete_many(doc! { KIND: SEGMENT, HANDLER: handler })
            .await
            .map_err(|error| self.driver_error("replacing segments", error))?;
        if segments.is_empty() {
            return Ok(());
        }
        let documents: Vec<Document> = segments
            .iter()
            .map(|progress| segment_document(handler, progress))
            .collect();
        self.progress()
            .insert_many(documents)
            .await
            .map_err(|error| self.driver_error("replacing segments", error))?;
        Ok(())
    }

    pub(crate) async fn park(&self, parked: ParkedEvent) -> Result<(), StoreError> {
        let id = parked_id(&parked.handler, parked.event_id);
        let event = bson::to_document(&parked).map_err(|error| StoreError::Backend {
            source: Box::new(error),
        })?;
        let document = doc! {
            "_id": id.as_str(),
            KIND: PARKED,
            HANDLER: parked.handler.as_str(),
            POSITION: i64::try_from(parked.position.get()).unwrap_or(i64::MAX),
            EVENT: event,
        };
        self.progress()
            .replace_one(doc! { "_id": id.as_str() }, document)
            .upsert(true)
            .await
            .map_err(|error| self.driver_error("parking an event", error))?;
        Ok(())
    }

    pub(crate) async fn parked(&self, handler: &str) -> Result<Vec<ParkedEvent>, StoreError> {
        let documents: Vec<Document> = self
            .progress()
            .find(doc! { KIND: PARKED, HANDLER: handler })
            .await
            .map_err(|error| self.driver_error("reading parked events", error))?
            .try_collect()
            .await
            .map_err(|error| self.driver_error("reading parked events", error))?;
        let mut parked = documents
            .iter()
            .map(|document| {
                let key = document.get_str("_id").unwrap_or_default().to_owned();
                document
                    .get_document(EVENT)
                    .ok()
                    .and_then(|event| bson::from_document::<ParkedEvent>(event.clone()).ok())
                    .ok_or_else(|| {
                        self.undecodable(
                            key,
                            DecodeProblem::MissingField {
                                field: EVENT.to_owned(),
                            },
                        )
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        parked.sort_by_key(|event| event.position);
        Ok(parked)
    }

    pub(crate) async fn unpark(&self, handler: &str, event_id: Uuid) -> Result<bool, StoreError> {
        let deleted = self
            .progress()
            .delete_one(doc! { "_id": parked_id(handler, event_id) })
            .await
            .map_err(|error| self.driver_error("dismissing a parked event", error))?;
        Ok(deleted.deleted_count > 0)
    }
}
