//! The event bus: publish/subscribe over the store's log, in one process or shared by many.
//!
//! Publishing is appending: a handler sees an event only once the store has committed it, and
//! each handler follows the log from its own progress, so a handler that failed or a program
//! that restarted resumes where it stopped and loses nothing. Handlers subscribe by Rust type
//! ([`EventBus::subscribe`]) or by stored type name ([`EventBus::subscribe_named`]);
//! projections and policies are handlers too.
//!
//! Where a handler's progress lives is its own setting ([`HandlerSettings`]): volatile
//! (in this process; an in-memory read model starts from the first event at every start) or
//! durable (in the checkpoint store, split into segments that the instances sharing the
//! store claim one at a time, so each event is handled once in total). docs/scaling.md tells
//! how several instances share handlers.
//!
//! | module | what lives there |
//! | --- | --- |
//! | this file | [`EventBus`] (the handlers before they start), [`RunningBus`], [`reshape_segments`] |
//! | `control` | what an operator does to a running handler: pause and resume it, list, replay and dismiss its parked events |
//! | `settings` | [`HandlerSettings`], [`Progress`], [`OnFailure`] |
//! | `runner` | one segment of one handler on its task: claim, read, handle, park, save |
//! | `status` | [`HandlerStatus`], [`SegmentStatus`], [`HandlerFailure`], [`BusError`] |

mod control;
mod runner;
mod settings;
mod status;

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::AtomicU32;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use uuid::Uuid;

use self::runner::{Runner, SegmentState};
pub use self::settings::{HandlerSettings, OnFailure, Progress};
pub use self::status::{BusError, HandlerFailure, HandlerStatus, SegmentStatus};
use crate::checkpoint::{CheckpointStore, DynCheckpointStore};
use crate::envelope::{Position, RecordedEvent};
use crate::event::Event;
use crate::handler::{EventHandler, NamedHandler, TypedHandler};
use crate::names::TypeName;
use crate::policy::{Policy, PolicyHandler};
use crate::progress::{Segment, SegmentProgress};
use crate::projection::{Projection, ProjectionHandler};
use crate::repository::RetryPolicy;
use crate::store::{EventFilter, EventStore};
use crate::telemetry::handles::SegmentMetrics;
use crate::upcast::{BoxError, Upcasters};

/// How long a claim on a segment holds unrenewed, by default: an instance that dies is
/// replaced within this time.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(5);

/// How often a wait on the bus looks at the progress of segments other instances hold.
const PROGRESS_POLL: Duration = Duration::from_millis(10);

/// Handlers waiting to be started, on one store and one checkpoint store.
///
/// ```
/// use eventful_core::{EventBus, RecordedEvent, BoxError};
/// # use eventful_store_memory::MemoryStore;
///
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let store = MemoryStore::new();
/// let mut bus = EventBus::new(store.clone(), store.clone());
/// bus.subscribe_named(["game_completed"], "log_completed_games", |event: RecordedEvent| async move {
///     println!("{} completed at position {}", event.stream_id, event.position);
///     Ok::<(), BoxError>(())
/// });
/// let running = bus.start()?;
/// running.wait_until_caught_up().await?;
/// running.shutdown().await;
/// # Ok(()) }
/// # tokio::runtime::Runtime::new().unwrap().block_on(demo()).unwrap();
/// ```
pub struct EventBus<S> {
    store: S,
    checkpoints: Arc<dyn DynCheckpointStore>,
    upcasters: Upcasters,
    retry: RetryPolicy,
    instance: String,
    lease: Duration,
    handlers: Vec<Arc<dyn EventHandler>>,
    settings: HashMap<String, HandlerSettings>,
    invalid: Vec<BusError>,
}

