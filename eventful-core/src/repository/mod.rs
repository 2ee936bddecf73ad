//! The command path: load an aggregate (cache, or latest snapshot and the events after it),
//! decide, append with the loaded version as the expected version, retry on conflict on fresh
//! state, snapshot every N events, and return what was committed.

mod cache;
mod context;
mod errors;
mod retry;

use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;

pub use self::context::{CommandContext, Committed, Loaded};
pub use self::errors::{CommandError, LoadError};
pub use self::retry::RetryPolicy;

use self::cache::AggregateCache;
use self::context::derived_event_id;
use crate::aggregate::{Aggregate, Command};
use chrono::{DateTime, Utc};

use crate::envelope::{ExpectedVersion, NewEvent, Position, RecordedEvent, Version};
use crate::event::Event;
use crate::names::StreamId;
use crate::payload::{Payload, PayloadError};
use crate::snapshot::{Snapshot, SnapshotStore};
use crate::store::{AppendResult, EventStore, StoreError};
use crate::upcast::Upcasters;

/// How many aggregates a repository keeps in memory by default.
pub const DEFAULT_CACHE_CAPACITY: usize = 10_000;

/// How many events one read asks for while replaying a stream.
const REPLAY_BATCH: usize = 4096;

struct Snapshots<A> {
    store: Arc<dyn SnapshotStore>,
    every: u64,
    encode: fn(&A) -> Result<Payload, PayloadError>,
    decode: fn(&Payload) -> Result<A, PayloadError>,
}

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
    /// events, and loads from the latest snapshot. `every` of 0 turns snapshots off.
    pub fn with_snapshots(mut self, store: impl SnapshotStore + 'static, every: u64) -> Self
    where
        A: Serialize + DeserializeOwned,
    {
        self.snapshots = (every > 0).then(|| Snapshots {
            store: Arc::new(store),
            every,
            encode: |state| Payload::encode(state),
            decode: |payload| payload.decode(),
        });
        self
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
    pub async fn execute_with(
        &self,
        command: impl Into<A::Command>,
        context: CommandContext,
    ) -> Result<Committed<A::Event>, CommandError<A::Error>> {
        let command = command.into();
        let id = command.aggregate_id();
        if let Some(key) = context.idempotency_key
            && let Some(committed) = self.find_applied(id, key).await?
        {
            return Ok(committed);
        }
        let (id, mut loaded) = match self.cache.take(id) {
            Some(entry) => entry,
            None => (id.clone(), self.load_latest(id).await?),
        };
        let mut attempt = 1;
        loop {
            let events = match loaded.state.handle(&command) {
                Ok(events) => events,
                Err(source) => {
                    let stream_id = loaded.stream_id.clone();
                    self.cache.put(id, loaded);
                    return Err(CommandError::Rejected { stream_id, source });
                }
            };
            if events.is_empty() {
                let committed = Committed {
                    stream_id: loaded.stream_id.clone(),
                    version: loaded.version,
                    events: Vec::new(),
                    already_applied: false,
                };
                self.cache.put(id, loaded);
                return Ok(committed);
            }
            let (new_events, pending) = match encode::<A>(&loaded.stream_id, events, &context) {
                Ok(encoded) => encoded,
                Err(error) => {
                    self.cache.put(id, loaded);
                    return Err(error);
                }
            };
            let expected = match loaded.version {
                Version::NONE => ExpectedVersion::NoStream,
                version => ExpectedVersion::Exact(version),
            };
            match self
                .store
                .append(&loaded.stream_id, expected, new_events)
                .await
            {
                Ok(result) if result.already_stored => {
                    // An earlier run of this very command was stored; what it recorded
                    // may differ from what was decided now, so read it back.
                    let stream_id = loaded.stream_id.clone();
                    let first = Version::new(result.last_version.get() + 1 - pending.len() as u64);
                    return Ok(self.read_back(stream_id, first, pending.len()).await?);
                }
                Ok(result) => {
                    let committed = record(&mut loaded, pending, &result);
                    self.snapshot_if_due(&loaded, committed.events.len() as u64)
                        .await;
                    self.cache.put(id, loaded);
                    return Ok(committed);
                }
                Err(StoreError::Conflict {
                    expected, actual, ..
                }) => {
                    if attempt >= self.retry.max_attempts {
                        return Err(CommandError::Conflict {
                            stream_id: loaded.stream_id,
                            expected,
                            actual,
                            attempts: attempt,
                        });
                    }
                    tracing::debug!(
                        stream_id = %loaded.stream_id, %expected, %actual, attempt,
                        "append conflict; retrying on fresh state"
                    );
                    let delay = self.retry.delay_before(attempt);
                    attempt += 1;
                    tokio::time::sleep(delay).await;
                    self.catch_up(&mut loaded, None).await?;
                }
                Err(error) => return Err(CommandError::Store(error)),
            }
        }
    }

    /// The aggregate's current state, read from the store (latest snapshot, then the events
    /// after it).
    pub async fn load(&self, id: &A::Id) -> Result<Loaded<A>, LoadError> {
        self.load_latest(id).await
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

    async fn load_latest(&self, id: &A::Id) -> Result<Loaded<A>, LoadError> {
        let stream_id = A::stream_id(id)?;
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
        let Some(snapshot) = snapshots.store.load_snapshot(stream_id).await? else {
            return Ok(None);
        };
        if snapshot.revision != A::SNAPSHOT_REVISION || snapshot.aggregate_type != A::TYPE {
            tracing::debug!(
                %stream_id, revision = snapshot.revision, current = A::SNAPSHOT_REVISION,
                "ignoring a snapshot of another revision; replaying the stream"
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

    /// Applies the stream's events after `loaded.version`, up to `until` when given.
    async fn catch_up(
        &self,
        loaded: &mut Loaded<A>,
        until: Option<Version>,
    ) -> Result<(), LoadError> {
        loop {
            let remaining = until.map_or(u64::MAX, |until| {
                until.get().saturating_sub(loaded.version.get())
            });
            if remaining == 0 {
                return Ok(());
            }
            let limit = REPLAY_BATCH.min(usize::try_from(remaining).unwrap_or(usize::MAX));
            let batch = self
                .store
                .read_stream(&loaded.stream_id, loaded.version.next(), limit)
                .await?;
            for recorded in &batch {
                if recorded.version != loaded.version.next() {
                    return Err(LoadError::Store(StoreError::Corrupt {
                        location: format!("stream `{}`", loaded.stream_id),
                        source: format!(
                            "expected version {} after {}, read version {}",
                            loaded.version.next(),
                            loaded.version,
                            recorded.version
                        )
                        .into(),
                    }));
                }
                let event: A::Event = self.upcasters.decode(recorded)?;
                loaded.state.apply(&event);
                loaded.version = recorded.version;
            }
            if batch.len() < limit {
                return Ok(());
            }
        }
    }

    async fn snapshot_if_due(&self, loaded: &Loaded<A>, appended: u64) {
        let Some(snapshots) = &self.snapshots else {
            return;
        };
        let now = loaded.version.get();
        if (now - appended) / snapshots.every == now / snapshots.every {
            return;
        }
        let payload = match (snapshots.encode)(&loaded.state) {
            Ok(payload) => payload,
            Err(error) => {
                tracing::warn!(stream_id = %loaded.stream_id, %error, "cannot serialize a snapshot");
                return;
            }
        };
        let snapshot = Snapshot {
            stream_id: loaded.stream_id.clone(),
            aggregate_type: A::TYPE,
            version: loaded.version,
            revision: A::SNAPSHOT_REVISION,
            taken_at: chrono::Utc::now(),
            payload,
        };
        if let Err(error) = snapshots.store.save_snapshot(snapshot).await {
            // The events are committed; a missing snapshot only makes the next load longer.
            tracing::warn!(stream_id = %loaded.stream_id, %error, "cannot save a snapshot");
        }
    }

    /// What an earlier run under idempotency `key` recorded in the aggregate's stream, if any.
    async fn find_applied(
        &self,
        id: &A::Id,
        key: uuid::Uuid,
    ) -> Result<Option<Committed<A::Event>>, LoadError> {
        let stream_id = A::stream_id(id)?;
        let first_id = derived_event_id(key, &stream_id, 0);
        let Some(first) = self.store.find_event(&stream_id, first_id).await? else {
            return Ok(None);
        };
        let following = self
            .store
            .read_stream(&stream_id, first.version, REPLAY_BATCH)
            .await?;
        let count = following
            .iter()
            .enumerate()
            .take_while(|(i, event)| event.event_id == derived_event_id(key, &stream_id, *i))
            .count();
        self.read_back(stream_id, first.version, count)
            .await
            .map(Some)
    }

    async fn read_back(
        &self,
        stream_id: StreamId,
        first: Version,
        count: usize,
    ) -> Result<Committed<A::Event>, LoadError> {
        let stored = self.store.read_stream(&stream_id, first, count).await?;
        let events = stored
            .into_iter()
            .map(|event| self.upcasters.decode_recorded(event))
            .collect::<Result<Vec<_>, _>>()?;
        let version = events.last().map_or(first, |event| event.version);
        Ok(Committed {
            stream_id,
            version,
            events,
            already_applied: true,
        })
    }
}

/// Serializes decided events into what the store appends, and keeps them as the caller will
/// get them back once the store has given them versions, positions and a time.
#[allow(clippy::type_complexity)]
fn encode<A: Aggregate>(
    stream_id: &StreamId,
    events: Vec<A::Event>,
    context: &CommandContext,
) -> Result<(Vec<NewEvent>, Vec<RecordedEvent<A::Event>>), CommandError<A::Error>> {
    let mut new_events = Vec::with_capacity(events.len());
    let mut pending = Vec::with_capacity(events.len());
    for (index, event) in events.into_iter().enumerate() {
        let event_type = event.event_type();
        let payload = event.encode().map_err(|source| CommandError::Encode {
            stream_id: stream_id.clone(),
            event_type: event_type.name.clone(),
            source,
        })?;
        let event_id = context.event_id(stream_id, index);
        new_events.push(NewEvent {
            event_id,
            aggregate_type: A::TYPE,
            event_type: event_type.name.clone(),
            schema_version: event_type.schema_version,
            metadata: context.metadata.clone(),
            payload,
        });
        pending.push(RecordedEvent {
            event_id,
            stream_id: stream_id.clone(),
            aggregate_type: A::TYPE,
            event_type: event_type.name.clone(),
            schema_version: event_type.schema_version,
            version: Version::NONE,
            position: Position::START,
            recorded_at: DateTime::<Utc>::UNIX_EPOCH,
            metadata: context.metadata.clone(),
            payload: event,
        });
    }
    Ok((new_events, pending))
}

/// Completes the pending events with what the store assigned, and applies them.
fn record<A: Aggregate>(
    loaded: &mut Loaded<A>,
    mut pending: Vec<RecordedEvent<A::Event>>,
    result: &AppendResult,
) -> Committed<A::Event> {
    let first_version = loaded.version.get() + 1;
    for (offset, event) in (0u64..).zip(pending.iter_mut()) {
        event.version = Version::new(first_version + offset);
        event.position = Position::new(result.first_position.get() + offset);
        event.recorded_at = result.recorded_at;
        loaded.state.apply(&event.payload);
    }
    loaded.version = result.last_version;
    Committed {
        stream_id: loaded.stream_id.clone(),
        version: result.last_version,
        events: pending,
        already_applied: false,
    }
}
