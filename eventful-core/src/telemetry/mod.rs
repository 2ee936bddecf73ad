//! What eventful tells an operator: `tracing` spans and `metrics` through the facade crates,
//! so that the application picks the subscriber and the exporter (OpenTelemetry, Prometheus,
//! StatsD, a log file) and eventful only records.
//!
//! - **Spans** ([`spans`]): one for every command, every append, every handler batch and
//!   every event a handler handles, and one for every delivery by a relay or a gateway
//!   ([`Delivery`]), with the correlation and causation ids as fields. They are at `DEBUG`
//!   level under targets of their own (`eventful::command`, `eventful::append`,
//!   `eventful::handler`, `eventful::delivery`), so that `INFO` stays quiet in production and
//!   a disabled span costs one comparison.
//! - **Metrics** ([the names](self#constants)): commands by aggregate and outcome, command
//!   latency, events appended, snapshots, handler positions and lag, handler failures,
//!   parked events, deliveries and gateway connections. Names follow Prometheus conventions;
//!   docs/operations.md lists each with its meaning and the alerts built on it.
//!
//! Install a recorder (an exporter) before building repositories and starting buses — a
//! repository takes its handles at its first command and a bus's handlers when they start;
//! metrics recorded before a recorder is installed go nowhere — then call [`init`], which
//! describes every metric to the recorder and turns the command latency histogram on. With no
//! recorder, every metric is a no-op handle: nothing is measured, nothing is timed.
//!
//! ```
//! // In `main`, once: any `metrics` exporter, then `init`.
//! // metrics_exporter_prometheus::PrometheusBuilder::new().install_recorder()?;
//! eventful_core::telemetry::init();
//! assert!(eventful_core::telemetry::timings_enabled());
//! ```
//!
//! | module | what lives there |
//! | --- | --- |
//! | this file | [`init`] and the metric names |
//! | [`spans`] | the span names and fields, and [`Delivery`] for relays and gateways |
//! | `handles` | the metric handles a repository and a handler segment keep |
//! | `gateway` | [`GatewayConnection`] and [`slow_client_dropped`] for gateways |

mod gateway;
pub(crate) mod handles;
pub mod spans;

use std::sync::atomic::{AtomicBool, Ordering};

use metrics::Unit;

pub use self::gateway::{GatewayConnection, slow_client_dropped};
pub use self::spans::{Delivery, DeliveryCounters, DeliveryKind, DeliveryOutcome};

/// Counter `{aggregate, outcome}`: commands run, by how they ended — `ok` (committed, or
/// found already applied), `rejected` (the aggregate said no), `conflict` (concurrent writers
/// won every attempt), `failed` (the store, an id or an event's encoding failed).
pub const COMMANDS_TOTAL: &str = "eventful_commands_total";
/// Counter `{aggregate}`: appends that met a concurrent write and were decided again on
/// fresh state (each retry counts once).
pub const COMMAND_RETRIES_TOTAL: &str = "eventful_command_retries_total";
/// Histogram `{aggregate}`: seconds from a command's start to its outcome, retries
/// included. Recorded only after [`init`].
pub const COMMAND_DURATION_SECONDS: &str = "eventful_command_duration_seconds";
/// Counter `{aggregate}`: events appended (by commands, and by
/// [`append_events`](crate::repository::append_events)).
pub const EVENTS_APPENDED_TOTAL: &str = "eventful_events_appended_total";
/// Counter `{aggregate}`: snapshots saved.
pub const SNAPSHOTS_SAVED_TOTAL: &str = "eventful_snapshots_saved_total";
/// Counter `{aggregate}`: snapshots that were due but could not be serialized or saved.
pub const SNAPSHOT_FAILURES_TOTAL: &str = "eventful_snapshot_failures_total";
/// Gauge `{handler, segment}`: the position up to which the segment has handled every event,
/// in this instance (and saved it, for durable progress).
pub const HANDLER_POSITION: &str = "eventful_handler_position";
/// Gauge `{handler, segment}`: events stored after the segment's position, as of its last
/// batch or its last look while it waits (paused, idle, or for a claim another instance
/// holds; a few times a lease); 0 once it has read to the end of the log.
pub const HANDLER_LAG_EVENTS: &str = "eventful_handler_lag_events";
/// Gauge `{handler, segment}`: while the segment is behind, how old the last event it
/// handled in this instance is, in seconds, refreshed as the lag in events is; 0 once it
/// has read to the end of the log.
pub const HANDLER_LAG_SECONDS: &str = "eventful_handler_lag_seconds";
/// Counter `{handler}`: events handled.
pub const HANDLER_EVENTS_TOTAL: &str = "eventful_handler_events_total";
/// Counter `{handler}`: events a handler gave up on after its retries (then parked, or the
/// handler stopped).
pub const HANDLER_FAILURES_TOTAL: &str = "eventful_handler_failures_total";
/// Gauge `{handler, segment}`: 1 while the segment is stopped on a failed event or halted
/// in this instance, 0 otherwise.
pub const HANDLER_STOPPED: &str = "eventful_handler_stopped";
/// Gauge `{handler, segment}`: 1 while the segment is paused in this instance
/// ([`RunningBus::pause`](crate::RunningBus::pause)), 0 otherwise.
pub const HANDLER_PAUSED: &str = "eventful_handler_paused";
/// Counter `{handler}`: events parked.
pub const EVENTS_PARKED_TOTAL: &str = "eventful_events_parked_total";
/// Counter `{kind, outcome}`: events delivered by relays (`kind="relay"`) and gateways
/// (`kind="gateway"`), by outcome (`delivered`, `failed`, `dropped`); see [`Delivery`].
pub const DELIVERIES_TOTAL: &str = "eventful_deliveries_total";
/// Gauge `{transport}`: game clients connected to a gateway now.
pub const GATEWAY_CONNECTIONS: &str = "eventful_gateway_connections";
/// Counter `{transport}`: clients a gateway disconnected because they read too slowly.
pub const GATEWAY_SLOW_CLIENTS_DROPPED_TOTAL: &str = "eventful_gateway_slow_clients_dropped_total";

