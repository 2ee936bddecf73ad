//! The metric handles a repository and a handler segment register once and keep, so that
//! the hot path increments a handle (nothing at all without a recorder) instead of building a
//! labelled key on every command.

use std::time::Instant;

use chrono::{DateTime, Utc};
use metrics::{Counter, Gauge, Histogram, counter, gauge, histogram};

use super::{
    COMMAND_DURATION_SECONDS, COMMAND_RETRIES_TOTAL, COMMANDS_TOTAL, EVENTS_APPENDED_TOTAL,
    EVENTS_PARKED_TOTAL, HANDLER_EVENTS_TOTAL, HANDLER_FAILURES_TOTAL, HANDLER_LAG_EVENTS,
    HANDLER_LAG_SECONDS, HANDLER_PAUSED, HANDLER_POSITION, HANDLER_STOPPED,
    SNAPSHOT_FAILURES_TOTAL, SNAPSHOTS_SAVED_TOTAL, timings_enabled,
};
use crate::envelope::{Position, RecordedEvent};
use crate::names::TypeName;
use crate::progress::Segment;

/// How a command ended, as [`COMMANDS_TOTAL`] labels it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CommandOutcome {
    Ok,
    Rejected,
    Conflict,
    Failed,
}

impl CommandOutcome {
    pub(crate) fn label(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Rejected => "rejected",
            Self::Conflict => "conflict",
            Self::Failed => "failed",
        }
    }
}

/// One repository's handles, labelled with its aggregate type.
pub(crate) struct RepositoryMetrics {
    ok: Counter,
    rejected: Counter,
    conflict: Counter,
    failed: Counter,
    retries: Counter,
    duration: Histogram,
    appended: Counter,
    snapshots_saved: Counter,
    snapshot_failures: Counter,
}

impl RepositoryMetrics {
    pub(crate) fn new(aggregate: &TypeName) -> Self {
        let aggregate = aggregate.as_str().to_owned();
        let outcome = |outcome: CommandOutcome| counter!(COMMANDS_TOTAL, "aggregate" => aggregate.clone(), "outcome" => outcome.label());
        Self {
            ok: outcome(CommandOutcome::Ok),
            rejected: outcome(CommandOutcome::Rejected),
            conflict: outcome(CommandOutcome::Conflict),
            failed: outcome(CommandOutcome::Failed),
            retries: counter!(COMMAND_RETRIES_TOTAL, "aggregate" => aggregate.clone()),
            duration: histogram!(COMMAND_DURATION_SECONDS, "aggregate" => aggregate.clone()),
            appended: counter!(EVENTS_APPENDED_TOTAL, "aggregate" => aggregate.clone()),
            snapshots_saved: counter!(SNAPSHOTS_SAVED_TOTAL, "aggregate" => aggregate.clone()),
            snapshot_failures: counter!(SNAPSHOT_FAILURES_TOTAL, "aggregate" => aggregate),
        }
    }

    /// The time a command starts, when its latency is measured at all.
    pub(crate) fn start(&self) -> Option<Instant> {
        timings_enabled().then(Instant::now)
    }

    pub(crate) fn finish(&self, outcome: CommandOutcome, started: Option<Instant>) {
        match outcome {
            CommandOutcome::Ok => &self.ok,
            CommandOutcome::Rejected => &self.rejected,
            CommandOutcome::Conflict => &self.conflict,
            CommandOutcome::Failed => &self.failed,
        }
        .increment(1);
        if let Some(started) = started {
            self.duration.record(started.elapsed().as_secs_f64());
        }
    }

    pub(crate) fn retried(&self) {
        self.retries.increment(1);
    }

    pub(crate) fn appended(&self, events: usize) {
        self.appended.increment(events as u64);
    }

    pub(crate) fn snapshot_saved(&self) {
        self.snapshots_saved.increment(1);
    }

    pub(crate) fn snapshot_failed(&self) {
        self.snapshot_failures.increment(1);
    }
}

