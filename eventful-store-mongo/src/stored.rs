//! An append document as read back ([`StoredAppend`]): its header decoded at once, its events
//! on demand, every field checked, and any failure a typed error naming where it is
//! ([`RecordLocation`]) and what is wrong ([`DecodeProblem`]): a document whose header does
//! not decode, or whose events do not match it as a whole, by its `_id` (the position it
//! starts at); one event that does not decode, by its stream and version.

use chrono::{DateTime, Utc};
use eventful_core::{
    EventFilter, Metadata, Payload, Position, RecordLocation, RecordedEvent, StoreError, StreamId,
    TypeName, Version,
};
use mongodb::bson::raw::{RawArray, RawBsonRef, RawDocument};
use mongodb::bson::{self, RawDocumentBuf};
use uuid::Uuid;

use crate::error::MongoStoreError;
use crate::payload::bson_to_json;
use crate::problem::DecodeProblem;
use crate::schema::field;

/// A BSON date as a UTC time.
pub(crate) fn to_utc(key: &str, date: bson::DateTime) -> Result<DateTime<Utc>, DecodeProblem> {
    DateTime::<Utc>::from_timestamp_millis(date.timestamp_millis()).ok_or_else(|| {
        DecodeProblem::DateOutOfRange {
            field: key.to_owned(),
            millis: date.timestamp_millis(),
        }
    })
}

/// An append document as read back: its header decoded, its events on demand.
#[derive(Debug, Clone)]
pub(crate) struct StoredAppend {
    pub(crate) first_position: u64,
    pub(crate) last_position: u64,
    pub(crate) stream_id: StreamId,
    pub(crate) first_version: u64,
    pub(crate) last_version: u64,
    pub(crate) recorded_at: DateTime<Utc>,
    document: RawDocumentBuf,
    collection: String,
}

impl StoredAppend {
    /// Decodes the header of an append document (the `events` array may be projected away).
    /// A header that does not decode is named by the document's `_id`: the position the
    /// append starts at, else the `_id` as the server holds it.
    pub(crate) fn decode(document: RawDocumentBuf, collection: &str) -> Result<Self, StoreError> {
        let position = read_u64(&document, field::ID);
        let location = document_location(&document);
        let undecodable = |problem: DecodeProblem| -> StoreError {
            MongoStoreError::Undecodable {
                collection: collection.to_owned(),
                location: location.clone(),
                problem,
            }
            .into()
        };
        let first_position = position.map_err(undecodable)?;
        let stream_id = text(&document, field::STREAM_ID)
            .and_then(|stream| StreamId::new(stream).map_err(invalid_name(field::STREAM_ID)))
            .map_err(undecodable)?;
        let first_version = read_u64(&document, field::FIRST_VERSION).map_err(undecodable)?;
        let last_position = read_u64(&document, field::LAST_POSITION).map_err(undecodable)?;
        let last_version = read_u64(&document, field::LAST_VERSION).map_err(undecodable)?;
        let recorded_at = read_utc(&document, field::RECORDED_AT).map_err(undecodable)?;
        if last_position < first_position
            || last_version < first_version
            || last_position - first_position != last_version - first_version
            || first_version == 0
            || first_position == 0
        {
            return Err(undecodable(DecodeProblem::MismatchedRange {
                first_position,
                last_position,
                first_version,
                last_version,
            }));
        }
        Ok(Self {
            first_position,
            last_position,
            stream_id,
            first_version,
            last_version,
            recorded_at,
            document,
            collection: collection.to_owned(),
        })
    }

    /// Whether the append may hold events matching `filter`, from its header: its event
    /// types, aggregate types and time. A header that does not say is taken to match (the
    /// whole append's decoding then reports what is wrong).
    pub(crate) fn may_match(&self, filter: &EventFilter) -> bool {
        let any_of = |key: &str, wanted: &[TypeName]| {
            wanted.is_empty()
                || array(&self.document, key).map_or(true, |names| {
                    names.into_iter().any(|name| {
                        matches!(name, Ok(RawBsonRef::String(name))
                            if wanted.iter().any(|wanted| wanted.as_str() == name))
                    })
                })
        };
        any_of(field::EVENT_TYPES, &filter.event_types)
            && any_of(field::AGGREGATE_TYPES, &filter.aggregate_types)
            && filter
                .recorded_from
                .is_none_or(|from| self.recorded_at >= from)
            && filter
                .recorded_before
                .is_none_or(|before| self.recorded_at < before)
    }

