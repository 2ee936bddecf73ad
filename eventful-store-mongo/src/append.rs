//! Appends: the expected-version rules, idempotent retries, and claiming global positions
//! with the insert itself.
//!
//! An append is one `insert_one` of one document, so it is atomic on every deployment. Unique
//! indexes decide it: `(stream_id, first_version)` refuses a second append from the same
//! stream version, `_id` (the first global position) a second append at the same position,
//! and `event_ids` an id stored anywhere already. The crate documentation gives the whole
//! argument; the rules here:
//!
//! - Event ids first, as in every store (the `ids` module): when any id of the append is
//!   stored, the append is a retry (the result stored then) or a `DuplicateEvent`, whatever
//!   the stream's version. A server that enforces the `event_ids` index says so by refusing
//!   the insert, and only then are the ids looked up; on one that does not, the append is
//!   checked against the ids of the log below the position it claims, kept in memory.
//! - `Exact(v)` inserts at version `v + 1` only when the stream is known to have been at `v`
//!   (this process wrote or read an append ending at `v`, or a read of the stream's head just
//!   said so); otherwise it is refused without writing.
//! - `NoStream` inserts at version 1, which collides with any existing stream.
//! - `Any` inserts after the last known version, moving up if the stream moved.
//! - Every insert claims position `L + 1`, where `L` is the last position of an append seen
//!   committed. Inside one process claims are serialized, so a second insert never starts
//!   before the first is acknowledged.
//!
//! A refused insert does not say which index refused it (the driver does not expose the key
//! pattern, and messages differ between servers), so the store reads what holds the keys:
//! the stream version, the position, the ids.

use std::time::Duration;

use eventful_core::{
    AppendResult, ExpectedVersion, NewEvent, Position, StoreError, StreamId, Version,
};

use crate::error::{MongoStoreError, is_duplicate_key};
use crate::schema::{PreparedAppend, now_millis};
use crate::store::Inner;

/// What an insert attempt came to.
enum Inserted {
    /// The append is stored: now, or by an earlier call (`already_stored`).
    Stored(AppendResult),
    /// Another append holds the stream version, and none of the ids is stored.
    VersionTaken,
}

impl Inner {
    pub(crate) async fn append(
        &self,
        stream_id: &StreamId,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
    ) -> Result<AppendResult, StoreError> {
        if events.is_empty() {
            return self.check_version_only(stream_id, expected).await;
        }
        let prepared = PreparedAppend::new(stream_id, &events)?;
        let mut first_version = match expected {
            ExpectedVersion::NoStream | ExpectedVersion::Exact(Version::NONE) => 1,
            ExpectedVersion::Exact(version) => {
                let version = version.get();
                if self.heads.get(stream_id) != Some(version) {
                    let actual = self.stream_version(stream_id).await?;
                    if actual != version {
                        return self.refuse(stream_id, expected, &prepared, actual).await;
                    }
                }
                version + 1
            }
            ExpectedVersion::Any => match self.heads.get(stream_id) {
                Some(version) => version + 1,
                None => self.stream_version(stream_id).await? + 1,
            },
        };
        let mut attempts = 0;
        loop {
            attempts += 1;
            match self
                .insert(stream_id, expected, &prepared, first_version)
                .await?
            {
                Inserted::Stored(result) => return Ok(result),
                Inserted::VersionTaken if expected != ExpectedVersion::Any => {
                    return Err(StoreError::Conflict {
                        stream_id: stream_id.clone(),
                        expected,
                        actual: Version::new(self.stream_version(stream_id).await?),
                    });
                }
                Inserted::VersionTaken => {
                    if attempts >= self.settings.position_attempts() {
                        return Err(MongoStoreError::PositionContention {
                            stream_id: stream_id.clone(),
                            first_version: Version::new(first_version),
                            attempts,
                        }
                        .into());
                    }
                    first_version = self.stream_version(stream_id).await? + 1;
                }
            }
        }
    }

    /// An append of no events: the version check alone.
    async fn check_version_only(
        &self,
        stream_id: &StreamId,
        expected: ExpectedVersion,
    ) -> Result<AppendResult, StoreError> {
        let actual = Version::new(self.stream_version(stream_id).await?);
        if !expected.accepts(actual) {
            return Err(StoreError::Conflict {
                stream_id: stream_id.clone(),
                expected,
                actual,
            });
        }
        Ok(AppendResult {
            last_version: actual,
            first_position: Position::START,
            recorded_at: now_millis().1,
            already_stored: false,
        })
    }

