//! Snapshots: an aggregate's state saved at a version, so that loading it replays only the
//! events after that version.

use std::future::Future;

use chrono::{DateTime, Utc};

use crate::envelope::Version;
use crate::names::{StreamId, TypeName};
use crate::payload::Payload;
use crate::store::StoreError;

/// An aggregate's serialized state as of one version of its stream.
///
/// ```
/// use eventful_core::{Payload, Snapshot, StreamId, TypeName, Version};
///
/// let snapshot = Snapshot {
///     stream_id: StreamId::new("player-42")?,
///     aggregate_type: TypeName::from_static("player"),
///     version: Version::new(100),
///     revision: 1,
///     taken_at: chrono::Utc::now(),
///     payload: Payload::encode(&serde_json::json!({ "xp": 9_900 }))?,
/// };
/// assert_eq!(snapshot.version.get(), 100);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    /// The stream whose state this is.
    pub stream_id: StreamId,
    /// The aggregate type.
    pub aggregate_type: TypeName,
    /// The last event version folded into the state.
    pub version: Version,
    /// The shape revision of the state ([`Aggregate::SNAPSHOT_REVISION`](crate::Aggregate::SNAPSHOT_REVISION)
    /// when it was taken). A snapshot of another revision is ignored, not misread.
    pub revision: u32,
    /// When it was taken.
    pub taken_at: DateTime<Utc>,
    /// The serialized state.
    pub payload: Payload,
}

/// Where snapshots are kept: the latest one per stream.
///
/// Implement the methods with `async fn`, as for [`EventStore`](crate::EventStore);
/// `Arc<dyn DynSnapshotStore>` is a snapshot store chosen at run time.
pub trait SnapshotStore: Send + Sync {
    /// Keeps `snapshot` as its stream's latest, unless one of a higher version is already
    /// kept (a slow writer never replaces a newer snapshot with an older one).
    ///
    /// A store that holds the events checks a snapshot against its stream: one of version 0,
    /// or of a version the stream has not reached, is refused
    /// ([`StoreError::SnapshotBeyondStream`], nothing saved). A store that holds no events
    /// keeps another store's snapshots and cannot tell.
    fn save_snapshot(
        &self,
        snapshot: Snapshot,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The latest snapshot of `stream_id`, if any.
    fn load_snapshot(
        &self,
        stream_id: &StreamId,
    ) -> impl Future<Output = Result<Option<Snapshot>, StoreError>> + Send;
}

crate::dyn_form::object_safe! {
    /// The object-safe form of [`SnapshotStore`]: `Arc<dyn DynSnapshotStore>` is a
    /// [`SnapshotStore`], and every snapshot store is a `DynSnapshotStore`.
    ///
    /// ```
    /// use eventful_core::{DynSnapshotStore, SnapshotStore, StreamId};
    /// use eventful_store_memory::MemoryStore;
    /// use std::sync::Arc;
    ///
    /// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// let snapshots: Arc<dyn DynSnapshotStore> = Arc::new(MemoryStore::new());
    /// assert!(snapshots.load_snapshot(&StreamId::new("player-1")?).await?.is_none());
    /// # Ok(()) }
    /// # tokio::runtime::Runtime::new().unwrap().block_on(demo()).unwrap();
    /// ```
    SnapshotStore => DynSnapshotStore {
        fn save_snapshot(&self, snapshot: Snapshot) -> Result<(), StoreError> => save_snapshot_boxed;
        fn load_snapshot(&self, stream_id: &StreamId) -> Result<Option<Snapshot>, StoreError>
            => load_snapshot_boxed;
    }
}
