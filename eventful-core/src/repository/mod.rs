//! The command path: load an aggregate (cache, or latest snapshot and the events after it),
//! decide, append with the loaded version as the expected version, retry on conflict on fresh
//! state, snapshot every N events, and return what was committed.

mod append;
mod cache;
mod context;
mod errors;
mod retry;
mod snapshots;

use std::ops::ControlFlow;
use std::sync::{Arc, OnceLock};

use parking_lot::Mutex;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tracing::{Instrument, Span};
use uuid::Uuid;

use self::append::append_traced;
pub use self::append::{AppendError, EncodeError, append_events};
pub use self::context::{CommandContext, Committed, Loaded};
pub use self::errors::{CommandError, LoadError};
pub use self::retry::RetryPolicy;
pub use self::snapshots::{SnapshotError, SnapshotFailure, SnapshotHealth};

use self::cache::AggregateCache;
use self::context::derived_event_id;
use self::snapshots::Snapshots;
use crate::aggregate::{Aggregate, Command};
use crate::envelope::{ExpectedVersion, RecordedEvent, Version};
use crate::names::StreamId;
use crate::payload::Payload;
use crate::snapshot::SnapshotStore;
use crate::store::{EventStore, RecordLocation, StoreError};
use crate::telemetry::handles::{CommandOutcome, RepositoryMetrics};
use crate::telemetry::spans;
use crate::upcast::Upcasters;

/// How many aggregates a repository keeps in memory by default.
pub const DEFAULT_CACHE_CAPACITY: usize = 10_000;

/// How many events one read (or one visit, while replaying) asks for. A store that reads from
/// a server pays a round trip per call, and the memory store holds its read lock for the
/// length of a visit: appends wait behind at most this many `apply` calls (well under a
/// millisecond for the game workload's player).
const REPLAY_BATCH: usize = 4096;

/// How many events one read asks for while reading back what an idempotency key recorded: a
/// command records a few events, and the stream may be long.
const READ_BACK_BATCH: usize = 16;

/// Runs commands against one aggregate type on one store.
///
/// Share it between tasks behind an `Arc`. It keeps recently used aggregates in memory (see
/// [`Repository::with_cache_capacity`]): a cached state is only a starting point, since every
/// append is checked against the store's version, and a stale state is brought up to date and
/// the command decided again.
///
pub struct Repository<A: Aggregate, S> {
    store: S,
    snapshots: Option<Snapshots<A>>,
    retry: RetryPolicy,
    upcasters: Upcasters,
    cache: AggregateCache<A::Id, Loaded<A>>,
    /// Taken at the first command, so that a recorder installed after the repository was made
    /// (but before it ran anything) still gets its metrics.
    metrics: OnceLock<RepositoryMetrics>,
}

impl<A: Aggregate, S: EventStore> Repository<A, S> {
    /// A repository on `store`, with the default retry policy, no snapshots, no upcasters and
    /// a cache of [`DEFAULT_CACHE_CAPACITY`] aggregates.
    pub fn new(store: S) -> Self {
        Self {
            store,
            snapshots: None,
            retry: RetryPolicy::default(),
            upcasters: Upcasters::new(),
            cache: AggregateCache::new(DEFAULT_CACHE_CAPACITY),
            metrics: OnceLock::new(),
        }
    }

    /// Sets how conflicts are retried.
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Sets how many aggregates are kept in memory; 0 turns the cache off, so that every
    /// command replays from the latest snapshot.
    pub fn with_cache_capacity(mut self, capacity: usize) -> Self {
        self.cache = AggregateCache::new(capacity);
        self
    }

    /// Sets the upcasters that read events written in older shapes.
    pub fn with_upcasters(mut self, upcasters: Upcasters) -> Self {
        self.upcasters = upcasters;
        self
    }

