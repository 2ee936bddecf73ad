//! Snapshots in their own collection: one document per stream (`_id` = the stream id), its
//! state as a real BSON value beside the version it covers.
//!
//! ```text
//! { _id: "player-7", aggregate_type: "player", version: 200, revision: 1,
//!   taken_at: ISODate(...), state: { name: "ana", xp: 19900, ... } }
//! ```
//!
//! Saving replaces the kept snapshot only if that one is not newer (a conditional
//! replacement, or an insert for a stream's first snapshot), so a slow writer never replaces
//! a newer snapshot with an older one. A snapshot
//! document that does not decode is skipped with a warning (the stream is replayed instead):
//! snapshots are a cache of what the events already say.

use eventful_core::{Payload, Snapshot, SnapshotStore, StoreError, StreamId, TypeName, Version};
use mongodb::bson::{self, RawDocumentBuf, doc};

use crate::error::MongoStoreError;
use crate::payload::{bson_to_json, json_to_bson};
use crate::problem::DecodeProblem;
use crate::put::put;
use crate::schema::int64;
use crate::store::MongoStore;
use crate::stored::{invalid_name, malformed, read_u64, read_utc, text, value};

const AGGREGATE_TYPE: &str = "aggregate_type";
const VERSION: &str = "version";
const REVISION: &str = "revision";
const TAKEN_AT: &str = "taken_at";
const STATE: &str = "state";

impl SnapshotStore for MongoStore {
    async fn save_snapshot(&self, snapshot: Snapshot) -> Result<(), StoreError> {
        let inner = &self.inner;
        let stream_version = Version::new(inner.stream_version(&snapshot.stream_id).await?);
        // A database with no events keeps another store's snapshots and cannot tell.
        if (snapshot.version > stream_version || snapshot.version == Version::NONE)
            && inner.log_head().await? > 0
        {
            return Err(StoreError::SnapshotBeyondStream {
                stream_id: snapshot.stream_id,
                version: snapshot.version,
                stream_version,
            });
        }
        let state = json_to_bson(snapshot.payload.as_bytes()).map_err(|problem| {
            MongoStoreError::UnrepresentableSnapshot {
                stream_id: snapshot.stream_id.clone(),
                version: snapshot.version,
                problem,
            }
        })?;
        let mut document = RawDocumentBuf::new();
        document.append("_id", snapshot.stream_id.as_str());
        document.append(AGGREGATE_TYPE, snapshot.aggregate_type.as_str());
        document.append(VERSION, int64(snapshot.version.get()));
        document.append(REVISION, i64::from(snapshot.revision));
        document.append(
            TAKEN_AT,
            bson::DateTime::from_millis(snapshot.taken_at.timestamp_millis()),
        );
        document.append(STATE, state);
        // Only a kept snapshot that is not newer is replaced.
        let filter = doc! {
            "_id": snapshot.stream_id.as_str(),
            VERSION: { "$lte": int64(snapshot.version.get()) },
        };
        put(&inner.snapshots, filter, document)
            .await
            .map_err(|error| inner.driver_error("saving a snapshot", error))?;
        Ok(())
    }

    async fn load_snapshot(&self, stream_id: &StreamId) -> Result<Option<Snapshot>, StoreError> {
        let inner = &self.inner;
        let Some(document) = inner
            .snapshots
            .find_one(doc! { "_id": stream_id.as_str() })
            .await
            .map_err(|error| inner.driver_error("loading a snapshot", error))?
        else {
            return Ok(None);
        };
        match decode(stream_id, &document) {
            Ok(snapshot) => Ok(Some(snapshot)),
            Err(problem) => {
                tracing::warn!(
                    %stream_id, collection = inner.snapshots.name(), %problem,
                    "ignoring a snapshot document that does not decode; the stream will be replayed"
                );
                Ok(None)
            }
        }
    }
}

fn decode(stream_id: &StreamId, document: &RawDocumentBuf) -> Result<Snapshot, DecodeProblem> {
    let aggregate_type = text(document, AGGREGATE_TYPE)?;
    let revision = read_u64(document, REVISION)?;
    let revision = u32::try_from(revision).map_err(|_| DecodeProblem::OutOfRange {
        field: REVISION.to_owned(),
        value: i64::try_from(revision).unwrap_or(i64::MAX),
        min: 0,
        max: i64::from(u32::MAX),
    })?;
    let json = bson_to_json(value(document, STATE)?)?;
    Ok(Snapshot {
        stream_id: stream_id.clone(),
        aggregate_type: TypeName::new(aggregate_type).map_err(invalid_name(AGGREGATE_TYPE))?,
        version: Version::new(read_u64(document, VERSION)?),
        revision,
        taken_at: read_utc(document, TAKEN_AT)?,
        payload: Payload::from_stored_json(json.into()).map_err(|error| malformed(STATE, error))?,
    })
}
