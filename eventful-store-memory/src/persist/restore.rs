//! A store being built from the lines of a file, one line at a time: each line is checked
//! against what came before it and either taken whole or refused with nothing changed.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::Ordering;

use eventful_core::progress::{ParkedEvent, Segment, SegmentProgress};
use eventful_core::{Position, RecordedEvent, Snapshot, StreamId, Version};
use uuid::Uuid;

use super::format::{Line, LoadedLine, Section, payload};
use super::{Counts, Inconsistency};
use crate::MemoryStore;
use crate::log::Log;

/// Why a line cannot be taken.
pub(super) enum Refusal {
    /// It is not what `save_to` writes there (the reason, for `PersistError::Corrupt`).
    Corrupt(String),
    /// It does not fit the log read so far.
    Inconsistent(Inconsistency),
}

impl From<Inconsistency> for Refusal {
    fn from(problem: Inconsistency) -> Self {
        Self::Inconsistent(problem)
    }
}

#[derive(Default)]
pub(super) struct Restoring {
    log: Log,
    snapshots: HashMap<StreamId, Snapshot>,
    checkpoints: HashMap<String, Position>,
    /// Handlers whose segments were read whole.
    segments: HashMap<String, Vec<SegmentProgress>>,
    /// The segments of the handler being read, until its last one.
    run: Option<SegmentRun>,
    parked: Vec<ParkedEvent>,
    parked_ids: HashSet<(String, Uuid)>,
    /// The kind of the last line taken: the kinds come in [`Section`] order.
    section: Option<Section>,
}

impl Restoring {
    /// What has been taken so far (a handler's segments once they are whole).
    pub(super) fn counts(&self) -> Counts {
        Counts {
            events: self.log.head(),
            snapshots: self.snapshots.len() as u64,
            checkpoints: self.checkpoints.len() as u64,
            segments: self.segments.values().map(|run| run.len() as u64).sum(),
            parked: self.parked.len() as u64,
        }
    }

    pub(super) fn head(&self) -> u64 {
        self.log.head()
    }

    /// The segments of a handler not read whole yet, if any.
    pub(super) fn run(&self) -> Option<&SegmentRun> {
        self.run.as_ref()
    }

    /// Leaves out the segments of a handler not read whole: how many they were.
    pub(super) fn drop_run(&mut self) -> u64 {
        self.run.take().map_or(0, |run| run.progress.len() as u64)
    }

