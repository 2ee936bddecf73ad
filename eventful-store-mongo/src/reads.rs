//! Reads, each on an index: a stream from a version, the log from a position (filtered by
//! event type, aggregate type and time), heads, an event by id; and waiting for appends.
//!
//! Every query is bounded by a limit and fetched in one batch: nothing keeps a server
//! cursor open between calls, so a read never depends on a cursor surviving (some servers
//! drop cursors with their connection).

use std::time::Duration;

use eventful_core::{
    AllBatch, EventFilter, Position, RecordedEvent, StoreError, StreamId, Version,
};
use futures::TryStreamExt;
use mongodb::bson::{self, Document, RawDocumentBuf, doc};
use std::sync::atomic::Ordering;
use uuid::Uuid;

use crate::schema::{field, int64};
use crate::store::Inner;
use crate::stored::StoredAppend;

/// Most append documents one query fetches.
pub(crate) const PAGE_DOCUMENTS: usize = 1000;

/// How far a time-range query's date bounds are widened (the exact bounds are applied to
/// each event).
const DATE_SLACK_MS: i64 = 1000;

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
        let limit = limit.clamp(1, PAGE_DOCUMENTS);
        let mut find = self
            .events
            .find(filter)
            .sort(sort)
            .limit(i64::try_from(limit).unwrap_or(i64::MAX))
            .batch_size(u32::try_from(limit).unwrap_or(u32::MAX));
        if headers_only {
            find = find.projection(doc! { field::EVENTS: 0 });
        }
        let documents: Vec<RawDocumentBuf> = find
            .await
            .map_err(|error| self.driver_error(operation, error))?
            .try_collect()
            .await
            .map_err(|error| self.driver_error(operation, error))?;
        documents
            .into_iter()
            .map(|document| StoredAppend::decode(document, self.events.name()))
            .collect()
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
            .map(|document| StoredAppend::decode(document, self.events.name()))
            .collect()
    }

    /// The appends ending after position `after` and at most at `upto`, in order, headers
    /// only: a page of them, up to [`PAGE_DOCUMENTS`].
    pub(crate) async fn appends_ending_in(
        &self,
        after: u64,
        upto: u64,
    ) -> Result<Vec<StoredAppend>, StoreError> {
        self.find_appends(
            "reading the log's event ids",
            doc! { field::LAST_POSITION: { "$gt": int64(after), "$lte": int64(upto) } },
            doc! { field::LAST_POSITION: 1 },
            PAGE_DOCUMENTS,
            true,
        )
        .await
    }

    /// The last position of the log (0 when it is empty).
    pub(crate) async fn log_head(&self) -> Result<u64, StoreError> {
        let head = self
            .find_appends(
                "reading the log's head",
                Document::new(),
                // On `last_position`, not `_id`: equivalent, and some servers order `_id` as
                // text.
                doc! { field::LAST_POSITION: -1 },
                1,
                true,
            )
            .await?
            .pop()
            .map_or(0, |last| last.last_position);
        self.log.saw(head);
        Ok(head)
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
        let mut events = Vec::new();
        let mut next = from;
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
                events
                    .extend(append.events(|version, _, _, _| version >= next && version < until)?);
            }
            let Some(last) = page.last() else { break };
            self.heads.observe(stream_id, last.last_version);
            next = last.last_version + 1;
            if !full {
                break;
            }
        }
        Ok(events)
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
        let filtered = *filter != EventFilter::all();
        // A filtered read may match nothing for a long way: reading the head first lets it
        // report how far it looked, so that the next read starts past what it skipped.
        let head = if filtered {
            Some(self.log_head().await?)
        } else {
            None
        };
        let mut query = doc! { field::LAST_POSITION: { "$gte": int64(from) } };
        if let Some(head) = head {
            query.insert(
                field::LAST_POSITION,
                doc! { "$gte": int64(from), "$lte": int64(head) },
            );
        }
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
        let page = self
            .find_appends(
                "reading the log",
                query,
                doc! { field::LAST_POSITION: 1 },
                page_limit,
                false,
            )
            .await?;
        let mut events = Vec::new();
        for append in &page {
            let room = limit - events.len();
            let mut matching = append.events(|_, position, event_type, aggregate_type| {
                position >= from
                    && filter.matches_parts(event_type, aggregate_type, append.recorded_at)
            })?;
            if matching.len() >= room {
                matching.truncate(room);
                events.extend(matching);
                let next = events.last().map_or(from, |event| event.position.get() + 1);
                return Ok(AllBatch {
                    events,
                    next: Position::new(next),
                    end_of_log: false,
                });
            }
            events.extend(matching);
        }
        let past_page = page.last().map_or(from, |last| last.last_position + 1);
        if let Some(last) = page.last() {
            self.log.saw(last.last_position);
        }
        Ok(if page.len() == page_limit {
            AllBatch {
                events,
                next: Position::new(past_page),
                end_of_log: false,
            }
        } else {
            AllBatch {
                events,
                next: Position::new(head.map_or(past_page, |head| (head + 1).max(from))),
                end_of_log: true,
            }
        })
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

    /// Returns once an event after `after` is visible: at once if one is, as soon as an
    /// append through this store commits one, or when polling the head finds one.
    pub(crate) async fn wait_for_append(&self, after: u64) {
        let poll = self.settings.poll_interval().max(Duration::from_millis(1));
        loop {
            let appended = self.log.appended.notified();
            tokio::pin!(appended);
            appended.as_mut().enable();
            if self.log.seen.load(Ordering::Acquire) > after {
                return;
            }
            match self.log_head().await {
                Ok(head) if head > after => return,
                Ok(_) => {}
                Err(error) => {
                    // The caller's next read reports the failure; waiting avoids a busy loop.
                    tracing::debug!(%error, "polling the log's head failed");
                    tokio::time::sleep(poll).await;
                    return;
                }
            }
            tokio::select! {
                () = &mut appended => {}
                () = tokio::time::sleep(poll) => {}
            }
        }
    }
}
