//! Appends: the expected-version rules, idempotent retries, and where an append goes in the
//! log.
//!
//! An append is one insert of one document, so it is atomic on every deployment. Its global
//! positions come from this store's block (the `sequence` module): no round trip of its own,
//! no race with other writers. Unique indexes decide everything else: `(stream_id,
//! first_version)` refuses a second append from the same stream version, `event_ids` an id
//! stored anywhere already, and `_id` a position a reader closed as a gap (the `gaps`
//! module) because the insert came too late. The rules:
//!
//! - Event ids first, as in every store (the `ids` module): when any id of the append is
//!   stored, the append is a retry (the result stored then) or a `DuplicateEvent`, whatever
//!   the stream's version.
//! - `Exact(v)` inserts at version `v + 1` only when the stream is known to have been at `v`
//!   (this process wrote or read an append ending at `v`, or a read of the stream's head just
//!   said so); otherwise it is refused without writing.
//! - `NoStream` inserts at version 1, which collides with any existing stream.
//! - `Any` inserts after the last known version, moving up if the stream moved.
//! - An append's positions are above the stream's last position, so a stream's positions
//!   grow with its versions and a reader of the log meets its events in order.
//!
//! A refused insert does not say which index refused it (the driver does not expose the key
//! pattern, and messages differ between servers), so the store reads what holds the keys:
//! the ids, the stream version, the position. When none of them is visible, the server's
//! index saw a document that the read concern's view does not show yet (just after an
//! election a new primary's majority view can lag): the store reads again until it is
//! visible, up to the catch-up timeout, and then fails with
//! [`MongoStoreError::CatchingUp`] rather than guess.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use eventful_core::{
    AppendResult, ExpectedVersion, NewEvent, Position, StoreError, StreamId, Version,
};

use crate::error::{MongoStoreError, is_duplicate_key};
use crate::heads::Head;
use crate::ids::IdsState;
use crate::schema::{PreparedAppend, now_millis};
use crate::store::Inner;

/// What an insert attempt came to.
enum Inserted {
    /// The append is stored: now, or by an earlier call (`already_stored`).
    Stored(AppendResult),
    /// Another append holds the stream version, and none of the ids is stored.
    VersionTaken,
}

/// What holds the keys of a refused insert.
enum Refusal {
    /// The ids: a retry's result, or the refusal.
    Ids(AppendResult),
    VersionTaken,
    /// A reader closed the position: the insert goes on at another one.
    PositionClosed,
    /// What refused it is gone (claims left by a writer that died): try again.
    Freed,
}

/// The stream had no append: version 0, and no position to stay above.
const NO_STREAM: Head = Head {
    version: 0,
    position: 0,
};