    /// Takes line `line` of the file, or refuses it with nothing changed.
    pub(super) fn take(&mut self, line: usize, parsed: LoadedLine) -> Result<(), Refusal> {
        let section = parsed.section();
        if let Line::Header { .. } | Line::End(_) = parsed {
            return Err(Refusal::Corrupt(format!(
                "{} in the middle of the file",
                section.name()
            )));
        }
        if let Some(before) = self.section.filter(|before| *before > section) {
            return Err(Refusal::Corrupt(format!(
                "{} after {}: a saved store holds its events, snapshots, checkpoints, segments \
                 and parked events in that order",
                section.name(),
                before.name()
            )));
        }
        if section != Section::Segments
            && let Some(run) = &self.run
        {
            return Err(run.incomplete().into());
        }
        match parsed {
            Line::Event(saved) => {
                let event = RecordedEvent {
                    payload: payload(&saved.payload, saved.payload_format.as_deref())
                        .map_err(Refusal::Corrupt)?,
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
                self.log
                    .restore(event)
                    .map_err(|refusal| Refusal::Corrupt(format!("event: {refusal}")))?;
            }
            Line::Snapshot(saved) => {
                snapshot_within(&self.log, &saved.stream_id, saved.version)?;
                if self.snapshots.contains_key(&saved.stream_id) {
                    return Err(Refusal::Corrupt(format!(
                        "a second snapshot of `{}`",
                        saved.stream_id
                    )));
                }
                let snapshot = Snapshot {
                    payload: payload(&saved.payload, saved.payload_format.as_deref())
                        .map_err(Refusal::Corrupt)?,
                    stream_id: saved.stream_id,
                    aggregate_type: saved.aggregate_type,
                    version: saved.version,
                    revision: saved.revision,
                    taken_at: saved.taken_at,
                };
                self.snapshots.insert(snapshot.stream_id.clone(), snapshot);
            }
            Line::Checkpoint { name, position } => {
                checkpoint_within(&self.log, &name, position)?;
                if self.checkpoints.contains_key(&name) {
                    return Err(Refusal::Corrupt(format!("a second checkpoint `{name}`")));
                }
                self.checkpoints.insert(name, position);
            }
            Line::Segment {
                handler,
                segment,
                position,
            } => {
                segment_within(&self.log, &handler, segment, position)?;
                match &mut self.run {
                    Some(run) if run.handler == handler => run.push(segment, position)?,
                    Some(run) => return Err(run.incomplete().into()),
                    None if self.segments.contains_key(&handler) => {
                        return Err(Refusal::Corrupt(format!(
                            "a second run of segments of `{handler}`"
                        )));
                    }
                    None => self.run = Some(SegmentRun::start(handler, segment, position, line)?),
                }
                if let Some(run) = self.run.take_if(|run| run.is_whole()) {
                    self.segments.insert(run.handler, run.progress);
                }
            }
            Line::Parked(parked) => {
                if !self
                    .parked_ids
                    .insert((parked.handler.clone(), parked.event_id))
                {
                    return Err(Refusal::Corrupt(format!(
                        "event {} parked a second time by `{}`",
                        parked.event_id, parked.handler
                    )));
                }
                self.parked.push(parked);
            }
            // Refused above.
            Line::Header { .. } | Line::End(_) => {}
        }
        self.section = Some(section);
        Ok(())
    }

    /// The store holding everything taken.
    pub(super) fn into_store(self) -> MemoryStore {
        let store = MemoryStore::new();
        let inner = &store.inner;
        *inner.snapshots.lock() = self.snapshots.into_iter().collect();
        *inner.checkpoints.lock() = self.checkpoints.into_iter().collect();
        for (handler, progress) in self.segments {
            inner.shared.put_segments(&handler, progress);
        }
        for parked in self.parked {
            inner.shared.park(parked);
        }
        inner.head.store(self.log.head(), Ordering::Release);
        *inner.log.write() = self.log;
        store
    }
}

/// A snapshot of `stream_id` at `version` is of a stream the log holds, at a version it has
/// reached, and covers at least one event (as `save_snapshot` requires).
pub(super) fn snapshot_within(
    log: &Log,
    stream_id: &StreamId,
    version: Version,
) -> Result<(), Inconsistency> {
    let stream_version = log.stream_version(stream_id.as_str());
    if holds_the_log(log) && (version == Version::NONE || version > stream_version) {
        return Err(Inconsistency::SnapshotBeyondStream {
            stream_id: stream_id.clone(),
            version,
            stream_version,
        });
    }
    Ok(())
}

/// A store with no events is not the log: it keeps the snapshots and checkpoints of another
/// store's aggregates and handlers, and cannot tell where they are.
fn holds_the_log(log: &Log) -> bool {
    log.head() > 0
}

/// A checkpoint is at most the head of the log.
pub(super) fn checkpoint_within(
    log: &Log,
    name: &str,
    position: Position,
) -> Result<(), Inconsistency> {
    if holds_the_log(log) && position.get() > log.head() {
        return Err(Inconsistency::CheckpointBeyondHead {
            name: name.to_owned(),
            position,
            head: Position::new(log.head()),
        });
    }
    Ok(())
}

/// A segment's position is at most the head of the log.
pub(super) fn segment_within(
    log: &Log,
    handler: &str,
    segment: Segment,
    position: Position,
) -> Result<(), Inconsistency> {
    if holds_the_log(log) && position.get() > log.head() {
        return Err(Inconsistency::SegmentBeyondHead {
            handler: handler.to_owned(),
            segment,
            position,
            head: Position::new(log.head()),
        });
    }
    Ok(())
}

/// One handler's segments, read in order: 0, 1, … of one count, until the last.
pub(super) struct SegmentRun {
    handler: String,
    count: u32,
    progress: Vec<SegmentProgress>,
    /// The line of its first segment.
    first_line: usize,
}

impl SegmentRun {
    pub(super) fn start(
        handler: String,
        segment: Segment,
        position: Position,
        first_line: usize,
    ) -> Result<Self, Inconsistency> {
        if segment.index != 0 || segment.count == 0 {
            return Err(Inconsistency::SegmentOutOfOrder {
                handler,
                segment,
                expected: Segment {
                    index: 0,
                    count: segment.count.max(1),
                },
            });
        }
        let mut run = Self {
            handler,
            count: segment.count,
            progress: Vec::with_capacity(segment.count.min(1024) as usize),
            first_line,
        };
        run.progress.push(progress(segment, position));
        Ok(run)
    }

    pub(super) fn push(
        &mut self,
        segment: Segment,
        position: Position,
    ) -> Result<(), Inconsistency> {
        let expected = Segment {
            index: self.progress.len() as u32,
            count: self.count,
        };
        if segment != expected || self.is_whole() {
            return Err(Inconsistency::SegmentOutOfOrder {
                handler: self.handler.clone(),
                segment,
                expected,
            });
        }
        self.progress.push(progress(segment, position));
        Ok(())
    }

    pub(super) fn is_whole(&self) -> bool {
        self.progress.len() as u64 == u64::from(self.count)
    }

    pub(super) fn first_line(&self) -> usize {
        self.first_line
    }

    /// The refusal of a run that stops here.
    pub(super) fn incomplete(&self) -> Inconsistency {
        Inconsistency::SegmentsNotWhole {
            handler: self.handler.clone(),
            count: self.count,
            found: self.progress.len() as u32,
        }
    }
}

fn progress(segment: Segment, position: Position) -> SegmentProgress {
    let mut progress = SegmentProgress::new(segment);
    progress.position = position;
    progress
}