    /// The number of events the append's versions span.
    fn len(&self) -> u64 {
        self.last_version - self.first_version + 1
    }

    /// The error for `problem` at `version` of this append, or in the document as a whole
    /// (named by its `_id`, the position it starts at).
    fn undecodable(&self, version: Option<u64>, problem: DecodeProblem) -> StoreError {
        MongoStoreError::Undecodable {
            collection: self.collection.clone(),
            location: match version {
                Some(version) => RecordLocation::Event {
                    stream_id: self.stream_id.clone(),
                    version: Version::new(version),
                },
                None => RecordLocation::Position(Position::new(self.first_position)),
            },
            problem,
        }
        .into()
    }

    /// The ids of the append's events, in order, from its `event_ids` field: one for each
    /// version it spans.
    pub(crate) fn event_ids(&self) -> Result<Vec<Uuid>, StoreError> {
        let whole = |problem| self.undecodable(None, problem);
        let ids = array(&self.document, field::EVENT_IDS).map_err(whole)?;
        let ids: Vec<Uuid> = ids
            .into_iter()
            .map(
                |id| match id.map_err(|error| malformed(field::EVENT_IDS, error))? {
                    RawBsonRef::String(text) => uuid(text, field::EVENT_IDS),
                    other => Err(wrong_type(field::EVENT_IDS, "a string", other)),
                },
            )
            .collect::<Result<_, _>>()
            .map_err(whole)?;
        if ids.len() as u64 != self.len() {
            return Err(whole(DecodeProblem::EventCount {
                found: ids.len() as u64,
                expected: self.len(),
            }));
        }
        Ok(ids)
    }

    /// The events whose version and position `keep` accepts (it also sees the event type and
    /// aggregate type), fully decoded; the others are skipped before their payloads are read.
    pub(crate) fn events(
        &self,
        mut keep: impl FnMut(u64, u64, &str, &str) -> bool,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        let events = array(&self.document, field::EVENTS)
            .map_err(|problem| self.undecodable(None, problem))?;
        let mut decoded = Vec::new();
        let mut count = 0u64;
        for (i, element) in (0u64..).zip(events) {
            count += 1;
            let version = self.first_version + i;
            let position = self.first_position + i;
            let at = |problem| self.undecodable(Some(version), problem);
            let element = element.map_err(|error| at(malformed(field::EVENTS, error)))?;
            let RawBsonRef::Document(event) = element else {
                return Err(at(wrong_type(field::EVENTS, "a document", element)));
            };
            let event_type = text(event, field::EVENT_TYPE).map_err(at)?;
            let aggregate_type = text(event, field::AGGREGATE_TYPE).map_err(at)?;
            if position > self.last_position || !keep(version, position, event_type, aggregate_type)
            {
                continue;
            }
            decoded.push(self.decode_event(event, version, position).map_err(at)?);
        }
        let expected = self.len();
        if count != expected {
            return Err(self.undecodable(
                None,
                DecodeProblem::EventCount {
                    found: count,
                    expected,
                },
            ));
        }
        Ok(decoded)
    }

    fn decode_event(
        &self,
        event: &RawDocument,
        version: u64,
        position: u64,
    ) -> Result<RecordedEvent, DecodeProblem> {
        let name = |key: &str| TypeName::new(text(event, key)?).map_err(invalid_name(key));
        let stored_version = read_u64(event, field::VERSION)?;
        let stored_position = read_u64(event, field::POSITION)?;
        if (stored_version, stored_position) != (version, position) {
            return Err(DecodeProblem::MisplacedEvent {
                version,
                position,
                stored_version,
                stored_position,
            });
        }
        let schema_version = read_u64(event, field::SCHEMA_VERSION)?;
        let schema_version =
            u32::try_from(schema_version).map_err(|_| DecodeProblem::OutOfRange {
                field: field::SCHEMA_VERSION.to_owned(),
                value: i64::try_from(schema_version).unwrap_or(i64::MAX),
                min: 0,
                max: i64::from(u32::MAX),
            })?;
        let payload = value(event, field::PAYLOAD)?;
        let json = bson_to_json(payload)?;
        let payload = Payload::from_stored_json(json.into())
            .map_err(|error| malformed(field::PAYLOAD, error))?;
        Ok(RecordedEvent {
            event_id: uuid(text(event, field::EVENT_ID)?, field::EVENT_ID)?,
            stream_id: self.stream_id.clone(),
            aggregate_type: name(field::AGGREGATE_TYPE)?,
            event_type: name(field::EVENT_TYPE)?,
            schema_version,
            version: Version::new(version),
            position: Position::new(position),
            recorded_at: self.recorded_at,
            metadata: decode_metadata(event)?,
            payload,
        })
    }
}

