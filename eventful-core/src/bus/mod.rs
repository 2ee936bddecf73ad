//! The event bus: in-process publish/subscribe over the store's log.
//!
//! Publishing is appending: a handler sees an event only once the store has committed it, and
//! each handler follows the log from its own checkpoint, so a handler that failed or a program
//! that restarted resumes where it stopped and loses nothing. Handlers subscribe by Rust type
//! ([`EventBus::subscribe`]) or by stored type name ([`EventBus::subscribe_named`]);
//! projections and policies are handlers too.

mod runner;
mod status;

use std::collections::HashSet;
use std::future::Future;
use std::sync::Arc;

use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use self::status::{BusError, HandlerFailure, HandlerStatus};

use self::runner::Runner;
use crate::checkpoint::{CheckpointStore, DynCheckpointStore};
use crate::envelope::{Position, RecordedEvent};
use crate::event::Event;
use crate::handler::{EventHandler, NamedHandler, TypedHandler};
use crate::names::TypeName;
use crate::policy::{Policy, PolicyHandler};
use crate::projection::{Projection, ProjectionHandler};
use crate::repository::RetryPolicy;
use crate::store::{EventFilter, EventStore};
use crate::upcast::{BoxError, Upcasters};

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
    handlers: Vec<Arc<dyn EventHandler>>,
    invalid: Vec<BusError>,
}

impl<S: EventStore + Clone + 'static> EventBus<S> {
    /// A bus reading `store` and keeping its handlers' checkpoints in `checkpoints`.
    ///
    /// Keep checkpoints where the read models are: in memory for in-memory read models (they
    /// are rebuilt at each start), durable for durable ones.
    pub fn new(store: S, checkpoints: impl CheckpointStore + 'static) -> Self {
        Self {
            store,
            checkpoints: Arc::new(checkpoints),
            upcasters: Upcasters::new(),
            retry: RetryPolicy::default(),
            handlers: Vec::new(),
            invalid: Vec::new(),
        }
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

    /// Starts every handler on its own task, each from its checkpoint.
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
        let mut running = RunningBus {
            store: self.store,
            checkpoints: self.checkpoints,
            upcasters: self.upcasters,
            retry: self.retry,
            subscribers: Vec::new(),
        };
        for handler in self.handlers {
            let subscriber = running.spawn(handler);
            running.subscribers.push(subscriber);
        }
        Ok(running)
    }
}

struct Subscriber {
    handler: Arc<dyn EventHandler>,
    status: watch::Receiver<HandlerStatus>,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

/// The bus with its handlers running.
pub struct RunningBus<S> {
    store: S,
    checkpoints: Arc<dyn DynCheckpointStore>,
    upcasters: Upcasters,
    retry: RetryPolicy,
    subscribers: Vec<Subscriber>,
}

impl<S: EventStore + Clone + 'static> RunningBus<S> {
    fn spawn(&self, handler: Arc<dyn EventHandler>) -> Subscriber {
        let (status_tx, status) = watch::channel(HandlerStatus {
            name: handler.name().to_owned(),
            processed: Position::START,
            failure: None,
        });
        let (stop, stop_rx) = watch::channel(false);
        let runner = Runner {
            handler: handler.clone(),
            store: self.store.clone(),
            checkpoints: self.checkpoints.clone(),
            upcasters: self.upcasters.clone(),
            retry: self.retry,
            status: status_tx,
            stop: stop_rx,
        };
        Subscriber {
            handler,
            status,
            stop,
            task: tokio::spawn(runner.run()),
        }
    }

    /// Waits until every handler has handled every event up to `position`; fails as soon as
    /// one of them has stopped short of it.
    pub async fn wait_until(&self, position: Position) -> Result<(), BusError> {
        for subscriber in &self.subscribers {
            let mut status = subscriber.status.clone();
            loop {
                {
                    let current = status.borrow_and_update();
                    if current.processed >= position {
                        break;
                    }
                    if let Some(failure) = &current.failure {
                        return Err(BusError::HandlerFailed(failure.clone()));
                    }
                }
                if status.changed().await.is_err() {
                    return Err(BusError::Stopped(subscriber.handler.name().to_owned()));
                }
            }
        }
        Ok(())
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

    /// Where each handler is.
    pub fn status(&self) -> Vec<HandlerStatus> {
        self.subscribers
            .iter()
            .map(|subscriber| subscriber.status.borrow().clone())
            .collect()
    }

    /// Restarts handler `name` from its checkpoint (after a failure was fixed, say).
    pub async fn restart(&mut self, name: &str) -> Result<(), BusError> {
        let index = self.stop_one(name).await?;
        let handler = self.subscribers[index].handler.clone();
        self.subscribers[index] = self.spawn(handler);
        Ok(())
    }

    /// Rebuilds handler `name` from the first event: stops it, resets its read model, forgets
    /// its checkpoint and starts it again.
    pub async fn rebuild(&mut self, name: &str) -> Result<(), BusError> {
        let index = self.stop_one(name).await?;
        let handler = self.subscribers[index].handler.clone();
        handler.reset().await.map_err(|source| BusError::Reset {
            handler: name.to_owned(),
            source,
        })?;
        self.checkpoints.delete_checkpoint(name).await?;
        self.subscribers[index] = self.spawn(handler);
        Ok(())
    }

    async fn stop_one(&mut self, name: &str) -> Result<usize, BusError> {
        let index = self
            .subscribers
            .iter()
            .position(|subscriber| subscriber.handler.name() == name)
            .ok_or_else(|| BusError::UnknownHandler(name.to_owned()))?;
        let subscriber = &mut self.subscribers[index];
        subscriber.stop.send_replace(true);
        // A panicked handler task has nothing left to stop.
        let _ = (&mut subscriber.task).await;
        Ok(index)
    }

    /// Stops every handler after the event it is on, and waits for them.
    pub async fn shutdown(self) {
        for subscriber in &self.subscribers {
            subscriber.stop.send_replace(true);
        }
        for subscriber in self.subscribers {
            // A panicked handler task has nothing left to stop.
            let _ = subscriber.task.await;
        }
    }
}