    /// Saves a snapshot of an aggregate each time its stream crosses a multiple of `every`
    /// events, and loads from the latest snapshot. `every` of 0 turns snapshots off. The store
    /// may be the one that holds the events (it then refuses a snapshot of a version the
    /// stream has not reached, [`StoreError::SnapshotBeyondStream`]) or one of its own (which
    /// holds no events and keeps any); either way a snapshot beyond its stream is ignored on
    /// load and the stream replayed.
    ///
    /// A snapshot that cannot be saved does not fail the command (its events are committed);
    /// it is counted in [`Repository::snapshot_health`] and logged. A state the snapshot store
    /// cannot hold fails every time: MongoDB, for one, holds no integer above `i64::MAX`, so
    /// a `u64` field past it makes every snapshot of that aggregate fail.
    pub fn with_snapshots(mut self, store: impl SnapshotStore + 'static, every: u64) -> Self
    where
        A: Serialize + DeserializeOwned,
    {
        self.snapshots = (every > 0).then(|| Snapshots {
            store: Arc::new(store),
            every,
            encode: |state| Payload::encode(state),
            decode: |payload| payload.decode(),
            health: Mutex::new(SnapshotHealth::default()),
        });
        self
    }

    /// How snapshots have gone since the repository was made: saved, failed, the latest
    /// failure. `None` when snapshots are off.
    pub fn snapshot_health(&self) -> Option<SnapshotHealth> {
        self.snapshots
            .as_ref()
            .map(|snapshots| snapshots.health.lock().clone())
    }

    /// The event store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// Runs `command` with an empty context.
    pub async fn execute(
        &self,
        command: impl Into<A::Command>,
    ) -> Result<Committed<A::Event>, CommandError<A::Error>> {
        self.execute_with(command, CommandContext::default()).await
    }

    /// Runs `command`: decide on the aggregate's state, append with optimistic concurrency,
    /// retry on conflict, snapshot when due. Every event gets `context`'s metadata.
    ///
    /// With an idempotency key in `context`, the command is applied at most once, however many
    /// callers run it, at once or one after the other: the others get what it recorded, with
    /// [`Committed::already_applied`].
    ///
    /// Each command runs in a `command` span and is counted in the metrics of
    /// [`crate::telemetry`] (outcome, retries, latency, events appended, snapshots).
    pub async fn execute_with(
        &self,
        command: impl Into<A::Command>,
        context: CommandContext,
    ) -> Result<Committed<A::Event>, CommandError<A::Error>> {
        let metrics = self
            .metrics
            .get_or_init(|| RepositoryMetrics::new(&A::TYPE));
        let started = metrics.start();
        let span = spans::command(
            &A::TYPE,
            context.metadata.correlation_id,
            context.metadata.causation_id,
        );
        // Awaited in place when the span is off: wrapping moves the whole command's future
        // into the wrapper, which costs a command on the memory store a tenth of its time.
        let outcome = if span.is_disabled() {
            self.run_command(command.into(), context, &span, metrics)
                .await
        } else {
            self.run_command(command.into(), context, &span, metrics)
                .instrument(span.clone())
                .await
        };
        let label = match &outcome {
            Ok(committed) => {
                spans::record(
                    &span,
                    "stream",
                    tracing::field::display(&committed.stream_id),
                );
                spans::record(&span, "version", committed.version.get());
                spans::record(&span, "events", committed.events.len());
                CommandOutcome::Ok
            }
            Err(CommandError::Rejected { .. }) => CommandOutcome::Rejected,
            Err(CommandError::Conflict { .. }) => CommandOutcome::Conflict,
            Err(_) => CommandOutcome::Failed,
        };
        spans::record(&span, "outcome", label.label());
        metrics.finish(label, started);
        outcome
    }

    async fn run_command(
        &self,
        command: A::Command,
        context: CommandContext,
        span: &Span,
        metrics: &RepositoryMetrics,
    ) -> Result<Committed<A::Event>, CommandError<A::Error>> {
        let id = command.aggregate_id();
        // A cached aggregate's stream id was made (and checked) when it was loaded.
        let cached = self.cache.take(id);
        if let Some(key) = context.idempotency_key {
            let stream_id = match &cached {
                Some(loaded) => loaded.stream_id.clone(),
                None => A::stream_id(id).map_err(CommandError::InvalidId)?,
            };
            if let Some(committed) = self.find_applied(&stream_id, key).await? {
                if let Some(loaded) = cached {
                    self.cache.put(id, loaded);
                }
                return Ok(committed);
            }
        }
        let (mut loaded, cached) = match cached {
            Some(loaded) => (loaded, true),
            None => {
                let stream_id = A::stream_id(id).map_err(CommandError::InvalidId)?;
                (self.load_stream(stream_id).await?, false)
            }
        };
        let outcome = self
            .decide_and_append(&command, &mut loaded, cached, &context, span, metrics)
            .await;
        // `loaded` is always the stream's true state at `loaded.version`; after a conflict or
        // a failure it may be behind, and is better read afresh next time.
        // After an earlier run's events were found stored, `loaded` is behind them.
        let current = match &outcome {
            Ok(committed) => !committed.already_applied,
            Err(error) => matches!(
                error,
                CommandError::Rejected { .. } | CommandError::Encode(_)
            ),
        };
        if current {
            self.cache.put(id, loaded);
        }
        outcome
    }

    /// The attempts of one command, until it commits, is refused, or runs out of attempts.
    /// A refusal decided on a cached state is only final once the store says that state is
    /// current (another process may have moved the stream).
    async fn decide_and_append(
        &self,
        command: &A::Command,
        loaded: &mut Loaded<A>,
        cached: bool,
        context: &CommandContext,
        span: &Span,
        metrics: &RepositoryMetrics,
    ) -> Result<Committed<A::Event>, CommandError<A::Error>> {
        let mut attempt = 1;
        let mut current = !cached;
        spans::record(span, "stream", tracing::field::display(&loaded.stream_id));
        loop {
            spans::record(span, "attempts", attempt);
            let events = match loaded.state.handle(command) {
                Ok(events) => Ok(events),
                Err(_) if !current => {
                    current = true;
                    let version = loaded.version;
                    self.catch_up(loaded, None).await?;
                    if loaded.version != version {
                        continue;
                    }
                    loaded.state.handle(command)
                }
                Err(source) => Err(source),
            }
            .map_err(|source| CommandError::Rejected {
                stream_id: loaded.stream_id.clone(),
                source,
            })?;
            if events.is_empty() {
                return Ok(Committed {
                    stream_id: loaded.stream_id.clone(),
                    version: loaded.version,
                    events: Vec::new(),
                    already_applied: false,
                });
            }
            let expected = match loaded.version {
                Version::NONE => ExpectedVersion::NoStream,
                version => ExpectedVersion::Exact(version),
            };
            spans::record(span, "expected", tracing::field::display(expected));
            let appended = append_traced(
                &self.store,
                &loaded.stream_id,
                &A::TYPE,
                expected,
                events,
                context,
            )
            .await;
            let conflict = match appended {
                Ok(committed) if committed.already_applied => {
                    // An earlier run of this very command was stored; what it recorded may
                    // differ from what was decided now, so read it back.
                    let first = committed.events[0].version;
                    let count = committed.events.len();
                    return Ok(self.read_back(&loaded.stream_id, first, count).await?);
                }
                Ok(committed) => {
                    metrics.appended(committed.events.len());
                    for event in &committed.events {
                        loaded.state.apply(&event.payload);
                    }
                    loaded.version = committed.version;
                    if let Some(snapshots) = &self.snapshots {
                        snapshots
                            .save_if_due(loaded, committed.events.len() as u64, metrics)
                            .await;
                    }
                    return Ok(committed);
                }
                Err(AppendError::Store(StoreError::Conflict {
                    expected, actual, ..
                })) => (expected, actual),
                Err(AppendError::Store(StoreError::DuplicateEvent {
                    stream_id,
                    event_id,
                    duplicate,
                })) => {
                    // A run under the same key, by another caller, stored first and elsewhere
                    // than this attempt would: that run is the one result.
                    if let Some(key) = context.idempotency_key
                        && let Some(committed) = self.find_applied(&loaded.stream_id, key).await?
                    {
                        return Ok(committed);
                    }
                    return Err(CommandError::Store(StoreError::DuplicateEvent {
                        stream_id,
                        event_id,
                        duplicate,
                    }));
                }
                Err(error) => return Err(error.into()),
            };
            // The stream moved: if the mover was a run under the same key, it is the result.
            if let Some(key) = context.idempotency_key
                && let Some(committed) = self.find_applied(&loaded.stream_id, key).await?
            {
                return Ok(committed);
            }
            let (expected, actual) = conflict;
            if attempt >= self.retry.max_attempts {
                return Err(CommandError::Conflict {
                    stream_id: loaded.stream_id.clone(),
                    expected,
                    actual,
                    attempts: attempt,
                });
            }
            tracing::debug!(
                stream_id = %loaded.stream_id, %expected, %actual, attempt,
                "append conflict; retrying on fresh state"
            );
            metrics.retried();
            tokio::time::sleep(self.retry.delay_before(attempt)).await;
            attempt += 1;
            self.catch_up(loaded, None).await?;
        }
    }

    /// The aggregate's current state, read from the store (latest snapshot, then the events
    /// after it).
    ///
    /// The id may be given in any form the id type borrows as (`&str` for a `String` id).
    pub async fn load<Q>(&self, id: &Q) -> Result<Loaded<A>, LoadError>
    where
        A::Id: std::borrow::Borrow<Q>,
        Q: std::fmt::Display + ?Sized,
    {
        self.load_stream(StreamId::for_aggregate(&A::TYPE, &id)?)
            .await
    }

    /// The aggregate's state as of `version` (or its latest, if the stream is shorter): replay
    /// for debugging, or for answering "what did this player look like then".
    pub async fn load_at(&self, id: &A::Id, version: Version) -> Result<Loaded<A>, LoadError> {
        let stream_id = A::stream_id(id)?;
        let mut loaded = match self.load_snapshot(&stream_id).await? {
            Some(from_snapshot) if from_snapshot.version <= version => from_snapshot,
            _ => Loaded::empty(stream_id),
        };
        self.catch_up(&mut loaded, Some(version)).await?;
        Ok(loaded)
    }

    /// Every event of the aggregate's stream, decoded (and upcast), in order.
    pub async fn history(&self, id: &A::Id) -> Result<Vec<RecordedEvent<A::Event>>, LoadError> {
        let stream_id = A::stream_id(id)?;
        let mut history = Vec::new();
        loop {
            let from = Version::new(history.len() as u64 + 1);
            let batch = self
                .store
                .read_stream(&stream_id, from, REPLAY_BATCH)
                .await?;
            let full = batch.len() == REPLAY_BATCH;
            for event in batch {
                history.push(self.upcasters.decode_recorded(event)?);
            }
            if !full {
                return Ok(history);
            }
        }
    }

    async fn load_stream(&self, stream_id: StreamId) -> Result<Loaded<A>, LoadError> {
        let mut loaded = match self.load_snapshot(&stream_id).await? {
            Some(from_snapshot) => from_snapshot,
            None => Loaded::empty(stream_id),
        };
        self.catch_up(&mut loaded, None).await?;
        Ok(loaded)
    }

    async fn load_snapshot(&self, stream_id: &StreamId) -> Result<Option<Loaded<A>>, LoadError> {
        let Some(snapshots) = &self.snapshots else {
            return Ok(None);
        };
        let Some(snapshot) = snapshots.store.load_snapshot_boxed(stream_id).await? else {
            return Ok(None);
        };
        if snapshot.revision != A::SNAPSHOT_REVISION || snapshot.aggregate_type != A::TYPE {
            tracing::debug!(
                %stream_id, revision = snapshot.revision, current = A::SNAPSHOT_REVISION,
                "ignoring a snapshot of another revision; replaying the stream"
            );
            return Ok(None);
        }
        // A snapshot of a version the stream has not reached (written around the store, or
        // kept across a restore of older events) would start the aggregate ahead of its
        // events: it is read only if the stream holds that version.
        let covered = self
            .store
            .read_stream(stream_id, snapshot.version, 1)
            .await?;
        if covered.first().map(|event| event.version) != Some(snapshot.version) {
            tracing::warn!(
                %stream_id, version = %snapshot.version,
                "ignoring a snapshot beyond the end of its stream; replaying the stream"
            );
            return Ok(None);
        }
        match (snapshots.decode)(&snapshot.payload) {
            Ok(state) => Ok(Some(Loaded {
                stream_id: stream_id.clone(),
                version: snapshot.version,
                state,
            })),
            Err(error) => {
                tracing::warn!(
                    %stream_id, version = %snapshot.version, %error,
                    "ignoring a snapshot that does not decode; replaying the stream"
                );
                Ok(None)
            }
        }
    }

    /// Applies the stream's events after `loaded.version`, up to `until` when given, each read
    /// in place where the store keeps it ([`EventStore::visit_stream`]).
    async fn catch_up(
        &self,
        loaded: &mut Loaded<A>,
        until: Option<Version>,
    ) -> Result<(), LoadError> {
        let Loaded {
            stream_id,
            version,
            state,
        } = loaded;
        loop {
            let remaining =
                until.map_or(u64::MAX, |until| until.get().saturating_sub(version.get()));
            if remaining == 0 {
                return Ok(());
            }
            let limit = REPLAY_BATCH.min(usize::try_from(remaining).unwrap_or(usize::MAX));
            let mut failure = None;
            let visited = self
                .store
                .visit_stream(stream_id, version.next(), limit, &mut |event| {
                    if event.version != version.next() {
                        failure = Some(LoadError::Store(StoreError::Corrupt {
                            location: RecordLocation::Event {
                                stream_id: event.stream_id.clone(),
                                version: event.version,
                            },
                            source: format!(
                                "expected version {} after {}, read version {}",
                                version.next(),
                                version,
                                event.version
                            )
                            .into(),
                        }));
                        return ControlFlow::Break(());
                    }
                    match self.upcasters.decode_ref::<A::Event>(&event) {
                        Ok(decoded) => {
                            state.apply(&decoded);
                            *version = event.version;
                            ControlFlow::Continue(())
                        }
                        Err(error) => {
                            failure = Some(error.into());
                            ControlFlow::Break(())
                        }
                    }
                })
                .await?;
            if let Some(failure) = failure {
                return Err(failure);
            }
            if visited < limit {
                return Ok(());
            }
        }
    }

    /// What an earlier run under idempotency `key` recorded in the stream, if any: the
    /// events from the one with the key's first id, for as long as their ids follow the key.
    async fn find_applied(
        &self,
        stream_id: &StreamId,
        key: Uuid,
    ) -> Result<Option<Committed<A::Event>>, LoadError> {
        let first_id = derived_event_id(key, stream_id, 0);
        let Some(first) = self.store.find_event(stream_id, first_id).await? else {
            return Ok(None);
        };
        let mut stored = Vec::new();
        loop {
            let from = Version::new(first.version.get() + stored.len() as u64);
            let batch = self
                .store
                .read_stream(stream_id, from, READ_BACK_BATCH)
                .await?;
            let before = stored.len();
            stored.extend(
                batch
                    .into_iter()
                    .zip(before..)
                    .take_while(|(event, index)| {
                        event.event_id == derived_event_id(key, stream_id, *index)
                    })
                    .map(|(event, _)| event),
            );
            if stored.len() - before < READ_BACK_BATCH {
                break;
            }
        }
        self.committed_from(stream_id, first.version, stored)
            .map(Some)
    }

    async fn read_back(
        &self,
        stream_id: &StreamId,
        first: Version,
        count: usize,
    ) -> Result<Committed<A::Event>, LoadError> {
        let stored = self.store.read_stream(stream_id, first, count).await?;
        self.committed_from(stream_id, first, stored)
    }

    /// What an earlier run recorded, decoded (and upcast) from the events it stored.
    fn committed_from(
        &self,
        stream_id: &StreamId,
        first: Version,
        stored: Vec<RecordedEvent>,
    ) -> Result<Committed<A::Event>, LoadError> {
        let events = stored
            .into_iter()
            .map(|event| self.upcasters.decode_recorded(event))
            .collect::<Result<Vec<_>, _>>()?;
        let version = events.last().map_or(first, |event| event.version);
        Ok(Committed {
            stream_id: stream_id.clone(),
            version,
            events,
            already_applied: true,
        })
    }
}
