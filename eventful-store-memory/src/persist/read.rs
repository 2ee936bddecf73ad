//! Reading a file line by line: the header, the lines the store is built from, the end record
//! that must match them. Whole, the first problem refuses the file; salvaging, the first
//! damage stops what is kept and every problem is reported.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

use super::format::{Line, SavedEnd, parse};
use super::restore::{Refusal, Restoring};
use super::{Counts, Dropped, FORMAT, JSON_FORMAT, OLD_FORMAT, PersistError, Salvage};
use crate::MemoryStore;

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    /// Every line, or an error.
    Whole,
    /// What comes before the first damage, and a report.
    Salvage,
}

pub(super) fn read(path: &Path, mode: Mode) -> Result<(MemoryStore, Salvage), PersistError> {
    let io = |source| PersistError::Io {
        path: path.to_owned(),
        source,
    };
    let mut input = BufReader::new(File::open(path).map_err(io)?);
    let mut reading = Reading {
        path,
        mode,
        line: 0,
        crc: crc32fast::Hasher::new(),
        stage: Stage::Header,
        format: FORMAT,
        restoring: Restoring::default(),
        recorded: None,
        dropped: None,
        problems: Vec::new(),
    };
    let mut bytes = Vec::new();
    loop {
        bytes.clear();
        if input.read_until(b'\n', &mut bytes).map_err(io)? == 0 {
            break;
        }
        reading.line += 1;
        reading.take(&bytes)?;
        reading.crc.update(&bytes);
    }
    reading.finish()
}

/// Whether `format` is one this version writes: it has an end record.
fn is_current(format: u32) -> bool {
    format == FORMAT || format == JSON_FORMAT
}

/// Where in the file the reading is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Stage {
    Header,
    Body,
    /// The end record was read: nothing may follow it.
    Ended,
    /// Damage was found (salvaging): the lines from there are only looked at.
    Dropping,
}

struct Reading<'a> {
    path: &'a Path,
    mode: Mode,
    /// The line being read, from 1.
    line: usize,
    /// Of every byte before the line being read.
    crc: crc32fast::Hasher,
    stage: Stage,
    format: u32,
    restoring: Restoring,
    /// The first end record's counts, if one could be read.
    recorded: Option<Counts>,
    dropped: Option<Dropped>,
    problems: Vec<PersistError>,
}

