//! Gaps: positions of the log that hold no append yet, and the documents that close them.
//!
//! Positions commit out of order (the `sequence` module), so a reader of the log may find
//! position `p` empty while appends above it are committed. It never passes `p` until `p` is
//! *closed*: held by an append, or by a **gap document** that says no append will ever be
//! there. A gap document is an events-collection document with the position as its `_id`
//! and no events, so the unique `_id` index arbitrates between it and a late insert: exactly
//! one of them commits, and an insert that loses goes on at another position.
//!
//! Who closes a gap:
//!
//! - the store that holds the positions and will not use them (the `sequence` module: idle
//!   free positions, one document for a whole run, since no insert of its own is in flight
//!   there);
//! - a reader of this process that finds the gap made only of its own store's free positions,
//!   at once, the same way;
//! - nobody, for a moment: a read that meets a young gap looks again every few milliseconds
//!   for up to [`SETTLING`] (at most half the gap timeout), since its owner is most likely
//!   about to fill or close it;
//! - any reader, once the gap has been open for the gap timeout
//!   ([`MongoSettings::with_gap_timeout`](crate::MongoSettings::with_gap_timeout)): its owner
//!   died, or its insert is that late. Then one document per position, so that a late insert
//!   at any of them collides. A gap's age is measured from when this process first saw it.
//!
//! A gap document's stream id starts with a control character, which no stream id can hold,
//! so it can never take a stream's version key; its `event_ids` holds one string no event id
//! can be, so it never takes an id.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use eventful_core::StoreError;
use mongodb::bson::{self, RawDocument, RawDocumentBuf, rawdoc};
use parking_lot::Mutex;

use crate::error::is_duplicate_key;
use crate::schema::{field, int64, now_millis};
use crate::store::Inner;

/// The stream id of gap documents.
pub(crate) const GAP_STREAM: &str = "\u{1}gap";

/// How long a read waits at a young gap before it reports the end of what is visible (at
/// most half the gap timeout): a live writer fills an in-flight position within a round trip
/// and closes the positions it holds unused within two
/// [`RELEASE_AFTER`](crate::sequence::RELEASE_AFTER)s, so gaps are gone well before this, with
/// room for a loaded machine and server, and a read right after an append in another process
/// sees it. Only a gap whose writer died or stalls makes a read wait this long.
pub(crate) const SETTLING: Duration = Duration::from_secs(1);

/// The most positions one reader closes in one insert.
const MOST_CLOSED: u64 = 256;

/// Whether `document` is a gap document.
pub(crate) fn is_gap(document: &RawDocument) -> bool {
    matches!(document.get_str(field::STREAM_ID), Ok(GAP_STREAM))
}

/// The gap document closing `first..=last`.
fn gap_document(first: u64, last: u64, at: bson::DateTime) -> RawDocumentBuf {
    rawdoc! {
        field::ID: int64(first),
        field::LAST_POSITION: int64(last),
        field::STREAM_ID: GAP_STREAM,
        field::FIRST_VERSION: int64(first),
        field::LAST_VERSION: int64(last),
        field::RECORDED_AT: at,
        field::EVENT_IDS: [format!("\u{1}gap {first}")],
    }
}

/// When this process first saw each gap still open, by its first position.
#[derive(Debug, Default)]
pub(crate) struct OpenGaps {
    seen: Mutex<HashMap<u64, Instant>>,
}

impl OpenGaps {
    /// How long the gap starting at `first` has been seen open.
    fn age(&self, first: u64) -> std::time::Duration {
        let mut seen = self.seen.lock();
        if seen.len() > 1024 {
            seen.clear();
        }
        seen.entry(first).or_insert_with(Instant::now).elapsed()
    }

    fn forget(&self, first: u64) {
        self.seen.lock().remove(&first);
    }
}

/// What a reader does about a gap.
pub(crate) enum GapOutcome {
    /// It is young: its owner is most likely about to fill or close it. Look again shortly.
    Settling,
    /// It may still fill: stop before it, and read again later.
    Open,
    /// It was closed just now (or filled meanwhile): read again from it.
    Closed,
}

impl Inner {
    /// Closes runs of positions nobody will write, one gap document a run. Positions already
    /// held are left as they are.
    pub(crate) async fn close_gaps(&self, runs: &[(u64, u64)]) -> Result<(), StoreError> {
        let at = now_millis().0;
        let documents: Vec<RawDocumentBuf> = runs
            .iter()
            .map(|&(first, last)| gap_document(first, last, at))
            .collect();
        self.insert_gap_documents(documents).await
    }

    async fn insert_gap_documents(&self, documents: Vec<RawDocumentBuf>) -> Result<(), StoreError> {
        if documents.is_empty() {
            return Ok(());
        }
        match self.events.insert_many(documents).ordered(false).await {
            Ok(_) => Ok(()),
            // Held already: by a late append, or closed by another reader.
            Err(error) if is_duplicate_key(&error) => Ok(()),
            Err(error) => Err(self.driver_error("closing a gap in the log", error)),
        }
    }

    /// Decides about the gap `first..=last`, which a read found empty below a committed
    /// append (and a lookup by `_id` confirmed): closes it when this store owns all of it or
    /// it has been open for the gap timeout.
    pub(crate) async fn on_gap(&self, first: u64, last: u64) -> Result<GapOutcome, StoreError> {
        if self.sequence.take_range(first, last) {
            self.close_gaps(&[(first, last)]).await?;
            self.gaps.forget(first);
            return Ok(GapOutcome::Closed);
        }
        let age = self.gaps.age(first);
        if age < SETTLING.min(self.settings.gap_timeout() / 2) {
            return Ok(GapOutcome::Settling);
        }
        if age < self.settings.gap_timeout() {
            return Ok(GapOutcome::Open);
        }
        let last = last.min(first + MOST_CLOSED - 1);
        tracing::info!(
            first,
            last,
            "closing a gap in the log left open for the gap timeout: its writer died or is late"
        );
        let at = now_millis().0;
        let documents = (first..=last)
            .map(|position| gap_document(position, position, at))
            .collect();
        self.insert_gap_documents(documents).await?;
        self.gaps.forget(first);
        Ok(GapOutcome::Closed)
    }
}
