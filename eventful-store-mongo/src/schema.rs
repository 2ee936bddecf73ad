//! The events collection's document: one per append, holding its events; its field names,
//! and how an append becomes one ([`PreparedAppend`]).
//!
//! ```text
//! { _id: 41,                         // the append's first global position (int64)
//!   last_position: 42,               // its last one
//!   stream_id: "player-7",
//!   first_version: 3, last_version: 4,
//!   recorded_at: ISODate(...),       // millisecond precision, once per append
//!   aggregate_types: ["player"],     // distinct, for filtering and indexing
//!   event_types: ["xp_gained", "leveled_up"],
//!   event_ids: ["0190...", "0190..."],
//!   events: [ { event_id, event_type, aggregate_type, schema_version, version, position,
//!               metadata: { correlation_id?, causation_id?, extra?: {..} },
//!               payload: <the JSON payload as BSON> }, ... ] }
//! ```
//!
//! Ids (event, correlation, causation) are stored as their lowercase hyphenated text: a
//! string is readable and queryable everywhere, binary UUIDs are not on every server.

use chrono::{DateTime, Utc};
use eventful_core::{Duplicate, Metadata, NewEvent, StoreError, StreamId, TypeName};
use mongodb::bson::{self, RawArrayBuf, RawBson, RawDocumentBuf};
use uuid::Uuid;

use crate::error::MongoStoreError;
use crate::payload::json_to_bson;
use crate::problem::BsonProblem;

/// Field names of the events collection.
pub(crate) mod field {
    pub(crate) const ID: &str = "_id";
    pub(crate) const LAST_POSITION: &str = "last_position";
    pub(crate) const STREAM_ID: &str = "stream_id";
    pub(crate) const FIRST_VERSION: &str = "first_version";
    pub(crate) const LAST_VERSION: &str = "last_version";
    pub(crate) const RECORDED_AT: &str = "recorded_at";
    pub(crate) const AGGREGATE_TYPES: &str = "aggregate_types";
    pub(crate) const EVENT_TYPES: &str = "event_types";
    pub(crate) const EVENT_IDS: &str = "event_ids";
    pub(crate) const EVENTS: &str = "events";
    pub(crate) const EVENT_ID: &str = "event_id";
    pub(crate) const EVENT_TYPE: &str = "event_type";
    pub(crate) const AGGREGATE_TYPE: &str = "aggregate_type";
    pub(crate) const SCHEMA_VERSION: &str = "schema_version";
    pub(crate) const VERSION: &str = "version";
    pub(crate) const POSITION: &str = "position";
    pub(crate) const METADATA: &str = "metadata";
    pub(crate) const CORRELATION_ID: &str = "correlation_id";
    pub(crate) const CAUSATION_ID: &str = "causation_id";
    pub(crate) const EXTRA: &str = "extra";
    pub(crate) const PAYLOAD: &str = "payload";
}

/// MongoDB's limit on one document (`maxBsonObjectSize`).
pub(crate) const MAX_DOCUMENT_BYTES: usize = 16 * 1024 * 1024;

/// Versions and positions as BSON int64. Neither can pass `i64::MAX`: each step is one
/// stored event.
pub(crate) fn int64(number: u64) -> i64 {
    i64::try_from(number).unwrap_or(i64::MAX)
}

/// Now, at the millisecond precision BSON dates keep, so that what an append reports is what
/// reads return.
pub(crate) fn now_millis() -> (bson::DateTime, DateTime<Utc>) {
    let now = Utc::now();
    let millis = now.timestamp_millis();
    let truncated = DateTime::<Utc>::from_timestamp_millis(millis).unwrap_or(now);
    (bson::DateTime::from_millis(millis), truncated)
}

/// An append checked and converted to BSON, ready to be written at any position and version.
#[derive(Debug, Clone)]
pub(crate) struct PreparedAppend {
    stream_id: StreamId,
    event_ids: Vec<Uuid>,
    event_types: Vec<String>,
    aggregate_types: Vec<String>,
    events: Vec<PreparedEvent>,
}

#[derive(Debug, Clone)]
struct PreparedEvent {
    event_id: Uuid,
    event_type: TypeName,
    aggregate_type: TypeName,
    schema_version: u32,
    metadata: RawDocumentBuf,
    payload: RawBson,
}

