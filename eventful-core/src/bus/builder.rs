//! [`EventBus`]: the handlers before they start, on one store and one checkpoint store, with
//! the bus's settings (instance id, lease, upcasters, retries) and each handler's own; starting
//! checks them and spawns every handler.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use uuid::Uuid;

use super::running::RunningBus;
use super::settings::HandlerSettings;
use super::status::BusError;
use crate::checkpoint::{CheckpointStore, DynCheckpointStore};
use crate::envelope::RecordedEvent;
use crate::event::Event;
use crate::handler::{EventHandler, NamedHandler, TypedHandler};
use crate::policy::{Policy, PolicyHandler};
use crate::projection::{Projection, ProjectionHandler};
use crate::repository::RetryPolicy;
use crate::store::{EventFilter, EventStore};
use crate::upcast::{BoxError, Upcasters};

/// How long a claim on a segment holds unrenewed, by default: an instance that dies is
/// replaced within this time.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(5);

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
        let (handler, invalid) = NamedHandler::parsed(name, event_types, f);
        self.invalid.extend(
            invalid
                .into_iter()
                .map(|source| BusError::InvalidEventType {
                    handler: handler.name().to_owned(),
                    source,
                }),
        );
        self.handler(handler)
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
