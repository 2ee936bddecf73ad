//! What an operator does to a running handler in this instance: pause and resume it, and
//! list, replay and dismiss the events it parked. Restarts and rebuilds, which replace a
//! handler's tasks, stay beside the spawning, in `running`.

use std::sync::Arc;

use uuid::Uuid;

use super::running::RunningBus;
use super::status::{BusError, HandlerFailure};
use crate::checkpoint::CheckpointStore;
use crate::progress::ParkedEvent;
use crate::store::{EventFilter, EventStore, RecordLocation, StoreError};

impl<S: EventStore + Clone + 'static> RunningBus<S> {
    /// Pauses handler `name` in this instance: each of its segments here stops after the batch
    /// it is on (its position saved) and reads nothing until [`RunningBus::resume`]. A durable
    /// segment keeps its claim meanwhile (renewed as usual), so no other instance takes it
    /// over; segments that other instances hold go on there (pause it in each instance to
    /// pause it everywhere). Returns once every segment here has paused (or has ended), or
    /// as soon as the handler is resumed meanwhile: a segment stuck inside a batch (a store
    /// that does not answer) keeps this waiting, so bound it with a timeout where a caller
    /// must answer (the flag stays set, and the segment pauses when it can).
    /// [`RunningBus::restart`] and [`RunningBus::rebuild`] start it again unpaused.
    ///
    /// ```
    /// use eventful_core::{EventBus, RecordedEvent, BoxError};
    /// # use eventful_store_memory::MemoryStore;
    ///
    /// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// let store = MemoryStore::new();
    /// let mut bus = EventBus::new(store.clone(), store.clone());
    /// bus.subscribe_named(["game_completed"], "mailer", |_: RecordedEvent| async { Ok::<(), BoxError>(()) });
    /// let running = bus.start()?;
    /// running.pause("mailer").await?;
    /// assert!(running.status().await?[0].paused);
    /// running.resume("mailer")?;
    /// running.wait_until_caught_up().await?;
    /// # running.shutdown().await;
    /// # Ok(()) }
    /// # tokio::runtime::Runtime::new().unwrap().block_on(demo()).unwrap();
    /// ```
    pub async fn pause(&self, name: &str) -> Result<(), BusError> {
        let subscriber = self.subscriber(name)?;
        subscriber.paused.send_replace(true);
        let mut flag = subscriber.paused.subscribe();
        for runner in &subscriber.segments {
            let mut state = runner.state.clone();
            tokio::select! {
                // A task that is gone (it panicked) has nothing to pause.
                _ = state.wait_for(|state| state.paused || state.ended) => {}
                // Resumed before this segment saw the pause (it was inside a batch, or
                // waiting for a store that does not answer): nothing is left to wait for.
                _ = flag.wait_for(|paused| !*paused) => return Ok(()),
            }
        }
        Ok(())
    }

    /// Resumes handler `name` in this instance after [`RunningBus::pause`]: its segments go
    /// on from where they paused. Resuming a handler that is not paused does nothing.
    pub fn resume(&self, name: &str) -> Result<(), BusError> {
        self.subscriber(name)?.paused.send_replace(false);
        Ok(())
    }

    /// The events handler `name` parked, in log order.
    pub async fn parked(&self, name: &str) -> Result<Vec<ParkedEvent>, BusError> {
        self.subscriber(name)?;
        Ok(self.checkpoints.parked(name).await?)
    }

    /// Hands a parked event to handler `name` once more (once the cause was fixed): handled,
    /// it is no longer parked; failed again, it stays parked with the new error and attempt
    /// count, and the failure is returned.
    pub async fn replay_parked(&self, name: &str, event_id: Uuid) -> Result<(), BusError> {
        let subscriber = self.subscriber(name)?;
        let mut parked = self.find_parked(name, event_id).await?;
        let batch = self
            .store
            .read_all(parked.position, &EventFilter::all(), 1)
            .await?;
        let event = batch
            .events
            .into_iter()
            .find(|event| event.event_id == event_id)
            .ok_or_else(|| StoreError::Corrupt {
                location: RecordLocation::Position(parked.position),
                source: format!("parked event {event_id} is not stored there").into(),
            })?;
        match subscriber.handler.handle(&event, &self.upcasters).await {
            Ok(()) => {
                self.checkpoints.unpark(name, event_id).await?;
                Ok(())
            }
            Err(error) => {
                parked.attempts += 1;
                parked.error = error.to_string();
                parked.parked_at = chrono::Utc::now();
                self.checkpoints.park(parked.clone()).await?;
                Err(BusError::HandlerFailed(Arc::new(HandlerFailure {
                    handler: name.to_owned(),
                    stream_id: event.stream_id,
                    version: event.version,
                    position: event.position,
                    event_type: event.event_type,
                    attempts: parked.attempts,
                    error,
                })))
            }
        }
    }

    /// Forgets a parked event without handling it.
    pub async fn dismiss_parked(&self, name: &str, event_id: Uuid) -> Result<(), BusError> {
        self.subscriber(name)?;
        if self.checkpoints.unpark(name, event_id).await? {
            Ok(())
        } else {
            Err(BusError::NotParked {
                handler: name.to_owned(),
                event_id,
            })
        }
    }

    async fn find_parked(&self, name: &str, event_id: Uuid) -> Result<ParkedEvent, BusError> {
        self.checkpoints
            .parked(name)
            .await?
            .into_iter()
            .find(|parked| parked.event_id == event_id)
            .ok_or_else(|| BusError::NotParked {
                handler: name.to_owned(),
                event_id,
            })
    }
}
