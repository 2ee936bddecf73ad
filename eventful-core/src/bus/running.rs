//! [`RunningBus`]: the handlers' tasks, one per segment, and their lifecycle: spawned at
//! start, replaced by a restart or a rebuild, stopped by a stop or a shutdown. Waiting on
//! them, their status and what an operator does to them live in the sibling modules.

use std::sync::Arc;
use std::sync::atomic::AtomicU32;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::runner::{Runner, SegmentState};
use super::settings::{HandlerSettings, Progress};
use super::status::BusError;
use crate::checkpoint::{CheckpointStore, DynCheckpointStore};
use crate::handler::EventHandler;
use crate::progress::Segment;
use crate::repository::RetryPolicy;
use crate::store::EventStore;
use crate::telemetry::handles::SegmentMetrics;
use crate::upcast::Upcasters;

pub(super) struct Subscriber {
    pub(super) handler: Arc<dyn EventHandler>,
    pub(super) settings: HandlerSettings,
    pub(super) segments: Vec<SegmentRunner>,
    /// True while the handler is paused in this instance.
    pub(super) paused: watch::Sender<bool>,
}

pub(super) struct SegmentRunner {
    pub(super) segment: Segment,
    pub(super) state: watch::Receiver<SegmentState>,
    pub(super) stop: watch::Sender<bool>,
    pub(super) task: JoinHandle<()>,
}

/// The bus with its handlers running.
pub struct RunningBus<S> {
    pub(super) store: S,
    pub(super) checkpoints: Arc<dyn DynCheckpointStore>,
    pub(super) upcasters: Upcasters,
    pub(super) retry: RetryPolicy,
    pub(super) instance: String,
    pub(super) lease: Duration,
    pub(super) subscribers: Vec<Subscriber>,
}

impl<S: EventStore + Clone + 'static> RunningBus<S> {
    pub(super) fn spawn(
        &self,
        handler: Arc<dyn EventHandler>,
        settings: HandlerSettings,
    ) -> Subscriber {
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

    /// The upcasters the bus decodes events with
    /// ([`EventBus::with_upcasters`](super::EventBus::with_upcasters)): for what reads the
    /// same log beside it (an admin API's rebuilds and reads).
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

    pub(super) fn subscriber(&self, name: &str) -> Result<&Subscriber, BusError> {
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
