//! Checkpoints: how far a named consumer of the log (a projection, a policy, a bus
//! subscriber) has got, so that it resumes there after a restart.

use std::future::Future;

use uuid::Uuid;

use crate::envelope::Position;
use crate::progress::{Claim, ClaimOutcome, ParkedEvent, SegmentProgress};
use crate::store::StoreError;

/// Where consumers' positions are kept: plain checkpoints by name, and the shared progress
/// of handlers that several processes run ([`crate::progress`]).
///
/// A checkpoint is the position of the last event the consumer finished with; it resumes at
/// the next one.
///
/// A shared handler's progress is split into [`Segment`](crate::progress::Segment)s, each with its position and a
/// claim: one owner at a time, for a lease it renews. Every method that changes a claim is
/// atomic in the store (a conditional update, or under a lock), so two instances never both
/// hold one segment, and a save by an instance that lost its claim is refused
/// ([`StoreError::ClaimLost`]). Leases are wall-clock times (UTC) written by the claimer:
/// keep the clocks of a deployment within a small part of the lease.
///
/// Implement the methods with `async fn`, as for [`EventStore`](crate::EventStore);
/// `Arc<dyn DynCheckpointStore>` is a checkpoint store chosen at run time. The conformance
/// suite checks every method.
pub trait CheckpointStore: Send + Sync {
    /// The saved position of `name`, if any.
    fn load_checkpoint(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<Option<Position>, StoreError>> + Send;

    /// Saves the position of `name`, replacing what was saved. A store that holds the log
    /// refuses a position past its head ([`StoreError::PositionBeyondHead`]); a store that
    /// holds no events keeps other stores' checkpoints and accepts any.
    fn save_checkpoint(
        &self,
        name: &str,
        position: Position,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Forgets the position of `name`, so that it starts again from the beginning.
    fn delete_checkpoint(&self, name: &str) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Takes `claim.segment` of `claim.handler` for `claim.owner` until `claim.lease` from
    /// now, if it is free, its lease ran out, or it is the owner's already (which renews it).
    /// A segment never claimed before starts at [`Position::START`]. When the store holds the
    /// handler's progress in another number of segments, nothing changes and the answer is
    /// [`ClaimOutcome::OtherSegments`].
    fn claim(&self, claim: &Claim)
    -> impl Future<Output = Result<ClaimOutcome, StoreError>> + Send;

    /// Saves the segment's position, and renews the lease, if `claim.owner` still holds it;
    /// [`StoreError::ClaimLost`] otherwise, with nothing changed. A store that holds the log
    /// refuses a position past its head ([`StoreError::PositionBeyondHead`], nothing changed),
    /// as [`save_checkpoint`](CheckpointStore::save_checkpoint) does.
    fn save_claimed(
        &self,
        claim: &Claim,
        position: Position,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Gives the claim up (the position stays), so that another instance may take it at once.
    /// Nothing happens if `claim.owner` no longer holds it.
    fn release(&self, claim: &Claim) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Every segment of `handler` the store holds, in segment order; empty if none was ever
    /// claimed.
    fn segments(
        &self,
        handler: &str,
    ) -> impl Future<Output = Result<Vec<SegmentProgress>, StoreError>> + Send;

    /// Replaces every segment of `handler` with `segments` (none: the handler starts again
    /// from the beginning). For the operations that reshape or reset a handler's progress
    /// while no instance runs it; see [`crate::bus::reshape_segments`].
    fn put_segments(
        &self,
        handler: &str,
        segments: Vec<SegmentProgress>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Keeps an event `parked.handler` gave up on (replacing an earlier record of the same
    /// handler and event).
    fn park(&self, parked: ParkedEvent) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The events `handler` parked, in position order.
    fn parked(
        &self,
        handler: &str,
    ) -> impl Future<Output = Result<Vec<ParkedEvent>, StoreError>> + Send;

    /// Forgets a parked event; whether there was one.
    fn unpark(
        &self,
        handler: &str,
        event_id: Uuid,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
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
        fn claim(&self, claim: &Claim) -> Result<ClaimOutcome, StoreError> => claim_boxed;
        fn save_claimed(&self, claim: &Claim, position: Position) -> Result<(), StoreError>
            => save_claimed_boxed;
        fn release(&self, claim: &Claim) -> Result<(), StoreError> => release_boxed;
        fn segments(&self, handler: &str) -> Result<Vec<SegmentProgress>, StoreError>
            => segments_boxed;
        fn put_segments(&self, handler: &str, segments: Vec<SegmentProgress>)
            -> Result<(), StoreError> => put_segments_boxed;
        fn park(&self, parked: ParkedEvent) -> Result<(), StoreError> => park_boxed;
        fn parked(&self, handler: &str) -> Result<Vec<ParkedEvent>, StoreError> => parked_boxed;
        fn unpark(&self, handler: &str, event_id: Uuid) -> Result<bool, StoreError> => unpark_boxed;
    }
}
