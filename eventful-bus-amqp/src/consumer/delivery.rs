//! One message: decode it, hand it to each handler whose filter it passes (retrying a failing
//! handler a bounded number of times), then acknowledge it — or dead-letter it with the
//! reason, and acknowledge it then, so that the queue goes on.
//!
//! What a failure says decides what is done with it: a store that is away
//! ([`StoreError::Unavailable`], [`StoreError::Timeout`], anywhere in the error's chain) is
//! no fault of the message, and is waited out without counting attempts; an event that does
//! not decode to the handler's type ([`DecodeError`]) decodes no better later, and is
//! dead-lettered at once; a handler that panics is dead-lettered at once too ("panicked:
//! ..."), and the consumer goes on; anything else is tried again up to the attempts allowed.
//!
//! A message is acknowledged only after a dead letter of it was confirmed, so a crash in
//! between leaves it in the queue (and perhaps a second dead letter); it is never lost.

use std::any::Any;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::Ordering;

use eventful_core::{BoxError, DecodeError, StoreError};
use futures::FutureExt;
use tokio::sync::watch;

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

/// What became of a message's handlers.
enum Unhandled {
    /// It goes to the dead-letter queue.
    Dead(DeadLetter),
    /// The consumer is stopping while a store is away: the message stays unacknowledged and
    /// comes again.
    Stopped,
}

/// What a handler's failure calls for.
#[derive(Debug, PartialEq, Eq)]
enum Failure {
    /// The store is away: wait and try again, without counting the attempt.
    StoreAway,
    /// The same event fails the same way again: dead-letter it now.
    Permanent,
    /// Try again while attempts are left.
    Retry,
}

impl Failure {
    fn of(error: &BoxError) -> Self {
        let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error.as_ref());
        while let Some(error) = cause {
            if let Some(StoreError::Unavailable { .. } | StoreError::Timeout { .. }) =
                error.downcast_ref::<StoreError>()
            {
                return Self::StoreAway;
            }
            if error.is::<DecodeError>() {
                return Self::Permanent;
            }
            cause = error.source();
        }
        Self::Retry
    }
}

