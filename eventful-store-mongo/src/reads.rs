//! Reads, each on an index: a stream from a version, the log from a position (filtered by
//! event type, aggregate type and time), heads, an event by id; and waiting for appends.
//!
//! Every query is bounded by a limit and fetched in one batch: nothing keeps a server
//! cursor open between calls, so a read never depends on a cursor surviving (some servers
//! drop cursors with their connection).
//!
//! **A damaged document is never skipped.** A range query finds no document whose field it
//! ranges over is missing, null, negative or of another type, so the reads check what they
//! get against what the log must hold: its appends cover positions `1..=head` with no hole
//! (each `_id..=last_position`), and a stream's appends cover its versions with no hole.
//! Where a query's answer leaves positions (or versions) unaccounted for, the read looks at
//! what holds them, by `_id`, together with the append just above them:
//!
//! - a document that does not decode: its error, [`StoreError::Corrupt`] naming its `_id`;
//! - nothing, where the same lookup sees the append above: a hole, reported as the position's
//!   missing `_id`. Every position below a committed append was committed before it was
//!   inserted (the claim rule of `append`), so no insert still in flight can fill it;
//! - an append that decodes: it committed while the query ran, and is read.
//!
//! That costs nothing while nothing is missing. At the end of the log a read looks up the one
//! position after its end (by `_id`), so that a damaged last append is reported rather than
//! taken for the end; a waiting subscriber polls that same position. A read of the log
//! delivers the events before a damaged document, and the next read, which starts at it,
//! fails. `docs/stores/mongodb.md` ("Damaged documents") has the argument and what each read
//! sees.

use std::sync::atomic::Ordering;
use std::time::Duration;

use eventful_core::{
    AllBatch, EventFilter, Position, RecordLocation, RecordedEvent, StoreError, StreamId, Version,
};
use futures::TryStreamExt;
use mongodb::bson::{self, Bson, Document, RawDocumentBuf, doc};
use uuid::Uuid;

use crate::error::MongoStoreError;
use crate::problem::DecodeProblem;
use crate::schema::{field, int64};
use crate::store::Inner;
use crate::stored::{StoredAppend, read_u64};

/// Most append documents one query fetches.
pub(crate) const PAGE_DOCUMENTS: usize = 1000;

/// How far a time-range query's date bounds are widened (the exact bounds are applied to
/// each event).
const DATE_SLACK_MS: i64 = 1000;

/// How many of the lowest entries of the `last_position` index a filtered read looks at for
/// documents it cannot see (a `last_position` missing, null, negative or below the `_id`).
const LOWEST_ENTRIES: usize = 16;

/// How often a stream read whose versions jump reads again before it reports the hole, when
/// the lookup that looks into it does not see the append above it (a stale view).
const STREAM_GAP_ATTEMPTS: u32 = 3;

/// What looking at positions a query left unaccounted for came to.
struct Walk {
    /// The appends found there, in order.
    appends: Vec<StoredAppend>,
    end: WalkEnd,
}

enum WalkEnd {
    /// Every position up to the bound is held by an append found.
    Reached,
    /// Nothing starts at the position after the last append: the end of the log.
    LogEnd,
    /// At the end of the log, an append that committed after the query: more may follow.
    More,
    /// The lookup does not see the append that bounds the gap (a stale view, as just after a
    /// failover): read again from this position.
    Stale(u64),
    /// A document that does not decode, or a hole, at this position.
    Damaged(u64, StoreError),
}

/// What looking into a stream's missing versions came to.
enum StreamGap {
    /// A document of the stream there does not decode.
    Damaged(StoreError),
    /// No document of the stream holds them, as a view that sees the append above says.
    Hole,
    /// The view does not see the append above, or sees an append the read did not: read
    /// again.
    Stale,
}

/// What one append added to a batch of the log.
enum Taken {
    /// There is room for more.
    Room,
    /// The batch is done.
    Done(AllBatch),
}

/// The events of one read of the log, up to its limit.
struct Batch<'a> {
    from: u64,
    limit: usize,
    filter: &'a EventFilter,
    events: Vec<RecordedEvent>,
}

impl<'a> Batch<'a> {
    fn new(from: u64, limit: usize, filter: &'a EventFilter) -> Self {
        Self {
            from,
            limit,
            filter,
            events: Vec::new(),
        }
    }

