//! [`BrokerHealth`]: what a relay's or a consumer's link to the broker is doing now, for a
//! readiness probe. The relay and the consumer update it from their own reconnect loops, so it
//! says what they see: connected, reconnecting (since when, and the last error), or ended.
//!
//! With the `admin` feature it is an [`eventful_admin::HealthCheck`], to give to
//! `Admin::with_health_check`.

use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio::sync::watch;

/// What one link to the broker is doing, as [`BrokerHealth::status`] tells it.
///
/// ```
/// use eventful_bus_amqp::LinkStatus;
///
/// let status = LinkStatus::Reconnecting {
///     since: chrono::DateTime::UNIX_EPOCH,
///     reason: "the broker stopped delivering from queue `players`".to_owned(),
/// };
/// assert!(!status.is_connected());
/// assert_eq!(
///     status.to_string(),
///     "reconnecting since 1970-01-01T00:00:00+00:00: the broker stopped delivering from queue `players`"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LinkStatus {
    /// The connection is open, since `since` (the start, or the last reconnection).
    Connected {
        /// When it was opened.
        since: DateTime<Utc>,
    },
    /// The connection was lost at `since` and is being opened again, with backoff.
    Reconnecting {
        /// When it was lost.
        since: DateTime<Utc>,
        /// The last error: what cut the connection, then why each attempt to open it again
        /// failed.
        reason: String,
    },
    /// It will not connect again: the consumer was shut down (or panicked), the relay was
    /// closed or dropped.
    Ended {
        /// Why.
        reason: String,
    },
}

impl LinkStatus {
    /// Whether the connection is open.
    ///
    /// ```
    /// use eventful_bus_amqp::LinkStatus;
    ///
    /// assert!(LinkStatus::Connected { since: chrono::Utc::now() }.is_connected());
    /// assert!(!LinkStatus::Ended { reason: "shut down".to_owned() }.is_connected());
    /// ```
    pub fn is_connected(&self) -> bool {
        matches!(self, Self::Connected { .. })
    }
}

impl fmt::Display for LinkStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Connected { since } => write!(f, "connected since {}", since.to_rfc3339()),
            Self::Reconnecting { since, reason } => {
                write!(f, "reconnecting since {}: {reason}", since.to_rfc3339())
            }
            Self::Ended { reason } => write!(f, "ended: {reason}"),
        }
    }
}

/// Why [`BrokerHealth::check`] fails: the link is not connected.
///
/// ```
/// use eventful_bus_amqp::{BrokerDown, LinkStatus};
///
/// let down = BrokerDown {
///     name: "amqp relay amqp_relay".to_owned(),
///     status: LinkStatus::Ended { reason: "the relay was closed".to_owned() },
/// };
/// assert_eq!(down.to_string(), "amqp relay amqp_relay: ended: the relay was closed");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{name}: {status}")]
pub struct BrokerDown {
    /// The link's name ([`BrokerHealth::name`]).
    pub name: String,
    /// What it is doing instead of being connected.
    pub status: LinkStatus,
}

/// A cheap, cloneable view of one link to the broker: a relay's
/// ([`Relay::health`](crate::Relay::health)) or a consumer's
/// ([`RunningConsumer::health`](crate::RunningConsumer::health)). Reading it asks nothing of
/// the broker: it tells what the link's own reconnect loop last saw.
///
/// ```no_run
/// use eventful_bus_amqp::{AmqpSettings, Consumer, LinkStatus};
/// use eventful_core::{BoxError, RecordedEvent};
///
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let mut consumer = Consumer::new(AmqpSettings::new("amqp://guest:guest@127.0.0.1:5672/%2f"), "players");
/// consumer.subscribe_named(["game_completed"], "xp", |_: RecordedEvent| async { Ok::<(), BoxError>(()) });
/// let running = consumer.start().await?;
/// let health = running.health();
/// assert_eq!(health.name(), "amqp consumer players");
/// match health.status() {
///     LinkStatus::Connected { since } => println!("consuming since {since}"),
///     LinkStatus::Reconnecting { since, reason } => eprintln!("down since {since}: {reason}"),
///     other => eprintln!("{other}"),
/// }
/// health.check()?; // Err(BrokerDown) unless connected
/// running.shutdown().await;
/// assert!(matches!(health.status(), LinkStatus::Ended { .. }));
/// # Ok(()) }
/// ```
///
/// With the `admin` feature, it is an `eventful_admin::HealthCheck`: readiness fails while
/// the link is not connected, with [`BrokerDown`]'s text as the detail.
///
/// ```no_run
/// # #[cfg(feature = "admin")]
/// # fn demo(
/// #     relay: eventful_bus_amqp::Relay,
/// #     consuming: eventful_bus_amqp::RunningConsumer,
/// #     store: eventful_store_memory::MemoryStore,
/// #     bus: std::sync::Arc<eventful_core::RunningBus<eventful_store_memory::MemoryStore>>,
/// # ) {
/// use eventful_admin::Admin;
///
/// let admin = Admin::new(store, bus)
///     .with_health_check(relay.health())
///     .with_health_check(consuming.health());
/// let probes = admin.health_router(); // GET /health/ready: 503 while either link is down
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct BrokerHealth {
    name: Arc<str>,
    status: watch::Receiver<LinkStatus>,
}

