//! Saving the whole store to a file and loading it back, so that a demo or a local game
//! server survives a restart.
//!
//! The file is JSON lines (format 2, or 3 when it holds a payload that is not JSON): a header,
//! every event in position order (its whole envelope and its payload as written: JSON as it
//! is, postcard as a string of hex digits beside `"payload_format":"postcard"`), every
//! snapshot, checkpoint, shared handler's segment and parked event, and last an end record with
//! the count of each and the CRC-32 of every byte before it. A store of JSON payloads is saved
//! in format 2, as before there were other formats, so that earlier versions load it; format 3
//! is refused by them rather than misread. Loading checks that the events continue one another (positions 1,
//! 2, 3, …; versions with no gap; times that never go back), that snapshots, checkpoints and
//! segments lie within the log, and that the end record matches the lines before it; it
//! refuses the file otherwise, naming the line. [`MemoryStore::load_salvaging`] keeps what
//! comes before the first damage and says what it left out.
//!
//! | module | what lives there |
//! | --- | --- |
//! | `format` | the lines, and the writer that counts and sums them |
//! | `restore` | a store built line by line, each line checked against the ones before it |
//! | `read` | the reading: header, lines, end record; whole or salvaging |
//! | `write` | the writing: snapshots and progress taken, checked against the log, written after it |

mod format;
mod read;
mod restore;
mod write;

use std::path::{Path, PathBuf};

use eventful_core::progress::Segment;
use eventful_core::{Position, StreamId, Version};

use self::read::{Mode, read};
use self::write::Tables;
use crate::MemoryStore;

/// The newest file format this version writes and reads: format 2 with payloads in formats
/// other than JSON.
const FORMAT: u32 = 3;

/// The file format of a store whose payloads are all JSON, which this version writes for such
/// a store, and reads.
const JSON_FORMAT: u32 = 2;

/// The format before the end record: refused by [`MemoryStore::load_from`], read by
/// [`MemoryStore::load_salvaging`].
const OLD_FORMAT: u32 = 1;

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
    /// A line of the file is not what the store writes: not UTF-8, not JSON of a line, an
    /// event that does not continue the log, a line out of its place.
    #[error("{path}, line {line}: {reason}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// The line, from 1.
        line: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// The header names a format this version does not load.
    #[error("{path}: a store saved in format {found}, where this version loads formats {JSON_FORMAT} and {supported}{}", old_format_hint(*.found))]
    UnsupportedFormat {
        /// The file.
        path: PathBuf,
        /// The format its header names.
        found: u32,
        /// The newest format this version loads (it loads format 2 too).
        supported: u32,
    },
    /// The file ends without its end record: it was cut short, and how much of it is missing
    /// cannot be known.
    #[error(
        "{path}: no end record after line {lines_read} ({events_read} events read): the file was cut short"
    )]
    Truncated {
        /// The file.
        path: PathBuf,
        /// The lines it has.
        lines_read: usize,
        /// The events read from them.
        events_read: u64,
    },
    /// The end record counts other lines than the file holds before it.
    #[error(
        "{path}, line {line}: the end record counts {recorded}, the lines before it hold {found}"
    )]
    CountMismatch {
        /// The file.
        path: PathBuf,
        /// The end record's line.
        line: usize,
        /// What the end record counts.
        recorded: Counts,
        /// What the lines before it hold.
        found: Counts,
    },
    /// The bytes before the end record are not those that were written: a line was changed.
    #[error(
        "{path}, line {line}: the end record's checksum is {expected:08x}, the lines before it sum to {found:08x}: a line was changed"
    )]
    ChecksumMismatch {
        /// The file.
        path: PathBuf,
        /// The end record's line.
        line: usize,
        /// The CRC-32 the end record holds.
        expected: u32,
        /// The CRC-32 of the bytes before it.
        found: u32,
    },
    /// A line follows the end record.
    #[error("{path}, line {line}: a line after the end record")]
    AfterEnd {
        /// The file.
        path: PathBuf,
        /// The first line after it.
        line: usize,
    },
    /// A line does not fit the log before it: a snapshot, checkpoint or segment past it, a
    /// handler's segments not whole.
    #[error("{path}, line {line}: {problem}")]
    Inconsistent {
        /// The file.
        path: PathBuf,
        /// The line.
        line: usize,
        /// What does not fit.
        problem: Inconsistency,
    },
    /// The store holds what a saved store cannot (it would be refused on load), so nothing
    /// was written: the file is as it was.
    #[error("{path}: not saved: {problem}")]
    NotSaved {
        /// The file.
        path: PathBuf,
        /// What the store holds that does not fit its log.
        problem: Inconsistency,
    },
}