impl<S: EventStore + Clone + 'static> EventBus<S> {
    /// A bus reading `store` and keeping its durable handlers' progress, claims and parked
    /// events in `checkpoints` (volatile handlers keep theirs in this process).
    ///
    /// Every bus on the same checkpoint store is an instance of the same service: durable
    /// handlers of the same name share their progress, each segment handled by one of them.
    pub fn new(store: S, checkpoints: impl CheckpointStore + 'static) -> Self {
        Self {
            store,
            checkpoints: Arc::new(checkpoints),
            upcasters: Upcasters::new(),
            retry: RetryPolicy::default(),
            instance: Uuid::new_v4().simple().to_string(),
            lease: DEFAULT_LEASE,
            handlers: Vec::new(),
            settings: HashMap::new(),
            invalid: Vec::new(),
        }
    }

    /// Names this instance in the claims it holds (a random id by default); unique among the
    /// instances sharing a checkpoint store.
    pub fn with_instance_id(mut self, instance: impl Into<String>) -> Self {
        self.instance = instance.into();
        self
    }

    /// Sets how long a claim holds unrenewed ([`DEFAULT_LEASE`] by default): the time an
    /// instance that died keeps its segments from the others. Claims are renewed after every
    /// batch and every third of a lease in between (idle, paused, between events and while a
    /// handler is on one), so a slow handler keeps its segment; an instance whose renewals
    /// fail for a whole lease loses it, and stops after the event it is on, which the
    /// instance taking the segment over handles again.
    pub fn with_lease(mut self, lease: Duration) -> Self {
        self.lease = lease.max(Duration::from_millis(10));
        self
    }

    /// This instance's id, as it appears in claims.
    pub fn instance_id(&self) -> &str {
        &self.instance
    }

    /// Runs handler `name` with `settings` instead of its own defaults
    /// ([`EventHandler::settings`]). A name no handler has is an error at [`EventBus::start`].
    pub fn configure(&mut self, name: impl Into<String>, settings: HandlerSettings) -> &mut Self {
        self.settings.insert(name.into(), settings);
        self
    }

    /// Sets the upcasters used to decode events for typed handlers.
    pub fn with_upcasters(mut self, upcasters: Upcasters) -> Self {
        self.upcasters = upcasters;
        self
    }

    /// Sets how often a failing handler is retried on one event before it stops.
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Adds a handler.
    pub fn handler(&mut self, handler: impl EventHandler) -> &mut Self {
        self.handlers.push(Arc::new(handler));
        self
    }

    /// Adds a closure called with each event of Rust type `E`, decoded.
    pub fn subscribe<E, F, Fut>(&mut self, name: impl Into<String>, f: F) -> &mut Self
    where
        E: Event,
        F: Fn(RecordedEvent<E>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), BoxError>> + Send + 'static,
    {
        self.handler(TypedHandler::<E, F>::new(name, f))
    }

    /// Adds a closure called with each event stored under one of `event_types`, as stored.
    pub fn subscribe_named<F, Fut>(
        &mut self,
        event_types: impl IntoIterator<Item = impl AsRef<str>>,
        name: impl Into<String>,
        f: F,
    ) -> &mut Self
    where
        F: Fn(RecordedEvent) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), BoxError>> + Send + 'static,
    {
        let name = name.into();
        let mut types = Vec::new();
        for event_type in event_types {
            match TypeName::new(event_type) {
                Ok(event_type) => types.push(event_type),
                Err(source) => self.invalid.push(BusError::InvalidEventType {
                    handler: name.clone(),
                    source,
                }),
            }
        }
        self.handler(NamedHandler::new(name, types, f))
    }

    /// Adds a projection.
    pub fn projection(&mut self, projection: impl Projection) -> &mut Self {
        self.handler(ProjectionHandler(projection))
    }

    /// Adds a policy.
    pub fn policy(&mut self, policy: impl Policy) -> &mut Self {
        self.handler(PolicyHandler(policy))
    }

    /// The handlers added so far: name and what each subscribes to.
    pub fn handlers(&self) -> impl Iterator<Item = (&str, EventFilter)> + '_ {
        self.handlers
            .iter()
            .map(|handler| (handler.name(), handler.filter()))
    }

    /// Starts every handler on tasks of its own (one per segment), each from its progress.
    pub fn start(self) -> Result<RunningBus<S>, BusError> {
        if let Some(invalid) = self.invalid.into_iter().next() {
            return Err(invalid);
        }
        let mut names = HashSet::new();
        for handler in &self.handlers {
            if !names.insert(handler.name()) {
                return Err(BusError::DuplicateName(handler.name().to_owned()));
            }
        }
        if let Some(unknown) = self
            .settings
            .keys()
            .find(|name| !names.contains(name.as_str()))
        {
            return Err(BusError::UnknownHandler(unknown.clone()));
        }
        let mut settings = self.settings;
        let mut running = RunningBus {
            store: self.store,
            checkpoints: self.checkpoints,
            upcasters: self.upcasters,
            retry: self.retry,
            instance: self.instance,
            lease: self.lease,
            subscribers: Vec::new(),
        };
        for handler in self.handlers {
            let settings = settings
                .remove(handler.name())
                .unwrap_or_else(|| handler.settings());
            let subscriber = running.spawn(handler, settings);
            running.subscribers.push(subscriber);
        }
        Ok(running)
    }
}

