//! The spans eventful opens, all at `DEBUG` so that `INFO` stays quiet in production: turn
//! them on with a filter such as `eventful=debug` (every target below starts with
//! `eventful::`). A disabled span costs a comparison; its fields are not even computed.
//!
//! | span | target | fields |
//! | --- | --- | --- |
//! | `command` | `eventful::command` | `aggregate`, `stream`, `correlation_id`, `causation_id`, `expected` (of the last attempt), `version` (after it), `events`, `attempts`, `outcome` (`ok`, `rejected`, `conflict`, `failed`) |
//! | `append` | `eventful::append` | `stream`, `aggregate`, `correlation_id`, `causation_id`, `expected`, `events`, `first_position`, `version`, `outcome` (`ok`, `already_stored`, `conflict`, `duplicate`, `failed`) |
//! | `handler_batch` | `eventful::handler` | `handler`, `segment`, `from` (first position read), `to` (position handled through), `events`, `outcome` (`ok`, `stopped`, `failed`, `lost_claim`) |
//! | `handle_event` | `eventful::handler` | `handler`, `event_id`, `event_type`, `stream`, `version`, `position`, `correlation_id`, `causation_id`, `outcome` (`ok`, `failed`) |
//! | `delivery` | `eventful::delivery` | `kind` (`relay`, `gateway`), `destination`, `event_id`, `event_type`, `stream`, `position`, `correlation_id`, `causation_id`, `outcome` (`delivered`, `failed`, `dropped`) |
//!
//! A policy's commands run inside the `handle_event` span of the event that caused them, so
//! one player's journey reads as a tree: command → append … handle_event → command → append.
//! Across services (a relay, a gateway), follow the `correlation_id` field.

use std::sync::Arc;

use metrics::{Counter, counter};
use tracing::Span;
use tracing::field::Empty;

use super::DELIVERIES_TOTAL;
use crate::envelope::RecordedEvent;
use crate::names::TypeName;
use crate::progress::Segment;

/// Records `value` as `field` of `span` when the span is enabled. `Span::record` looks the
/// field up by name even on a disabled span, which a command, recording ten fields, cannot
/// afford.
pub(crate) fn record(span: &Span, field: &str, value: impl tracing::Value) {
    if !span.is_disabled() {
        span.record(field, value);
    }
}

/// The `command` span of a command to `aggregate`.
pub(crate) fn command(
    aggregate: &TypeName,
    correlation_id: Option<uuid::Uuid>,
    causation_id: Option<uuid::Uuid>,
) -> Span {
    tracing::debug_span!(
        target: "eventful::command",
        "command",
        aggregate = %aggregate,
        stream = Empty,
        correlation_id = correlation_id.map(tracing::field::display),
        causation_id = causation_id.map(tracing::field::display),
        expected = Empty,
        version = Empty,
        events = Empty,
        attempts = Empty,
        outcome = Empty,
    )
}

/// The `append` span of an append of `events` events, under `context`'s correlation and
/// causation ids (an `append_events` outside any command carries them too).
pub(crate) fn append(
    stream: &crate::names::StreamId,
    aggregate: &TypeName,
    expected: crate::envelope::ExpectedVersion,
    events: usize,
    context: &crate::repository::CommandContext,
) -> Span {
    tracing::debug_span!(
        target: "eventful::append",
        "append",
        stream = %stream,
        aggregate = %aggregate,
        correlation_id = context.metadata.correlation_id.map(tracing::field::display),
        causation_id = context.metadata.causation_id.map(tracing::field::display),
        expected = %expected,
        events,
        first_position = Empty,
        version = Empty,
        outcome = Empty,
    )
}

/// The `handler_batch` span of a batch read from `from`.
pub(crate) fn handler_batch(
    handler: &str,
    segment: Segment,
    from: crate::envelope::Position,
) -> Span {
    tracing::debug_span!(
        target: "eventful::handler",
        "handler_batch",
        handler,
        segment = %segment,
        from = %from,
        to = Empty,
        events = Empty,
        outcome = Empty,
    )
}

/// The `handle_event` span of one event handed to `handler`.
pub(crate) fn handle_event(handler: &str, event: &RecordedEvent) -> Span {
    tracing::debug_span!(
        target: "eventful::handler",
        "handle_event",
        handler,
        event_id = %event.event_id,
        event_type = %event.event_type,
        stream = %event.stream_id,
        version = %event.version,
        position = %event.position,
        correlation_id = event.metadata.correlation_id.map(tracing::field::display),
        causation_id = event.metadata.causation_id.map(tracing::field::display),
        outcome = Empty,
    )
}

/// Who delivers an event outside the process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DeliveryKind {
    /// A relay publishing committed events to a broker (`eventful-bus-amqp`).
    Relay,
    /// A gateway pushing events to game clients (`eventful-gateway`).
    Gateway,
}

impl DeliveryKind {
    /// The label value: `relay` or `gateway`.
    ///
    /// ```
    /// assert_eq!(eventful_core::telemetry::DeliveryKind::Relay.as_str(), "relay");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Relay => "relay",
            Self::Gateway => "gateway",
        }
    }
}

/// How a delivery ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DeliveryOutcome {
    /// The broker confirmed it, or the client's connection took it.
    Delivered,
    /// It could not be delivered (it will be tried again, or the caller reports it).
    Failed,
    /// It was given up on on purpose: a slow client's buffer was full, a client left.
    Dropped,
}