fn old_format_hint(found: u32) -> &'static str {
    if found == OLD_FORMAT {
        " (`MemoryStore::load_salvaging` reads it)"
    } else {
        ""
    }
}

/// Progress or a snapshot that does not fit the log it goes with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Inconsistency {
    /// A snapshot of a version its stream has not reached, of a stream with no events, or of
    /// version 0 (a snapshot covers at least one event).
    #[error(
        "a snapshot of `{stream_id}` at version {version}, where the stream is at version {stream_version}{}",
        if *.version == Version::NONE { " (a snapshot covers at least one event)" } else { "" }
    )]
    SnapshotBeyondStream {
        /// The stream.
        stream_id: StreamId,
        /// The snapshot's version.
        version: Version,
        /// The stream's version (0: no events).
        stream_version: Version,
    },
    /// A checkpoint past the head of the log.
    #[error("checkpoint `{name}` at position {position}, past the head of the log ({head})")]
    CheckpointBeyondHead {
        /// The checkpoint.
        name: String,
        /// Its position.
        position: Position,
        /// The head of the log.
        head: Position,
    },
    /// A shared handler's segment past the head of the log.
    #[error(
        "segment {segment} of `{handler}` at position {position}, past the head of the log ({head})"
    )]
    SegmentBeyondHead {
        /// The handler.
        handler: String,
        /// The segment.
        segment: Segment,
        /// Its position.
        position: Position,
        /// The head of the log.
        head: Position,
    },
    /// A handler's segments are not 0, 1, … of one count, in order.
    #[error("segment {segment} of `{handler}` where segment {expected} comes next")]
    SegmentOutOfOrder {
        /// The handler.
        handler: String,
        /// The segment found.
        segment: Segment,
        /// The segment that comes next.
        expected: Segment,
    },
    /// A handler's segments stop before its last one.
    #[error("`{handler}` has {found} of its {count} segments")]
    SegmentsNotWhole {
        /// The handler.
        handler: String,
        /// How many segments it is split in.
        count: u32,
        /// How many there are.
        found: u32,
    },
}

/// How many of each kind of line a saved store holds (the header and the end record aside).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Counts {
    /// Events.
    pub events: u64,
    /// Snapshots.
    pub snapshots: u64,
    /// Checkpoints.
    pub checkpoints: u64,
    /// Shared handlers' segments.
    pub segments: u64,
    /// Parked events.
    pub parked: u64,
}

impl std::fmt::Display for Counts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let plural = |n: u64| if n == 1 { "" } else { "s" };
        write!(
            f,
            "{} event{}, {} snapshot{}, {} checkpoint{}, {} segment{}, {} parked event{}",
            self.events,
            plural(self.events),
            self.snapshots,
            plural(self.snapshots),
            self.checkpoints,
            plural(self.checkpoints),
            self.segments,
            plural(self.segments),
            self.parked,
            plural(self.parked),
        )
    }
}

/// The report of [`MemoryStore::load_salvaging`]: what the loaded store holds, what was left
/// out of it and why, and what else is wrong with the file.
///
/// The store holds the lines before the first damage (a handler's segments whole or not at
/// all); every line from there to the end of the file is left out, since no event after a
/// damaged one can continue the log.
#[derive(Debug)]
#[non_exhaustive]
pub struct Salvage {
    /// The format named by the file's header: [`FORMAT`](Self::FORMAT), 2 for a store whose
    /// payloads are all JSON, or 1 for a file saved before the end record existed (its
    /// completeness cannot be checked).
    pub format: u32,
    /// What the loaded store holds.
    pub kept: Counts,
    /// What the file's end record says it held, if it has one that could be read.
    pub recorded: Option<Counts>,
    /// The lines left out, if any.
    pub dropped: Option<Dropped>,
    /// What else is wrong with the file, in the order found: an old format, no end record
    /// ([`PersistError::Truncated`]: lines may be missing past its last one), an end record
    /// that does not match ([`PersistError::CountMismatch`],
    /// [`PersistError::ChecksumMismatch`]: a line that was kept may have been changed).
    pub problems: Vec<PersistError>,
}

/// The lines [`MemoryStore::load_salvaging`] left out: from a line to the end of the file.
#[derive(Debug)]
#[non_exhaustive]
pub struct Dropped {
    /// The first line left out, from 1.
    pub from_line: usize,
    /// How many lines were left out, from `from_line` to the last line of the file.
    pub lines: usize,
    /// What the lines left out that could be read were.
    pub readable: Counts,
    /// Lines left out that could not be read at all.
    pub unreadable: usize,
    /// Why: the damage, at `from_line` or, when the segments of a handler read in part were
    /// left out with it, a few lines after.
    pub because: PersistError,
}