impl Reading<'_> {
    fn take(&mut self, bytes: &[u8]) -> Result<(), PersistError> {
        let blank = bytes.iter().all(u8::is_ascii_whitespace);
        match self.stage {
            Stage::Dropping => {
                self.look_at(bytes);
                return Ok(());
            }
            Stage::Ended => {
                let after = PersistError::AfterEnd {
                    path: self.path.to_owned(),
                    line: self.line,
                };
                return self.damaged(after, bytes);
            }
            Stage::Header | Stage::Body if blank => return Ok(()),
            Stage::Header | Stage::Body => {}
        }
        let parsed = match parse(bytes) {
            Ok(parsed) => parsed,
            Err(reason) if self.stage == Stage::Header => {
                return Err(self.corrupt(format!(
                    "not a saved eventful memory store (no header): {reason}"
                )));
            }
            Err(reason) => return self.damaged(self.corrupt(reason), bytes),
        };
        match (self.stage, parsed) {
            (
                Stage::Header,
                Line::Header {
                    eventful_memory_store,
                },
            ) => self.header(eventful_memory_store),
            (Stage::Header, _) => {
                Err(self.corrupt("not a saved eventful memory store (no header)".to_owned()))
            }
            (_, Line::End(end)) => self.end(&end, bytes),
            (_, parsed) => match self.restoring.take(self.line, parsed) {
                Ok(()) => Ok(()),
                Err(refusal) => {
                    let error = self.refused(refusal);
                    self.damaged(error, bytes)
                }
            },
        }
    }

    fn header(&mut self, format: u32) -> Result<(), PersistError> {
        self.format = format;
        self.stage = Stage::Body;
        if is_current(format) {
            return Ok(());
        }
        let unsupported = PersistError::UnsupportedFormat {
            path: self.path.to_owned(),
            found: format,
            supported: FORMAT,
        };
        match self.mode {
            Mode::Salvage if format == OLD_FORMAT => {
                self.problems.push(unsupported);
                Ok(())
            }
            Mode::Salvage | Mode::Whole => Err(unsupported),
        }
    }

    fn end(&mut self, end: &SavedEnd, bytes: &[u8]) -> Result<(), PersistError> {
        if let Some(run) = self.restoring.run() {
            let error = self.refused(Refusal::Inconsistent(run.incomplete()));
            return self.damaged(error, bytes);
        }
        self.stage = Stage::Ended;
        let recorded = end.counts();
        self.recorded = Some(recorded);
        let found = self.restoring.counts();
        if recorded != found {
            self.problem(PersistError::CountMismatch {
                path: self.path.to_owned(),
                line: self.line,
                recorded,
                found,
            })?;
        }
        let sum = self.crc.clone().finalize();
        if end.crc32() != sum {
            self.problem(PersistError::ChecksumMismatch {
                path: self.path.to_owned(),
                line: self.line,
                expected: end.crc32(),
                found: sum,
            })?;
        }
        Ok(())
    }

    /// A problem that leaves out nothing (the end record does not match, the format is old).
    fn problem(&mut self, error: PersistError) -> Result<(), PersistError> {
        match self.mode {
            Mode::Whole => Err(error),
            Mode::Salvage => {
                self.problems.push(error);
                Ok(())
            }
        }
    }

    /// Damage at the line being read (`bytes`): whole, the file is refused; salvaging, this
    /// line and every one after it are left out, and so are the segments of a handler not
    /// read whole.
    fn damaged(&mut self, because: PersistError, bytes: &[u8]) -> Result<(), PersistError> {
        if self.mode == Mode::Whole {
            return Err(because);
        }
        self.start_dropping(because);
        self.look_at(bytes);
        Ok(())
    }

    fn start_dropping(&mut self, because: PersistError) {
        let from_line = self
            .restoring
            .run()
            .map_or(self.line, |run| run.first_line());
        let readable = Counts {
            segments: self.restoring.drop_run(),
            ..Counts::default()
        };
        self.dropped = Some(Dropped {
            from_line,
            lines: 0,
            readable,
            unreadable: 0,
            because,
        });
        self.stage = Stage::Dropping;
    }

    /// Counts a line left out by what it is.
    fn look_at(&mut self, bytes: &[u8]) {
        let Some(dropped) = &mut self.dropped else {
            return;
        };
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return;
        }
        match parse(bytes) {
            Ok(Line::End(end)) => {
                self.recorded.get_or_insert(end.counts());
            }
            Ok(Line::Header { .. }) => dropped.unreadable += 1,
            Ok(line) => dropped.readable.add(line.section()),
            Err(_) => dropped.unreadable += 1,
        }
    }

    fn finish(mut self) -> Result<(MemoryStore, Salvage), PersistError> {
        if self.stage == Stage::Header {
            return Err(PersistError::Corrupt {
                path: self.path.to_owned(),
                line: 1,
                reason: "the file is empty".to_owned(),
            });
        }
        if self.recorded.is_none() && is_current(self.format) {
            let truncated = PersistError::Truncated {
                path: self.path.to_owned(),
                lines_read: self.line,
                events_read: self.restoring.head(),
            };
            match self.mode {
                Mode::Whole => return Err(truncated),
                Mode::Salvage if self.dropped.is_none() && self.restoring.run().is_some() => {
                    self.start_dropping(truncated);
                }
                Mode::Salvage => self.problems.push(truncated),
            }
        } else if self.dropped.is_none()
            && let Some(run) = self.restoring.run()
        {
            // An old file, without an end record, that ends in the middle of a handler's
            // segments.
            let error = PersistError::Inconsistent {
                path: self.path.to_owned(),
                line: self.line,
                problem: run.incomplete(),
            };
            self.start_dropping(error);
        }
        if let Some(dropped) = &mut self.dropped {
            dropped.lines = self.line + 1 - dropped.from_line;
        }
        let salvage = Salvage {
            format: self.format,
            kept: self.restoring.counts(),
            recorded: self.recorded,
            dropped: self.dropped,
            problems: self.problems,
        };
        Ok((self.restoring.into_store(), salvage))
    }

    fn corrupt(&self, reason: String) -> PersistError {
        PersistError::Corrupt {
            path: self.path.to_owned(),
            line: self.line,
            reason,
        }
    }

    fn refused(&self, refusal: Refusal) -> PersistError {
        match refusal {
            Refusal::Corrupt(reason) => self.corrupt(reason),
            Refusal::Inconsistent(problem) => PersistError::Inconsistent {
                path: self.path.to_owned(),
                line: self.line,
                problem,
            },
        }
    }
}
