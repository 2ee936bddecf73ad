//! One event id, one place: an event id is stored at most once in the store. The same ids at
//! the same versions of the same stream are a retry (an idempotent success); the same ids
//! anywhere else, or only some of them stored, are refused with where they are.
//!
//! The rule ([`judge`], the same as every store's):
//!
//! - `Exact(v)`: a retry when the first id is stored at version `v + 1` of the stream, and the
//!   others follow it, in order;
//! - `NoStream` (and `Exact(0)`): the same, at version 1;
//! - `Any`: the same, wherever the first id is in that stream.
//!
//! Anything else with a stored id is [`StoreError::DuplicateEvent`] naming an offending id
//! and where it is stored ([`Duplicate::Stored`]). Nothing is written in either case.
//!
//! What makes it store-wide depends on the server, which [`probe`] asks at connect, in a
//! scratch collection:
//!
//! - MongoDB enforces the unique multikey index `{event_ids: 1}` across documents: an insert
//!   holding an id that another append holds fails on it, and only then does the store look
//!   the ids up (one query on that index, [`Inner::stored_ids`]) to answer. Nothing is spent
//!   on an append whose ids are new.
//! - Some wire-compatible servers (nx-27017) index an array as one value: they refuse a
//!   second document whose whole `event_ids` equals a first's, but accept one sharing only
//!   some ids. There an append of one event is decided by its own document, as on MongoDB
//!   (its array of one id equals any other holding just that id), and an append of several
//!   events inserts, in the same ordered `insert_many` and before its document, one **claim**
//!   document per id (`event_ids` of that id alone, [`claim_document`]): an id held by any
//!   append or claim makes the insert stop there. A claim whose append was refused is deleted
//!   by its writer; one left by a writer that died before deleting it holds no append, and is
//!   deleted by the next append that meets it once it is [`ORPHAN_GRACE`] old.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use eventful_core::{
    AppendResult, Duplicate, ExpectedVersion, Position, StoreError, StreamId, Version,
};
use mongodb::IndexModel;
use mongodb::bson::{Bson, Document, RawDocument, RawDocumentBuf, doc, rawdoc};
use mongodb::options::IndexOptions;
use mongodb::{Database, bson};
use uuid::Uuid;

use crate::error::{MongoStoreError, is_duplicate_key};
use crate::schema::{PreparedAppend, field, int64, now_millis};
use crate::store::Inner;
use crate::stored::{StoredAppend, read_u64};

/// Where one event id is stored.
#[derive(Debug, Clone, Copy)]
struct Place<'a> {
    stream_id: &'a StreamId,
    version: u64,
    position: u64,
    recorded_at: DateTime<Utc>,
}

/// Judges an append of events with `ids` (distinct, at least one) to `stream_id` against
/// the appends `holders` that hold any of them: `None` when none is stored, the result stored
/// then for a retry, or the refusal.
pub(crate) fn judge(
    stream_id: &StreamId,
    expected: ExpectedVersion,
    ids: &[Uuid],
    holders: &[StoredAppend],
) -> Result<Option<AppendResult>, StoreError> {
    let mut places: HashMap<Uuid, Place<'_>> = HashMap::new();
    // The earliest append first, should a server that does not enforce the index hold an id
    // twice.
    let mut holders: Vec<&StoredAppend> = holders.iter().collect();
    holders.sort_by_key(|holder| holder.first_position);
    for holder in holders {
        for (offset, id) in (0u64..).zip(holder.event_ids()?) {
            places.entry(id).or_insert(Place {
                stream_id: &holder.stream_id,
                version: holder.first_version + offset,
                position: holder.first_position + offset,
                recorded_at: holder.recorded_at,
            });
        }
    }
    let refuse = |event_id: Uuid, place: &Place<'_>| StoreError::DuplicateEvent {
        stream_id: stream_id.clone(),
        event_id,
        duplicate: Duplicate::Stored {
            stream_id: place.stream_id.clone(),
            version: Version::new(place.version),
        },
    };
    let Some(&first_id) = ids.first() else {
        return Ok(None);
    };
    let Some(first) = places.get(&first_id) else {
        return match ids
            .iter()
            .find_map(|id| places.get(id).map(|place| (*id, place)))
        {
            Some((id, place)) => Err(refuse(id, place)),
            None => Ok(None),
        };
    };
    let same_place = first.stream_id == stream_id
        && expected
            .version()
            .is_none_or(|expected| expected.get() + 1 == first.version);
    if !same_place {
        return Err(refuse(first_id, first));
    }
    for (offset, id) in (0u64..).zip(ids) {
        match places.get(id) {
            Some(place)
                if place.stream_id == stream_id && place.version == first.version + offset => {}
            Some(place) => return Err(refuse(*id, place)),
            None => return Err(refuse(first_id, first)),
        }
    }
    Ok(Some(AppendResult {
        last_version: Version::new(first.version + ids.len() as u64 - 1),
        first_position: Position::new(first.position),
        recorded_at: first.recorded_at,
        already_stored: true,
    }))
}