    /// An `Exact` append to a stream at another version than expected: a retry when its ids
    /// are stored where it would have put them, a `DuplicateEvent` when they are stored
    /// elsewhere, else a conflict.
    async fn refuse(
        &self,
        stream_id: &StreamId,
        expected: ExpectedVersion,
        prepared: &PreparedAppend,
        actual: u64,
    ) -> Result<AppendResult, StoreError> {
        if let Some(stored) = self.stored_ids(stream_id, expected, prepared).await? {
            return Ok(stored);
        }
        Err(StoreError::Conflict {
            stream_id: stream_id.clone(),
            expected,
            actual: Version::new(actual),
        })
    }

    /// Inserts the append at `first_version`, claiming the next global position; on a
    /// collision, finds out whether the event ids, the stream version or the position was
    /// taken, and tries the next position in the last case.
    async fn insert(
        &self,
        stream_id: &StreamId,
        expected: ExpectedVersion,
        prepared: &PreparedAppend,
        first_version: u64,
    ) -> Result<Inserted, StoreError> {
        let count = prepared.len();
        let attempts = self.settings.position_attempts();
        // Held across the round trip: an insert claiming above one still in flight could
        // commit first, above a position that is not visible yet.
        let mut claim = self.log.claim.lock().await;
        for attempt in 1..=attempts {
            let last = match claim.last {
                Some(last) => last,
                None => self.log_head().await?,
            };
            // On a server that does not enforce the event ids index, the append is checked
            // against every append below the position it claims (the `ids` module).
            if !self.ids_enforced
                && let Some(stored) = self
                    .judge_known(&mut claim.ids, last, stream_id, expected, prepared)
                    .await?
            {
                return Ok(Inserted::Stored(stored));
            }
            let first_position = last + 1;
            let (stored_at, recorded_at) = now_millis();
            let document = prepared.document(first_position, first_version, stored_at)?;
            match self.events.insert_one(document).await {
                Ok(_) => {
                    let last_position = first_position + count - 1;
                    claim.last = Some(last_position);
                    if !self.ids_enforced {
                        claim
                            .ids
                            .record(prepared.event_ids(), first_position, last_position);
                    }
                    drop(claim);
                    let last_version = first_version + count - 1;
                    self.heads.observe(stream_id, last_version);
                    self.log.saw(last_position);
                    self.log.appended.notify_waiters();
                    return Ok(Inserted::Stored(AppendResult {
                        last_version: Version::new(last_version),
                        first_position: Position::new(first_position),
                        recorded_at,
                        already_stored: false,
                    }));
                }
                Err(error) if is_duplicate_key(&error) => {
                    let (holder, head) = tokio::try_join!(
                        self.append_at(stream_id, first_version),
                        self.log_head()
                    )?;
                    claim.last = Some(head);
                    // Which index refused it is told by what holds the keys; the ids come
                    // first, as in every store.
                    let stored = if self.ids_enforced {
                        // They may be what collided unless the position alone was taken (then
                        // the next attempt collides on them again, if they are stored).
                        let ids_may_collide = holder.is_some() || head < first_position;
                        if ids_may_collide {
                            self.stored_ids_in_index(stream_id, expected, prepared)
                                .await?
                        } else {
                            None
                        }
                    } else if holder.is_some() {
                        self.judge_known(&mut claim.ids, head, stream_id, expected, prepared)
                            .await?
                    } else {
                        // The next attempt checks them, up to the new head.
                        None
                    };
                    if let Some(stored) = stored {
                        return Ok(Inserted::Stored(stored));
                    }
                    if holder.is_some() {
                        return Ok(Inserted::VersionTaken);
                    }
                    if head < first_position {
                        // Neither the ids, the stream version nor the position is visibly
                        // taken: the other append is not readable yet.
                        tokio::time::sleep(Duration::from_millis(u64::from(attempt.min(50)))).await;
                    }
                }
                Err(error) => {
                    // The insert may or may not have been stored: learn the head afresh.
                    claim.last = None;
                    return Err(self.driver_error("appending", error));
                }
            }
        }
        Err(MongoStoreError::PositionContention {
            stream_id: stream_id.clone(),
            first_version: Version::new(first_version),
            attempts,
        }
        .into())
    }
}

