//! An append document as read back ([`StoredAppend`]): its header decoded at once, its events
//! on demand, every field checked, and any failure a typed error naming the stream and
//! version.

use chrono::{DateTime, Utc};
use eventful_core::{
    Metadata, Payload, Position, RecordedEvent, StoreError, StreamId, TypeName, Version,
};
use mongodb::bson::raw::{RawBsonRef, RawDocument};
use mongodb::bson::{self, RawDocumentBuf};
use uuid::Uuid;

use crate::error::MongoStoreError;
use crate::payload::bson_to_json;
use crate::schema::field;

/// A BSON date as a UTC time.
pub(crate) fn to_utc(date: bson::DateTime) -> Result<DateTime<Utc>, String> {
    DateTime::<Utc>::from_timestamp_millis(date.timestamp_millis())
        .ok_or_else(|| format!("the date {date} is out of range"))
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
    pub(crate) fn decode(document: RawDocumentBuf, collection: &str) -> Result<Self, StoreError> {
        let position = read_u64(&document, field::ID);
        let known_position = position.as_ref().ok().copied();
        let location = |stream: Option<&str>, version: Option<u64>| match (stream, version) {
            (Some(stream), Some(version)) => format!("stream `{stream}` version {version}"),
            (Some(stream), None) => match known_position {
                Some(position) => format!("stream `{stream}` (append at position {position})"),
                None => format!("stream `{stream}`"),
            },
            _ => match known_position {
                Some(position) => format!("the append at position {position}"),
                None => "an append without a readable `_id`".to_owned(),
            },
        };
        let stream = document.get_str(field::STREAM_ID).ok();
        let version = read_u64(&document, field::FIRST_VERSION).ok();
        let undecodable = |reason: String| -> StoreError {
            MongoStoreError::Undecodable {
                collection: collection.to_owned(),
                location: location(stream, version),
                reason,
            }
            .into()
        };
        let stream_id =
            StreamId::new(stream.ok_or_else(|| undecodable(missing(field::STREAM_ID)))?)
                .map_err(|error| undecodable(error.to_string()))?;
        let first_position = position.map_err(&undecodable)?;
        let last_position = read_u64(&document, field::LAST_POSITION).map_err(&undecodable)?;
        let first_version = read_u64(&document, field::FIRST_VERSION).map_err(&undecodable)?;
        let last_version = read_u64(&document, field::LAST_VERSION).map_err(&undecodable)?;
        let recorded_at = document
            .get_datetime(field::RECORDED_AT)
            .map_err(|error| undecodable(format!("`{}`: {error}", field::RECORDED_AT)))
            .and_then(|date| to_utc(date).map_err(&undecodable))?;
        if last_position < first_position
            || last_version < first_version
            || last_position - first_position != last_version - first_version
            || first_version == 0
            || first_position == 0
        {
            return Err(undecodable(format!(
                "positions {first_position}..={last_position} do not match versions \
                 {first_version}..={last_version}"
            )));
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

    fn undecodable(&self, version: Option<u64>, reason: String) -> StoreError {
        let location = match version {
            Some(version) => format!("stream `{}` version {version}", self.stream_id),
            None => format!(
                "stream `{}` versions {}..={}",
                self.stream_id, self.first_version, self.last_version
            ),
        };
        MongoStoreError::Undecodable {
            collection: self.collection.clone(),
            location,
            reason,
        }
        .into()
    }

    /// The ids of the append's events, in order, from its `event_ids` field.
    pub(crate) fn event_ids(&self) -> Result<Vec<Uuid>, StoreError> {
        let ids = self
            .document
            .get_array(field::EVENT_IDS)
            .map_err(|error| self.undecodable(None, format!("`{}`: {error}", field::EVENT_IDS)))?;
        ids.into_iter()
            .map(|id| {
                let id = id.map_err(|error| self.undecodable(None, error.to_string()))?;
                match id {
                    RawBsonRef::String(text) => Uuid::parse_str(text).map_err(|error| {
                        self.undecodable(None, format!("event id {text:?}: {error}"))
                    }),
                    other => Err(self.undecodable(
                        None,
                        format!("an event id is a {:?}, not a string", other.element_type()),
                    )),
                }
            })
            .collect()
    }

    /// The events whose version and position `keep` accepts (it also sees the event type and
    /// aggregate type), fully decoded; the others are skipped before their payloads are read.
    pub(crate) fn events(
        &self,
        mut keep: impl FnMut(u64, u64, &str, &str) -> bool,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        let events = self
            .document
            .get_array(field::EVENTS)
            .map_err(|error| self.undecodable(None, format!("`{}`: {error}", field::EVENTS)))?;
        let mut decoded = Vec::new();
        let mut count = 0u64;
        for (i, element) in (0u64..).zip(events) {
            count += 1;
            let version = self.first_version + i;
            let position = self.first_position + i;
            let at = |reason: String| self.undecodable(Some(version), reason);
            let element = element.map_err(|error| at(error.to_string()))?;
            let RawBsonRef::Document(event) = element else {
                return Err(at(format!(
                    "an event is a {:?}, not a document",
                    element.element_type()
                )));
            };
            let event_type = event
                .get_str(field::EVENT_TYPE)
                .map_err(|error| at(error.to_string()))?;
            let aggregate_type = event
                .get_str(field::AGGREGATE_TYPE)
                .map_err(|error| at(error.to_string()))?;
            if position > self.last_position || !keep(version, position, event_type, aggregate_type)
            {
                continue;
            }
            decoded.push(self.decode_event(event, version, position).map_err(at)?);
        }
        if count != self.last_version - self.first_version + 1 {
            return Err(self.undecodable(
                None,
                format!(
                    "the append holds {count} events, not {}",
                    self.last_version - self.first_version + 1
                ),
            ));
        }
        Ok(decoded)
    }

    fn decode_event(
        &self,
        event: &RawDocument,
        version: u64,
        position: u64,
    ) -> Result<RecordedEvent, String> {
        let text = |key: &str| {
            event
                .get_str(key)
                .map_err(|error| format!("`{key}`: {error}"))
        };
        let name =
            |key: &str| TypeName::new(text(key)?).map_err(|error| format!("`{key}`: {error}"));
        let stored_version = read_u64(event, field::VERSION)?;
        let stored_position = read_u64(event, field::POSITION)?;
        if (stored_version, stored_position) != (version, position) {
            return Err(format!(
                "the event says version {stored_version} at position {stored_position}, \
                 its place in the append says version {version} at position {position}"
            ));
        }
        let schema_version = u32::try_from(read_u64(event, field::SCHEMA_VERSION)?)
            .map_err(|_| format!("`{}` is above u32::MAX", field::SCHEMA_VERSION))?;
        let payload = event
            .get(field::PAYLOAD)
            .map_err(|error| error.to_string())?
            .ok_or_else(|| missing(field::PAYLOAD))?;
        let json = bson_to_json(payload).map_err(|error| format!("payload: {error}"))?;
        let payload =
            Payload::from_json_bytes(json.into()).map_err(|error| format!("payload: {error}"))?;
        Ok(RecordedEvent {
            event_id: uuid(text(field::EVENT_ID)?, field::EVENT_ID)?,
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

fn decode_metadata(event: &RawDocument) -> Result<Metadata, String> {
    let Some(metadata) = event
        .get(field::METADATA)
        .map_err(|error| error.to_string())?
    else {
        return Ok(Metadata::default());
    };
    let RawBsonRef::Document(metadata) = metadata else {
        return Err(format!("`{}` is not a document", field::METADATA));
    };
    let optional_id = |key: &str| -> Result<Option<Uuid>, String> {
        match metadata.get(key).map_err(|error| error.to_string())? {
            None | Some(RawBsonRef::Null) => Ok(None),
            Some(RawBsonRef::String(text)) => uuid(text, key).map(Some),
            Some(other) => Err(format!(
                "`{key}` is a {:?}, not a string",
                other.element_type()
            )),
        }
    };
    let mut decoded = Metadata {
        correlation_id: optional_id(field::CORRELATION_ID)?,
        causation_id: optional_id(field::CAUSATION_ID)?,
        ..Metadata::default()
    };
    match metadata
        .get(field::EXTRA)
        .map_err(|error| error.to_string())?
    {
        None | Some(RawBsonRef::Null) => {}
        Some(RawBsonRef::Document(extra)) => {
            for entry in extra {
                let (key, value) = entry.map_err(|error| error.to_string())?;
                let RawBsonRef::String(value) = value else {
                    return Err(format!("metadata entry `{key}` is not a string"));
                };
                decoded.extra.insert(key, value);
            }
        }
        Some(_) => return Err(format!("`{}` is not a document", field::EXTRA)),
    }
    Ok(decoded)
}

fn uuid(text: &str, key: &str) -> Result<Uuid, String> {
    Uuid::parse_str(text).map_err(|error| format!("`{key}` {text:?} is not a UUID: {error}"))
}

fn missing(key: &str) -> String {
    format!("the field `{key}` is missing")
}

/// A non-negative integer field, whichever integer type the server returned it as (some
/// servers give back small int64s as int32).
pub(crate) fn read_u64(document: &RawDocument, key: &str) -> Result<u64, String> {
    let value = document
        .get(key)
        .map_err(|error| format!("`{key}`: {error}"))?
        .ok_or_else(|| missing(key))?;
    let number = match value {
        RawBsonRef::Int32(number) => i64::from(number),
        RawBsonRef::Int64(number) => number,
        other => {
            return Err(format!(
                "`{key}` is a {:?}, not an integer",
                other.element_type()
            ));
        }
    };
    u64::try_from(number).map_err(|_| format!("`{key}` is negative ({number})"))
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
                assert_eq!(location, "stream `player-7` version 6");
                assert!(source.to_string().contains("not-a-uuid"), "{source}");
            }
            other => panic!("expected Corrupt, got {other:?}"),
        }
        document.remove(field::LAST_VERSION);
        let raw = RawDocumentBuf::from_document(&document).expect("raw");
        match StoredAppend::decode(raw, "events") {
            Err(StoreError::Corrupt { location, .. }) => {
                assert_eq!(location, "stream `player-7` version 5");
            }
            other => panic!("expected Corrupt, got {other:?}"),
        }
    }

    #[test]
    fn int32_from_the_server_reads_as_a_version() {
        let mut document = RawDocumentBuf::new();
        document.append("a", 5i32);
        document.append("b", 5i64);
        document.append("c", -1i64);
        assert_eq!(read_u64(&document, "a"), Ok(5));
        assert_eq!(read_u64(&document, "b"), Ok(5));
        assert!(read_u64(&document, "c").is_err());
        assert!(read_u64(&document, "d").is_err());
    }
}