impl PreparedAppend {
    /// Checks the events (no id twice, every payload representable) and converts them.
    pub(crate) fn new(stream_id: &StreamId, events: &[NewEvent]) -> Result<Self, StoreError> {
        let event_ids = distinct_ids(stream_id, events)?;
        let mut event_types: Vec<String> = Vec::new();
        let mut aggregate_types: Vec<String> = Vec::new();
        let mut prepared = Vec::with_capacity(events.len());
        for event in events {
            if !event_types.iter().any(|known| *known == *event.event_type) {
                event_types.push(event.event_type.to_string());
            }
            if !aggregate_types
                .iter()
                .any(|known| *known == *event.aggregate_type)
            {
                aggregate_types.push(event.aggregate_type.to_string());
            }
            let unrepresentable = |problem: BsonProblem| MongoStoreError::Unrepresentable {
                stream_id: stream_id.clone(),
                event_id: event.event_id,
                event_type: event.event_type.clone(),
                problem,
            };
            let payload = json_to_bson(event.payload.as_bytes()).map_err(unrepresentable)?;
            let metadata = metadata_document(&event.metadata).map_err(unrepresentable)?;
            prepared.push(PreparedEvent {
                event_id: event.event_id,
                event_type: event.event_type.clone(),
                aggregate_type: event.aggregate_type.clone(),
                schema_version: event.schema_version,
                metadata,
                payload,
            });
        }
        Ok(Self {
            stream_id: stream_id.clone(),
            event_ids,
            event_types,
            aggregate_types,
            events: prepared,
        })
    }

    /// Events in the append.
    pub(crate) fn len(&self) -> u64 {
        self.events.len() as u64
    }

    /// The events' ids, in order.
    pub(crate) fn event_ids(&self) -> &[Uuid] {
        &self.event_ids
    }

    /// The document of this append at `first_position` and `first_version`, or an error when
    /// it would exceed MongoDB's document size.
    pub(crate) fn document(
        &self,
        first_position: u64,
        first_version: u64,
        recorded_at: bson::DateTime,
    ) -> Result<RawDocumentBuf, MongoStoreError> {
        let count = self.len();
        let mut events = RawArrayBuf::new();
        for (i, event) in (0u64..).zip(&self.events) {
            let mut stored = RawDocumentBuf::new();
            stored.append(field::EVENT_ID, event.event_id.to_string());
            stored.append(field::EVENT_TYPE, event.event_type.as_str());
            stored.append(field::AGGREGATE_TYPE, event.aggregate_type.as_str());
            stored.append(field::SCHEMA_VERSION, i64::from(event.schema_version));
            stored.append(field::VERSION, int64(first_version + i));
            stored.append(field::POSITION, int64(first_position + i));
            stored.append(field::METADATA, event.metadata.clone());
            stored.append(field::PAYLOAD, event.payload.clone());
            events.push(stored);
        }
        let mut document = RawDocumentBuf::new();
        document.append(field::ID, int64(first_position));
        document.append(field::LAST_POSITION, int64(first_position + count - 1));
        document.append(field::STREAM_ID, self.stream_id.as_str());
        document.append(field::FIRST_VERSION, int64(first_version));
        document.append(field::LAST_VERSION, int64(first_version + count - 1));
        document.append(field::RECORDED_AT, recorded_at);
        document.append(field::AGGREGATE_TYPES, strings(&self.aggregate_types));
        document.append(field::EVENT_TYPES, strings(&self.event_types));
        document.append(
            field::EVENT_IDS,
            strings(self.event_ids.iter().map(Uuid::to_string)),
        );
        document.append(field::EVENTS, events);
        let bytes = document.as_bytes().len();
        if bytes > MAX_DOCUMENT_BYTES {
            return Err(MongoStoreError::AppendTooLarge {
                stream_id: self.stream_id.clone(),
                events: self.events.len(),
                bytes,
                limit: MAX_DOCUMENT_BYTES,
            });
        }
        Ok(document)
    }
}

/// Appends up to this long are checked for repeated ids pair by pair; longer ones with a set.
const PAIRWISE_LIMIT: usize = 16;

/// The events' ids in order, or the refusal of the first that appears twice (before anything
/// else is looked at, as every store does).
fn distinct_ids(stream_id: &StreamId, events: &[NewEvent]) -> Result<Vec<Uuid>, StoreError> {
    let ids: Vec<Uuid> = events.iter().map(|event| event.event_id).collect();
    let repeated = if ids.len() <= PAIRWISE_LIMIT {
        ids.iter()
            .enumerate()
            .find(|(i, id)| ids[..*i].contains(id))
            .map(|(_, id)| *id)
    } else {
        let mut seen = std::collections::HashSet::with_capacity(ids.len());
        ids.iter().find(|id| !seen.insert(**id)).copied()
    };
    match repeated {
        Some(event_id) => Err(StoreError::DuplicateEvent {
            stream_id: stream_id.clone(),
            event_id,
            duplicate: Duplicate::InAppend,
        }),
        None => Ok(ids),
    }
}