struct Subscriber {
    handler: Arc<dyn EventHandler>,
    settings: HandlerSettings,
    segments: Vec<SegmentRunner>,
    /// True while the handler is paused in this instance.
    paused: watch::Sender<bool>,
}

struct SegmentRunner {
    segment: Segment,
    state: watch::Receiver<SegmentState>,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

/// The bus with its handlers running.
pub struct RunningBus<S> {
    store: S,
    checkpoints: Arc<dyn DynCheckpointStore>,
    upcasters: Upcasters,
    retry: RetryPolicy,
    instance: String,
    lease: Duration,
    subscribers: Vec<Subscriber>,
}

impl<S: EventStore + Clone + 'static> RunningBus<S> {
    fn spawn(&self, handler: Arc<dyn EventHandler>, settings: HandlerSettings) -> Subscriber {
        let claimed = Arc::new(AtomicU32::new(0));
        let (paused, paused_rx) = watch::channel(false);
        let segments = Segment::all(settings.segment_count())
            .into_iter()
            .map(|segment| {
                let (state_tx, state) = watch::channel(SegmentState::default());
                let (stop, stop_rx) = watch::channel(false);
                let runner = Runner {
                    handler: handler.clone(),
                    progress: settings.progress,
                    on_failure: settings.on_failure,
                    segment,
                    claimed: claimed.clone(),
                    max_claims: settings.max_claims,
                    owner: self.instance.clone(),
                    lease: self.lease,
                    store: self.store.clone(),
                    checkpoints: self.checkpoints.clone(),
                    upcasters: self.upcasters.clone(),
                    retry: self.retry,
                    state: state_tx,
                    stop: stop_rx,
                    paused: paused_rx.clone(),
                    metrics: SegmentMetrics::new(handler.name(), segment),
                };
                SegmentRunner {
                    segment,
                    state,
                    stop,
                    task: tokio::spawn(runner.run()),
                }
            })
            .collect();
        Subscriber {
            handler,
            settings,
            segments,
            paused,
        }
    }

    /// This instance's id, as it appears in claims.
    pub fn instance_id(&self) -> &str {
        &self.instance
    }

    /// The upcasters the bus decodes events with ([`EventBus::with_upcasters`]): for what
    /// reads the same log beside it (an admin API's rebuilds and reads).
    ///
    /// ```
    /// use eventful_core::{EventBus, Upcasters};
    /// # use eventful_store_memory::MemoryStore;
    /// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// let store = MemoryStore::new();
    /// let running = EventBus::new(store.clone(), store.clone())
    ///     .with_upcasters(Upcasters::new())
    ///     .start()?;
    /// let _same = running.upcasters().clone();
    /// # Ok(()) }
    /// # tokio::runtime::Runtime::new().unwrap().block_on(demo()).unwrap();
    /// ```
    pub fn upcasters(&self) -> &Upcasters {
        &self.upcasters
    }

    /// Waits until every handler has handled every event up to `position` (durable ones in
    /// whichever instance holds their segments); fails as soon as one of them has stopped
    /// short of it in this instance.
    pub async fn wait_until(&self, position: Position) -> Result<(), BusError> {
        for subscriber in &self.subscribers {
            self.wait_for(subscriber, position).await?;
        }
        Ok(())
    }