    /// Takes the events of `append` at or after the batch's start that match its filter.
    fn take(&mut self, append: &StoredAppend) -> Result<Taken, StoreError> {
        let (from, filter) = (self.from, self.filter);
        let matching = append.events(|_, position, event_type, aggregate_type| {
            position >= from && filter.matches_parts(event_type, aggregate_type, append.recorded_at)
        });
        let mut matching = match matching {
            Ok(matching) => matching,
            Err(error) => return self.damaged(error).map(Taken::Done),
        };
        let room = self.limit - self.events.len();
        if matching.len() >= room {
            matching.truncate(room);
            self.events.extend(matching);
            let next = self.past_events();
            return Ok(Taken::Done(self.finish(next, false)));
        }
        self.events.extend(matching);
        Ok(Taken::Room)
    }

    /// The position after the last event taken (the start, when there is none).
    fn past_events(&self) -> u64 {
        self.events
            .last()
            .map_or(self.from, |event| event.position.get() + 1)
    }

    /// A document that cannot be read after the events taken: they are delivered, and the
    /// next read, which starts after them, meets `error`; with none taken, `error` now.
    fn damaged(&mut self, error: StoreError) -> Result<AllBatch, StoreError> {
        if self.events.is_empty() {
            return Err(error);
        }
        let next = self.past_events();
        Ok(self.finish(next, false))
    }

    fn finish(&mut self, next: u64, end_of_log: bool) -> AllBatch {
        AllBatch {
            events: std::mem::take(&mut self.events),
            next: Position::new(next),
            end_of_log,
        }
    }
}

impl Inner {
    /// Runs a bounded, sorted find on the events collection and decodes each document's
    /// header.
    pub(crate) async fn find_appends(
        &self,
        operation: &'static str,
        filter: Document,
        sort: Document,
        limit: usize,
        headers_only: bool,
    ) -> Result<Vec<StoredAppend>, StoreError> {
        let projection = headers_only.then(|| doc! { field::EVENTS: 0 });
        self.find_documents(operation, filter, Some(sort), limit, projection)
            .await?
            .into_iter()
            .map(|document| self.decode(document))
            .collect()
    }

    /// Runs a bounded find on the events collection, its documents as stored.
    async fn find_documents(
        &self,
        operation: &'static str,
        filter: Document,
        sort: Option<Document>,
        limit: usize,
        projection: Option<Document>,
    ) -> Result<Vec<RawDocumentBuf>, StoreError> {
        let limit = limit.clamp(1, PAGE_DOCUMENTS);
        let mut find = self
            .events
            .find(filter)
            .limit(i64::try_from(limit).unwrap_or(i64::MAX))
            .batch_size(u32::try_from(limit).unwrap_or(u32::MAX));
        if let Some(sort) = sort {
            find = find.sort(sort);
        }
        if let Some(projection) = projection {
            find = find.projection(projection);
        }
        find.await
            .map_err(|error| self.driver_error(operation, error))?
            .try_collect()
            .await
            .map_err(|error| self.driver_error(operation, error))
    }

    fn decode(&self, document: RawDocumentBuf) -> Result<StoredAppend, StoreError> {
        StoredAppend::decode(document, self.events.name())
    }

    /// The documents whose `_id` is one of `positions`, as stored, each with that position:
    /// one lookup on `_id`.
    async fn documents_at(
        &self,
        positions: &[u64],
        headers_only: bool,
    ) -> Result<Vec<(u64, RawDocumentBuf)>, StoreError> {
        let ids: Vec<Bson> = positions
            .iter()
            .map(|position| Bson::Int64(int64(*position)))
            .collect();
        let projection = headers_only.then(|| doc! { field::EVENTS: 0 });
        let documents = self
            .find_documents(
                "looking up appends by position",
                doc! { field::ID: { "$in": ids } },
                None,
                positions.len(),
                projection,
            )
            .await?;
        Ok(documents
            .into_iter()
            .filter_map(|document| {
                let position = read_u64(&document, field::ID).ok()?;
                Some((position, document))
            })
            .collect())
    }

    /// The error for a position that no document holds though the log has passed it: its
    /// `_id` is missing.
    fn hole(&self, position: u64) -> StoreError {
        MongoStoreError::Undecodable {
            collection: self.events.name().to_owned(),
            location: RecordLocation::Position(Position::new(position)),
            problem: DecodeProblem::MissingField {
                field: field::ID.to_owned(),
            },
        }
        .into()
    }

