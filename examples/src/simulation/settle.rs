//! [`Settle`]: how the match driver waits between the steps of a match until what it just did
//! has been handled. In one process that is the bus settling; with the services in processes
//! of their own, the event must first cross the broker (`crate::bridge`).

use std::future::Future;

use eventful_core::{EventStore, RunningBus};

use crate::error::Error;
use crate::ids::SessionId;
use crate::publish::Published;

/// A step of a match the driver waits on.
#[derive(Debug, Clone, Copy)]
pub enum Step<'a> {
    /// A stand-in service (matchmaking, the gateway) published these events.
    Published(&'a Published),
    /// The game server ended this session.
    Ended(SessionId),
}

/// Waits until a step of a match and everything it caused have been handled.
pub trait Settle: Sync {
    /// Returns once `step` has been handled, and what it caused.
    fn settle(&self, step: Step<'_>) -> impl Future<Output = Result<(), Error>> + Send;
}

/// One process, one bus: the step is handled once the log stops growing.
impl<S: EventStore + Clone + 'static> Settle for RunningBus<S> {
    async fn settle(&self, _: Step<'_>) -> Result<(), Error> {
        self.wait_until_settled().await?;
        Ok(())
    }
}
