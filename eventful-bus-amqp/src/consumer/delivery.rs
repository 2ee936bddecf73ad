//! One message: decode it, hand it to each handler whose filter it passes (retrying a failing
//! handler a bounded number of times), then acknowledge it — or dead-letter it with the
//! reason, and acknowledge it then, so that the queue goes on.
//!
//! A message is acknowledged only after a dead letter of it was confirmed, so a crash in
//! between leaves it in the queue (and perhaps a second dead letter); it is never lost.

use std::sync::atomic::Ordering;

use lapin::message::Delivery;
use lapin::options::{BasicAckOptions, BasicPublishOptions};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{BasicProperties, Confirmation};
use tracing::Instrument;

use super::Shared;
use super::topology::Link;
use crate::error::AmqpError;
use crate::message;

/// Why a message goes to the dead-letter queue.
struct DeadLetter {
    reason: String,
    handler: Option<String>,
    attempts: u32,
}

/// Handles `delivery` to its end (acknowledged, or dead-lettered and acknowledged); an error
/// is the connection failing, and the message stays unacknowledged for a redelivery.
pub(crate) async fn handle(
    shared: &Shared,
    link: &Link,
    delivery: Delivery,
) -> Result<(), AmqpError> {
    if delivery.redelivered {
        shared.stats.redelivered.fetch_add(1, Ordering::Relaxed);
    }
    let outcome = match message::decode(&delivery.properties, &delivery.data) {
        // Decoding again gives the same answer: no retries.
        Err(error) => Err(DeadLetter {
            reason: format!("undecodable: {error}"),
            handler: None,
            attempts: 1,
        }),
        Ok(event) => {
            // The handlers' logs and spans carry the sender's correlation id.
            let span = tracing::debug_span!(
                target: "eventful::consume",
                "consume",
                queue = %shared.queue,
                event_id = %event.event_id,
                event_type = %event.event_type,
                stream = %event.stream_id,
                correlation_id = event.metadata.correlation_id.map(tracing::field::display),
                causation_id = event.metadata.causation_id.map(tracing::field::display),
            );
            run_handlers(shared, &event).instrument(span).await
        }
    };
    match outcome {
        Ok(()) => shared.stats.handled.fetch_add(1, Ordering::Relaxed),
        Err(dead) => {
            tracing::error!(queue = %shared.queue, routing_key = %delivery.routing_key, reason = %dead.reason, "dead-lettering a message");
            dead_letter(shared, link, &delivery, &dead).await?;
            shared.stats.dead_lettered.fetch_add(1, Ordering::Relaxed)
        }
    };
    delivery
        .ack(BasicAckOptions::default())
        .await
        .map(drop)
        .map_err(|source| AmqpError::Broker {
            operation: "basic.ack",
            source,
        })
}

/// Runs every handler whose filter `event` passes, in order, each up to `attempts` times.
async fn run_handlers(
    shared: &Shared,
    event: &eventful_core::RecordedEvent,
) -> Result<(), DeadLetter> {
    for handler in &shared.handlers {
        if !handler.filter().matches(event) {
            continue;
        }
        let mut attempt = 1;
        loop {
            match handler.handle(event, &shared.upcasters).await {
                Ok(()) => break,
                Err(error) if attempt < shared.attempts => {
                    tracing::warn!(
                        handler = handler.name(), event_id = %event.event_id,
                        event_type = %event.event_type, attempt, %error, "handler failed; retrying"
                    );
                    tokio::time::sleep(shared.retry.delay(attempt)).await;
                    attempt += 1;
                }
                Err(error) => {
                    return Err(DeadLetter {
                        reason: format!(
                            "handler `{}` failed {attempt} times on event {} (`{}` of stream `{}`): {error}",
                            handler.name(),
                            event.event_id,
                            event.event_type,
                            event.stream_id
                        ),
                        handler: Some(handler.name().to_owned()),
                        attempts: attempt,
                    });
                }
            }
        }
    }
    Ok(())
}

/// Publishes the message as it came to the dead-letter exchange, with the reason in its
/// headers, and waits for the confirm.
async fn dead_letter(
    shared: &Shared,
    link: &Link,
    delivery: &Delivery,
    dead: &DeadLetter,
) -> Result<(), AmqpError> {
    let mut headers = delivery.properties.headers().clone().unwrap_or_default();
    annotate(&mut headers, shared, delivery, dead);
    let properties: BasicProperties = delivery.properties.clone().with_headers(headers);
    let broker = |source| AmqpError::Broker {
        operation: "basic.publish (dead letter)",
        source,
    };
    let confirmation = link
        .dead_letters
        .basic_publish(
            shared.settings.dead_letter_exchange().into(),
            shared.queue.as_str().into(),
            BasicPublishOptions::default(),
            &delivery.data,
            properties,
        )
        .await
        .map_err(broker)?
        .await
        .map_err(broker)?;
    match confirmation {
        Confirmation::Ack(_) => Ok(()),
        Confirmation::Nack(_) | Confirmation::NotRequested => Err(AmqpError::DeadLetterRefused {
            queue: shared.queue.clone(),
        }),
    }
}

/// The headers a dead letter carries besides the original ones.
fn annotate(headers: &mut FieldTable, shared: &Shared, delivery: &Delivery, dead: &DeadLetter) {
    let text = |value: &str| AMQPValue::LongString(value.into());
    headers.insert("x-eventful-reason".into(), text(&dead.reason));
    headers.insert("x-eventful-queue".into(), text(&shared.queue));
    headers.insert(
        "x-eventful-routing-key".into(),
        text(delivery.routing_key.as_str()),
    );
    headers.insert(
        "x-eventful-attempts".into(),
        AMQPValue::LongUInt(dead.attempts),
    );
    headers.insert(
        "x-eventful-dead-lettered-at".into(),
        text(&chrono::Utc::now().to_rfc3339()),
    );
    if let Some(handler) = &dead.handler {
        headers.insert("x-eventful-handler".into(), text(handler));
    }
}
