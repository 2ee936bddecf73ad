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
//! - Some wire-compatible servers (nx-27017) index an array as one value: they accept a
//!   second document sharing only some ids with a first, and have no index on array
//!   elements, so a lookup by id scans the collection. There the position claim does the
//!   work: an append inserted at position `L + 1` has seen every append up to `L` committed
//!   (the crate documentation's argument), so a writer that knows the ids of the log up to
//!   `L` can check the append against everything stored before it, and anything stored
//!   after it is checked against it by its own writer. The store keeps those ids in memory
//!   ([`KnownIds`], the first position of the append holding each), reads the appends it has
//!   not seen (its own are added as they commit) from the log before each insert, and fetches
//!   the appends holding a known id, by `_id`, only when there is one. That is exact across
//!   processes, costs no query while this process is the only writer, one indexed read of the
//!   new appends after another process wrote, and a few tens of bytes of memory an event.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use eventful_core::{
    AppendResult, Duplicate, ExpectedVersion, Position, StoreError, StreamId, Version,
};
use mongodb::IndexModel;
use mongodb::bson::{Document, doc};
use mongodb::options::IndexOptions;
use mongodb::{Database, bson};
use uuid::Uuid;

use crate::error::{MongoStoreError, is_duplicate_key};
use crate::reads::PAGE_DOCUMENTS;
use crate::schema::{PreparedAppend, field, int64};
use crate::store::Inner;
use crate::stored::StoredAppend;

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

/// The event ids of the log up to a position, each with the first position of the append
/// holding it: what a writer on a server that does not enforce the event ids index checks an
/// append against.
#[derive(Debug, Default)]
pub(crate) struct KnownIds {
    /// Every append up to this position is in `holders`.
    covered: u64,
    holders: HashMap<Uuid, u64>,
}

impl KnownIds {
    /// How many ids are known.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.holders.len()
    }

    /// Records an append just committed at `first_position..=last_position`, if it continues
    /// what is known (else the next catch-up reads it).
    pub(crate) fn record(&mut self, ids: &[Uuid], first_position: u64, last_position: u64) {
        if self.covered + 1 == first_position {
            self.holders
                .extend(ids.iter().map(|id| (*id, first_position)));
            self.covered = last_position;
        }
    }
}

impl Inner {
    /// Where the append's ids are stored, judged ([`judge`]), as of now: on a server that
    /// enforces the event ids index, one query on it; on one that does not, the known ids,
    /// caught up to the log's head.
    pub(crate) async fn stored_ids(
        &self,
        stream_id: &StreamId,
        expected: ExpectedVersion,
        prepared: &PreparedAppend,
    ) -> Result<Option<AppendResult>, StoreError> {
        if self.ids_enforced {
            return self
                .stored_ids_in_index(stream_id, expected, prepared)
                .await;
        }
        let mut claim = self.log.claim.lock().await;
        let head = self.log_head().await?;
        self.judge_known(&mut claim.ids, head, stream_id, expected, prepared)
            .await
    }

    /// Where the append's ids are stored, judged, from one query on `{event_ids: 1}`: for a
    /// server that enforces that index (elsewhere the query scans the collection).
    pub(crate) async fn stored_ids_in_index(
        &self,
        stream_id: &StreamId,
        expected: ExpectedVersion,
        prepared: &PreparedAppend,
    ) -> Result<Option<AppendResult>, StoreError> {
        let holders = self.appends_holding(prepared.event_ids()).await?;
        for holder in &holders {
            self.heads.observe(&holder.stream_id, holder.last_version);
        }
        judge(stream_id, expected, prepared.event_ids(), &holders)
    }

    /// Where the append's ids are stored among the appends up to `upto` ([`judge`]), from
    /// `known`, first caught up to `upto`: no query when it is already, and when none of the
    /// ids is known.
    pub(crate) async fn judge_known(
        &self,
        known: &mut KnownIds,
        upto: u64,
        stream_id: &StreamId,
        expected: ExpectedVersion,
        prepared: &PreparedAppend,
    ) -> Result<Option<AppendResult>, StoreError> {
        self.catch_up(known, upto).await?;
        let mut positions: Vec<u64> = prepared
            .event_ids()
            .iter()
            .filter_map(|id| known.holders.get(id).copied())
            .collect();
        if positions.is_empty() {
            return Ok(None);
        }
        positions.sort_unstable();
        positions.dedup();
        let holders = self.appends_starting_at(&positions).await?;
        judge(stream_id, expected, prepared.event_ids(), &holders)
    }

    /// Reads the ids of the appends after what `known` covers, up to `upto`.
    async fn catch_up(&self, known: &mut KnownIds, upto: u64) -> Result<(), StoreError> {
        while known.covered < upto {
            let page = self.appends_ending_in(known.covered, upto).await?;
            let Some(last) = page.last() else {
                // Nothing visible yet past what is known: the check is as of what is.
                break;
            };
            let covered = last.last_position;
            for append in &page {
                let ids = append.event_ids()?;
                for id in ids {
                    // The earliest holder, should the log hold an id twice (written before
                    // ids were unique store-wide).
                    known.holders.entry(id).or_insert(append.first_position);
                }
            }
            known.covered = covered;
        }
        Ok(())
    }

    /// The appends starting at `positions` (their `_id`s), headers only.
    async fn appends_starting_at(
        &self,
        positions: &[u64],
    ) -> Result<Vec<StoredAppend>, StoreError> {
        let mut appends = Vec::with_capacity(positions.len());
        for chunk in positions.chunks(PAGE_DOCUMENTS) {
            let ids: Vec<bson::Bson> = chunk
                .iter()
                .map(|position| bson::Bson::Int64(int64(*position)))
                .collect();
            appends.extend(
                self.find_appends(
                    "reading the appends holding event ids",
                    doc! { field::ID: { "$in": ids } },
                    doc! { field::LAST_POSITION: 1 },
                    chunk.len(),
                    true,
                )
                .await?,
            );
        }
        Ok(appends)
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
