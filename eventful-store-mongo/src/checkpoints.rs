//! Checkpoints in their own collection: one document per consumer (`_id` = its name).
//!
//! ```text
//! { _id: "leaderboard", position: 1234, saved_at: ISODate(...) }
//! ```

use async_trait::async_trait;
use eventful_core::{CheckpointStore, Position, StoreError};
use mongodb::bson::{self, RawDocumentBuf, doc};

use crate::error::MongoStoreError;
use crate::put::put;
use crate::schema::int64;
use crate::store::MongoStore;
use crate::stored::read_u64;

const POSITION: &str = "position";
const SAVED_AT: &str = "saved_at";

#[async_trait]
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
        let position = read_u64(&document, POSITION).map_err(|reason| {
            StoreError::from(MongoStoreError::Undecodable {
                collection: inner.checkpoints.name().to_owned(),
                location: format!("checkpoint `{name}`"),
                reason,
            })
        })?;
        Ok(Some(Position::new(position)))
    }

    async fn save_checkpoint(&self, name: &str, position: Position) -> Result<(), StoreError> {
        let inner = &self.inner;
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
}
