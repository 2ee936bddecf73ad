//! Reads, each on an index: a stream from a version, the log from a position (filtered by
//! event type, aggregate type and time), heads, an event by id; and waiting for appends.
//!
//! Every query is bounded by a limit and fetched in one batch: nothing keeps a server
//! cursor open between calls, so a read never depends on a cursor surviving (some servers
//! drop cursors with their connection).
//!
//! **The log is read in order, and never past a position that may still fill.** Positions
//! commit out of order (the `sequence` module), so a read of the log accounts for every
//! position from where it starts, in one query: each is held by an append, by a gap
//! document (the `gaps` module), or by nothing. At the first position held by nothing below
//! a committed append, the read looks it up by `_id` (a document whose `last_position` is
//! damaged is invisible to the range query, and is reported, not skipped), and, finding
//! nothing, stops there: the gap is either closed (its owner's, or open for the gap
//! timeout) and read through next time, or left to fill. So `AllBatch::next` never passes a
//! position that may still receive an append.
//!
//! **What a read reports is what its own query saw.** A filtered read finds the appends that
//! match from that same query's headers (their event and aggregate types and time), then
//! fetches those appends whole by `_id`; when that second read does not return one of them
//! (a view older than the first, as a new primary's majority view can be just after an
//! election), the batch ends before it. The position a read resumes at never comes from
//! another read than the one that accounted for it.
//!
//! **A damaged document is never skipped.** A document that does not decode ends a read
//! with [`StoreError::Corrupt`] naming its `_id` (the events before it are delivered first);
//! at the end of the log a read looks up the one position after its end (by `_id`), so that
//! a damaged last append is reported rather than taken for the end; a waiting subscriber
//! polls that same position. A stream's versions are dense, so a stream read that finds its
//! versions jump looks into what holds them. `docs/stores/mongodb.md` ("Damaged documents")
//! has the argument and what each read sees.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::time::Duration;

use eventful_core::{
    AllBatch, EventFilter, Position, RecordLocation, RecordedEvent, StoreError, StreamId, Version,
};
use futures::TryStreamExt;
use mongodb::bson::{Bson, Document, RawDocumentBuf, doc};
use uuid::Uuid;

use crate::error::MongoStoreError;
use crate::gaps::{GapOutcome, is_gap};
use crate::ids::is_claim;
use crate::problem::DecodeProblem;
use crate::schema::{field, int64};
use crate::store::Inner;
use crate::stored::document_location;
use crate::stored::{StoredAppend, read_u64};

/// Most append documents one query fetches.
pub(crate) const PAGE_DOCUMENTS: usize = 1000;

/// How often a stream read whose versions jump reads again before it reports the hole, when
/// the lookup that looks into it does not see the append above it (a stale view).
const STREAM_GAP_ATTEMPTS: u32 = 3;

/// How a page of the log ended.
enum PageEnd {
    /// The page is full: read on from its end.
    Full,
    /// Every position up to its end is accounted for, and nothing is visible beyond.
    EndOfLog,
    /// A gap that may still fill: the page stops before it.
    Gap,
    /// Something committed while the page was read, or a gap was just closed: read again
    /// from the page's end.
    Again,
    /// A document that does not decode at the page's end.
    Damaged(StoreError),
}

/// The appends of the log from a position, every position accounted for up to `end`.
struct LogPage {
    /// The appends, in order (gap documents left out).
    appends: Vec<StoredAppend>,
    /// The first position not accounted for.
    end: u64,
    /// The last position of the last append in the page.
    last_event: Option<u64>,
    stop: PageEnd,
}

/// What a lookup by `_id` into positions a query did not return found.
enum LookedInto {
    /// Nothing holds them.
    Empty,
    /// A document that decodes: it committed after the query.
    Committed,
    /// A document that does not decode.
    Damaged(StoreError),
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

/// What a poll of the log found after a position.
enum Poll {
    /// A document at the next position.
    Visible,
    /// Nothing there, but documents above it.
    BeyondGap,
    /// Nothing after the position.
    Nothing,
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
        let documents: Vec<RawDocumentBuf> = find
            .await
            .map_err(|error| self.driver_error(operation, error))?
            .try_collect()
            .await
            .map_err(|error| self.driver_error(operation, error))?;
        #[cfg(test)]
        let documents = self.stale_view.apply(operation, documents);
        Ok(documents)
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
        self.documents_in("looking up appends by position", positions, headers_only)
            .await
    }