/// How far behind the head of the log a segment is after a batch.
pub(crate) enum Behind {
    /// The batch read to the end of the log.
    EndOfLog,
    /// More is stored, up to this head.
    Head(Position),
    /// The store did not say (its head could not be read).
    Unknown,
}

/// One handler segment's handles.
pub(crate) struct SegmentMetrics {
    position: Gauge,
    lag_events: Gauge,
    lag_seconds: Gauge,
    stopped: Gauge,
    paused: Gauge,
    /// When the last event the segment handled here was recorded: what the lag in seconds
    /// is measured from while the segment waits.
    last_recorded_at: Option<DateTime<Utc>>,
    handled: Counter,
    failures: Counter,
    parked: Counter,
}

impl SegmentMetrics {
    pub(crate) fn new(handler: &str, segment: Segment) -> Self {
        let handler = handler.to_owned();
        let segment = segment.to_string();
        let gauge = |name: &'static str| gauge!(name, "handler" => handler.clone(), "segment" => segment.clone());
        Self {
            position: gauge(HANDLER_POSITION),
            lag_events: gauge(HANDLER_LAG_EVENTS),
            lag_seconds: gauge(HANDLER_LAG_SECONDS),
            stopped: gauge(HANDLER_STOPPED),
            paused: gauge(HANDLER_PAUSED),
            last_recorded_at: None,
            handled: counter!(HANDLER_EVENTS_TOTAL, "handler" => handler.clone()),
            failures: counter!(HANDLER_FAILURES_TOTAL, "handler" => handler.clone()),
            parked: counter!(EVENTS_PARKED_TOTAL, "handler" => handler),
        }
    }

    /// After a batch: where the segment is, and how far behind the head of the log. `last` is
    /// the last event of the batch the segment handled, if any.
    pub(crate) fn batch_done(
        &mut self,
        processed: Position,
        handled: usize,
        behind: Behind,
        last: Option<&RecordedEvent>,
    ) {
        self.position.set(processed.get() as f64);
        self.handled.increment(handled as u64);
        if let Some(last) = last {
            self.last_recorded_at = Some(last.recorded_at);
        }
        self.behind(processed, behind);
    }

    /// While the segment waits (paused, idle, or for a claim): how far `processed` is behind
    /// the head of the log now, so that a segment nobody moves shows its lag growing.
    pub(crate) fn behind(&self, processed: Position, behind: Behind) {
        match behind {
            Behind::Head(head) if head > processed => {
                self.lag_events
                    .set(head.get().saturating_sub(processed.get()) as f64);
                if let Some(recorded_at) = self.last_recorded_at {
                    let age = Utc::now() - recorded_at;
                    self.lag_seconds
                        .set(age.num_milliseconds().max(0) as f64 / 1000.0);
                }
            }
            Behind::Unknown => {}
            Behind::EndOfLog | Behind::Head(_) => {
                self.lag_events.set(0.0);
                self.lag_seconds.set(0.0);
            }
        }
    }

    /// The segment pauses (`true`) or goes on (`false`).
    pub(crate) fn paused(&self, paused: bool) {
        self.paused.set(if paused { 1.0 } else { 0.0 });
    }

    /// The segment resumes from `position` (a claim, or a start).
    pub(crate) fn resumed(&self, position: Position) {
        self.position.set(position.get() as f64);
        self.stopped.set(0.0);
    }

    pub(crate) fn failed(&self) {
        self.failures.increment(1);
    }

    pub(crate) fn parked(&self) {
        self.parked.increment(1);
    }

    /// The segment stopped on a failed event or is halted.
    pub(crate) fn stopped(&self) {
        self.stopped.set(1.0);
    }

    /// The [`HANDLER_STOPPED`] handle, for what marks the segment stopped when its task
    /// unwinds.
    pub(crate) fn stopped_gauge(&self) -> Gauge {
        self.stopped.clone()
    }
}
