//! Checkpoints in their own collection: one document per consumer (`_id` = its name), beside
//! the shared handlers' segments and parked events (`crate::progress`).
//!
//! ```text
//! { _id: "leaderboard", position: 1234, saved_at: ISODate(...) }
//! ```

use eventful_core::progress::{Claim, ClaimOutcome, ParkedEvent, SegmentProgress};
use eventful_core::{CheckpointStore, Position, RecordLocation, StoreError};
use mongodb::bson::{self, RawDocumentBuf, doc};
use uuid::Uuid;

use crate::error::MongoStoreError;
use crate::put::put;
use crate::schema::int64;
use crate::store::MongoStore;
use crate::stored::read_u64;

const POSITION: &str = "position";
const SAVED_AT: &str = "saved_at";

impl CheckpointStore for MongoStore {
    async fn load_checkpoint(&self, name: &str) -> Result<Option<Position>, StoreError> {
        let inner = &self.inner;
        let Some(document) = inner
            .checkpoints
            .find_one(doc! { "_id": name })
            .await
            .map_err(|error| inner.driver_error("loading a checkpoint", error))?
        else {
            return Ok(None);
        };
        let position = read_u64(&document, POSITION).map_err(|problem| {
            StoreError::from(MongoStoreError::Undecodable {
                collection: inner.checkpoints.name().to_owned(),
                location: RecordLocation::Key(name.to_owned()),
                problem,
            })
        })?;
        Ok(Some(Position::new(position)))
    }

    async fn save_checkpoint(&self, name: &str, position: Position) -> Result<(), StoreError> {
        let inner = &self.inner;
        inner.within_the_log(name, position).await?;
        let mut document = RawDocumentBuf::new();
        document.append("_id", name);
        document.append(POSITION, int64(position.get()));
        document.append(SAVED_AT, bson::DateTime::now());
        put(&inner.checkpoints, doc! { "_id": name }, document)
            .await
            .map_err(|error| inner.driver_error("saving a checkpoint", error))?;
        Ok(())
    }

    async fn delete_checkpoint(&self, name: &str) -> Result<(), StoreError> {
        let inner = &self.inner;
        inner
            .checkpoints
            .delete_one(doc! { "_id": name })
            .await
            .map_err(|error| inner.driver_error("deleting a checkpoint", error))?;
        Ok(())
    }

    async fn claim(&self, claim: &Claim) -> Result<ClaimOutcome, StoreError> {
        self.inner.claim(claim).await
    }

    async fn save_claimed(&self, claim: &Claim, position: Position) -> Result<(), StoreError> {
        self.inner.save_claimed(claim, position).await
    }

    async fn release(&self, claim: &Claim) -> Result<(), StoreError> {
        self.inner.release(claim).await
    }

    async fn segments(&self, handler: &str) -> Result<Vec<SegmentProgress>, StoreError> {
        self.inner.segments(handler).await
    }

    async fn put_segments(
        &self,
        handler: &str,
        segments: Vec<SegmentProgress>,
    ) -> Result<(), StoreError> {
        self.inner.put_segments(handler, segments).await
    }

    async fn park(&self, parked: ParkedEvent) -> Result<(), StoreError> {
        self.inner.park(parked).await
    }

    async fn parked(&self, handler: &str) -> Result<Vec<ParkedEvent>, StoreError> {
        self.inner.parked(handler).await
    }

    async fn unpark(&self, handler: &str, event_id: Uuid) -> Result<bool, StoreError> {
        self.inner.unpark(handler, event_id).await
    }
}