    async fn wait_for(&self, subscriber: &Subscriber, position: Position) -> Result<(), BusError> {
        let name = subscriber.handler.name();
        let mut states: Vec<_> = subscriber
            .segments
            .iter()
            .map(|runner| runner.state.clone())
            .collect();
        loop {
            for state in &mut states {
                let current = state.borrow_and_update();
                if let Some(failure) = &current.failure
                    && current.processed < position
                {
                    return Err(BusError::HandlerFailed(failure.clone()));
                }
                if let Some(halted) = &current.halted {
                    return Err(BusError::Halted {
                        handler: name.to_owned(),
                        reason: halted.clone(),
                    });
                }
            }
            let reached = match subscriber.settings.progress {
                Progress::Volatile => states
                    .iter()
                    .all(|state| state.borrow().processed >= position),
                Progress::Durable => {
                    let stored = self.checkpoints.segments(name).await?;
                    stored.len() == subscriber.segments.len()
                        && stored.iter().all(|segment| segment.position >= position)
                }
            };
            if reached {
                return Ok(());
            }
            let changed = futures::future::select_all(
                states.iter_mut().map(|state| Box::pin(state.changed())),
            );
            tokio::select! {
                (changed, _, _) = changed => {
                    if changed.is_err() {
                        return Err(BusError::Stopped(name.to_owned()));
                    }
                }
                () = tokio::time::sleep(PROGRESS_POLL) => {}
            }
        }
    }

    /// Waits until every handler has handled every event stored now.
    pub async fn wait_until_caught_up(&self) -> Result<(), BusError> {
        let head = self.store.head_position().await?;
        self.wait_until(head).await
    }

    /// Waits until the log stops growing: every handler has handled every event stored now,
    /// and every event those handlers appended in turn, and so on — the end of a cascade of
    /// policies (matchmaking completed → session started → world initialized). Returns the
    /// position reached; fails as soon as a handler has stopped short of it.
    ///
    /// Appends from outside the bus while it waits are waited for too.
    pub async fn wait_until_settled(&self) -> Result<Position, BusError> {
        let mut head = self.store.head_position().await?;
        loop {
            self.wait_until(head).await?;
            let now = self.store.head_position().await?;
            if now == head {
                return Ok(head);
            }
            head = now;
        }
    }

    /// Where each handler is: per segment, who holds it (this instance or another), its
    /// position and lag behind the head of the log; and how many events it parked.
    pub async fn status(&self) -> Result<Vec<HandlerStatus>, BusError> {
        let head = self.store.head_position().await?;
        let lag = |processed: Position| head.get().saturating_sub(processed.get());
        let mut statuses = Vec::with_capacity(self.subscribers.len());
        for subscriber in &self.subscribers {
            let name = subscriber.handler.name();
            let local: Vec<SegmentState> = subscriber
                .segments
                .iter()
                .map(|runner| runner.state.borrow().clone())
                .collect();
            let stored = match subscriber.settings.progress {
                Progress::Volatile => Vec::new(),
                Progress::Durable => self.checkpoints.segments(name).await?,
            };
            let segments: Vec<SegmentStatus> = subscriber
                .segments
                .iter()
                .zip(&local)
                .map(|(runner, state)| {
                    let record = stored
                        .iter()
                        .find(|record| record.segment == runner.segment);
                    let (owner, processed) = match (subscriber.settings.progress, record) {
                        (Progress::Volatile, _) => (Some(self.instance.clone()), state.processed),
                        (Progress::Durable, Some(record)) => {
                            (record.owner.clone(), record.position)
                        }
                        (Progress::Durable, None) => (None, Position::START),
                    };
                    SegmentStatus {
                        segment: runner.segment,
                        mine: state.holding,
                        owner,
                        processed,
                        lag: lag(processed),
                    }
                })
                .collect();
            let processed = segments
                .iter()
                .map(|segment| segment.processed)
                .min()
                .unwrap_or(Position::START);
            statuses.push(HandlerStatus {
                name: name.to_owned(),
                settings: subscriber.settings,
                processed,
                lag: lag(processed),
                parked: self.checkpoints.parked(name).await?.len(),
                paused: *subscriber.paused.borrow(),
                running: !local.iter().any(|state| state.ended),
                failure: local.iter().find_map(|state| state.failure.clone()),
                halted: local.iter().find_map(|state| state.halted.clone()),
                segments,
            });
        }
        Ok(statuses)
    }