/// Where a document of the events collection is, for an error about it as a whole: the
/// position its `_id` says it starts at, else its `_id` as the server holds it.
pub(crate) fn document_location(document: &RawDocument) -> RecordLocation {
    match document.get(field::ID) {
        Ok(Some(RawBsonRef::Int64(id))) if id > 0 => {
            RecordLocation::Position(Position::new(u64::try_from(id).unwrap_or_default()))
        }
        Ok(Some(RawBsonRef::Int32(id))) if id > 0 => {
            RecordLocation::Position(Position::new(u64::try_from(id).unwrap_or_default()))
        }
        Ok(Some(RawBsonRef::String(id))) => RecordLocation::Key(format!("{id:?}")),
        Ok(Some(RawBsonRef::Int32(id))) => RecordLocation::Key(id.to_string()),
        Ok(Some(RawBsonRef::Int64(id))) => RecordLocation::Key(id.to_string()),
        Ok(Some(RawBsonRef::Double(id))) => RecordLocation::Key(format!("{id:?}")),
        Ok(Some(RawBsonRef::ObjectId(id))) => RecordLocation::Key(format!("ObjectId({id})")),
        Ok(Some(id)) => RecordLocation::Key(format!("(a {:?})", id.element_type())),
        Ok(None) | Err(_) => RecordLocation::Key("(no readable `_id`)".to_owned()),
    }
}

fn decode_metadata(event: &RawDocument) -> Result<Metadata, DecodeProblem> {
    let Some(metadata) = optional(event, field::METADATA)? else {
        return Ok(Metadata::default());
    };
    let RawBsonRef::Document(metadata) = metadata else {
        return Err(wrong_type(field::METADATA, "a document", metadata));
    };
    let optional_id = |key: &str| -> Result<Option<Uuid>, DecodeProblem> {
        match optional(metadata, key)? {
            None | Some(RawBsonRef::Null) => Ok(None),
            Some(RawBsonRef::String(text)) => uuid(text, key).map(Some),
            Some(other) => Err(wrong_type(key, "a string", other)),
        }
    };
    let mut decoded = Metadata {
        correlation_id: optional_id(field::CORRELATION_ID)?,
        causation_id: optional_id(field::CAUSATION_ID)?,
        ..Metadata::default()
    };
    match optional(metadata, field::EXTRA)? {
        None | Some(RawBsonRef::Null) => {}
        Some(RawBsonRef::Document(extra)) => {
            for entry in extra {
                let (key, value) = entry.map_err(|error| malformed(field::EXTRA, error))?;
                let RawBsonRef::String(value) = value else {
                    return Err(wrong_type(
                        &format!("{}.{}.{key}", field::METADATA, field::EXTRA),
                        "a string",
                        value,
                    ));
                };
                decoded.extra.insert(key, value);
            }
        }
        Some(other) => return Err(wrong_type(field::EXTRA, "a document", other)),
    }
    Ok(decoded)
}

fn uuid(text: &str, key: &str) -> Result<Uuid, DecodeProblem> {
    Uuid::parse_str(text).map_err(|_| DecodeProblem::NotAUuid {
        field: key.to_owned(),
        text: text.to_owned(),
    })
}

pub(crate) fn malformed(key: &str, error: impl std::fmt::Display) -> DecodeProblem {
    DecodeProblem::Malformed {
        at: key.to_owned(),
        message: error.to_string(),
    }
}

fn wrong_type(key: &str, expected: &'static str, found: RawBsonRef<'_>) -> DecodeProblem {
    DecodeProblem::WrongType {
        field: key.to_owned(),
        expected,
        found: found.element_type(),
    }
}

pub(crate) fn invalid_name(key: &str) -> impl Fn(eventful_core::NameError) -> DecodeProblem + '_ {
    move |error| DecodeProblem::InvalidName {
        field: key.to_owned(),
        error: Box::new(error),
    }
}

/// A field's value, if the document has the field.
fn optional<'a>(
    document: &'a RawDocument,
    key: &str,
) -> Result<Option<RawBsonRef<'a>>, DecodeProblem> {
    document.get(key).map_err(|error| malformed(key, error))
}

