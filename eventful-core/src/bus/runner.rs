//! One handler's task: resume from its checkpoint, read the log in batches, handle each
//! event with retries, save the checkpoint after each batch, then wait for appends.

use std::sync::Arc;

use tokio::sync::watch;

use super::status::{HandlerFailure, HandlerStatus};
use crate::checkpoint::{CheckpointStore, DynCheckpointStore};
use crate::envelope::Position;
use crate::handler::EventHandler;
use crate::repository::RetryPolicy;
use crate::store::EventStore;
use crate::upcast::Upcasters;

/// How many events the runner reads at a time.
const BATCH: usize = 512;

pub(crate) struct Runner<S> {
    pub(crate) handler: Arc<dyn EventHandler>,
    pub(crate) store: S,
    pub(crate) checkpoints: Arc<dyn DynCheckpointStore>,
    pub(crate) upcasters: Upcasters,
    pub(crate) retry: RetryPolicy,
    pub(crate) status: watch::Sender<HandlerStatus>,
    pub(crate) stop: watch::Receiver<bool>,
}

/// Resolves when `stop` turns true (or its sender is gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    // An error means the bus was dropped: stop as well.
    let _ = stop.wait_for(|stop| *stop).await;
}

impl<S: EventStore> Runner<S> {
    pub(crate) async fn run(mut self) {
        let name = self.handler.name().to_owned();
        let Some(mut next) = self.resume_point(&name).await else {
            return;
        };
        let filter = self.handler.filter();
        let mut saved = Position::new(next.get().saturating_sub(1));
        let mut store_failures = 0;
        loop {
            if *self.stop.borrow() {
                return;
            }
            let batch = tokio::select! {
                batch = self.store.read_all(next, &filter, BATCH) => batch,
                () = stopped(&mut self.stop) => return,
            };
            let batch = match batch {
                Ok(batch) => {
                    store_failures = 0;
                    batch
                }
                Err(error) => {
                    store_failures += 1;
                    tracing::warn!(handler = %name, %error, "cannot read the log; retrying");
                    if !self.pause(store_failures).await {
                        return;
                    }
                    continue;
                }
            };
            for event in &batch.events {
                if let Err(failure) = self.handle(&name, event).await {
                    self.checkpoint(&name, &mut saved, Position::new(event.position.get() - 1))
                        .await;
                    self.status.send_modify(|status| {
                        status.processed = saved;
                        status.failure = Some(Arc::new(failure));
                    });
                    return;
                }
                next = event.position.next();
            }
            next = next.max(batch.next);
            let processed = Position::new(next.get().saturating_sub(1));
            self.checkpoint(&name, &mut saved, processed).await;
            self.status
                .send_modify(|status| status.processed = processed);
            if batch.end_of_log {
                tokio::select! {
                    () = self.store.wait_for_append(processed) => {}
                    () = stopped(&mut self.stop) => return,
                }
            }
        }
    }

    /// Where to start: after the saved checkpoint. Retries a failing checkpoint store until
    /// it answers or the bus stops.
    async fn resume_point(&mut self, name: &str) -> Option<Position> {
        let mut failures = 0;
        loop {
            match self.checkpoints.load_checkpoint(name).await {
                Ok(saved) => {
                    let processed = saved.unwrap_or(Position::START);
                    self.status
                        .send_modify(|status| status.processed = processed);
                    return Some(processed.next());
                }
                Err(error) => {
                    failures += 1;
                    tracing::warn!(handler = %name, %error, "cannot load the checkpoint; retrying");
                    if !self.pause(failures).await {
                        return None;
                    }
                }
            }
        }
    }

    /// Handles one event, retrying as the policy allows.
    async fn handle(
        &mut self,
        name: &str,
        event: &crate::envelope::RecordedEvent,
    ) -> Result<(), HandlerFailure> {
        let mut attempt = 1;
        loop {
            match self.handler.handle(event, &self.upcasters).await {
                Ok(()) => return Ok(()),
                Err(error) if attempt < self.retry.max_attempts => {
                    tracing::warn!(
                        handler = %name, stream_id = %event.stream_id, version = %event.version,
                        event_type = %event.event_type, attempt, %error,
                        "handler failed; retrying"
                    );
                    if !self.pause(attempt).await {
                        return Err(failure(name, event, attempt, error));
                    }
                    attempt += 1;
                }
                Err(error) => {
                    tracing::error!(
                        handler = %name, stream_id = %event.stream_id, version = %event.version,
                        position = %event.position, event_type = %event.event_type, attempt,
                        %error, "handler failed; it stops before this event"
                    );
                    return Err(failure(name, event, attempt, error));
                }
            }
        }
    }

    /// Saves `processed` as the checkpoint if it moved. A failed save is logged and tried
    /// again after the next batch: the events since stay unacknowledged, never lost.
    async fn checkpoint(&self, name: &str, saved: &mut Position, processed: Position) {
        if processed == *saved {
            return;
        }
        match self.checkpoints.save_checkpoint(name, processed).await {
            Ok(()) => *saved = processed,
            Err(error) => {
                tracing::warn!(handler = %name, %error, position = %processed, "cannot save the checkpoint");
            }
        }
    }

    /// Waits before retry number `retry`; false if the bus stopped meanwhile.
    async fn pause(&mut self, retry: u32) -> bool {
        tokio::select! {
            () = tokio::time::sleep(self.retry.delay_before(retry)) => true,
            () = stopped(&mut self.stop) => false,
        }
    }
}

fn failure(
    name: &str,
    event: &crate::envelope::RecordedEvent,
    attempts: u32,
    error: crate::upcast::BoxError,
) -> HandlerFailure {
    HandlerFailure {
        handler: name.to_owned(),
        stream_id: event.stream_id.clone(),
        version: event.version,
        position: event.position,
        event_type: event.event_type.clone(),
        attempts,
        error,
    }
}