    /// Restarts handler `name` in this instance from its progress (after a failure was fixed,
    /// say). A volatile handler's progress is gone with its task, so it starts again from the
    /// first event, reset first as by [`RunningBus::rebuild`].
    pub async fn restart(&mut self, name: &str) -> Result<(), BusError> {
        let index = self.stop_one(name).await?;
        let (handler, settings) = {
            let subscriber = &self.subscribers[index];
            (subscriber.handler.clone(), subscriber.settings)
        };
        if settings.progress == Progress::Volatile {
            handler.reset().await.map_err(|source| BusError::Reset {
                handler: name.to_owned(),
                source,
            })?;
        }
        self.subscribers[index] = self.spawn(handler, settings);
        Ok(())
    }

    /// Rebuilds handler `name` from the first event: stops it, resets its read model, forgets
    /// its progress and starts it again. For a durable handler, stop every other instance
    /// running it first: its progress is shared.
    pub async fn rebuild(&mut self, name: &str) -> Result<(), BusError> {
        let index = self.stop_one(name).await?;
        let (handler, settings) = {
            let subscriber = &self.subscribers[index];
            (subscriber.handler.clone(), subscriber.settings)
        };
        handler.reset().await.map_err(|source| BusError::Reset {
            handler: name.to_owned(),
            source,
        })?;
        if settings.progress == Progress::Durable {
            self.checkpoints.put_segments(name, Vec::new()).await?;
        }
        self.subscribers[index] = self.spawn(handler, settings);
        Ok(())
    }

    fn subscriber(&self, name: &str) -> Result<&Subscriber, BusError> {
        self.subscribers
            .iter()
            .find(|subscriber| subscriber.handler.name() == name)
            .ok_or_else(|| BusError::UnknownHandler(name.to_owned()))
    }

    async fn stop_one(&mut self, name: &str) -> Result<usize, BusError> {
        let index = self
            .subscribers
            .iter()
            .position(|subscriber| subscriber.handler.name() == name)
            .ok_or_else(|| BusError::UnknownHandler(name.to_owned()))?;
        for runner in &mut self.subscribers[index].segments {
            runner.stop.send_replace(true);
            // A panicked handler task has nothing left to stop.
            let _ = (&mut runner.task).await;
        }
        Ok(index)
    }

    /// Stops every handler after the event it is on, gives its claims up, and waits for them,
    /// as [`RunningBus::shutdown`] does, through a shared reference: for a bus shared behind an
    /// `Arc` (with an admin API, say). The bus still answers [`RunningBus::status`] and the
    /// parked-event calls afterwards; its handlers do not run again.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use eventful_core::{EventBus, RecordedEvent, BoxError};
    /// # use eventful_store_memory::MemoryStore;
    ///
    /// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// let store = MemoryStore::new();
    /// let mut bus = EventBus::new(store.clone(), store.clone());
    /// bus.subscribe_named(["game_completed"], "mailer", |_: RecordedEvent| async { Ok::<(), BoxError>(()) });
    /// let shared = Arc::new(bus.start()?);
    /// let for_the_admin_api = shared.clone();
    /// shared.stop().await;
    /// assert_eq!(for_the_admin_api.status().await?[0].segments[0].owner, None, "released");
    /// # Ok(()) }
    /// # tokio::runtime::Runtime::new().unwrap().block_on(demo()).unwrap();
    /// ```
    pub async fn stop(&self) {
        let runners = || {
            self.subscribers
                .iter()
                .flat_map(|subscriber| &subscriber.segments)
        };
        for runner in runners() {
            runner.stop.send_replace(true);
        }
        for runner in runners() {
            // A task that is gone (it panicked) has nothing left to stop.
            let _ = runner.state.clone().wait_for(|state| state.ended).await;
        }
    }

