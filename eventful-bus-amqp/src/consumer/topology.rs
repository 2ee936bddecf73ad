//! The consumer's side of the broker: its durable queue (dead-lettering to the dead-letter
//! exchange), the dead-letter queue, the bindings, and a connection ready to consume with a
//! channel in confirm mode for dead letters.

use lapin::options::{
    BasicConsumeOptions, BasicQosOptions, ConfirmSelectOptions, QueueBindOptions,
    QueueDeclareOptions,
};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{Channel, Connection};

use super::Shared;
use crate::connection::{self, precondition_failed};
use crate::error::AmqpError;

/// The dead-letter queue of `queue`.
pub(crate) fn dead_letter_queue(queue: &str) -> String {
    format!("{queue}.dead-letter")
}

/// A connection consuming the queue.
pub(crate) struct Link {
    connection: Connection,
    /// Where the deliveries come from, and where they are acknowledged.
    pub(crate) deliveries: lapin::Consumer,
    /// In confirm mode: a dead letter is confirmed before its message is acknowledged.
    pub(crate) dead_letters: Channel,
}

impl Link {
    /// Closes the connection; messages sent ahead and not acknowledged go back to the queue.
    pub(crate) async fn close(self) {
        // Closing a connection that is already gone has nothing to undo.
        let _ = self.connection.close(200, "consumer stopped".into()).await;
    }
}

/// Connects, declares everything and starts consuming.
pub(crate) async fn open(shared: &Shared) -> Result<Link, AmqpError> {
    let settings = &shared.settings;
    let connection =
        connection::connect(settings, &format!("consumer of {}", shared.queue)).await?;
    let channel = connection::channel(&connection).await?;
    connection::declare_exchanges(&channel, settings).await?;
    declare_queue(&channel, &shared.queue, queue_arguments(shared)).await?;
    let dead = dead_letter_queue(&shared.queue);
    declare_queue(&channel, &dead, FieldTable::default()).await?;
    let dead_letter_exchange = settings.dead_letter_exchange();
    bind(&channel, &dead, &dead_letter_exchange, &shared.queue).await?;
    for key in &shared.keys {
        bind(&channel, &shared.queue, settings.exchange(), key).await?;
    }
    let broker = |operation| move |source| AmqpError::Broker { operation, source };
    channel
        .basic_qos(shared.prefetch, BasicQosOptions::default())
        .await
        .map_err(broker("basic.qos"))?;
    let deliveries = channel
        .basic_consume(
            shared.queue.as_str().into(),
            "".into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await
        .map_err(broker("basic.consume"))?;
    let dead_letters = connection::channel(&connection).await?;
    dead_letters
        .confirm_select(ConfirmSelectOptions::default())
        .await
        .map_err(broker("confirm.select"))?;
    Ok(Link {
        connection,
        deliveries,
        dead_letters,
    })
}

/// The main queue's arguments: what the broker does with a message rejected without
/// requeueing (send it to the dead-letter queue), so that nothing is dropped even by a
/// rejection that bypasses the consumer's own dead-lettering.
fn queue_arguments(shared: &Shared) -> FieldTable {
    let mut arguments = FieldTable::default();
    arguments.insert(
        "x-dead-letter-exchange".into(),
        AMQPValue::LongString(shared.settings.dead_letter_exchange().into()),
    );
    arguments.insert(
        "x-dead-letter-routing-key".into(),
        AMQPValue::LongString(shared.queue.as_str().into()),
    );
    arguments
}

async fn declare_queue(
    channel: &Channel,
    queue: &str,
    arguments: FieldTable,
) -> Result<(), AmqpError> {
    let options = QueueDeclareOptions {
        durable: true,
        ..QueueDeclareOptions::default()
    };
    channel
        .queue_declare(queue.into(), options, arguments)
        .await
        .map(drop)
        .map_err(|source| match precondition_failed(&source) {
            Some(reason) => AmqpError::QueueConflict {
                queue: queue.to_owned(),
                reason,
            },
            None => AmqpError::Broker {
                operation: "queue.declare",
                source,
            },
        })
}

async fn bind(channel: &Channel, queue: &str, exchange: &str, key: &str) -> Result<(), AmqpError> {
    channel
        .queue_bind(
            queue.into(),
            exchange.into(),
            key.into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await
        .map_err(|source| AmqpError::Broker {
            operation: "queue.bind",
            source,
        })
}
