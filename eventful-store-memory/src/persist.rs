//! Saving the whole store to a file and loading it back, so that a demo or a local game
//! server survives a restart.
//!
//! The file is JSON lines: a header, then every event in position order (its whole envelope
//! and its payload as written), every snapshot and every checkpoint. Loading checks that the
//! events continue one another (positions 1, 2, 3, …; versions with no gap; times that never
//! go back) and refuses the file, naming the line, when they do not.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use eventful_core::progress::{ParkedEvent, Segment, SegmentProgress};
use eventful_core::{
    Metadata, Payload, Position, RecordedEvent, Snapshot, StreamId, TypeName, Version,
};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use uuid::Uuid;

use crate::MemoryStore;
use crate::log::Log;

/// The file format this version writes and reads.
const FORMAT: u32 = 1;

/// Why a store could not be saved or loaded. Nothing in a store is changed by a failed load:
/// it builds a new store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PersistError {
    /// The file could not be read, written or renamed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
    /// A line of the file is not what the store writes.
    #[error("{path}, line {line}: {reason}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// The line, from 1.
        line: usize,
        /// What is wrong with it.
        reason: String,
    },
}

/// One line of the file; `P` is the payload as raw JSON, borrowed when saving, owned when
/// loading.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Line<P> {
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
}

#[derive(Serialize, Deserialize)]
struct SavedEvent<P> {
    event_id: Uuid,
    stream_id: StreamId,
    aggregate_type: TypeName,
    event_type: TypeName,
    schema_version: u32,
    version: Version,
    position: Position,
    recorded_at: DateTime<Utc>,
    #[serde(default)]
    metadata: Metadata,
    payload: P,
}

#[derive(Serialize, Deserialize)]
struct SavedSnapshot<P> {
    stream_id: StreamId,
    aggregate_type: TypeName,
    version: Version,
    revision: u32,
    taken_at: DateTime<Utc>,
    payload: P,
}

type SavedLine<'a> = Line<&'a RawValue>;
type LoadedLine = Line<Box<RawValue>>;

/// The payload as raw JSON, without copying it.
fn raw<'a>(payload: &'a Payload, path: &Path) -> Result<&'a RawValue, PersistError> {
    serde_json::from_slice(payload.as_bytes()).map_err(|error| PersistError::Io {
        path: path.to_owned(),
        source: error.into(),
    })
}

fn payload(raw: &RawValue) -> Result<Payload, String> {
    Payload::from_json_slice(raw.get().as_bytes()).map_err(|error| error.to_string())
}

