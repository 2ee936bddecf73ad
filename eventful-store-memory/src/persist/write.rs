//! Writing a store: its tables beside the log taken first, then checked against the log and
//! written after it, and the end record last.

use std::fs::File;
use std::io::BufWriter;
use std::path::Path;

use eventful_core::progress::{ParkedEvent, SegmentProgress};
use eventful_core::{PayloadFormat, Position, Snapshot};

use super::format::{Line, LineWriter, SavedEvent, SavedSnapshot, raw};
use super::restore::{SegmentRun, checkpoint_within, segment_within, snapshot_within};
use super::{FORMAT, Inconsistency, JSON_FORMAT, PersistError};
use crate::MemoryStore;
use crate::log::Log;

/// What the store holds beside its log, in the order it is saved.
pub(super) struct Tables {
    snapshots: Vec<Snapshot>,
    checkpoints: Vec<(String, Position)>,
    segments: Vec<(String, Vec<SegmentProgress>)>,
    parked: Vec<ParkedEvent>,
}

impl Tables {
    /// Sorted, so that a store is saved the same way each time.
    pub(super) fn take(store: &MemoryStore) -> Self {
        let inner = &store.inner;
        let mut snapshots: Vec<Snapshot> = inner.snapshots.lock().values().cloned().collect();
        snapshots.sort_by(|a, b| a.stream_id.cmp(&b.stream_id));
        let mut checkpoints: Vec<(String, Position)> = inner
            .checkpoints
            .lock()
            .iter()
            .map(|(name, position)| (name.clone(), *position))
            .collect();
        checkpoints.sort();
        let mut segments = inner.shared.all_segments();
        segments.sort_by(|a, b| a.0.cmp(&b.0));
        for (_, progress) in &mut segments {
            progress.sort_by_key(|progress| progress.segment);
        }
        let mut parked = inner.shared.all_parked();
        parked.sort_by(|a, b| {
            (&a.handler, a.position, a.event_id).cmp(&(&b.handler, b.position, b.event_id))
        });
        Self {
            snapshots,
            checkpoints,
            segments,
            parked,
        }
    }

    /// Everything lies within `log`, as loading requires.
    fn check(&self, log: &Log) -> Result<(), Inconsistency> {
        for snapshot in &self.snapshots {
            snapshot_within(log, &snapshot.stream_id, snapshot.version)?;
        }
        for (name, position) in &self.checkpoints {
            checkpoint_within(log, name, *position)?;
        }
        for (handler, progress) in &self.segments {
            let mut run: Option<SegmentRun> = None;
            for progress in progress {
                segment_within(log, handler, progress.segment, progress.position)?;
                match &mut run {
                    Some(run) => run.push(progress.segment, progress.position)?,
                    None => {
                        run = Some(SegmentRun::start(
                            handler.clone(),
                            progress.segment,
                            progress.position,
                            0,
                        )?);
                    }
                }
            }
            if let Some(run) = run.filter(|run| !run.is_whole()) {
                return Err(run.incomplete());
            }
        }
        Ok(())
    }
}

impl MemoryStore {
    pub(super) fn write(
        &self,
        path: &Path,
        temporary: &Path,
        tables: &Tables,
    ) -> Result<(), PersistError> {
        let io = |source| PersistError::Io {
            path: path.to_owned(),
            source,
        };
        let json = |error: serde_json::Error| io(error.into());
        let mut out = {
            let log = self.inner.log.read();
            tables
                .check(&log)
                .map_err(|problem| PersistError::NotSaved {
                    path: path.to_owned(),
                    problem,
                })?;
            let mut out = LineWriter::new(BufWriter::new(File::create(temporary).map_err(io)?));
            // Earlier versions load a store of JSON payloads, and refuse format 3.
            let all_json = log.payloads_all_json()
                && tables
                    .snapshots
                    .iter()
                    .all(|snapshot| snapshot.payload.format() == PayloadFormat::Json);
            out.line(&Line::Header {
                eventful_memory_store: if all_json { JSON_FORMAT } else { FORMAT },
            })
            .map_err(io)?;
            for event in log.all() {
                let (payload_format, payload) = raw(event.payload).map_err(json)?;
                out.line(&Line::Event(SavedEvent {
                    payload,
                    payload_format,
                    event_id: event.event_id,
                    stream_id: event.stream_id.clone(),
                    aggregate_type: event.aggregate_type.clone(),
                    event_type: event.event_type.clone(),
                    schema_version: event.schema_version,
                    version: event.version,
                    position: event.position,
                    recorded_at: event.recorded_at,
                    metadata: event.metadata.clone(),
                }))
                .map_err(io)?;
            }
            out
        };
        for snapshot in &tables.snapshots {
            let (payload_format, payload) = raw(snapshot.payload.as_payload_ref()).map_err(json)?;
            out.line(&Line::Snapshot(SavedSnapshot {
                payload,
                payload_format,
                stream_id: snapshot.stream_id.clone(),
                aggregate_type: snapshot.aggregate_type.clone(),
                version: snapshot.version,
                revision: snapshot.revision,
                taken_at: snapshot.taken_at,
            }))
            .map_err(io)?;
        }
        for (name, position) in &tables.checkpoints {
            out.line(&Line::Checkpoint {
                name: name.clone(),
                position: *position,
            })
            .map_err(io)?;
        }
        for (handler, segments) in &tables.segments {
            for progress in segments {
                out.line(&Line::Segment {
                    handler: handler.clone(),
                    segment: progress.segment,
                    position: progress.position,
                })
                .map_err(io)?;
            }
        }
        for parked in &tables.parked {
            out.line(&Line::Parked(parked.clone())).map_err(io)?;
        }
        out.finish()
            .map_err(io)?
            .into_inner()
            .map_err(|error| io(error.into_error()))?
            .sync_all()
            .map_err(io)?;
        std::fs::rename(temporary, path).map_err(io)
    }
}