    /// [`Inner::documents_at`], as `operation`.
    async fn documents_in(
        &self,
        operation: &'static str,
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
                operation,
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
            self.heads
                .observe(stream_id, last.last_version, last.last_position);
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

    /// The appends, of any stream, holding any of `event_ids`, headers only, and the claims
    /// of them (the `ids` module): one query on the store-wide `{event_ids: 1}` index. Each
    /// id is in one append and one claim at most.
    pub(crate) async fn appends_holding(
        &self,
        event_ids: &[Uuid],
    ) -> Result<(Vec<StoredAppend>, Vec<RawDocumentBuf>), StoreError> {
        let ids: Vec<String> = event_ids.iter().map(Uuid::to_string).collect();
        let documents = self
            .find_documents(
                "looking up event ids",
                doc! { field::EVENT_IDS: { "$in": ids } },
                None,
                event_ids.len().max(1) * 2,
                Some(doc! { field::EVENTS: 0 }),
            )
            .await?;
        let (claims, appends): (Vec<_>, Vec<_>) = documents
            .into_iter()
            .partition(|document| is_claim(document));
        let appends = appends
            .into_iter()
            .map(|document| self.decode(document))
            .collect::<Result<_, _>>()?;
        Ok((appends, claims))
    }

    /// The position of the last event of the log that no gap precedes (0 when there is
    /// none): the log walked from where this process last saw it accounted for.
    pub(crate) async fn log_head(&self) -> Result<u64, StoreError> {
        // Bounded, should a server keep answering "read again".
        for _ in 0..64 {
            let seen = self.log.seen.load(Ordering::Acquire);
            let page = self.log_page(seen + 1, PAGE_DOCUMENTS, true).await?;
            self.saw(&page);
            match page.stop {
                PageEnd::Full | PageEnd::Again => {}
                PageEnd::EndOfLog | PageEnd::Gap => break,
                PageEnd::Damaged(error) => return Err(error),
            }
        }
        Ok(self.log.head_event.load(Ordering::Acquire))
    }

    /// Records how far `page` accounted for the log.
    fn saw(&self, page: &LogPage) {
        if page.end > 1 {
            self.log.saw(page.end - 1);
        }
        if let Some(last) = page.last_event {
            self.log.head_event.fetch_max(last, Ordering::AcqRel);
        }
    }

    /// The appends of the log from `from`, up to `limit` documents, in order, up to the first
    /// position that is not accounted for (see the module documentation).
    async fn log_page(
        &self,
        from: u64,
        limit: usize,
        headers_only: bool,
    ) -> Result<LogPage, StoreError> {
        let limit = limit.clamp(1, PAGE_DOCUMENTS);
        let projection = headers_only.then(|| doc! { field::EVENTS: 0 });
        let documents = self
            .find_documents(
                "reading the log",
                doc! { field::LAST_POSITION: { "$gte": int64(from) } },
                Some(doc! { field::LAST_POSITION: 1 }),
                limit,
                projection,
            )
            .await?;
        let full = documents.len() == limit;
        // In `_id` order: a gap document a reader put at a position inside an append that
        // committed meanwhile sorts before that append by its last position.
        let mut documents: Vec<(u64, RawDocumentBuf)> = documents
            .into_iter()
            .map(|document| (read_u64(&document, field::ID).unwrap_or(0), document))
            .collect();
        documents.sort_by_key(|(first, _)| *first);
        let mut page = LogPage {
            appends: Vec::new(),
            end: from,
            last_event: None,
            stop: PageEnd::Full,
        };
        for (first, document) in documents {
            let (last, append) = if is_gap(&document) {
                match read_u64(&document, field::LAST_POSITION) {
                    Ok(last) if last >= first => (last, None),
                    _ => {
                        page.stop = PageEnd::Damaged(self.gap_undecodable(document));
                        return Ok(page);
                    }
                }
            } else {
                match self.decode(document) {
                    Ok(append) => (append.last_position, Some(append)),
                    Err(error) => {
                        page.stop = PageEnd::Damaged(error);
                        return Ok(page);
                    }
                }
            };
            if last < page.end {
                // A gap document inside an append: the append holds those positions.
                continue;
            }
            if first > page.end {
                page.stop = self.at_gap(page.end, first - 1).await?;
                return Ok(page);
            }
            if let Some(append) = append {
                page.last_event = Some(append.last_position);
                page.appends.push(append);
            }
            page.end = last + 1;
        }
        if full {
            return Ok(page);
        }
        // The end as the query saw it: a document whose `last_position` the range query could
        // not see is reported, one that committed since is read next time.
        page.stop = match self.documents_at(&[page.end], true).await?.pop() {
            None => PageEnd::EndOfLog,
            Some((_, document)) if is_gap(&document) => PageEnd::Again,
            Some((_, document)) => match self.decode(document) {
                Ok(_) => PageEnd::Again,
                Err(error) => PageEnd::Damaged(error),
            },
        };
        Ok(page)
    }

    /// How a page ends at positions `first..=last`, which its query did not return: what holds
    /// them, or what to do about a gap there (the `gaps` module), looking again while it is
    /// settling.
    async fn at_gap(&self, first: u64, last: u64) -> Result<PageEnd, StoreError> {
        loop {
            return Ok(match self.look_into(first, last).await? {
                LookedInto::Committed => PageEnd::Again,
                LookedInto::Damaged(error) => PageEnd::Damaged(error),
                LookedInto::Empty => match self.on_gap(first, last).await? {
                    GapOutcome::Settling => {
                        tokio::time::sleep(Duration::from_millis(5)).await;
                        continue;
                    }
                    GapOutcome::Open => PageEnd::Gap,
                    GapOutcome::Closed => PageEnd::Again,
                },
            });
        }
    }

    /// What holds positions `first..=last`, which a query of the log did not return, by `_id`.
    async fn look_into(&self, first: u64, last: u64) -> Result<LookedInto, StoreError> {
        let found = self
            .find_documents(
                "looking into positions the log skipped",
                doc! { field::ID: { "$gte": int64(first), "$lte": int64(last) } },
                None,
                1,
                Some(doc! { field::EVENTS: 0 }),
            )
            .await?
            .pop();
        Ok(match found {
            None => LookedInto::Empty,
            Some(document) if is_gap(&document) => LookedInto::Committed,
            Some(document) => match self.decode(document) {
                Ok(_) => LookedInto::Committed,
                Err(error) => LookedInto::Damaged(error),
            },
        })
    }

    /// Whether a document holds position `position` as its `_id`.
    pub(crate) async fn holds_position(&self, position: u64) -> Result<bool, StoreError> {
        Ok(!self.documents_at(&[position], true).await?.is_empty())
    }

    /// The error for a gap document that does not read as one.
    fn gap_undecodable(&self, document: RawDocumentBuf) -> StoreError {
        MongoStoreError::Undecodable {
            collection: self.events.name().to_owned(),
            location: document_location(&document),
            problem: DecodeProblem::MissingField {
                field: field::LAST_POSITION.to_owned(),
            },
        }
        .into()
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
                self.heads
                    .observe(stream_id, last.last_version, last.last_position);
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

    /// The log from `from`, every event.
    async fn read_log(&self, from: u64, limit: usize) -> Result<AllBatch, StoreError> {
        let page = self.events_page(from, limit, false).await?;
        let all = EventFilter::all();
        let mut batch = Batch::new(from, limit, &all);
        for append in &page.appends {
            if let Taken::Done(done) = batch.take(append)? {
                return Ok(done);
            }
        }
        self.page_batch(batch, page)
    }

    /// The batch ending where `page` ended, but never past the last event this store has
    /// seen: a batch does not end among gap documents above it, so that a reader's position
    /// (a checkpoint) stays within the head ([`Inner::log_head`]). Reading those few gap
    /// documents again costs a page of headers.
    fn page_batch(&self, mut batch: Batch<'_>, page: LogPage) -> Result<AllBatch, StoreError> {
        let head = self.log.head_event.load(Ordering::Acquire);
        let end = page.end.min(head + 1).max(batch.from);
        match page.stop {
            PageEnd::Damaged(error) => batch.damaged(error),
            PageEnd::Full | PageEnd::Again => Ok(batch.finish(end, false)),
            PageEnd::EndOfLog | PageEnd::Gap => Ok(batch.finish(end, true)),
        }
    }

    /// [`Inner::log_page`], going on past full pages that hold gap documents only (a batch
    /// ending there could not move past them).
    async fn events_page(
        &self,
        from: u64,
        limit: usize,
        headers_only: bool,
    ) -> Result<LogPage, StoreError> {
        let mut page = self.log_page(from, limit, headers_only).await?;
        for _ in 0..64 {
            if !(page.appends.is_empty() && matches!(page.stop, PageEnd::Full)) {
                break;
            }
            self.saw(&page);
            page = self.log_page(page.end, limit, headers_only).await?;
        }
        self.saw(&page);
        Ok(page)
    }

    /// The log from `from`, the events matching `filter`: the appends that may match are
    /// picked from one page of headers, then fetched whole by `_id`; one that the second read
    /// does not return ends the batch before it (see the module documentation).
    async fn read_filtered(
        &self,
        from: u64,
        filter: &EventFilter,
        limit: usize,
    ) -> Result<AllBatch, StoreError> {
        let page = self.events_page(from, PAGE_DOCUMENTS, true).await?;
        let wanted: Vec<u64> = page
            .appends
            .iter()
            .filter(|append| append.may_match(filter))
            .map(|append| append.first_position)
            .collect();
        let mut whole: HashMap<u64, RawDocumentBuf> = if wanted.is_empty() {
            HashMap::new()
        } else {
            self.documents_in("reading the matching appends", &wanted, false)
                .await?
                .into_iter()
                .collect()
        };
        let mut batch = Batch::new(from, limit, filter);
        for position in wanted {
            let Some(document) = whole.remove(&position) else {
                return Ok(batch.finish(position.max(from), false));
            };
            let append = match self.decode(document) {
                Ok(append) => append,
                Err(error) => return batch.damaged(error),
            };
            if let Taken::Done(done) = batch.take(&append)? {
                return Ok(done);
            }
        }
        self.page_batch(batch, page)
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

    /// Returns once an event after `after` may be visible: at once if this store has seen
    /// one, as soon as an append through this store commits, or when a poll finds a document
    /// past what this store has accounted for.
    ///
    /// A poll looks up the position right after `after` (one lookup by `_id`, which finds
    /// nothing while nothing is new), so a damaged append there is found too: the caller's
    /// next read reports it. When that position is empty but the log goes on above it (a
    /// gap), the caller reads again after one interval, so that the gap ages and is closed
    /// in time. A caller that has just read to `after` has looked there already, so the
    /// first poll waits one interval.
    pub(crate) async fn wait_for_append(&self, after: u64) {
        let poll = self.settings.poll_interval().max(Duration::from_millis(1));
        let mut first = true;
        loop {
            let appended = self.log.appended.notified();
            tokio::pin!(appended);
            appended.as_mut().enable();
            if self.log.head_event.load(Ordering::Acquire) > after {
                return;
            }
            if !first {
                // Positions up to `seen` are accounted for: gap documents, if not events.
                let from = after.max(self.log.seen.load(Ordering::Acquire));
                match self.poll_after(from).await {
                    Ok(Poll::Visible) => return,
                    Ok(Poll::BeyondGap) => {
                        tokio::time::sleep(poll).await;
                        return;
                    }
                    Ok(Poll::Nothing) => {}
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

    /// What the log holds after `after`.
    async fn poll_after(&self, after: u64) -> Result<Poll, StoreError> {
        if self.holds_position(after + 1).await? {
            return Ok(Poll::Visible);
        }
        let beyond = self
            .find_documents(
                "polling the log",
                doc! { field::LAST_POSITION: { "$gt": int64(after) } },
                None,
                1,
                Some(doc! { field::ID: 1 }),
            )
            .await?;
        Ok(if beyond.is_empty() {
            Poll::Nothing
        } else {
            Poll::BeyondGap
        })
    }
}