/// Whether the timings that cost a clock read (the command latency histogram) are taken.
static TIMINGS: AtomicBool = AtomicBool::new(false);

/// Tells the installed metrics recorder what each eventful metric means (its help text and
/// unit), and turns on the command latency histogram
/// ([`COMMAND_DURATION_SECONDS`]). Call it once, after installing a recorder.
///
/// The latency is off until then because reading the clock twice costs about a tenth of a
/// command on the memory store, and the `metrics` facade cannot tell whether a recorder is
/// installed.
///
/// ```
/// eventful_core::telemetry::init();
/// ```
pub fn init() {
    use metrics::{describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        COMMANDS_TOTAL,
        Unit::Count,
        "Commands run, by aggregate and outcome (ok, rejected, conflict, failed)"
    );
    describe_counter!(
        COMMAND_RETRIES_TOTAL,
        Unit::Count,
        "Appends that met a concurrent write and were decided again on fresh state"
    );
    describe_histogram!(
        COMMAND_DURATION_SECONDS,
        Unit::Seconds,
        "Seconds from a command's start to its outcome, retries included"
    );
    describe_counter!(EVENTS_APPENDED_TOTAL, Unit::Count, "Events appended");
    describe_counter!(SNAPSHOTS_SAVED_TOTAL, Unit::Count, "Snapshots saved");
    describe_counter!(
        SNAPSHOT_FAILURES_TOTAL,
        Unit::Count,
        "Snapshots that were due but could not be saved"
    );
    describe_gauge!(
        HANDLER_POSITION,
        "Position up to which a handler segment has handled every event"
    );
    describe_gauge!(
        HANDLER_LAG_EVENTS,
        Unit::Count,
        "Events stored after a handler segment's position"
    );
    describe_gauge!(
        HANDLER_LAG_SECONDS,
        Unit::Seconds,
        "Age of the last event a handler segment handled, while it is behind"
    );
    describe_counter!(HANDLER_EVENTS_TOTAL, Unit::Count, "Events handled");
    describe_counter!(
        HANDLER_FAILURES_TOTAL,
        Unit::Count,
        "Events a handler gave up on after its retries"
    );
    describe_gauge!(
        HANDLER_STOPPED,
        "1 while a handler segment is stopped or halted in this instance"
    );
    describe_gauge!(
        HANDLER_PAUSED,
        "1 while a handler segment is paused in this instance"
    );
    describe_counter!(EVENTS_PARKED_TOTAL, Unit::Count, "Events parked");
    describe_counter!(
        DELIVERIES_TOTAL,
        Unit::Count,
        "Events delivered by relays and gateways, by outcome"
    );
    describe_gauge!(
        GATEWAY_CONNECTIONS,
        Unit::Count,
        "Game clients connected to a gateway"
    );
    describe_counter!(
        GATEWAY_SLOW_CLIENTS_DROPPED_TOTAL,
        Unit::Count,
        "Clients a gateway disconnected because they read too slowly"
    );
    TIMINGS.store(true, Ordering::Relaxed);
}

/// Whether [`init`] has turned the command latency histogram on.
///
/// ```
/// eventful_core::telemetry::init();
/// assert!(eventful_core::telemetry::timings_enabled());
/// ```
pub fn timings_enabled() -> bool {
    TIMINGS.load(Ordering::Relaxed)
}