/// Where an append's ids are.
pub(crate) enum IdsState {
    /// Stored: the result stored then, for a retry.
    Stored(AppendResult),
    /// Nowhere.
    Free,
    /// Nowhere, now that claims left by a writer that died were deleted: an insert refused
    /// because of them may be tried again.
    Freed,
}

/// How old a claim holding no append must be before an append meeting it deletes it: its
/// writer's `insert_many` is long over, and the writer would have deleted it already.
pub(crate) const ORPHAN_GRACE: Duration = Duration::from_secs(2);

/// The stream-id prefix of claim documents, which no stream id can hold (a control
/// character).
pub(crate) const CLAIM_PREFIX: &str = "\u{1}id ";

/// The claim of `id` for the append at `position`: an events-collection document whose keys
/// collide with any other holder of the id on a server that indexes arrays as one value,
/// and with nothing else (its `_id` and stream are the id's own, its `last_position` a
/// negative number of its own, which no read of the log ranges over).
pub(crate) fn claim_document(id: Uuid, position: u64, at: bson::DateTime) -> RawDocumentBuf {
    let bits = id.as_u64_pair().1 >> 2;
    let below_log = -1 - i64::try_from(bits).unwrap_or(i64::MAX - 1);
    let key = format!("{CLAIM_PREFIX}{id}");
    rawdoc! {
        field::ID: key.as_str(),
        field::STREAM_ID: key.as_str(),
        field::FIRST_VERSION: 1_i64,
        field::LAST_VERSION: 1_i64,
        field::LAST_POSITION: below_log,
        field::RECORDED_AT: at,
        field::EVENT_IDS: [id.to_string()],
        CLAIMED_FOR: int64(position),
    }
}

/// The field of a claim naming the position of its append.
const CLAIMED_FOR: &str = "claimed_for";

/// Whether `document` is a claim.
pub(crate) fn is_claim(document: &RawDocument) -> bool {
    document
        .get_str(field::STREAM_ID)
        .is_ok_and(|stream| stream.starts_with(CLAIM_PREFIX))
}

impl Inner {
    /// Inserts the claims of the append's ids, then its document, in one ordered
    /// `insert_many`; when it is refused, deletes the claims it inserted (they hold no
    /// append) before handing the refusal back.
    pub(crate) async fn insert_claimed(
        &self,
        prepared: &PreparedAppend,
        first_position: u64,
        document: RawDocumentBuf,
    ) -> Result<(), mongodb::error::Error> {
        let at = now_millis().0;
        let mut documents: Vec<RawDocumentBuf> = prepared
            .event_ids()
            .iter()
            .map(|id| claim_document(*id, first_position, at))
            .collect();
        let claims: Vec<Bson> = prepared
            .event_ids()
            .iter()
            .map(|id| Bson::String(format!("{CLAIM_PREFIX}{id}")))
            .collect();
        documents.push(document);
        let Err(error) = self.events.insert_many(documents).ordered(true).await else {
            return Ok(());
        };
        // Only the claims this insert made: those of another writer name another position.
        let ours = doc! {
            field::ID: { "$in": claims },
            CLAIMED_FOR: int64(first_position),
        };
        if let Err(cleanup) = self.events.delete_many(ours).await {
            tracing::debug!(%cleanup, "deleting the claims of a refused append failed");
        }
        Err(error)
    }