    /// The last position of the last readable append that ends before `position` (0 when
    /// there is none).
    async fn last_end_before(&self, position: u64) -> Result<u64, StoreError> {
        let before = self
            .find_appends(
                "reading the append before a position",
                doc! { field::LAST_POSITION: { "$lt": int64(position) } },
                doc! { field::LAST_POSITION: -1 },
                1,
                true,
            )
            .await?
            .pop()
            .map_or(0, |append| append.last_position);
        self.log.saw(before);
        Ok(before)
    }

    /// Accounts for positions from `from` on that a query did not return, one append at a
    /// time by `_id`: up to `until` (exclusive), where an append the query did return starts,
    /// or, when `until` is `None`, at the end of the log, until an append reaches `from` or
    /// nothing starts at the next position.
    ///
    /// Each lookup also asks for the append at `until`: every position below a committed
    /// append is held by a committed append, so a view that sees the append at `until` and
    /// nothing at a position below it sees a hole, not an insert in flight.
    ///
    /// `start_known`: an append ends right before `from`, so the next one starts there;
    /// otherwise `from` may lie inside an append, which then starts after the last readable
    /// one ending before `from`.
    async fn walk(
        &self,
        from: u64,
        until: Option<u64>,
        start_known: bool,
        headers_only: bool,
    ) -> Result<Walk, StoreError> {
        let mut appends = Vec::new();
        let mut next = from;
        let mut start_known = start_known;
        loop {
            if until.is_some_and(|until| next >= until) {
                return Ok(Walk {
                    appends,
                    end: WalkEnd::Reached,
                });
            }
            let mut positions = vec![next];
            positions.extend(until);
            let mut documents = self.documents_at(&positions, headers_only).await?;
            let bounded = until.is_some_and(|until| documents.iter().any(|(at, _)| *at == until));
            let here = documents
                .iter()
                .position(|(at, _)| *at == next)
                .map(|i| documents.swap_remove(i).1);
            let Some(document) = here else {
                if !start_known {
                    start_known = true;
                    let before = self.last_end_before(from).await?;
                    if before + 1 < next {
                        next = before + 1;
                        continue;
                    }
                }
                let end = match until {
                    None => WalkEnd::LogEnd,
                    Some(_) if bounded => WalkEnd::Damaged(next, self.hole(next)),
                    Some(_) => WalkEnd::Stale(next),
                };
                return Ok(Walk { appends, end });
            };
            match self.decode(document) {
                Ok(append) => {
                    next = append.last_position + 1;
                    let reaches = append.last_position >= from;
                    appends.push(append);
                    if until.is_none() && reaches {
                        return Ok(Walk {
                            appends,
                            end: WalkEnd::More,
                        });
                    }
                }
                Err(error) => {
                    return Ok(Walk {
                        appends,
                        end: WalkEnd::Damaged(next, error),
                    });
                }
            }
        }
    }

    /// The last append of `stream_id`, headers only.
    pub(crate) async fn last_append(
        &self,
        stream_id: &StreamId,
    ) -> Result<Option<StoredAppend>, StoreError> {
        let last = self
            .find_appends(
                "reading a stream's version",
                doc! { field::STREAM_ID: stream_id.as_str() },
                doc! { field::LAST_VERSION: -1 },
                1,
                true,
            )
            .await?
            .pop();
        if let Some(last) = &last {
            self.heads.observe(stream_id, last.last_version);
        }
        Ok(last)
    }

    /// The stream's current version (0 when it does not exist).
    pub(crate) async fn stream_version(&self, stream_id: &StreamId) -> Result<u64, StoreError> {
        Ok(self
            .last_append(stream_id)
            .await?
            .map_or(0, |last| last.last_version))
    }

    /// The append of `stream_id` that starts at `first_version`, headers only.
    pub(crate) async fn append_at(
        &self,
        stream_id: &StreamId,
        first_version: u64,
    ) -> Result<Option<StoredAppend>, StoreError> {
        Ok(self
            .find_appends(
                "reading an append",
                doc! {
                    field::STREAM_ID: stream_id.as_str(),
                    field::FIRST_VERSION: int64(first_version),
                },
                doc! { field::FIRST_VERSION: 1 },
                1,
                true,
            )
            .await?
            .pop())
    }

