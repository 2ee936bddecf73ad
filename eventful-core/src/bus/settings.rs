//! [`HandlerSettings`]: where a handler's progress lives, how many segments its work is split
//! into, and what it does with an event it cannot handle.

/// Where a handler's progress lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Progress {
    /// In the bus's process only: the handler starts from the first event at every start, and
    /// every instance of a service runs it over the whole log. For read models kept in
    /// memory, which are empty at every start too. The default of projections.
    Volatile,
    /// In the bus's checkpoint store, shared by every instance on that store: each segment is
    /// claimed by one instance at a time, which saves its position there, so each event is
    /// handled once in total and a restart resumes where the handler was. For handlers whose
    /// effects outlive the process: policies (their commands), durable read models,
    /// notifications. The default of policies and closures.
    Durable,
}

/// What a handler does with an event it keeps failing on, once its retries are spent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum OnFailure {
    /// Stop before the event, and report it: nothing after it is handled until the handler is
    /// restarted. For read models that must never skip an event. The default of projections
    /// and closures.
    Stop,
    /// Park the event (keep it, with the error, to list, replay or dismiss later) and go on
    /// with the next. For reactions, where one bad event must not hold back every other
    /// player's. The default of policies.
    Park,
}

/// How the bus runs one handler. Each kind of handler has its defaults
/// ([`EventHandler::settings`](crate::EventHandler::settings)); change them with
/// [`EventBus::configure`](crate::EventBus::configure).
///
/// ```
/// use eventful_core::bus::{HandlerSettings, OnFailure, Progress};
///
/// let settings = HandlerSettings::durable().with_segments(4).with_on_failure(OnFailure::Park);
/// assert_eq!((settings.progress, settings.segments), (Progress::Durable, 4));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct HandlerSettings {
    /// Where its progress lives.
    pub progress: Progress,
    /// Into how many segments its work is split (durable progress only; at least 1). The
    /// events of one stream are always in the same segment.
    pub segments: u32,
    /// What it does with an event it keeps failing on.
    pub on_failure: OnFailure,
    /// How many of its segments one instance holds at most (durable progress only; no limit
    /// by default, so that the first instance takes every segment and the others stand by).
    /// To spread a handler of `S` segments over `N` instances, allow `S / N` rounded up, and
    /// leave room for the survivors to take a dead instance's segments.
    pub max_claims: u32,
}

impl HandlerSettings {
    /// Durable progress, one segment, stop on failure.
    pub const fn durable() -> Self {
        Self {
            progress: Progress::Durable,
            segments: 1,
            on_failure: OnFailure::Stop,
            max_claims: u32::MAX,
        }
    }

    /// Volatile progress, stop on failure.
    pub const fn volatile() -> Self {
        Self {
            progress: Progress::Volatile,
            segments: 1,
            on_failure: OnFailure::Stop,
            max_claims: u32::MAX,
        }
    }

    /// Sets where its progress lives.
    pub const fn with_progress(mut self, progress: Progress) -> Self {
        self.progress = progress;
        self
    }

    /// Splits its work into `segments` (at least 1).
    pub const fn with_segments(mut self, segments: u32) -> Self {
        self.segments = if segments == 0 { 1 } else { segments };
        self
    }

    /// Sets what it does with an event it keeps failing on.
    pub const fn with_on_failure(mut self, on_failure: OnFailure) -> Self {
        self.on_failure = on_failure;
        self
    }

    /// Lets one instance hold at most `max_claims` of its segments at once (at least 1).
    pub const fn with_max_claims(mut self, max_claims: u32) -> Self {
        self.max_claims = if max_claims == 0 { 1 } else { max_claims };
        self
    }

    /// The number of segments the bus runs: volatile progress is never split.
    pub(crate) fn segment_count(&self) -> u32 {
        match self.progress {
            Progress::Volatile => 1,
            Progress::Durable => self.segments.max(1),
        }
    }
}