    /// Deletes the claims among `claims` that hold no append and are older than
    /// [`ORPHAN_GRACE`] (left by a writer that died between its refused insert and deleting
    /// them): whether it deleted any.
    async fn delete_orphans(&self, claims: Vec<RawDocumentBuf>) -> Result<bool, StoreError> {
        let now = now_millis().0.timestamp_millis();
        let mut deleted = false;
        for claim in claims {
            let (Ok(key), Ok(position), Ok(at)) = (
                claim.get_str(field::ID),
                read_u64(&claim, CLAIMED_FOR),
                claim.get_datetime(field::RECORDED_AT),
            ) else {
                continue;
            };
            let grace = i64::try_from(ORPHAN_GRACE.as_millis()).unwrap_or(i64::MAX);
            if now - at.timestamp_millis() < grace || self.holds_position(position).await? {
                continue;
            }
            tracing::info!(
                claim = key,
                "deleting a claim its writer left holding no append"
            );
            self.events
                .delete_one(doc! { field::ID: key, CLAIMED_FOR: int64(position) })
                .await
                .map_err(|error| self.driver_error("deleting an orphaned claim", error))?;
            deleted = true;
        }
        Ok(deleted)
    }

    /// Where the append's ids are stored, judged ([`judge`]): the result stored then for a
    /// retry, or `None` when none is stored.
    pub(crate) async fn stored_ids(
        &self,
        stream_id: &StreamId,
        expected: ExpectedVersion,
        prepared: &PreparedAppend,
    ) -> Result<Option<AppendResult>, StoreError> {
        Ok(match self.ids_state(stream_id, expected, prepared).await? {
            IdsState::Stored(stored) => Some(stored),
            IdsState::Free | IdsState::Freed => None,
        })
    }

    /// Where the append's ids are, from one query on `{event_ids: 1}` (which scans the
    /// collection on a server that does not index array elements); claims that hold no
    /// append and are past their grace are deleted on the way.
    pub(crate) async fn ids_state(
        &self,
        stream_id: &StreamId,
        expected: ExpectedVersion,
        prepared: &PreparedAppend,
    ) -> Result<IdsState, StoreError> {
        let (holders, claims) = self.appends_holding(prepared.event_ids()).await?;
        for holder in &holders {
            self.heads
                .observe(&holder.stream_id, holder.last_version, holder.last_position);
        }
        if let Some(stored) = judge(stream_id, expected, prepared.event_ids(), &holders)? {
            return Ok(IdsState::Stored(stored));
        }
        if !claims.is_empty() && self.delete_orphans(claims).await? {
            return Ok(IdsState::Freed);
        }
        Ok(IdsState::Free)
    }
}