impl MemoryStore {
    /// Writes every event, snapshot and checkpoint to `path`, replacing it atomically (the
    /// file is written beside it, then renamed over it). Appends wait while events are
    /// written.
    ///
    /// ```
    /// use eventful_store_memory::MemoryStore;
    ///
    /// let path = std::env::temp_dir().join(format!("eventful-doc-{}.jsonl", std::process::id()));
    /// let store = MemoryStore::new();
    /// store.save_to(&path)?;
    /// let again = MemoryStore::load_from(&path)?;
    /// # std::fs::remove_file(&path).ok();
    /// # Ok::<(), eventful_store_memory::PersistError>(())
    /// ```
    pub fn save_to(&self, path: impl AsRef<Path>) -> Result<(), PersistError> {
        let path = path.as_ref();
        let io = |source| PersistError::Io {
            path: path.to_owned(),
            source,
        };
        let mut temporary = path.as_os_str().to_owned();
        temporary.push(".saving");
        let temporary = PathBuf::from(temporary);
        let mut out = BufWriter::new(File::create(&temporary).map_err(io)?);
        let mut write = |line: &SavedLine<'_>| -> Result<(), PersistError> {
            serde_json::to_writer(&mut out, line).map_err(|error| io(error.into()))?;
            out.write_all(b"\n").map_err(io)
        };
        write(&Line::Header {
            eventful_memory_store: FORMAT,
        })?;
        {
            let log = self.inner.log.read();
            for event in log.all() {
                write(&Line::Event(SavedEvent {
                    payload: raw(&event.payload, path)?,
                    event_id: event.event_id,
                    stream_id: event.stream_id,
                    aggregate_type: event.aggregate_type,
                    event_type: event.event_type,
                    schema_version: event.schema_version,
                    version: event.version,
                    position: event.position,
                    recorded_at: event.recorded_at,
                    metadata: event.metadata,
                }))?;
            }
        }
        let snapshots: Vec<Snapshot> = self.inner.snapshots.lock().values().cloned().collect();
        for snapshot in snapshots {
            write(&Line::Snapshot(SavedSnapshot {
                payload: raw(&snapshot.payload, path)?,
                stream_id: snapshot.stream_id,
                aggregate_type: snapshot.aggregate_type,
                version: snapshot.version,
                revision: snapshot.revision,
                taken_at: snapshot.taken_at,
            }))?;
        }
        let checkpoints: Vec<(String, Position)> = self
            .inner
            .checkpoints
            .lock()
            .iter()
            .map(|(name, position)| (name.clone(), *position))
            .collect();
        for (name, position) in checkpoints {
            write(&Line::Checkpoint { name, position })?;
        }
        for (handler, segments) in self.inner.shared.all_segments() {
            for progress in segments {
                write(&Line::Segment {
                    handler: handler.clone(),
                    segment: progress.segment,
                    position: progress.position,
                })?;
            }
        }
        for parked in self.inner.shared.all_parked() {
            write(&Line::Parked(parked))?;
        }
        out.into_inner()
            .map_err(|error| io(error.into_error()))?
            .sync_all()
            .map_err(io)?;
        std::fs::rename(&temporary, path).map_err(io)
    }

    /// A new store holding what [`MemoryStore::save_to`] wrote to `path`.
    pub fn load_from(path: impl AsRef<Path>) -> Result<Self, PersistError> {
        let path = path.as_ref();
        let file = File::open(path).map_err(|source| PersistError::Io {
            path: path.to_owned(),
            source,
        })?;
        let store = Self::new();
        let mut log = Log::default();
        let mut header_seen = false;
        let mut segments: std::collections::HashMap<String, Vec<(Segment, Position)>> =
            std::collections::HashMap::new();
        for (index, line) in BufReader::new(file).lines().enumerate() {
            let corrupt = |reason: String| PersistError::Corrupt {
                path: path.to_owned(),
                line: index + 1,
                reason,
            };
            let line = line.map_err(|source| PersistError::Io {
                path: path.to_owned(),
                source,
            })?;
            if line.trim().is_empty() {
                continue;
            }
            let parsed: LoadedLine =
                serde_json::from_str(&line).map_err(|error| corrupt(error.to_string()))?;
            match parsed {
                Line::Header {
                    eventful_memory_store: FORMAT,
                } if !header_seen => header_seen = true,
                Line::Header {
                    eventful_memory_store,
                } => {
                    return Err(corrupt(format!(
                        "a header of format {eventful_memory_store}, where one header of format {FORMAT} opens the file"
                    )));
                }
                _ if !header_seen => {
                    return Err(corrupt(
                        "not a saved eventful memory store (no header)".to_owned(),
                    ));
                }
                Line::Event(saved) => {
                    let event = RecordedEvent {
                        payload: payload(&saved.payload).map_err(&corrupt)?,
                        event_id: saved.event_id,
                        stream_id: saved.stream_id,
                        aggregate_type: saved.aggregate_type,
                        event_type: saved.event_type,
                        schema_version: saved.schema_version,
                        version: saved.version,
                        position: saved.position,
                        recorded_at: saved.recorded_at,
                        metadata: saved.metadata,
                    };
                    log.restore(event)
                        .map_err(|refusal| corrupt(format!("event: {refusal}")))?;
                }
                Line::Snapshot(saved) => {
                    let snapshot = Snapshot {
                        payload: payload(&saved.payload).map_err(&corrupt)?,
                        stream_id: saved.stream_id,
                        aggregate_type: saved.aggregate_type,
                        version: saved.version,
                        revision: saved.revision,
                        taken_at: saved.taken_at,
                    };
                    store
                        .inner
                        .snapshots
                        .lock()
                        .insert(snapshot.stream_id.clone(), snapshot);
                }
                Line::Checkpoint { name, position } => {
                    store.inner.checkpoints.lock().insert(name, position);
                }
                Line::Segment {
                    handler,
                    segment,
                    position,
                } => {
                    segments
                        .entry(handler)
                        .or_default()
                        .push((segment, position));
                }
                Line::Parked(parked) => store.inner.shared.park(parked),
            }
        }
        for (handler, mut saved) in segments {
            saved.sort();
            let count = saved.len() as u32;
            let whole = saved.iter().enumerate().all(|(index, (segment, _))| {
                segment.count == count && segment.index == index as u32
            });
            if !whole {
                return Err(PersistError::Corrupt {
                    path: path.to_owned(),
                    line: 0,
                    reason: format!(
                        "handler `{handler}` has segments that are not 0 to {} of {count}",
                        count.saturating_sub(1)
                    ),
                });
            }
            let progress = saved
                .into_iter()
                .map(|(segment, position)| {
                    let mut progress = SegmentProgress::new(segment);
                    progress.position = position;
                    progress
                })
                .collect();
            store.inner.shared.put_segments(&handler, progress);
        }
        if !header_seen {
            return Err(PersistError::Corrupt {
                path: path.to_owned(),
                line: 1,
                reason: "the file is empty".to_owned(),
            });
        }
        store
            .inner
            .head
            .store(log.head(), std::sync::atomic::Ordering::SeqCst);
        *store.inner.log.write() = log;
        Ok(store)
    }
}