impl BrokerHealth {
    /// The link's name: `amqp relay <relay name>` or `amqp consumer <queue>`, the name of its
    /// line in a readiness answer.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// What the link is doing now. A link whose relay or consumer is gone is
    /// [`LinkStatus::Ended`].
    pub fn status(&self) -> LinkStatus {
        let status = self.status.borrow().clone();
        // The sender lives as long as the relay or the consumer: gone, nothing reconnects.
        if self.status.has_changed().is_err() && !matches!(status, LinkStatus::Ended { .. }) {
            return LinkStatus::Ended {
                reason: "dropped".to_owned(),
            };
        }
        status
    }

    /// `Ok` while the link is connected; [`BrokerDown`], with the status, otherwise.
    pub fn check(&self) -> Result<(), BrokerDown> {
        match self.status() {
            LinkStatus::Connected { .. } => Ok(()),
            status => Err(BrokerDown {
                name: self.name.to_string(),
                status,
            }),
        }
    }

    /// Resolves once the link ended (or its owner is gone).
    pub(crate) async fn ended(&mut self) {
        // An error is the owner gone: ended as well.
        let _ = self
            .status
            .wait_for(|status| matches!(status, LinkStatus::Ended { .. }))
            .await;
    }
}

#[cfg(feature = "admin")]
#[cfg_attr(docsrs, doc(cfg(feature = "admin")))]
#[async_trait::async_trait]
impl eventful_admin::HealthCheck for BrokerHealth {
    fn name(&self) -> &str {
        BrokerHealth::name(self)
    }

    async fn check(&self) -> Result<(), eventful_core::BoxError> {
        Ok(BrokerHealth::check(self)?)
    }
}

/// The writing end, held by the relay or the consumer and moved by its reconnect loop.
#[derive(Debug)]
pub(crate) struct LinkState {
    name: Arc<str>,
    status: watch::Sender<LinkStatus>,
}

impl LinkState {
    /// A link named `name`, connected now.
    pub(crate) fn connected_now(name: String) -> Self {
        let (status, _) = watch::channel(LinkStatus::Connected { since: Utc::now() });
        Self {
            name: name.into(),
            status,
        }
    }

    /// A view of it.
    pub(crate) fn health(&self) -> BrokerHealth {
        BrokerHealth {
            name: self.name.clone(),
            status: self.status.subscribe(),
        }
    }

    /// The connection is open again.
    pub(crate) fn connected(&self) {
        self.status.send_if_modified(|status| match status {
            LinkStatus::Ended { .. } => false,
            _ => {
                *status = LinkStatus::Connected { since: Utc::now() };
                true
            }
        });
    }

    /// The connection was lost, or opening it again failed, because of `reason`: reconnecting
    /// since the first of these, with the last reason.
    pub(crate) fn down(&self, reason: impl fmt::Display) {
        let reason = reason.to_string();
        self.status.send_if_modified(|status| {
            let since = match status {
                LinkStatus::Connected { .. } => Utc::now(),
                LinkStatus::Reconnecting { since, .. } => *since,
                LinkStatus::Ended { .. } => return false,
            };
            *status = LinkStatus::Reconnecting { since, reason };
            true
        });
    }

    /// It will not connect again, because of `reason` (the first one given stays).
    pub(crate) fn ended(&self, reason: impl fmt::Display) {
        self.status.send_if_modified(|status| match status {
            LinkStatus::Ended { .. } => false,
            _ => {
                *status = LinkStatus::Ended {
                    reason: reason.to_string(),
                };
                true
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn down_keeps_the_first_time_and_the_last_reason_and_ended_is_final() {
        let state = LinkState::connected_now("amqp consumer players".to_owned());
        let health = state.health();
        assert!(health.check().is_ok());
        state.down("connection reset");
        let LinkStatus::Reconnecting { since: lost, .. } = health.status() else {
            panic!("not reconnecting: {}", health.status());
        };
        state.down("connection refused");
        assert_eq!(
            health.status(),
            LinkStatus::Reconnecting {
                since: lost,
                reason: "connection refused".to_owned()
            }
        );
        let down = health.check().expect_err("down");
        assert_eq!(down.name, "amqp consumer players");
        state.connected();
        assert!(health.status().is_connected());
        state.ended("shut down");
        state.connected();
        state.down("too late");
        state.ended("again");
        assert_eq!(
            health.status(),
            LinkStatus::Ended {
                reason: "shut down".to_owned()
            }
        );
    }

    #[test]
    fn a_link_whose_owner_is_gone_has_ended() {
        let state = LinkState::connected_now("amqp relay amqp_relay".to_owned());
        let health = state.health();
        drop(state);
        assert_eq!(
            health.status(),
            LinkStatus::Ended {
                reason: "dropped".to_owned()
            }
        );
    }
}
