//! The lines of a saved store, and the writer that sums them as it writes them.

use std::borrow::Cow;
use std::io::{self, Write};

use bytes::Bytes;
use chrono::{DateTime, Utc};
use eventful_core::progress::{ParkedEvent, Segment};
use eventful_core::{
    Metadata, Payload, PayloadFormat, PayloadRef, Position, StreamId, TypeName, Version,
};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use uuid::Uuid;

use super::Counts;

/// One line of the file; `P` is the payload as raw JSON (a JSON payload as it is, another as
/// a string of hex digits), borrowed when saving, owned when loading.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum Line<P> {
    Header {
        eventful_memory_store: u32,
    },
    Event(SavedEvent<P>),
    Snapshot(SavedSnapshot<P>),
    Checkpoint {
        name: String,
        position: Position,
    },
    /// A shared handler's segment; its claim is not saved (no owner survives a restart).
    Segment {
        handler: String,
        segment: Segment,
        position: Position,
    },
    Parked(ParkedEvent),
    End(SavedEnd),
}

#[derive(Serialize, Deserialize)]
pub(super) struct SavedEvent<P> {
    pub(super) event_id: Uuid,
    pub(super) stream_id: StreamId,
    pub(super) aggregate_type: TypeName,
    pub(super) event_type: TypeName,
    pub(super) schema_version: u32,
    pub(super) version: Version,
    pub(super) position: Position,
    pub(super) recorded_at: DateTime<Utc>,
    #[serde(default)]
    pub(super) metadata: Metadata,
    /// Absent for JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) payload_format: Option<String>,
    pub(super) payload: P,
}

#[derive(Serialize, Deserialize)]
pub(super) struct SavedSnapshot<P> {
    pub(super) stream_id: StreamId,
    pub(super) aggregate_type: TypeName,
    pub(super) version: Version,
    pub(super) revision: u32,
    pub(super) taken_at: DateTime<Utc>,
    /// Absent for JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) payload_format: Option<String>,
    pub(super) payload: P,
}

/// The last line: how many lines of each kind come before it, and the CRC-32 of every byte
/// before it.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SavedEnd {
    events: u64,
    snapshots: u64,
    checkpoints: u64,
    segments: u64,
    parked: u64,
    crc32: u32,
}

impl SavedEnd {
    pub(super) fn counts(&self) -> Counts {
        Counts {
            events: self.events,
            snapshots: self.snapshots,
            checkpoints: self.checkpoints,
            segments: self.segments,
            parked: self.parked,
        }
    }

    pub(super) fn crc32(&self) -> u32 {
        self.crc32
    }
}

pub(super) type SavedLine<'a> = Line<Cow<'a, RawValue>>;
pub(super) type LoadedLine = Line<Box<RawValue>>;

/// The kinds of line, in the order a saved store holds them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Section {
    Header,
    Events,
    Snapshots,
    Checkpoints,
    Segments,
    Parked,
    End,
}

impl Section {
    pub(super) fn name(self) -> &'static str {
        match self {
            Self::Header => "a header",
            Self::Events => "events",
            Self::Snapshots => "snapshots",
            Self::Checkpoints => "checkpoints",
            Self::Segments => "segments",
            Self::Parked => "parked events",
            Self::End => "the end record",
        }
    }
}

impl<P> Line<P> {
    pub(super) fn section(&self) -> Section {
        match self {
            Self::Header { .. } => Section::Header,
            Self::Event(_) => Section::Events,
            Self::Snapshot(_) => Section::Snapshots,
            Self::Checkpoint { .. } => Section::Checkpoints,
            Self::Segment { .. } => Section::Segments,
            Self::Parked(_) => Section::Parked,
            Self::End(_) => Section::End,
        }
    }
}

impl Counts {
    /// Counts one more line of `section` (headers and end records are not counted).
    pub(super) fn add(&mut self, section: Section) {
        match section {
            Section::Events => self.events += 1,
            Section::Snapshots => self.snapshots += 1,
            Section::Checkpoints => self.checkpoints += 1,
            Section::Segments => self.segments += 1,
            Section::Parked => self.parked += 1,
            Section::Header | Section::End => {}
        }
    }
}