    /// The appends, of any stream, holding any of `event_ids`, headers only: one query on
    /// the store-wide `{event_ids: 1}` index. Each id is in one append at most, so there are
    /// at most as many as ids.
    pub(crate) async fn appends_holding(
        &self,
        event_ids: &[Uuid],
    ) -> Result<Vec<StoredAppend>, StoreError> {
        const OPERATION: &str = "looking up event ids";
        let ids: Vec<String> = event_ids.iter().map(Uuid::to_string).collect();
        let limit = i64::try_from(event_ids.len().max(1)).unwrap_or(i64::MAX);
        let documents: Vec<RawDocumentBuf> = self
            .events
            .find(doc! { field::EVENT_IDS: { "$in": ids } })
            .projection(doc! { field::EVENTS: 0 })
            .limit(limit)
            .await
            .map_err(|error| self.driver_error(OPERATION, error))?
            .try_collect()
            .await
            .map_err(|error| self.driver_error(OPERATION, error))?;
        documents
            .into_iter()
            .map(|document| self.decode(document))
            .collect()
    }

    /// The appends ending after position `after` and at most at `upto`, in order, headers
    /// only: a page of them, up to [`PAGE_DOCUMENTS`]. `after` is where an append ends (or
    /// 0), and `upto` a head read as committed; positions the query leaves unaccounted for
    /// are looked into, so that an append that does not decode is an error rather than
    /// missing (its ids would be unknown).
    pub(crate) async fn appends_ending_in(
        &self,
        after: u64,
        upto: u64,
    ) -> Result<Vec<StoredAppend>, StoreError> {
        let page = self
            .find_appends(
                "reading the log's event ids",
                doc! { field::LAST_POSITION: { "$gt": int64(after), "$lte": int64(upto) } },
                doc! { field::LAST_POSITION: 1 },
                PAGE_DOCUMENTS,
                true,
            )
            .await?;
        let full = page.len() == PAGE_DOCUMENTS;
        let mut appends = Vec::with_capacity(page.len());
        let mut expected = after + 1;
        for append in page {
            if append.first_position > expected {
                let walk = self
                    .walk(expected, Some(append.first_position), true, true)
                    .await?;
                appends.extend(walk.appends);
                match walk.end {
                    WalkEnd::Damaged(_, error) => return Err(error),
                    WalkEnd::Stale(_) => return Ok(appends),
                    WalkEnd::Reached | WalkEnd::LogEnd | WalkEnd::More => {}
                }
            }
            expected = expected.max(append.last_position + 1);
            appends.push(append);
        }
        if !full && expected <= upto {
            // The head is committed, so something holds the positions up to it; a view that
            // does not see the append after the head cannot call a missing one a hole, and
            // the caller reads on from what it got.
            let walk = self.walk(expected, Some(upto + 1), true, true).await?;
            appends.extend(walk.appends);
            if let WalkEnd::Damaged(_, error) = walk.end {
                return Err(error);
            }
        }
        Ok(appends)
    }

    /// The last position of the log (0 when it is empty): that of the readable append with
    /// the highest `last_position`. When this process has seen the log reach further, what
    /// holds the positions in between is looked into: an append whose `last_position` was
    /// damaged after it was read is an error, not a lower head.
    pub(crate) async fn log_head(&self) -> Result<u64, StoreError> {
        match self.readable_head().await? {
            (_, Some((_, error))) => Err(error),
            (head, None) => Ok(head),
        }
    }

    /// The highest `last_position` (0 when there is none), and damage found there with its
    /// position: the append on top that does not decode but whose `last_position` reads (a
    /// filtered read reads up to it, and so reaches what is before it), or an append between
    /// it and the furthest this process has seen the log reach. An append on top whose
    /// `last_position` does not read at all is an error.
    async fn readable_head(&self) -> Result<(u64, Option<(u64, StoreError)>), StoreError> {
        let seen = self.log.seen.load(Ordering::Acquire);
        let top = self
            .find_documents(
                "reading the log's head",
                Document::new(),
                // On `last_position`, not `_id`: equivalent, and some servers order `_id` as
                // text.
                Some(doc! { field::LAST_POSITION: -1 }),
                1,
                Some(doc! { field::EVENTS: 0 }),
            )
            .await?
            .pop();
        let (mut head, mut damage) = match top {
            None => (0, None),
            Some(document) => {
                let last = read_u64(&document, field::LAST_POSITION);
                let first = read_u64(&document, field::ID);
                match self.decode(document) {
                    Ok(append) => (append.last_position, None),
                    Err(error) => match last {
                        Ok(last) => (last, Some((first.unwrap_or(last).min(last), error))),
                        Err(_) => return Err(error),
                    },
                }
            }
        };
        if damage.is_none() && head < seen {
            let walk = self.walk(head + 1, Some(seen + 1), true, true).await?;
            if let Some(last) = walk.appends.last() {
                head = head.max(last.last_position);
            }
            if let WalkEnd::Damaged(at, error) = walk.end {
                damage = Some((at, error));
            }
        }
        self.log.saw(head);
        Ok((head, damage))
    }