    /// Stops every handler after the event it is on, gives its claims up, and waits for them.
    pub async fn shutdown(self) {
        let runners: Vec<SegmentRunner> = self
            .subscribers
            .into_iter()
            .flat_map(|subscriber| subscriber.segments)
            .collect();
        for runner in &runners {
            runner.stop.send_replace(true);
        }
        for runner in runners {
            // A panicked handler task has nothing left to stop.
            let _ = runner.task.await;
        }
    }
}

/// Splits or merges the stored progress of durable handler `handler` into `count` segments,
/// while no instance runs it, so that a bus configured with `count` segments takes over with
/// no event lost or handled twice.
///
/// - A multiple of the current count splits each segment: every new segment starts where the
///   segment holding its streams was (a stream's new segment is always under its old one).
/// - A divisor merges segments: allowed only when the segments merged into one are at the same
///   position (run the handler until it has caught up, stop it, then merge), since a merged
///   segment has one position.
/// - Any other count is refused ([`BusError::SegmentCount`]): go through a multiple or a
///   divisor. A segment still claimed by a live instance refuses the whole operation
///   ([`BusError::SegmentInUse`]); nothing is changed by a refusal.
///
/// ```
/// use eventful_core::bus::reshape_segments;
/// use eventful_core::progress::{Claim, Segment};
/// use eventful_core::CheckpointStore;
/// use eventful_store_memory::MemoryStore;
///
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let store = MemoryStore::new();
/// let claim = Claim { handler: "xp".into(), segment: Segment::WHOLE, owner: "a".into(), lease: std::time::Duration::from_secs(5) };
/// store.claim(&claim).await?;
/// store.release(&claim).await?;
/// reshape_segments(&store, "xp", 4).await?;
/// assert_eq!(store.segments("xp").await?.len(), 4);
/// # Ok(()) }
/// # tokio::runtime::Runtime::new().unwrap().block_on(demo()).unwrap();
/// ```
pub async fn reshape_segments(
    checkpoints: &impl CheckpointStore,
    handler: &str,
    count: u32,
) -> Result<(), BusError> {
    let count = count.max(1);
    let current = checkpoints.segments(handler).await?;
    if current.is_empty() {
        return Ok(());
    }
    let now = chrono::Utc::now();
    if let Some(held) = current
        .iter()
        .find(|segment| segment.owner.is_some() && !segment.claimable_by("", now))
    {
        return Err(BusError::SegmentInUse {
            handler: handler.to_owned(),
            segment: held.segment,
            owner: held.owner.clone().unwrap_or_default(),
        });
    }
    let from = current.len() as u32;
    let position_of = |index: u32| current[index as usize].position;
    let reshaped: Vec<SegmentProgress> = if count.is_multiple_of(from) {
        Segment::all(count)
            .into_iter()
            .map(|segment| {
                let mut progress = SegmentProgress::new(segment);
                progress.position = position_of(segment.index % from);
                progress
            })
            .collect()
    } else if from.is_multiple_of(count) {
        let mut merged = Vec::with_capacity(count as usize);
        for segment in Segment::all(count) {
            let mut parts = (segment.index..from).step_by(count as usize);
            let first = parts.next().unwrap_or(segment.index);
            if let Some(apart) = parts.find(|&part| position_of(part) != position_of(first)) {
                return Err(BusError::SegmentsApart {
                    handler: handler.to_owned(),
                    first: current[first as usize].segment,
                    first_position: position_of(first),
                    second: current[apart as usize].segment,
                    second_position: position_of(apart),
                });
            }
            let mut progress = SegmentProgress::new(segment);
            progress.position = position_of(first);
            merged.push(progress);
        }
        merged
    } else {
        return Err(BusError::SegmentCount {
            handler: handler.to_owned(),
            from,
            to: count,
        });
    };
    checkpoints.put_segments(handler, reshaped).await?;
    Ok(())
}