impl Salvage {
    /// The newest format a saved store is written in (a store whose payloads are all JSON is
    /// written in format 2).
    pub const FORMAT: u32 = FORMAT;

    /// Whether the file was whole: nothing left out, nothing wrong (then
    /// [`MemoryStore::load_from`] loads it too).
    pub fn is_whole(&self) -> bool {
        self.dropped.is_none() && self.problems.is_empty()
    }
}

impl std::fmt::Display for Salvage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.is_whole() {
            return write!(f, "the whole file: {}", self.kept);
        }
        write!(f, "kept {}", self.kept)?;
        if let Some(dropped) = &self.dropped {
            write!(
                f,
                "; left out lines {} to {} ({}, {} unreadable line{}) because {}",
                dropped.from_line,
                dropped.from_line + dropped.lines.saturating_sub(1),
                dropped.readable,
                dropped.unreadable,
                if dropped.unreadable == 1 { "" } else { "s" },
                dropped.because
            )?;
        }
        for problem in &self.problems {
            write!(f, "; {problem}")?;
        }
        if let Some(recorded) = &self.recorded {
            write!(f, "; the end record counts {recorded}")?;
        }
        Ok(())
    }
}

impl MemoryStore {
    /// Writes every event, snapshot, checkpoint, shared handler's segment and parked event
    /// to `path`, then an end record that counts them and sums the file, replacing `path`
    /// atomically (the file is written beside it, then renamed over it). Appends wait while
    /// events are written.
    ///
    /// Snapshots and progress are taken before the events, so each lies within the events
    /// saved (a handler may redo the events appended in between, as after any restart). A
    /// store holding one past its log (which a load would refuse) is not saved:
    /// [`PersistError::NotSaved`].
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
        let tables = Tables::take(self);
        let mut temporary = path.as_os_str().to_owned();
        temporary.push(".saving");
        let temporary = PathBuf::from(temporary);
        let written = self.write(path, &temporary, &tables);
        if written.is_err() {
            // Best effort: the error to report is the one that stopped the writing.
            std::fs::remove_file(&temporary).ok();
        }
        written
    }

    /// A new store holding what [`MemoryStore::save_to`] wrote to `path`, all of it or
    /// nothing: a file that is not whole is refused with a typed error naming what is wrong
    /// and, where it can be known, the line ([`PersistError`]). Nothing is ever left out in
    /// silence; [`MemoryStore::load_salvaging`] keeps what can be read of a damaged file.
    ///
    /// A file saved by an earlier version (format 1, without an end record) is refused with
    /// [`PersistError::UnsupportedFormat`]; `load_salvaging` reads it, and `save_to` then
    /// writes it in the current format.
    pub fn load_from(path: impl AsRef<Path>) -> Result<Self, PersistError> {
        read(path.as_ref(), Mode::Whole).map(|(store, _)| store)
    }

    /// A new store holding what can be read of `path`, and a report of what was left out and
    /// why: every line before the first damage (a handler's segments whole or not at all),
    /// none after it. A whole file loads whole, with `Salvage::is_whole`.
    ///
    /// It reads files of format 1 too (saved before the end record), which it cannot check
    /// for completeness. It fails only when nothing can be read: the file cannot be opened
    /// or read, its first line is not a header, the header names a format it does not know.
    ///
    /// ```
    /// use eventful_store_memory::MemoryStore;
    ///
    /// let path = std::env::temp_dir().join(format!("eventful-salvage-{}.jsonl", std::process::id()));
    /// MemoryStore::new().save_to(&path)?;
    /// let saved = std::fs::read_to_string(&path)?;
    /// // Cut the end record off, as an interrupted copy would.
    /// std::fs::write(&path, saved.lines().next().unwrap_or_default())?;
    /// assert!(MemoryStore::load_from(&path).is_err());
    ///
    /// let (_store, salvage) = MemoryStore::load_salvaging(&path)?;
    /// assert!(!salvage.is_whole());
    /// assert_eq!(salvage.kept.events, 0);
    /// println!("{}: {salvage}", path.display());
    /// # std::fs::remove_file(&path).ok();
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn load_salvaging(path: impl AsRef<Path>) -> Result<(Self, Salvage), PersistError> {
        read(path.as_ref(), Mode::Salvage)
    }
}