    pub(crate) async fn read_stream(
        &self,
        stream_id: &StreamId,
        from: Version,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        let limit = u64::try_from(limit).unwrap_or(u64::MAX);
        let from = from.get().max(1);
        let until = from.saturating_add(limit);
        let mut attempt = 0;
        'read: loop {
            attempt += 1;
            let mut events = Vec::new();
            let mut next = from;
            // The last position of the stream's append ending right before `next`, once read.
            let mut before = None;
            while next < until {
                let wanted = usize::try_from(until - next).unwrap_or(usize::MAX);
                let page = self
                    .find_appends(
                        "reading a stream",
                        doc! {
                            field::STREAM_ID: stream_id.as_str(),
                            field::LAST_VERSION: { "$gte": int64(next) },
                            field::FIRST_VERSION: { "$lt": int64(until) },
                        },
                        doc! { field::LAST_VERSION: 1 },
                        wanted,
                        false,
                    )
                    .await?;
                let full = page.len() == wanted.min(PAGE_DOCUMENTS);
                for append in &page {
                    if append.first_version > next {
                        // Versions are dense, and an append of a stream is inserted only once
                        // the one before it is committed: something the query cannot see
                        // holds the versions in between.
                        match self.stream_gap(stream_id, next, before, append).await? {
                            StreamGap::Damaged(error) => return Err(error),
                            StreamGap::Stale if attempt < STREAM_GAP_ATTEMPTS => continue 'read,
                            StreamGap::Stale | StreamGap::Hole => {
                                return Err(self.missing_version(stream_id, next));
                            }
                        }
                    }
                    events.extend(
                        append.events(|version, _, _, _| version >= next && version < until)?,
                    );
                    next = next.max(append.last_version + 1);
                    before = Some(append.last_position);
                }
                let Some(last) = page.last() else { break };
                self.heads.observe(stream_id, last.last_version);
                if !full {
                    break;
                }
            }
            return Ok(events);
        }
    }

    /// The error for versions of a stream that no document holds: the first of them, its
    /// `first_version` missing.
    fn missing_version(&self, stream_id: &StreamId, version: u64) -> StoreError {
        MongoStoreError::Undecodable {
            collection: self.events.name().to_owned(),
            location: RecordLocation::Event {
                stream_id: stream_id.clone(),
                version: Version::new(version),
            },
            problem: DecodeProblem::MissingField {
                field: field::FIRST_VERSION.to_owned(),
            },
        }
        .into()
    }

    /// Looks into versions `next..above.first_version` of `stream_id`, which a read of the
    /// stream did not get: at the stream's documents starting in them (a damaged
    /// `last_version`), then at those between the positions of the appends around them (a
    /// damaged `first_version`). Each lookup also asks for `above`, so that a view that does
    /// not see it is not taken for one that sees a hole.
    async fn stream_gap(
        &self,
        stream_id: &StreamId,
        next: u64,
        before: Option<u64>,
        above: &StoredAppend,
    ) -> Result<StreamGap, StoreError> {
        let by_version = self
            .find_documents(
                "looking into a stream's missing versions",
                doc! {
                    field::STREAM_ID: stream_id.as_str(),
                    field::FIRST_VERSION: {
                        "$gte": int64(next),
                        "$lte": int64(above.first_version),
                    },
                },
                Some(doc! { field::FIRST_VERSION: 1 }),
                PAGE_DOCUMENTS,
                Some(doc! { field::EVENTS: 0 }),
            )
            .await?;
        if let Some(gap) = self.judge_stream_gap(by_version, above) {
            return Ok(gap);
        }
        let after = match before {
            Some(position) => position,
            None => self
                .find_appends(
                    "reading a stream's append before a version",
                    doc! {
                        field::STREAM_ID: stream_id.as_str(),
                        field::LAST_VERSION: { "$lt": int64(next) },
                    },
                    doc! { field::LAST_VERSION: -1 },
                    1,
                    true,
                )
                .await?
                .pop()
                .map_or(0, |append| append.last_position),
        };
        let by_position = self
            .find_documents(
                "looking into a stream's missing versions",
                doc! {
                    field::STREAM_ID: stream_id.as_str(),
                    field::ID: { "$gt": int64(after), "$lte": int64(above.first_position) },
                },
                None,
                PAGE_DOCUMENTS,
                Some(doc! { field::EVENTS: 0 }),
            )
            .await?;
        Ok(self
            .judge_stream_gap(by_position, above)
            .unwrap_or(StreamGap::Hole))
    }

    /// What the stream's documents found in a gap say, `None` when they show nothing there.
    fn judge_stream_gap(
        &self,
        documents: Vec<RawDocumentBuf>,
        above: &StoredAppend,
    ) -> Option<StreamGap> {
        let mut sees_above = false;
        let mut found_other = false;
        for document in documents {
            match self.decode(document) {
                Err(error) => return Some(StreamGap::Damaged(error)),
                Ok(append) if append.first_position == above.first_position => sees_above = true,
                Ok(_) => found_other = true,
            }
        }
        (found_other || !sees_above).then_some(StreamGap::Stale)
    }

    pub(crate) async fn read_all(
        &self,
        from: Position,
        filter: &EventFilter,
        limit: usize,
    ) -> Result<AllBatch, StoreError> {
        let from = from.get().max(1);
        if limit == 0 {
            return Ok(AllBatch {
                events: Vec::new(),
                next: Position::new(from),
                end_of_log: false,
            });
        }
        if *filter == EventFilter::all() {
            self.read_log(from, limit).await
        } else {
            self.read_filtered(from, filter, limit).await
        }
    }

    /// The log from `from`, every event: each position accounted for, in the query's answer
    /// or by looking at what holds it.
    async fn read_log(&self, from: u64, limit: usize) -> Result<AllBatch, StoreError> {
        let seen = self.log.seen.load(Ordering::Acquire);
        let all = EventFilter::all();
        let page_limit = limit.min(PAGE_DOCUMENTS);
        let page = self
            .find_documents(
                "reading the log",
                doc! { field::LAST_POSITION: { "$gte": int64(from) } },
                Some(doc! { field::LAST_POSITION: 1 }),
                page_limit,
                None,
            )
            .await?;
        let full = page.len() == page_limit;
        let mut batch = Batch::new(from, limit, &all);
        // The next position to account for, and whether an append is known to start there.
        let mut expected = from;
        let mut start_known = from == 1 || from - 1 == seen;
        for document in page {
            // Positions before this document first, so that damage is met in log order.
            let first = read_u64(&document, field::ID).unwrap_or(expected);
            if first > expected {
                let walk = self.walk(expected, Some(first), start_known, false).await?;
                for found in &walk.appends {
                    if let Taken::Done(done) = batch.take(found)? {
                        return Ok(done);
                    }
                }
                match walk.end {
                    WalkEnd::Damaged(_, error) => return batch.damaged(error),
                    WalkEnd::Stale(at) => return Ok(batch.finish(at, false)),
                    WalkEnd::Reached | WalkEnd::LogEnd | WalkEnd::More => {}
                }
            }
            let append = match self.decode(document) {
                Ok(append) => append,
                Err(error) => return batch.damaged(error),
            };
            if let Taken::Done(done) = batch.take(&append)? {
                return Ok(done);
            }
            expected = expected.max(append.last_position + 1);
            start_known = true;
        }
        if expected > from {
            self.log.saw(expected - 1);
        }
        if full {
            return Ok(batch.finish(expected, false));
        }
        // The end of the log as the query saw it: a damaged last append is not the end.
        let walk = self.walk(expected, None, start_known, false).await?;
        for found in &walk.appends {
            if let Taken::Done(done) = batch.take(found)? {
                return Ok(done);
            }
        }
        match walk.end {
            WalkEnd::Damaged(_, error) => batch.damaged(error),
            WalkEnd::More => {
                let past = walk
                    .appends
                    .last()
                    .map_or(expected, |last| last.last_position + 1);
                self.log.saw(past - 1);
                Ok(batch.finish(past, false))
            }
            WalkEnd::LogEnd | WalkEnd::Reached | WalkEnd::Stale(_) => {
                Ok(batch.finish(expected, true))
            }
        }
    }

    /// The log from `from`, the events matching `filter`, up to the head read first. The
    /// filtered query cannot tell an append it does not get from one that does not match, so
    /// damage is looked for where the indexes put it: the lowest entries of `last_position`
    /// (missing, null, negative) and the position after the head, each looked up beside
    /// another query, and the top of `last_position` (another type) by the head's own read.
    async fn read_filtered(
        &self,
        from: u64,
        filter: &EventFilter,
        limit: usize,
    ) -> Result<AllBatch, StoreError> {
        // A filtered read may match nothing for a long way: reading the head first lets it
        // report how far it looked, so that the next read starts past what it skipped.
        let ((head, head_damage), lowest) =
            tokio::try_join!(self.readable_head(), self.lowest_damage(from))?;
        let mut query = doc! { field::LAST_POSITION: { "$gte": int64(from), "$lte": int64(head) } };
        if !filter.event_types.is_empty() {
            let types: Vec<&str> = filter.event_types.iter().map(|t| t.as_str()).collect();
            query.insert(field::EVENT_TYPES, doc! { "$in": types });
        }
        if !filter.aggregate_types.is_empty() {
            let types: Vec<&str> = filter.aggregate_types.iter().map(|t| t.as_str()).collect();
            query.insert(field::AGGREGATE_TYPES, doc! { "$in": types });
        }
        // The date bounds are widened by a second and the exact ones applied to each event:
        // some wire-compatible servers compare dates at second precision.
        let mut time = Document::new();
        if let Some(recorded_from) = filter.recorded_from {
            let millis = recorded_from
                .timestamp_millis()
                .saturating_sub(DATE_SLACK_MS);
            time.insert("$gte", bson::DateTime::from_millis(millis));
        }
        if let Some(recorded_before) = filter.recorded_before {
            let millis = recorded_before
                .timestamp_millis()
                .saturating_add(DATE_SLACK_MS);
            time.insert("$lt", bson::DateTime::from_millis(millis));
        }
        if !time.is_empty() {
            query.insert(field::RECORDED_AT, time);
        }
        let page_limit = limit.min(PAGE_DOCUMENTS);
        let past_head = [head + 1];
        let (page, past_head) = tokio::join!(
            self.find_documents(
                "reading the log",
                query,
                Some(doc! { field::LAST_POSITION: 1 }),
                page_limit,
                None,
            ),
            self.documents_at(&past_head, true)
        );
        let page = page?;
        let full = page.len() == page_limit;
        let batch = self.filtered_batch(from, filter, limit, head, page, full)?;
        // Damage this batch passed, or reached at the log's end, ends it there.
        let past_head = match past_head {
            Ok(documents) => documents
                .into_iter()
                .find_map(|(_, document)| self.decode(document).err()),
            Err(error) => Some(error),
        };
        let damage = [
            lowest,
            head_damage,
            past_head.map(|error| (head + 1, error)),
        ]
        .into_iter()
        .flatten()
        .min_by_key(|(at, _)| *at);
        let Some((at, error)) = damage else {
            return Ok(batch);
        };
        let next = batch.next.get();
        if at > next || (at == next && !batch.end_of_log) {
            return Ok(batch);
        }
        let mut events = batch.events;
        events.retain(|event| event.position.get() < at);
        if events.is_empty() {
            return Err(error);
        }
        Ok(AllBatch {
            events,
            next: Position::new(at),
            end_of_log: false,
        })
    }

    /// The batch of a filtered read from the matching documents up to `head`.
    fn filtered_batch(
        &self,
        from: u64,
        filter: &EventFilter,
        limit: usize,
        head: u64,
        page: Vec<RawDocumentBuf>,
        full: bool,
    ) -> Result<AllBatch, StoreError> {
        let mut batch = Batch::new(from, limit, filter);
        let mut past_page = from;
        for document in page {
            let append = match self.decode(document) {
                Ok(append) => append,
                Err(error) => return batch.damaged(error),
            };
            if let Taken::Done(done) = batch.take(&append)? {
                return Ok(done);
            }
            past_page = append.last_position + 1;
        }
        if past_page > from {
            self.log.saw(past_page - 1);
        }
        Ok(if full {
            batch.finish(past_page, false)
        } else {
            batch.finish((head + 1).max(from), true)
        })
    }

    /// The lowest-placed document at or after `from` that a range query on `last_position`
    /// cannot find (its `last_position` missing, null, not an integer, or below its `_id`),
    /// with the error it reads as: MongoDB sorts those first in the `last_position` index, so
    /// this is a look at the index's first entries.
    async fn lowest_damage(&self, from: u64) -> Result<Option<(u64, StoreError)>, StoreError> {
        let lowest = self
            .find_documents(
                "looking for damaged appends",
                Document::new(),
                Some(doc! { field::LAST_POSITION: 1 }),
                LOWEST_ENTRIES,
                Some(doc! { field::ID: 1, field::LAST_POSITION: 1 }),
            )
            .await?;
        for document in lowest {
            let Ok(position) = read_u64(&document, field::ID) else {
                continue;
            };
            let readable = read_u64(&document, field::LAST_POSITION)
                .is_ok_and(|last| position >= 1 && last >= position);
            if readable || position < from {
                continue;
            }
            for (_, whole) in self.documents_at(&[position], true).await? {
                if let Err(error) = self.decode(whole) {
                    return Ok(Some((position, error)));
                }
            }
        }
        Ok(None)
    }

    pub(crate) async fn find_event(
        &self,
        stream_id: &StreamId,
        event_id: Uuid,
    ) -> Result<Option<RecordedEvent>, StoreError> {
        let wanted = event_id.to_string();
        let Some(append) = self
            .find_appends(
                "finding an event",
                // On MongoDB the store-wide `{event_ids: 1}` index finds the one append; a
                // server that uses an index only for exactly its keys scans the stream's
                // appends on `{stream_id: 1}`. `$in` of one rather than equality: some servers
                // miss equality on arrays.
                doc! { field::STREAM_ID: stream_id.as_str(), field::EVENT_IDS: { "$in": [wanted] } },
                doc! { field::FIRST_VERSION: 1 },
                1,
                false,
            )
            .await?
            .pop()
        else {
            return Ok(None);
        };
        let Some(index) = append.event_ids()?.iter().position(|id| *id == event_id) else {
            return Ok(None);
        };
        let version = append.first_version + index as u64;
        Ok(append.events(|v, _, _, _| v == version)?.pop())
    }

    /// Returns once an event after `after` may be visible: at once if this store knows of
    /// one, as soon as an append through this store commits one, or when a poll finds one.
    ///
    /// A poll looks up the append that would start right after the last position this
    /// process has seen (one lookup by `_id`, which finds nothing while nothing is new), so a
    /// damaged append there is found too: the caller's next read reports it. A caller that
    /// has just read to `after` has looked there already, so the first poll waits one
    /// interval.
    pub(crate) async fn wait_for_append(&self, after: u64) {
        let poll = self.settings.poll_interval().max(Duration::from_millis(1));
        let mut first = true;
        loop {
            let appended = self.log.appended.notified();
            tokio::pin!(appended);
            appended.as_mut().enable();
            let seen = self.log.seen.load(Ordering::Acquire);
            if seen > after {
                return;
            }
            if !(first && seen == after) {
                match self.next_append_visible(seen, after).await {
                    Ok(true) => return,
                    Ok(false) => {}
                    Err(error) => {
                        // The caller's next read reports the failure; waiting avoids a busy
                        // loop.
                        tracing::debug!(%error, "polling the log failed");
                        tokio::time::sleep(poll).await;
                        return;
                    }
                }
            }
            first = false;
            tokio::select! {
                () = &mut appended => {}
                () = tokio::time::sleep(poll) => {}
            }
        }
    }

    /// Whether an event after `after` is visible, from the append that would start right
    /// after `seen` (where an append this process saw ends, at most `after`): nothing there,
    /// nothing new; one that does not decode, right after `after`, counts (the caller's read
    /// reports it); otherwise the head decides.
    async fn next_append_visible(&self, seen: u64, after: u64) -> Result<bool, StoreError> {
        let Some((_, document)) = self.documents_at(&[seen + 1], true).await?.pop() else {
            return Ok(false);
        };
        match self.decode(document) {
            Ok(append) => {
                self.log.saw(append.last_position);
                if append.last_position > after {
                    return Ok(true);
                }
            }
            Err(_) if seen == after => return Ok(true),
            Err(_) => {}
        }
        Ok(self.log_head().await? > after)
    }
}