impl Inner {
    pub(crate) async fn append(
        &self,
        stream_id: &StreamId,
        expected: ExpectedVersion,
        events: &[NewEvent],
    ) -> Result<AppendResult, StoreError> {
        if events.is_empty() {
            return self.check_version_only(stream_id, expected).await;
        }
        let prepared = PreparedAppend::new(stream_id, events)?;
        let mut after = match expected {
            ExpectedVersion::NoStream | ExpectedVersion::Exact(Version::NONE) => NO_STREAM,
            ExpectedVersion::Exact(version) => match self.heads.get(stream_id) {
                Some(head) if head.version == version.get() => head,
                _ => {
                    let head = self.stream_head(stream_id).await?;
                    if head.version != version.get() {
                        return self
                            .refuse(stream_id, expected, &prepared, head.version)
                            .await;
                    }
                    head
                }
            },
            ExpectedVersion::Any => match self.heads.get(stream_id) {
                Some(head) => head,
                None => self.stream_head(stream_id).await?,
            },
        };
        let mut attempts = 0;
        loop {
            attempts += 1;
            match self.insert(stream_id, expected, &prepared, after).await? {
                Inserted::Stored(result) => return Ok(result),
                Inserted::VersionTaken if expected != ExpectedVersion::Any => {
                    // The holder is visible, so this read sees the stream past `expected`.
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
                            first_version: Version::new(after.version + 1),
                            attempts,
                        }
                        .into());
                    }
                    after = self.stream_head(stream_id).await?;
                }
            }
        }
    }

    /// The stream's last version and the last position of the append ending there.
    async fn stream_head(&self, stream_id: &StreamId) -> Result<Head, StoreError> {
        Ok(self
            .last_append(stream_id)
            .await?
            .map_or(NO_STREAM, |last| Head {
                version: last.last_version,
                position: last.last_position,
            }))
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

    /// Inserts the append after `after` (the stream's head), at positions from this store's
    /// block; on a refusal, finds out what holds its keys, and takes other positions when a
    /// reader closed the ones it had.
    async fn insert(
        &self,
        stream_id: &StreamId,
        expected: ExpectedVersion,
        prepared: &PreparedAppend,
        after: Head,
    ) -> Result<Inserted, StoreError> {
        let count = prepared.len();
        let first_version = after.version + 1;
        loop {
            // Above the stream's last position, so that its positions grow with its versions,
            // and above what this process has read of the log, so that an append made after
            // reading an event is after it.
            let above = after.position.max(self.log.seen.load(Ordering::Acquire));
            let first_position = self.take_positions(count, above).await?;
            let (stored_at, recorded_at) = now_millis();
            let document = match prepared.document(first_position, first_version, stored_at) {
                Ok(document) => document,
                Err(error) => {
                    self.sequence.give_back(first_position, count);
                    return Err(error.into());
                }
            };
            let inserted = if self.ids_enforced || count == 1 {
                self.events.insert_one(document).await.map(drop)
            } else {
                self.insert_claimed(prepared, first_position, document)
                    .await
            };
            match inserted {
                Ok(()) => {
                    let last_version = first_version + count - 1;
                    let last_position = first_position + count - 1;
                    self.heads.observe(stream_id, last_version, last_position);
                    self.log.appended.notify_waiters();
                    return Ok(Inserted::Stored(AppendResult {
                        last_version: Version::new(last_version),
                        first_position: Position::new(first_position),
                        recorded_at,
                        already_stored: false,
                    }));
                }
                Err(error) if is_duplicate_key(&error) => {
                    let refusal = self
                        .judge_refusal(stream_id, expected, prepared, first_version, first_position)
                        .await;
                    // The insert wrote nothing: its positions are free again, unless a reader
                    // closed them.
                    if !matches!(refusal, Ok(Refusal::PositionClosed)) {
                        self.sequence.give_back(first_position, count);
                    }
                    match refusal? {
                        Refusal::Ids(result) => return Ok(Inserted::Stored(result)),
                        Refusal::VersionTaken => return Ok(Inserted::VersionTaken),
                        Refusal::PositionClosed | Refusal::Freed => {}
                    }
                }
                // The insert may or may not be stored, so its positions are not reused: if it
                // is not, readers close them after the gap timeout.
                Err(error) => return Err(self.driver_error("appending", error)),
            }
        }
    }

    /// What holds the keys of an insert the server refused, read until the view shows it (at
    /// most the catch-up timeout).
    async fn judge_refusal(
        &self,
        stream_id: &StreamId,
        expected: ExpectedVersion,
        prepared: &PreparedAppend,
        first_version: u64,
        first_position: u64,
    ) -> Result<Refusal, StoreError> {
        let started = Instant::now();
        let mut pause = Duration::from_millis(5);
        loop {
            // The ids come first, as in every store.
            match self.ids_state(stream_id, expected, prepared).await? {
                IdsState::Stored(stored) => return Ok(Refusal::Ids(stored)),
                IdsState::Freed => return Ok(Refusal::Freed),
                IdsState::Free => {}
            }
            let (holder, at_position) = tokio::try_join!(
                self.append_at(stream_id, first_version),
                self.holds_position(first_position)
            )?;
            if holder.is_some() {
                return Ok(Refusal::VersionTaken);
            }
            if at_position {
                return Ok(Refusal::PositionClosed);
            }
            let waited = started.elapsed();
            if waited >= self.settings.catch_up_timeout() {
                return Err(MongoStoreError::CatchingUp {
                    stream_id: stream_id.clone(),
                    version: Version::new(first_version),
                    waited,
                }
                .into());
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_millis(200));
        }
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
            .append(&home, ExpectedVersion::NoStream, std::slice::from_ref(&x))
            .await
            .expect("append");
        for expected in [
            ExpectedVersion::NoStream,
            ExpectedVersion::Exact(Version::NONE),
            ExpectedVersion::Any,
        ] {
            let again = store
                .append(&home, expected, std::slice::from_ref(&x))
                .await
                .unwrap_or_else(|error| panic!("a retry with {expected} failed: {error}"));
            assert!(again.already_stored, "{expected}");
            assert_eq!(again.first_position, first.first_position);
        }
        store
            .append(
                &home,
                ExpectedVersion::Exact(Version::new(1)),
                &[event("y", "{}")],
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
                        std::slice::from_ref(&x)
                    )
                    .await
            ),
            at_home,
            "another version of its stream"
        );
        for expected in [ExpectedVersion::NoStream, ExpectedVersion::Any] {
            assert_eq!(
                place(
                    store
                        .append(&away, expected, std::slice::from_ref(&x))
                        .await
                ),
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
                        std::slice::from_ref(&x)
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
                    .append(&home, ExpectedVersion::NoStream, &fresh())
                    .await
            ),
            2
        );
        assert_eq!(
            conflict_at(
                store
                    .append(&home, ExpectedVersion::Exact(Version::new(5)), &fresh())
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
        store
            .database()
            .drop()
            .await
            .expect("the test database drops");
    }
}