/// Whether the server enforces a unique index on an array field across documents: refuses a
/// second document sharing one element with a first. Tried in a scratch collection of
/// `database`, dropped afterwards. A server that will not let the store try (no right to
/// create or drop a collection) is taken not to enforce it, which costs a lookup per append
/// and nothing else.
pub(crate) async fn probe(database: &Database) -> Result<bool, MongoStoreError> {
    let name = format!("eventful_probe_{}", Uuid::new_v4().simple());
    let scratch = database.collection::<Document>(&name);
    let tried = async {
        scratch
            .create_index(
                IndexModel::builder()
                    .keys(doc! { "ids": 1 })
                    .options(IndexOptions::builder().unique(true).build())
                    .build(),
            )
            .await?;
        scratch
            .insert_one(doc! { "_id": 1, "ids": ["a", "b"] })
            .await?;
        match scratch
            .insert_one(doc! { "_id": 2, "ids": ["b", "c"] })
            .await
        {
            Ok(_) => Ok(false),
            Err(error) if is_duplicate_key(&error) => Ok(true),
            Err(error) => Err(error),
        }
    }
    .await;
    if let Err(error) = scratch.drop().await {
        tracing::warn!(collection = %name, %error, "could not drop the store's scratch collection");
    }
    match tried {
        Ok(enforced) => Ok(enforced),
        Err(error) => {
            match MongoStoreError::from_driver("probing unique indexes", database.name(), error) {
                MongoStoreError::Unauthorized { .. } | MongoStoreError::Server { .. } => {
                    tracing::warn!(
                        "cannot try whether the server enforces unique multikey indexes; every \
                     append will look its event ids up first"
                    );
                    Ok(false)
                }
                other => Err(other),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::now_millis;
    use crate::schema::tests::{event, stream};

    /// The header of an append of `ids` to `stream_id` at `first_version` and
    /// `first_position`.
    fn holder(
        stream_id: &StreamId,
        ids: &[Uuid],
        first_version: u64,
        first_position: u64,
    ) -> StoredAppend {
        let events: Vec<_> = ids
            .iter()
            .map(|id| eventful_core::NewEvent {
                event_id: *id,
                ..event("a", "{}")
            })
            .collect();
        let prepared = PreparedAppend::new(stream_id, &events).expect("prepares");
        let document = prepared
            .document(first_position, first_version, now_millis().0)
            .expect("fits");
        StoredAppend::decode(document, "events").expect("decodes")
    }

    fn ids(n: usize) -> Vec<Uuid> {
        (0..n).map(|_| Uuid::new_v4()).collect()
    }

    fn refused(result: Result<Option<AppendResult>, StoreError>) -> (Uuid, StreamId, u64) {
        match result {
            Err(StoreError::DuplicateEvent {
                event_id,
                duplicate: Duplicate::Stored { stream_id, version },
                ..
            }) => (event_id, stream_id, version.get()),
            other => panic!("expected a DuplicateEvent, got {other:?}"),
        }
    }

    #[test]
    fn the_same_ids_at_the_same_versions_are_a_retry() {
        let s = stream();
        let a = ids(3);
        let b = ids(2);
        // Stored as 1..=3 and 4..=5, from positions 10 and 20.
        let holders = [holder(&s, &a, 1, 10), holder(&s, &b, 4, 20)];
        for expected in [
            ExpectedVersion::NoStream,
            ExpectedVersion::Exact(Version::NONE),
            ExpectedVersion::Any,
        ] {
            let stored = judge(&s, expected, &a, &holders)
                .expect("a retry")
                .expect("already stored");
            assert!(stored.already_stored);
            assert_eq!(stored.last_version, Version::new(3));
            assert_eq!(stored.first_position, Position::new(10));
        }
        let stored = judge(&s, ExpectedVersion::Exact(Version::new(3)), &b, &holders)
            .expect("a retry")
            .expect("already stored");
        assert_eq!(
            (stored.last_version, stored.first_position),
            (Version::new(5), Position::new(20))
        );
        // Consecutive across two appends, from inside the first.
        let across = [a[2], b[0], b[1]];
        let stored = judge(
            &s,
            ExpectedVersion::Exact(Version::new(2)),
            &across,
            &holders,
        )
        .expect("a retry")
        .expect("already stored");
        assert_eq!(
            (stored.last_version, stored.first_position),
            (Version::new(5), Position::new(12))
        );
        assert!(
            judge(&s, ExpectedVersion::Any, &ids(2), &holders)
                .expect("nothing stored")
                .is_none()
        );
    }

    #[test]
    fn the_same_ids_anywhere_else_are_refused_with_where_they_are() {
        let s = stream();
        let other = StreamId::new("player-8").expect("valid");
        let a = ids(3);
        let b = ids(2);
        let holders = [holder(&s, &a, 1, 10), holder(&s, &b, 4, 20)];
        assert_eq!(
            refused(judge(
                &s,
                ExpectedVersion::Exact(Version::new(5)),
                &a,
                &holders
            )),
            (a[0], s.clone(), 1),
            "the first append again at version 6"
        );
        let fresh = Uuid::new_v4();
        assert_eq!(
            refused(judge(
                &s,
                ExpectedVersion::Exact(Version::new(5)),
                &[fresh, b[0]],
                &holders
            )),
            (b[0], s.clone(), 4),
            "a new id and a stored one"
        );
        assert_eq!(
            refused(judge(
                &s,
                ExpectedVersion::Exact(Version::new(2)),
                &a[..2],
                &holders
            )),
            (a[0], s.clone(), 1),
            "a version off"
        );
        assert_eq!(
            refused(judge(&s, ExpectedVersion::Any, &[a[0], a[2]], &holders)),
            (a[2], s.clone(), 3),
            "out of order"
        );
        assert_eq!(
            refused(judge(&s, ExpectedVersion::Any, &[b[1], fresh], &holders)),
            (b[1], s.clone(), 5),
            "only some stored"
        );
        for expected in [ExpectedVersion::NoStream, ExpectedVersion::Any] {
            assert_eq!(
                refused(judge(&other, expected, &a, &holders)),
                (a[0], s.clone(), 1),
                "another stream"
            );
        }
    }
}