fn strings<S: AsRef<str>>(items: impl IntoIterator<Item = S>) -> RawArrayBuf {
    let mut array = RawArrayBuf::new();
    for item in items {
        array.push(item.as_ref());
    }
    array
}

fn metadata_document(metadata: &Metadata) -> Result<RawDocumentBuf, BsonProblem> {
    let mut document = RawDocumentBuf::new();
    if let Some(id) = metadata.correlation_id {
        document.append(field::CORRELATION_ID, id.to_string());
    }
    if let Some(id) = metadata.causation_id {
        document.append(field::CAUSATION_ID, id.to_string());
    }
    if !metadata.extra.is_empty() {
        let mut extra = RawDocumentBuf::new();
        for (key, value) in &metadata.extra {
            if key.contains('\0') {
                return Err(BsonProblem::NulInMetadataKey {
                    key: key.to_owned(),
                });
            }
            extra.append(key, value);
        }
        document.append(field::EXTRA, extra);
    }
    Ok(document)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use eventful_core::Payload;

    /// An event of a `player` stream, schema version 3, with `json` as its payload.
    pub(crate) fn event(event_type: &'static str, json: &str) -> NewEvent {
        NewEvent::new(
            TypeName::from_static("player"),
            TypeName::from_static(event_type),
            3,
            Payload::from_json_slice(json.as_bytes()).expect("valid JSON"),
        )
    }

    /// The stream the unit tests append to.
    pub(crate) fn stream() -> StreamId {
        StreamId::new("player-7").expect("valid")
    }

    #[test]
    fn the_document_is_real_bson_an_operator_can_query() {
        let prepared = PreparedAppend::new(&stream(), &[event("xp_gained", r#"{"amount":100}"#)])
            .expect("prepares");
        let document = prepared
            .document(1, 1, bson::DateTime::from_millis(0))
            .expect("fits")
            .to_document()
            .expect("a document");
        let first = &document.get_array(field::EVENTS).expect("events")[0];
        let first = first.as_document().expect("an event document");
        assert_eq!(
            first
                .get_document(field::PAYLOAD)
                .expect("payload")
                .get_i32("amount")
                .ok(),
            Some(100)
        );
        assert!(document.get_datetime(field::RECORDED_AT).is_ok());
        assert_eq!(
            document.get_array(field::EVENT_TYPES).expect("types").len(),
            1
        );
        assert!(
            first
                .get_document(field::METADATA)
                .expect("metadata")
                .is_empty()
        );
    }

    #[test]
    fn a_repeated_id_or_an_unrepresentable_payload_is_refused() {
        let once = event("a", "{}");
        let huge = event("a", r#"{"n":18446744073709551615}"#);
        match PreparedAppend::new(&stream(), &[huge.clone(), once.clone(), once.clone()]) {
            Err(StoreError::DuplicateEvent {
                event_id,
                duplicate: Duplicate::InAppend,
                ..
            }) => assert_eq!(event_id, once.event_id, "checked before the payloads"),
            other => panic!("expected DuplicateEvent, got {other:?}"),
        }
        let error = PreparedAppend::new(&stream(), &[huge]).expect_err("above i64::MAX");
        let message = error.to_string();
        assert!(matches!(error, StoreError::Unstorable { .. }));
        assert!(
            message.contains("player-7") && message.contains("/n"),
            "{message}"
        );
        let bad_key = event("a", "{}").with_metadata(Metadata::default().with_entry("a\0b", "x"));
        match PreparedAppend::new(&stream(), &[bad_key]) {
            Err(StoreError::Unstorable { source, .. }) => {
                match source.downcast_ref::<MongoStoreError>() {
                    Some(MongoStoreError::Unrepresentable {
                        problem: BsonProblem::NulInMetadataKey { key },
                        ..
                    }) => assert_eq!(key, "a\0b"),
                    other => panic!("expected a NUL in a metadata key, got {other:?}"),
                }
            }
            other => panic!("expected Unstorable, got {other:?}"),
        }
    }

    #[test]
    fn an_oversized_append_is_refused_before_it_is_sent() {
        let big = format!(r#"{{"blob":"{}"}}"#, "x".repeat(MAX_DOCUMENT_BYTES));
        let prepared = PreparedAppend::new(&stream(), &[event("a", &big)]).expect("prepares");
        assert!(matches!(
            prepared.document(1, 1, bson::DateTime::from_millis(0)),
            Err(MongoStoreError::AppendTooLarge { .. })
        ));
    }
}