/// One line of the file as it was read: UTF-8, then JSON of a [`Line`].
pub(super) fn parse(bytes: &[u8]) -> Result<LoadedLine, String> {
    let text = std::str::from_utf8(bytes).map_err(|error| {
        format!(
            "not UTF-8 (an invalid byte at column {})",
            error.valid_up_to() + 1
        )
    })?;
    serde_json::from_str(text).map_err(|error| error.to_string())
}

/// The payload as a line holds it, with its format's name unless it is JSON: JSON as raw
/// JSON, without copying it; another format as a string of its bytes in hex.
pub(super) fn raw(
    payload: PayloadRef<'_>,
) -> Result<(Option<String>, Cow<'_, RawValue>), serde_json::Error> {
    match payload.format() {
        PayloadFormat::Json => serde_json::from_slice(payload.as_bytes())
            .map(|raw: &RawValue| (None, Cow::Borrowed(raw))),
        format => {
            let hex: String = payload
                .as_bytes()
                .iter()
                .map(|byte| format!("{byte:02x}"))
                .collect();
            let raw = serde_json::value::to_raw_value(&hex)?;
            Ok((Some(format.name().to_owned()), Cow::Owned(raw)))
        }
    }
}

/// The payload a line holds, in the format it names.
pub(super) fn payload(raw: &RawValue, format: Option<&str>) -> Result<Payload, String> {
    let format = match format {
        None => PayloadFormat::Json,
        Some(name) => name
            .parse::<PayloadFormat>()
            .map_err(|error| error.to_string())?,
    };
    match format {
        PayloadFormat::Json => {
            Payload::from_json_slice(raw.get().as_bytes()).map_err(|error| error.to_string())
        }
        format => {
            let hex: &str = serde_json::from_str(raw.get())
                .map_err(|_| format!("a {format} payload is not a string of hex digits"))?;
            let bytes = from_hex(hex)
                .ok_or_else(|| format!("a {format} payload is not a string of hex digits"))?;
            Payload::from_stored(Bytes::from(bytes), format).map_err(|error| error.to_string())
        }
    }
}

/// Pairs of lower-case hex digits, as [`raw`] writes them.
fn from_hex(hex: &str) -> Option<Vec<u8>> {
    let digit = |byte: u8| match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'a'..=b'f' => Some(byte - b'a' + 10),
        _ => None,
    };
    hex.as_bytes()
        .chunks(2)
        .map(|pair| match pair {
            [high, low] => Some(digit(*high)? << 4 | digit(*low)?),
            _ => None,
        })
        .collect()
}

/// Writes lines, counting them and summing their bytes, then the end record that says so.
pub(super) struct LineWriter<W> {
    out: W,
    crc: crc32fast::Hasher,
    counts: Counts,
}

impl<W: Write> LineWriter<W> {
    pub(super) fn new(out: W) -> Self {
        Self {
            out,
            crc: crc32fast::Hasher::new(),
            counts: Counts::default(),
        }
    }

    pub(super) fn line(&mut self, line: &SavedLine<'_>) -> io::Result<()> {
        let mut summed = Summed {
            out: &mut self.out,
            crc: &mut self.crc,
        };
        serde_json::to_writer(&mut summed, line)?;
        summed.write_all(b"\n")?;
        self.counts.add(line.section());
        Ok(())
    }

    /// Writes the end record, and hands the output back.
    pub(super) fn finish(mut self) -> io::Result<W> {
        let Counts {
            events,
            snapshots,
            checkpoints,
            segments,
            parked,
        } = self.counts;
        let end: SavedLine<'_> = Line::End(SavedEnd {
            events,
            snapshots,
            checkpoints,
            segments,
            parked,
            crc32: self.crc.finalize(),
        });
        serde_json::to_writer(&mut self.out, &end)?;
        self.out.write_all(b"\n")?;
        Ok(self.out)
    }
}

/// Sums every byte written through it.
struct Summed<'a, W> {
    out: &'a mut W,
    crc: &'a mut crc32fast::Hasher,
}

impl<W: Write> Write for Summed<'_, W> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        let written = self.out.write(bytes)?;
        self.crc.update(&bytes[..written]);
        Ok(written)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}
