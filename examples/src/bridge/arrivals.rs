//! [`Arrivals`]: the match driver's waits when the services are apart. What a stand-in
//! published must first be relayed from the stand-ins' own store, cross the broker and be
//! recorded in the game-session service's store; then that service's bus settles.

use std::time::Duration;

use eventful_core::{EventStore, RunningBus};
use eventful_store_memory::MemoryStore;

use crate::error::Error;
use crate::simulation::{Settle, Step};

/// How long a published event may take to reach the session service before the driver
/// gives up.
const PATIENCE: Duration = Duration::from_secs(60);

/// How often the driver looks for it.
const LOOK_EVERY: Duration = Duration::from_millis(5);

/// The driver's view: the stand-ins' bus (whose relay publishes), the session service's store
/// and bus.
pub struct Arrivals<'a, S> {
    /// The stand-ins' bus, with their relay.
    pub stand_ins: &'a RunningBus<MemoryStore>,
    /// The game-session service's store.
    pub sessions_store: S,
    /// The game-session service's bus.
    pub sessions: &'a RunningBus<S>,
}

impl<S: EventStore + Clone + 'static> Settle for Arrivals<'_, S> {
    async fn settle(&self, step: Step<'_>) -> Result<(), Error> {
        if let Step::Published(published) = step
            && let Some(&event_id) = published.event_ids.last()
        {
            // Relayed: the broker confirmed it.
            self.stand_ins.wait_until_caught_up().await?;
            let arrived = tokio::time::timeout(PATIENCE, async {
                loop {
                    match self
                        .sessions_store
                        .find_event(&published.stream_id, event_id)
                        .await
                    {
                        Ok(Some(_)) => return Ok(()),
                        Ok(None) => tokio::time::sleep(LOOK_EVERY).await,
                        Err(error) => return Err(Error::Store(error)),
                    }
                }
            })
            .await;
            match arrived {
                Ok(result) => result?,
                Err(_) => {
                    return Err(Error::NotArrived {
                        stream_id: published.stream_id.clone(),
                        event_id,
                    });
                }
            }
        }
        self.sessions.wait_until_settled().await?;
        Ok(())
    }
}
