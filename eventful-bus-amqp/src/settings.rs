//! [`AmqpSettings`]: where the broker is, which exchange the services share, and how to wait
//! between reconnections ([`Backoff`]).

use std::time::Duration;

/// The topic exchange services publish to, unless told otherwise.
pub const DEFAULT_EXCHANGE: &str = "eventful";

/// How to reach RabbitMQ and which exchange to use; the same for a relay and a consumer.
///
/// ```
/// use eventful_bus_amqp::AmqpSettings;
///
/// let settings = AmqpSettings::new("amqp://guest:guest@127.0.0.1:5672/%2f")
///     .with_exchange("game")
///     .with_connection_name("player_service");
/// assert_eq!(settings.exchange(), "game");
/// assert_eq!(settings.dead_letter_exchange(), "game.dead-letter");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AmqpSettings {
    pub(crate) uri: String,
    pub(crate) exchange: String,
    pub(crate) connection_name: Option<String>,
    pub(crate) reconnect: Backoff,
}

impl AmqpSettings {
    /// The broker at `uri` (`amqp://user:password@host:port/vhost`, the vhost URL-encoded:
    /// `%2f` is `/`), exchange [`DEFAULT_EXCHANGE`].
    pub fn new(uri: impl Into<String>) -> Self {
        Self {
            uri: uri.into(),
            exchange: DEFAULT_EXCHANGE.to_owned(),
            connection_name: None,
            reconnect: Backoff::default(),
        }
    }

    /// Publishes to and binds on `exchange` (a durable topic exchange, declared if absent).
    pub fn with_exchange(mut self, exchange: impl Into<String>) -> Self {
        self.exchange = exchange.into();
        self
    }

    /// Names the connections in the broker's management UI and `rabbitmqctl
    /// list_connections` (and in messages' `app_id`).
    pub fn with_connection_name(mut self, name: impl Into<String>) -> Self {
        self.connection_name = Some(name.into());
        self
    }

    /// Sets how long to wait between attempts to reconnect.
    pub fn with_reconnect(mut self, reconnect: Backoff) -> Self {
        self.reconnect = reconnect;
        self
    }

    /// The topic exchange.
    pub fn exchange(&self) -> &str {
        &self.exchange
    }

    /// The direct exchange dead letters go to: the exchange's name and `.dead-letter`.
    pub fn dead_letter_exchange(&self) -> String {
        format!("{}.dead-letter", self.exchange)
    }
}

/// Waits that double from `first` to at most `max`, each randomized by up to a quarter so
/// that instances cut off together do not come back in step.
///
/// ```
/// use std::time::Duration;
/// use eventful_bus_amqp::Backoff;
///
/// let backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(5));
/// assert!(backoff.delay(1) <= Duration::from_millis(125));
/// assert!(backoff.delay(30) <= Duration::from_millis(6_250));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The first wait.
    pub first: Duration,
    /// The longest wait.
    pub max: Duration,
}

impl Default for Backoff {
    /// 100 ms, doubling to 5 s.
    fn default() -> Self {
        Self::new(Duration::from_millis(100), Duration::from_secs(5))
    }
}

impl Backoff {
    /// Waits from `first` to `max`.
    pub const fn new(first: Duration, max: Duration) -> Self {
        Self { first, max }
    }

    /// The wait before attempt `attempt` (from 1) after a failure.
    pub fn delay(&self, attempt: u32) -> Duration {
        let doubled = self
            .first
            .saturating_mul(1 << attempt.saturating_sub(1).min(20));
        let base = doubled.min(self.max);
        base + base.mul_f64(fastrand::f64() / 4.0)
    }
}
