//! Appends: the expected-version rules, idempotent retries, and claiming global positions
//! with the insert itself.
//!
//! An append is one `insert_one` of one document, so it is atomic on every deployment. Two
//! unique indexes decide it: `(stream_id, first_version)` refuses a second append from the
//! same stream version, and `_id` (the first global position) refuses a second append at
//! the same position. The crate documentation gives the whole argument; the rules here:
//!
//! - `Exact(v)` inserts at version `v + 1` only when the stream is known to have been at `v`
//!   (this process wrote or read an append ending at `v`, or a read of the stream's head just
//!   said so); otherwise it is refused without writing.
//! - `NoStream` inserts at version 1, which collides with any existing stream.
//! - `Any` first looks its event ids up (idempotency), then inserts after the last known
//!   version, moving up if the stream moved.
//! - Every insert claims position `L + 1`, where `L` is the last position of an append seen
//!   committed. Inside one process claims are serialized, so a second insert never starts
//!   before the first is acknowledged.

use std::time::Duration;

use eventful_core::{
    AppendResult, ExpectedVersion, NewEvent, Position, StoreError, StreamId, Version,
};

use crate::error::{MongoStoreError, is_duplicate_key};
use crate::schema::{PreparedAppend, now_millis};
use crate::store::Inner;
use crate::stored::StoredAppend;

/// What an insert attempt came to.
enum Inserted {
    /// The append is stored.
    Stored(AppendResult),
    /// Another append holds the stream version (given, when it could be read).
    VersionTaken(Option<StoredAppend>),
    /// The event ids are already in the stream: what to report instead.
    IdsTaken(Result<AppendResult, StoreError>),
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
                let known = self.heads.get(stream_id) == Some(version)
                    || self.stream_version(stream_id).await? == version;
                if !known {
                    return self
                        .refuse(stream_id, expected, &prepared, version + 1, None)
                        .await;
                }
                version + 1
            }
            ExpectedVersion::Any => {
                if let Some(outcome) = self.stored_by_ids(stream_id, &prepared).await? {
                    return outcome;
                }
                match self.heads.get(stream_id) {
                    Some(version) => version + 1,
                    None => self.stream_version(stream_id).await? + 1,
                }
            }
        };
        let mut attempts = 0;
        loop {
            attempts += 1;
            match self.insert(stream_id, &prepared, first_version).await? {
                Inserted::Stored(result) => return Ok(result),
                Inserted::IdsTaken(outcome) => return outcome,
                Inserted::VersionTaken(holder) => {
                    if expected != ExpectedVersion::Any {
                        return self
                            .refuse(stream_id, expected, &prepared, first_version, holder)
                            .await;
                    }
                    // A concurrent retry of this very append may be what took the version.
                    if let Some(holder) = &holder
                        && let Some(outcome) = self.compare_ids(stream_id, &prepared, holder)?
                    {
                        return outcome;
                    }
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

    /// Why an append with an expected version cannot be stored at `first_version`: it is
    /// already stored there (a retry), it reuses ids stored there, or the stream is elsewhere.
    async fn refuse(
        &self,
        stream_id: &StreamId,
        expected: ExpectedVersion,
        prepared: &PreparedAppend,
        first_version: u64,
        holder: Option<StoredAppend>,
    ) -> Result<AppendResult, StoreError> {
        let holder = match holder {
            Some(holder) => Some(holder),
            None => self.append_at(stream_id, first_version).await?,
        };
        if let Some(holder) = holder
            && let Some(outcome) = self.compare_ids(stream_id, prepared, &holder)?
        {
            return outcome;
        }
        Err(StoreError::Conflict {
            stream_id: stream_id.clone(),
            expected,
            actual: Version::new(self.stream_version(stream_id).await?),
        })
    }

    /// Whether `stored` is this very append (same ids, same order: a retry), or shares ids
    /// with it (refused); `None` when they have nothing in common.
    fn compare_ids(
        &self,
        stream_id: &StreamId,
        prepared: &PreparedAppend,
        stored: &StoredAppend,
    ) -> Result<Option<Result<AppendResult, StoreError>>, StoreError> {
        let stored_ids = stored.event_ids()?;
        if stored_ids == prepared.event_ids() {
            self.heads.observe(stream_id, stored.last_version);
            return Ok(Some(Ok(AppendResult {
                last_version: Version::new(stored.last_version),
                first_position: Position::new(stored.first_position),
                recorded_at: stored.recorded_at,
                already_stored: true,
            })));
        }
        let shared = prepared.event_ids().iter().find_map(|id| {
            let index = stored_ids.iter().position(|stored_id| stored_id == id)?;
            Some((*id, stored.first_version + index as u64))
        });
        Ok(shared.map(|(event_id, version)| {
            Err(StoreError::DuplicateEvent {
                stream_id: stream_id.clone(),
                event_id,
                reason: format!(
                    "it is already stored at version {version}, in an append of other events"
                ),
            })
        }))
    }

    /// The outcome of an append whose ids are already in the stream, if any are.
    async fn stored_by_ids(
        &self,
        stream_id: &StreamId,
        prepared: &PreparedAppend,
    ) -> Result<Option<Result<AppendResult, StoreError>>, StoreError> {
        let holders = self
            .appends_holding(stream_id, prepared.event_ids())
            .await?;
        match holders.as_slice() {
            [] => Ok(None),
            [holder] => self.compare_ids(stream_id, prepared, holder),
            [first, ..] => Ok(Some(
                self.compare_ids(stream_id, prepared, first)?
                    .unwrap_or_else(|| {
                        Err(StoreError::DuplicateEvent {
                            stream_id: stream_id.clone(),
                            event_id: prepared.event_ids()[0],
                            reason: "its events are stored in several appends".to_owned(),
                        })
                    }),
            )),
        }
    }

    /// Inserts the append at `first_version`, claiming the next global position; on a
    /// collision, finds out whether the stream version, the event ids or the position was
    /// taken, and tries the next position in the last case.
    async fn insert(
        &self,
        stream_id: &StreamId,
        prepared: &PreparedAppend,
        first_version: u64,
    ) -> Result<Inserted, StoreError> {
        let count = prepared.len();
        let attempts = self.settings.position_attempts();
        // Held across the round trip: an insert claiming above one still in flight could
        // commit first, above a position that is not visible yet.
        let mut claim = self.log.claim.lock().await;
        for attempt in 1..=attempts {
            let last = match *claim {
                Some(last) => last,
                None => self.log_head().await?,
            };
            let first_position = last + 1;
            let (stored_at, recorded_at) = now_millis();
            let document = prepared.document(first_position, first_version, stored_at)?;
            match self.events.insert_one(document).await {
                Ok(_) => {
                    let last_position = first_position + count - 1;
                    *claim = Some(last_position);
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
                    *claim = Some(head);
                    if holder.is_some() {
                        return Ok(Inserted::VersionTaken(holder));
                    }
                    if head < first_position {
                        // Neither the stream version nor the position is visibly taken: the
                        // ids are (per-stream unique), or the other append is not readable yet.
                        if let Some(outcome) = self.stored_by_ids(stream_id, prepared).await? {
                            return Ok(Inserted::IdsTaken(outcome));
                        }
                        tokio::time::sleep(Duration::from_millis(u64::from(attempt.min(50)))).await;
                    }
                }
                Err(error) => {
                    // The insert may or may not have been stored: learn the head afresh.
                    *claim = None;
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
