//! The repository's snapshots: when one is due, taking and saving it, and counting what could
//! not be saved, so that a repository whose snapshots all fail is seen, not only logged.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use parking_lot::Mutex;

use super::context::Loaded;
use crate::aggregate::Aggregate;
use crate::envelope::Version;
use crate::names::StreamId;
use crate::payload::{Payload, PayloadError};
use crate::snapshot::{DynSnapshotStore, Snapshot};
use crate::store::StoreError;
use crate::telemetry::handles::RepositoryMetrics;

/// How a repository's snapshots are doing: read it with
/// [`Repository::snapshot_health`](super::Repository::snapshot_health).
///
/// A failed snapshot loses nothing (the events are committed; the next load replays a longer
/// tail), which is why a command does not fail with it; but a repository whose snapshots
/// always fail replays whole streams for ever, so watch `failed`.
///
/// ```
/// use eventful_core::repository::SnapshotHealth;
///
/// let health = SnapshotHealth::default();
/// assert_eq!((health.saved, health.failed), (0, 0));
/// assert!(health.last_failure.is_none());
/// ```
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct SnapshotHealth {
    /// Snapshots saved.
    pub saved: u64,
    /// Snapshots that were due but could not be serialized or saved.
    pub failed: u64,
    /// The latest failure.
    pub last_failure: Option<SnapshotFailure>,
}

/// One snapshot that could not be saved.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SnapshotFailure {
    /// The aggregate's stream.
    pub stream_id: StreamId,
    /// The version the snapshot would have covered.
    pub version: Version,
    /// When it failed.
    pub at: DateTime<Utc>,
    /// Why.
    pub error: Arc<SnapshotError>,
}

/// Why a snapshot could not be saved.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SnapshotError {
    /// The state does not serialize.
    #[error("the state does not serialize: {0}")]
    Encode(#[source] PayloadError),
    /// The snapshot store refused or failed the save (MongoDB, for one, cannot hold an
    /// integer above `i64::MAX`).
    #[error("the snapshot store failed: {0}")]
    Store(#[source] StoreError),
}

pub(super) struct Snapshots<A> {
    pub(super) store: Arc<dyn DynSnapshotStore>,
    pub(super) every: u64,
    pub(super) encode: fn(&A) -> Result<Payload, PayloadError>,
    pub(super) decode: fn(&Payload) -> Result<A, PayloadError>,
    pub(super) health: Mutex<SnapshotHealth>,
}

impl<A: Aggregate> Snapshots<A> {
    /// Saves a snapshot of `loaded` if its last `appended` events crossed a multiple of
    /// `every`.
    pub(super) async fn save_if_due(
        &self,
        loaded: &Loaded<A>,
        appended: u64,
        metrics: &RepositoryMetrics,
    ) {
        let now = loaded.version.get();
        if (now - appended) / self.every == now / self.every {
            return;
        }
        let outcome = match (self.encode)(&loaded.state) {
            Ok(payload) => {
                let snapshot = Snapshot {
                    stream_id: loaded.stream_id.clone(),
                    aggregate_type: A::TYPE,
                    version: loaded.version,
                    revision: A::SNAPSHOT_REVISION,
                    taken_at: Utc::now(),
                    payload,
                };
                self.store
                    .save_snapshot_boxed(snapshot)
                    .await
                    .map_err(SnapshotError::Store)
            }
            Err(error) => Err(SnapshotError::Encode(error)),
        };
        let mut health = self.health.lock();
        match outcome {
            Ok(()) => {
                health.saved += 1;
                metrics.snapshot_saved();
            }
            Err(error) => {
                metrics.snapshot_failed();
                tracing::warn!(
                    stream_id = %loaded.stream_id, version = %loaded.version, %error,
                    "cannot save a snapshot; the next load replays from the last one"
                );
                health.failed += 1;
                health.last_failure = Some(SnapshotFailure {
                    stream_id: loaded.stream_id.clone(),
                    version: loaded.version,
                    at: Utc::now(),
                    error: Arc::new(error),
                });
            }
        }
    }
}
