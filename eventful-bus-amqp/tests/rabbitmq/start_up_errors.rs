//! The typed errors at start: a bad URI, an unreachable broker, a refused login, an exchange
//! declared with another type, a queue declared with other arguments.

use eventful_bus_amqp::{AmqpError, Consumer, Relay};
use eventful_core::{BoxError, RecordedEvent};
use lapin::options::QueueDeclareOptions;
use lapin::types::FieldTable;

use crate::common::*;

#[test]
fn a_bad_uri_unreachable_broker_or_refused_login_is_a_typed_error_at_start() {
    on_broker(
        "a_bad_uri_unreachable_broker_or_refused_login_is_a_typed_error_at_start",
        |uri| async move {
            let run = unique("start-up");
            let wrong_password = uri.replacen("guest:guest@", "guest:wrong@", 1);
            assert_ne!(wrong_password, uri, "the URI names guest:guest");
            let relay = |uri: String| {
                let run = run.clone();
                async move {
                    Relay::builder(settings(&uri, &run))
                        .publish::<ScoreRecorded>()
                        .connect()
                        .await
                }
            };
            match relay(wrong_password.clone()).await {
                Err(AmqpError::AccessRefused { user, reason, .. }) => {
                    assert_eq!(user, "guest");
                    assert!(reason.contains("ACCESS_REFUSED"), "{reason}");
                }
                Err(other) => panic!("not AccessRefused: {other}"),
                Ok(_) => panic!("a wrong password connected"),
            }
            assert!(matches!(
                relay("amqp://guest:guest@127.0.0.1:1/%2f".into()).await,
                Err(AmqpError::Unreachable { endpoint, .. }) if endpoint == "127.0.0.1:1//"
            ));
            assert!(matches!(
                relay("rabbit, please".into()).await,
                Err(AmqpError::InvalidUri { .. })
            ));

            let consumer_on = |uri: &str| {
                let mut consumer = Consumer::new(settings(uri, &run), format!("{run}.tally"));
                consumer.subscribe_named(["score_recorded"], "any", |_: RecordedEvent| async {
                    Ok::<(), BoxError>(())
                });
                consumer
            };
            assert!(matches!(
                consumer_on(&wrong_password).start().await,
                Err(AmqpError::AccessRefused { .. })
            ));
            assert!(matches!(
                consumer_on("amqp://guest:guest@127.0.0.1:1/%2f")
                    .start()
                    .await,
                Err(AmqpError::Unreachable { .. })
            ));
        },
    );
}

#[test]
fn an_exchange_declared_with_another_type_is_a_typed_error_at_start() {
    on_broker(
        "an_exchange_declared_with_another_type_is_a_typed_error_at_start",
        |uri| async move {
            let run = Run::new(&uri, "exchange-conflict", "tally");
            let channel = raw_channel(&uri).await;
            channel
                .exchange_declare(
                    format!("{}.exchange", run.name).as_str().into(),
                    lapin::ExchangeKind::Fanout,
                    lapin::options::ExchangeDeclareOptions::default(),
                    FieldTable::default(),
                )
                .await
                .expect("someone else's exchange");
            let refused = Relay::builder(run.settings())
                .publish::<ScoreRecorded>()
                .connect()
                .await;
            match refused {
                Err(AmqpError::ExchangeConflict { exchange, reason }) => {
                    assert_eq!(exchange, format!("{}.exchange", run.name));
                    assert!(reason.contains("PRECONDITION_FAILED"), "{reason}");
                }
                Err(other) => panic!("not ExchangeConflict: {other}"),
                Ok(_) => panic!("a conflicting exchange was accepted"),
            }
        },
    );
}

#[test]
fn a_queue_declared_with_other_arguments_is_a_typed_error_at_start() {
    on_broker(
        "a_queue_declared_with_other_arguments_is_a_typed_error_at_start",
        |uri| async move {
            let run = Run::new(&uri, "conflict", "tally");
            let channel = raw_channel(&uri).await;
            let options = QueueDeclareOptions {
                durable: true,
                ..QueueDeclareOptions::default()
            };
            channel
                .queue_declare(run.queue.as_str().into(), options, FieldTable::default())
                .await
                .expect("someone else's queue");

            let mut consumer = run.consumer();
            consumer.subscribe_named(["score_recorded"], "any", |_: RecordedEvent| async {
                Ok::<(), BoxError>(())
            });
            match consumer.start().await {
                Err(AmqpError::QueueConflict { queue, reason }) => {
                    assert_eq!(queue, run.queue);
                    assert!(reason.contains("x-dead-letter-exchange"), "{reason}");
                }
                Err(other) => panic!("not QueueConflict: {other}"),
                Ok(_) => panic!("a conflicting queue was accepted"),
            }
        },
    );
}