/// Handles `delivery` to its end (acknowledged, or dead-lettered and acknowledged); an error
/// is the connection failing, and the message stays unacknowledged for a redelivery. A
/// consumer stopped while a store is away leaves the message unacknowledged too.
pub(crate) async fn handle(
    shared: &Shared,
    link: &Link,
    delivery: Delivery,
    stop: &mut watch::Receiver<bool>,
) -> Result<(), AmqpError> {
    if delivery.redelivered {
        shared.stats.redelivered.fetch_add(1, Ordering::Relaxed);
    }
    let outcome = match message::decode(&delivery.properties, &delivery.data) {
        // Decoding again gives the same answer: no retries.
        Err(error) => Err(Unhandled::Dead(DeadLetter {
            reason: format!("undecodable: {error}"),
            handler: None,
            attempts: 1,
        })),
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
            run_handlers(shared, &event, stop).instrument(span).await
        }
    };
    match outcome {
        Ok(()) => shared.stats.handled.fetch_add(1, Ordering::Relaxed),
        Err(Unhandled::Stopped) => return Ok(()),
        Err(Unhandled::Dead(dead)) => {
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

/// Runs every handler whose filter `event` passes, in order, each up to `attempts` times
/// (waits for a store that is away not counted).
async fn run_handlers(
    shared: &Shared,
    event: &eventful_core::RecordedEvent,
    stop: &mut watch::Receiver<bool>,
) -> Result<(), Unhandled> {
    for handler in &shared.handlers {
        if !handler.filter().matches(event) {
            continue;
        }
        let on = format!(
            "event {} (`{}` of stream `{}`)",
            event.event_id, event.event_type, event.stream_id
        );
        let dead = |reason: String, attempts: u32| {
            Unhandled::Dead(DeadLetter {
                reason,
                handler: Some(handler.name().to_owned()),
                attempts,
            })
        };
        let name = handler.name();
        let mut attempt = 1;
        let mut outage = 0;
        loop {
            // A panic is the handler's bug, not the consumer's end: it is reported with the
            // message, which no retry would fix.
            let called = AssertUnwindSafe(handler.handle(event, &shared.upcasters))
                .catch_unwind()
                .await;
            let error = match called {
                Ok(Ok(())) => break,
                Ok(Err(error)) => error,
                Err(panic) => {
                    let text = panic_text(&*panic);
                    return Err(dead(
                        format!("panicked: {text} (handler `{name}` on {on})"),
                        attempt,
                    ));
                }
            };
            let wait = match Failure::of(&error) {
                Failure::StoreAway => {
                    outage += 1;
                    tracing::warn!(
                        handler = handler.name(), event_id = %event.event_id, outage, %error,
                        "the store is away; trying the message again once it answers"
                    );
                    shared.retry.delay(outage)
                }
                Failure::Retry if attempt < shared.attempts => {
                    tracing::warn!(
                        handler = handler.name(), event_id = %event.event_id,
                        event_type = %event.event_type, attempt, %error, "handler failed; retrying"
                    );
                    attempt += 1;
                    shared.retry.delay(attempt - 1)
                }
                Failure::Retry => {
                    let reason =
                        format!("handler `{name}` failed {attempt} times on {on}: {error}");
                    return Err(dead(reason, attempt));
                }
                Failure::Permanent => {
                    let reason = format!("handler `{name}` cannot decode {on}: {error}");
                    return Err(dead(reason, attempt));
                }
            };
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = super::stopped(stop) => return Err(Unhandled::Stopped),
            }
        }
    }
    Ok(())
}

/// What a panic said, if it said it in text.
pub(crate) fn panic_text(panic: &(dyn Any + Send)) -> &str {
    if let Some(text) = panic.downcast_ref::<&str>() {
        text
    } else if let Some(text) = panic.downcast_ref::<String>() {
        text
    } else {
        "(no message)"
    }
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
            // A dead letter nobody keeps is no dead letter: it must reach its queue.
            BasicPublishOptions {
                mandatory: true,
                ..BasicPublishOptions::default()
            },
            &delivery.data,
            properties,
        )
        .await
        .map_err(broker)?
        .await
        .map_err(broker)?;
    match confirmation {
        Confirmation::Ack(Some(_)) => Err(AmqpError::DeadLetterUnroutable {
            queue: shared.queue.clone(),
        }),
        Confirmation::Ack(None) => Ok(()),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_store_away_is_waited_out_a_decode_error_is_final_the_rest_is_retried() {
        let away: BoxError = Box::new(StoreError::Timeout {
            operation: "append",
            source: "slow".into(),
        });
        assert_eq!(Failure::of(&away), Failure::StoreAway);
        // Found through the chain too: an error whose source is the store's.
        #[derive(Debug, thiserror::Error)]
        #[error("cannot record the score")]
        struct Recording(#[source] StoreError);
        let wrapped: BoxError = Box::new(Recording(StoreError::Unavailable {
            source: "refused".into(),
        }));
        assert_eq!(Failure::of(&wrapped), Failure::StoreAway);
        // What a policy's command returns when its store is away.
        let command: BoxError = Box::new(eventful_core::CommandError::<std::fmt::Error>::Store(
            StoreError::Unavailable {
                source: "the players' database is down".into(),
            },
        ));
        assert_eq!(Failure::of(&command), Failure::StoreAway);
        let refused: BoxError = Box::new(StoreError::Unauthorized {
            source: "no".into(),
        });
        assert_eq!(Failure::of(&refused), Failure::Retry);
        let other: BoxError = "13 is unlucky".into();
        assert_eq!(Failure::of(&other), Failure::Retry);
    }
}
