//! Checkpoints: how far a named consumer of the log (a projection, a policy, a bus
//! subscriber) has got, so that it resumes there after a restart.

use std::future::Future;

use crate::envelope::Position;
use crate::store::StoreError;

/// Where consumers' positions are kept, by consumer name.
///
/// A checkpoint is the position of the last event the consumer finished with; it resumes at
/// the next one. Implement the methods with `async fn`, as for
/// [`EventStore`](crate::EventStore); `Arc<dyn DynCheckpointStore>` is a checkpoint store
/// chosen at run time.
pub trait CheckpointStore: Send + Sync {
    /// The saved position of `name`, if any.
    fn load_checkpoint(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<Option<Position>, StoreError>> + Send;

    /// Saves the position of `name`, replacing what was saved.
    fn save_checkpoint(
        &self,
        name: &str,
        position: Position,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Forgets the position of `name`, so that it starts again from the beginning.
    fn delete_checkpoint(&self, name: &str) -> impl Future<Output = Result<(), StoreError>> + Send;
}

crate::dyn_form::object_safe! {
    /// The object-safe form of [`CheckpointStore`]: `Arc<dyn DynCheckpointStore>` is a
    /// [`CheckpointStore`], and every checkpoint store is a `DynCheckpointStore`.
    ///
    /// ```
    /// use eventful_core::{CheckpointStore, DynCheckpointStore};
    /// use eventful_store_memory::MemoryStore;
    /// use std::sync::Arc;
    ///
    /// # async fn demo() -> Result<(), eventful_core::StoreError> {
    /// let checkpoints: Arc<dyn DynCheckpointStore> = Arc::new(MemoryStore::new());
    /// assert_eq!(checkpoints.load_checkpoint("leaderboard").await?, None);
    /// # Ok(()) }
    /// # tokio::runtime::Runtime::new().unwrap().block_on(demo()).unwrap();
    /// ```
    CheckpointStore => DynCheckpointStore {
        fn load_checkpoint(&self, name: &str) -> Result<Option<Position>, StoreError>
            => load_checkpoint_boxed;
        fn save_checkpoint(&self, name: &str, position: Position) -> Result<(), StoreError>
            => save_checkpoint_boxed;
        fn delete_checkpoint(&self, name: &str) -> Result<(), StoreError> => delete_checkpoint_boxed;
    }
}
