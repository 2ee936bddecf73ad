//! Checkpoints: how far a named consumer of the log (a projection, a policy, a bus
//! subscriber) has got, so that it resumes there after a restart.

use std::sync::Arc;

use async_trait::async_trait;

use crate::envelope::Position;
use crate::store::StoreError;

/// Where consumers' positions are kept, by consumer name.
///
/// A checkpoint is the position of the last event the consumer finished with; it resumes at
/// the next one.
#[async_trait]
pub trait CheckpointStore: Send + Sync {
    /// The saved position of `name`, if any.
    async fn load_checkpoint(&self, name: &str) -> Result<Option<Position>, StoreError>;

    /// Saves the position of `name`, replacing what was saved.
    async fn save_checkpoint(&self, name: &str, position: Position) -> Result<(), StoreError>;

    /// Forgets the position of `name`, so that it starts again from the beginning.
    async fn delete_checkpoint(&self, name: &str) -> Result<(), StoreError>;
}

#[async_trait]
impl<S: CheckpointStore + ?Sized> CheckpointStore for Arc<S> {
    async fn load_checkpoint(&self, name: &str) -> Result<Option<Position>, StoreError> {
        (**self).load_checkpoint(name).await
    }

    async fn save_checkpoint(&self, name: &str, position: Position) -> Result<(), StoreError> {
        (**self).save_checkpoint(name, position).await
    }

    async fn delete_checkpoint(&self, name: &str) -> Result<(), StoreError> {
        (**self).delete_checkpoint(name).await
    }
}