/// The path a server that enforces the event ids index takes (MongoDB), on the test server
/// named by `EVENTFUL_MONGO_URI` (skipped when unset). nx-27017 does not enforce a unique
/// index across arrays that share only some elements, but does refuse an identical array, so
/// with single-event appends it behaves as MongoDB does; the integration tests cover the
/// other path there.
#[cfg(test)]
mod tests {
    use std::time::Duration;

    use eventful_core::{Duplicate, EventStore, ExpectedVersion, StoreError, StreamId, Version};

    use crate::schema::tests::event;
    use crate::{MongoSettings, MongoStore};

    async fn enforced_store() -> Option<MongoStore> {
        let Ok(uri) = std::env::var("EVENTFUL_MONGO_URI") else {
            eprintln!("skipped: EVENTFUL_MONGO_URI is not set");
            return None;
        };
        let settings = MongoSettings::new(uri)
            .with_database(format!("eventful_test_{}", uuid::Uuid::new_v4().simple()))
            .with_server_selection_timeout(Duration::from_secs(10));
        let store = MongoStore::open(settings, Some(true))
            .await
            .unwrap_or_else(|error| panic!("cannot connect to the test server: {error}"));
        Some(store)
    }

    fn stream(name: &str) -> StreamId {
        StreamId::new(format!("{name}-{}", uuid::Uuid::new_v4().simple())).expect("valid")
    }

    fn place<T: std::fmt::Debug>(result: Result<T, StoreError>) -> (uuid::Uuid, StreamId, u64) {
        match result {
            Err(StoreError::DuplicateEvent {
                event_id,
                duplicate: Duplicate::Stored { stream_id, version },
                ..
            }) => (event_id, stream_id, version.get()),
            other => panic!("expected a DuplicateEvent, got {other:?}"),
        }
    }

    fn conflict_at<T: std::fmt::Debug>(result: Result<T, StoreError>) -> u64 {
        match result {
            Err(StoreError::Conflict { actual, .. }) => actual.get(),
            other => panic!("expected a Conflict, got {other:?}"),
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_refused_insert_is_judged_by_where_its_ids_are() {
        let Some(store) = enforced_store().await else {
            return;
        };
        let (home, away) = (stream("home"), stream("away"));
        let x = event("x", "{}");
        let first = store
            .append(&home, ExpectedVersion::NoStream, vec![x.clone()])
            .await
            .expect("append");
        for expected in [
            ExpectedVersion::NoStream,
            ExpectedVersion::Exact(Version::NONE),
            ExpectedVersion::Any,
        ] {
            let again = store
                .append(&home, expected, vec![x.clone()])
                .await
                .unwrap_or_else(|error| panic!("a retry with {expected} failed: {error}"));
            assert!(again.already_stored, "{expected}");
            assert_eq!(again.first_position, first.first_position);
        }
        store
            .append(
                &home,
                ExpectedVersion::Exact(Version::new(1)),
                vec![event("y", "{}")],
            )
            .await
            .expect("append");
        let at_home = (x.event_id, home.clone(), 1);
        assert_eq!(
            place(
                store
                    .append(
                        &home,
                        ExpectedVersion::Exact(Version::new(2)),
                        vec![x.clone()]
                    )
                    .await
            ),
            at_home,
            "another version of its stream"
        );
        for expected in [ExpectedVersion::NoStream, ExpectedVersion::Any] {
            assert_eq!(
                place(store.append(&away, expected, vec![x.clone()]).await),
                at_home,
                "another stream, {expected}"
            );
        }
        assert_eq!(
            place(
                store
                    .append(
                        &home,
                        ExpectedVersion::Exact(Version::new(5)),
                        vec![x.clone()]
                    )
                    .await
            ),
            at_home,
            "a version the stream is not at"
        );
        let fresh = || vec![event("z", "{}")];
        assert_eq!(
            conflict_at(
                store
                    .append(&home, ExpectedVersion::NoStream, fresh())
                    .await
            ),
            2
        );
        assert_eq!(
            conflict_at(
                store
                    .append(&home, ExpectedVersion::Exact(Version::new(5)), fresh())
                    .await
            ),
            2
        );
        assert_eq!(
            store.stream_version(&home).await.expect("reads"),
            Version::new(2)
        );
        assert_eq!(
            store.stream_version(&away).await.expect("reads"),
            Version::NONE
        );
        assert_eq!(store.head_position().await.expect("reads").get(), 2);
        assert_eq!(
            store.inner.log.claim.lock().await.ids.len(),
            0,
            "where the index decides, no ids are kept"
        );
        store
            .database()
            .drop()
            .await
            .expect("the test database drops");
    }
}