impl DeliveryOutcome {
    /// The label value: `delivered`, `failed` or `dropped`.
    ///
    /// ```
    /// use eventful_core::telemetry::DeliveryOutcome;
    /// assert_eq!(DeliveryOutcome::Dropped.as_str(), "dropped");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Delivered => "delivered",
            Self::Failed => "failed",
            Self::Dropped => "dropped",
        }
    }
}

/// The span and the count of one event delivered outside the process, by a relay or a
/// gateway: the convention every delivery follows, so that a player's journey can be followed
/// from the command to the client by its `correlation_id`.
///
/// Open it before the delivery, run the delivery inside its span, and finish it with the
/// outcome, which is recorded on the span and counted in
/// [`DELIVERIES_TOTAL`] `{kind, outcome}`.
///
/// ```
/// use eventful_core::telemetry::{Delivery, DeliveryKind, DeliveryOutcome};
/// use tracing::Instrument;
/// # use eventful_core::{RecordedEvent, Payload};
///
/// async fn publish(event: &RecordedEvent) -> Result<(), std::io::Error> {
///     let delivery = Delivery::start(DeliveryKind::Relay, "game-events", event);
///     let sent = async { Ok(()) }.instrument(delivery.span().clone()).await;
///     delivery.finish(if sent.is_ok() { DeliveryOutcome::Delivered } else { DeliveryOutcome::Failed });
///     sent
/// }
/// ```
#[derive(Debug)]
#[must_use = "finish the delivery with its outcome"]
pub struct Delivery {
    kind: DeliveryKind,
    span: Span,
    counters: Option<DeliveryCounters>,
}

/// The [`DELIVERIES_TOTAL`] handles of one deliverer (a relay, a gateway), registered once
/// so that each delivery increments a handle instead of looking its counter up by labels:
/// make it after the recorder is installed, keep it, and start each delivery from it.
///
/// ```
/// use eventful_core::telemetry::{DeliveryCounters, DeliveryKind, DeliveryOutcome};
/// # use eventful_core::RecordedEvent;
///
/// fn published(counters: &DeliveryCounters, event: &RecordedEvent) {
///     counters.start("game-events", event).finish(DeliveryOutcome::Delivered);
/// }
/// let relay = DeliveryCounters::new(DeliveryKind::Relay);
/// # drop(relay);
/// ```
#[derive(Debug, Clone)]
pub struct DeliveryCounters(Arc<CountersOf>);

#[derive(Debug)]
struct CountersOf {
    kind: DeliveryKind,
    delivered: Counter,
    failed: Counter,
    dropped: Counter,
}

impl DeliveryCounters {
    /// Registers the counters of deliveries of `kind`, one per outcome.
    pub fn new(kind: DeliveryKind) -> Self {
        let of = |outcome: DeliveryOutcome| counter!(DELIVERIES_TOTAL, "kind" => kind.as_str(), "outcome" => outcome.as_str());
        Self(Arc::new(CountersOf {
            kind,
            delivered: of(DeliveryOutcome::Delivered),
            failed: of(DeliveryOutcome::Failed),
            dropped: of(DeliveryOutcome::Dropped),
        }))
    }

    /// Opens the `delivery` span of `event` going to `destination`, as [`Delivery::start`]
    /// does, counted with these handles when it finishes.
    pub fn start<P>(&self, destination: &str, event: &RecordedEvent<P>) -> Delivery {
        let mut delivery = Delivery::start(self.0.kind, destination, event);
        delivery.counters = Some(self.clone());
        delivery
    }

    fn count(&self, outcome: DeliveryOutcome) {
        match outcome {
            DeliveryOutcome::Delivered => &self.0.delivered,
            DeliveryOutcome::Failed => &self.0.failed,
            DeliveryOutcome::Dropped => &self.0.dropped,
        }
        .increment(1);
    }
}

impl Delivery {
    /// Opens the `delivery` span of `event` going to `destination` (an exchange, a routing
    /// key, a client's id or topic).
    pub fn start<P>(kind: DeliveryKind, destination: &str, event: &RecordedEvent<P>) -> Self {
        let span = tracing::debug_span!(
            target: "eventful::delivery",
            "delivery",
            kind = kind.as_str(),
            destination,
            event_id = %event.event_id,
            event_type = %event.event_type,
            stream = %event.stream_id,
            position = %event.position,
            correlation_id = event.metadata.correlation_id.map(tracing::field::display),
            causation_id = event.metadata.causation_id.map(tracing::field::display),
            outcome = Empty,
        );
        Self {
            kind,
            span,
            counters: None,
        }
    }

    /// The span, to run the delivery in (`.instrument(delivery.span().clone())`).
    pub fn span(&self) -> &Span {
        &self.span
    }

    /// Records the outcome on the span and counts it: with the handles it was started from
    /// ([`DeliveryCounters::start`]), or by looking the counter up.
    pub fn finish(self, outcome: DeliveryOutcome) {
        record(&self.span, "outcome", outcome.as_str());
        match &self.counters {
            Some(counters) => counters.count(outcome),
            None => counter!(DELIVERIES_TOTAL, "kind" => self.kind.as_str(), "outcome" => outcome.as_str())
                .increment(1),
        }
    }
}
