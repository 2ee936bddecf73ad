//! Waiting on a running bus: until every handler has reached a position, the head of the log
//! now, or the end of a cascade of appends.

use std::time::Duration;

use super::running::{RunningBus, Subscriber};
use super::settings::Progress;
use super::status::BusError;
use crate::checkpoint::CheckpointStore;
use crate::envelope::Position;
use crate::store::EventStore;

/// How often a wait on the bus looks at the progress of segments other instances hold.
const PROGRESS_POLL: Duration = Duration::from_millis(10);

impl<S: EventStore + Clone + 'static> RunningBus<S> {
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
}