/// A field's value; a missing field is an error.
pub(crate) fn value<'a>(
    document: &'a RawDocument,
    key: &str,
) -> Result<RawBsonRef<'a>, DecodeProblem> {
    optional(document, key)?.ok_or_else(|| DecodeProblem::MissingField {
        field: key.to_owned(),
    })
}

pub(crate) fn text<'a>(document: &'a RawDocument, key: &str) -> Result<&'a str, DecodeProblem> {
    match value(document, key)? {
        RawBsonRef::String(text) => Ok(text),
        other => Err(wrong_type(key, "a string", other)),
    }
}

fn array<'a>(document: &'a RawDocument, key: &str) -> Result<&'a RawArray, DecodeProblem> {
    match value(document, key)? {
        RawBsonRef::Array(array) => Ok(array),
        other => Err(wrong_type(key, "an array", other)),
    }
}

/// A date field as a UTC time.
pub(crate) fn read_utc(document: &RawDocument, key: &str) -> Result<DateTime<Utc>, DecodeProblem> {
    match value(document, key)? {
        RawBsonRef::DateTime(date) => to_utc(key, date),
        other => Err(wrong_type(key, "a date", other)),
    }
}

/// A non-negative integer field, whichever integer type the server returned it as (some
/// servers give back small int64s as int32).
pub(crate) fn read_u64(document: &RawDocument, key: &str) -> Result<u64, DecodeProblem> {
    let number = match value(document, key)? {
        RawBsonRef::Int32(number) => i64::from(number),
        RawBsonRef::Int64(number) => number,
        other => return Err(wrong_type(key, "an integer", other)),
    };
    u64::try_from(number).map_err(|_| DecodeProblem::OutOfRange {
        field: key.to_owned(),
        value: number,
        min: 0,
        max: i64::MAX,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::tests::{event, stream};
    use crate::schema::{PreparedAppend, now_millis};
    use eventful_core::NewEvent;

    #[test]
    fn every_envelope_field_round_trips_through_the_document() {
        let extra: eventful_core::Entries = [
            ("client", "ios-2.4.1"),
            ("a.b$c", "région ✓"),
            ("empty", ""),
        ]
        .into_iter()
        .collect();
        let metadata = Metadata {
            correlation_id: Some(Uuid::new_v4()),
            causation_id: Some(Uuid::new_v4()),
            extra,
        };
        let sent = vec![
            event("xp_gained", r#"{"amount":100,"ratio":0.5,"tags":["x"]}"#)
                .with_metadata(metadata),
            NewEvent {
                aggregate_type: TypeName::from_static("session"),
                schema_version: u32::MAX,
                ..event("leveled_up", "7")
            },
        ];
        let prepared = PreparedAppend::new(&stream(), &sent).expect("prepares");
        let (recorded_at, at) = now_millis();
        let document = prepared.document(41, 3, recorded_at).expect("fits");
        let stored = StoredAppend::decode(document, "events").expect("decodes");
        assert_eq!(
            (
                stored.first_position,
                stored.last_position,
                stored.first_version,
                stored.last_version
            ),
            (41, 42, 3, 4)
        );
        assert_eq!(stored.event_ids().expect("ids"), prepared.event_ids());
        let events = stored.events(|_, _, _, _| true).expect("events decode");
        assert_eq!(events.len(), 2);
        for ((read, sent), i) in events.iter().zip(&sent).zip(0u64..) {
            assert_eq!(read.event_id, sent.event_id);
            assert_eq!(read.stream_id, stream());
            assert_eq!(read.aggregate_type, sent.aggregate_type);
            assert_eq!(read.event_type, sent.event_type);
            assert_eq!(read.schema_version, sent.schema_version);
            assert_eq!(read.version, Version::new(3 + i));
            assert_eq!(read.position, Position::new(41 + i));
            assert_eq!(read.recorded_at, at);
            assert_eq!(read.metadata, sent.metadata);
            assert_eq!(read.payload, sent.payload, "the JSON text itself survives");
        }
    }

    #[test]
    fn a_document_that_does_not_decode_names_its_stream_and_version() {
        let prepared = PreparedAppend::new(&stream(), &[event("a", "{}"), event("b", "{}")])
            .expect("prepares");
        let mut document = prepared
            .document(10, 5, bson::DateTime::from_millis(0))
            .expect("fits")
            .to_document()
            .expect("a document");
        let events = document.get_array_mut(field::EVENTS).expect("events");
        events[1]
            .as_document_mut()
            .expect("an event")
            .insert(field::EVENT_ID, "not-a-uuid");
        let raw = RawDocumentBuf::from_document(&document).expect("raw");
        let stored = StoredAppend::decode(raw, "events").expect("the header decodes");
        match stored.events(|_, _, _, _| true) {
            Err(StoreError::Corrupt { location, source }) => {
                assert_eq!(
                    location,
                    RecordLocation::Event {
                        stream_id: stream(),
                        version: Version::new(6)
                    }
                );
                assert_eq!(location.to_string(), "stream `player-7` version 6");
                assert!(source.to_string().contains("not-a-uuid"), "{source}");
                match source.downcast_ref::<MongoStoreError>() {
                    Some(MongoStoreError::Undecodable {
                        problem: DecodeProblem::NotAUuid { field, text },
                        ..
                    }) => assert_eq!((field.as_str(), text.as_str()), ("event_id", "not-a-uuid")),
                    other => panic!("expected a typed problem, got {other:?}"),
                }
            }
            other => panic!("expected Corrupt, got {other:?}"),
        }
        // A header that does not decode is named by the document's `_id`.
        document.remove(field::LAST_VERSION);
        let raw = RawDocumentBuf::from_document(&document).expect("raw");
        match StoredAppend::decode(raw, "events") {
            Err(StoreError::Corrupt { location, source }) => {
                assert_eq!(location, RecordLocation::Position(Position::new(10)));
                assert!(matches!(
                    source.downcast_ref::<MongoStoreError>(),
                    Some(MongoStoreError::Undecodable {
                        problem: DecodeProblem::MissingField { field },
                        ..
                    }) if field == "last_version"
                ));
            }
            other => panic!("expected Corrupt, got {other:?}"),
        }
        document.insert(field::ID, "ten");
        let raw = RawDocumentBuf::from_document(&document).expect("raw");
        match StoredAppend::decode(raw, "events") {
            Err(StoreError::Corrupt { location, .. }) => {
                assert_eq!(location, RecordLocation::Key("\"ten\"".to_owned()));
            }
            other => panic!("expected Corrupt, got {other:?}"),
        }
    }

    #[test]
    fn events_that_do_not_match_the_header_name_the_document() {
        let prepared = PreparedAppend::new(&stream(), &[event("a", "{}"), event("b", "{}")])
            .expect("prepares");
        let mut document = prepared
            .document(10, 5, bson::DateTime::from_millis(0))
            .expect("fits")
            .to_document()
            .expect("a document");
        document
            .get_array_mut(field::EVENT_IDS)
            .expect("ids")
            .push(bson::Bson::String(Uuid::new_v4().to_string()));
        document.insert(field::EVENTS, "not an array");
        let raw = RawDocumentBuf::from_document(&document).expect("raw");
        let stored = StoredAppend::decode(raw, "events").expect("the header decodes");
        fn problem<T: std::fmt::Debug>(result: Result<T, StoreError>) -> DecodeProblem {
            match result {
                Err(StoreError::Corrupt { location, source }) => {
                    assert_eq!(location, RecordLocation::Position(Position::new(10)));
                    match source.downcast_ref::<MongoStoreError>() {
                        Some(MongoStoreError::Undecodable { problem, .. }) => problem.clone(),
                        other => panic!("expected Undecodable, got {other:?}"),
                    }
                }
                other => panic!("expected Corrupt, got {other:?}"),
            }
        }
        assert_eq!(
            problem(stored.event_ids()),
            DecodeProblem::EventCount {
                found: 3,
                expected: 2
            }
        );
        assert!(matches!(
            problem(stored.events(|_, _, _, _| true)),
            DecodeProblem::WrongType { field, .. } if field == "events"
        ));
    }

    #[test]
    fn int32_from_the_server_reads_as_a_version() {
        let mut document = RawDocumentBuf::new();
        document.append("a", 5i32);
        document.append("b", 5i64);
        document.append("c", -1i64);
        assert_eq!(read_u64(&document, "a"), Ok(5));
        assert_eq!(read_u64(&document, "b"), Ok(5));
        assert!(matches!(
            read_u64(&document, "c"),
            Err(DecodeProblem::OutOfRange { value: -1, .. })
        ));
        assert_eq!(
            read_u64(&document, "d"),
            Err(DecodeProblem::MissingField {
                field: "d".to_owned()
            })
        );
    }
}
