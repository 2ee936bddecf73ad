//! The broker stopped and started again (`rabbitmqctl stop_app`, `start_app`) while a relay
//! and a consumer are at work, a message held in the consumer's handlers and more sent ahead,
//! events being appended meanwhile: both reconnect, the messages in flight come again, and
//! every event is tallied exactly once. A test binary of its own, since stopping the broker cuts
//! every connection on it: cargo runs test binaries one after another.
//!
//! Runs against `EVENTFUL_AMQP_URI` (skipped, with a notice, when it is unset) and needs
//! `rabbitmqctl` beside the broker.

mod common;

use std::process::Command;
use std::time::Duration;

use common::*;
use eventful_bus_amqp::{Backoff, Consumer};

/// Starts the broker's application again if the test stops half-way.
struct Restart;

impl Drop for Restart {
    fn drop(&mut self) {
        let _ = rabbitmqctl("start_app");
    }
}

fn rabbitmqctl(command: &str) -> bool {
    Command::new("rabbitmqctl")
        .arg(command)
        .output()
        .is_ok_and(|output| output.status.success())
}

#[test]
fn a_broker_restarted_mid_stream_loses_nothing_and_handles_nothing_twice() {
    on_broker(
        "a_broker_restarted_mid_stream_loses_nothing_and_handles_nothing_twice",
        |uri| async move {
            let run = Run::new(&uri, "restart", "tally");
            // Quick reconnects, so that the test waits little once the broker is back.
            let settings = run.settings().with_reconnect(Backoff::new(
                Duration::from_millis(50),
                Duration::from_millis(500),
            ));
            // The 30th message is held in its handlers when the broker stops, its tally recorded
            // and its acknowledgement still to come, with up to 15 more sent ahead.
            let gate = Gate::holding_delivery(30);
            let consumer = Consumer::new(settings.clone(), run.queue.clone()).with_prefetch(16);
            let pair = Pair::start(consumer, Some(&gate), settings).await;

            let mut ids = record_scores(&pair.scores, 100).await;
            let held = gate.holding().await;

            let restart = Restart;
            let stopped = tokio::task::spawn_blocking(|| rabbitmqctl("stop_app"))
                .await
                .expect("rabbitmqctl");
            assert!(stopped, "rabbitmqctl stop_app");
            // Its handlers return while the broker is away: the acknowledgement is lost.
            gate.open();
            // Appended while the broker is away: the relay waits for it, in the call.
            ids.extend(record_scores_from(&pair.scores, 100, 100).await);
            tokio::time::sleep(Duration::from_millis(500)).await;
            let started = tokio::task::spawn_blocking(|| rabbitmqctl("start_app"))
                .await
                .expect("rabbitmqctl");
            assert!(started, "rabbitmqctl start_app");
            drop(restart);

            pair.assert_recovered(&gate, held, &ids).await;
            pair.shutdown().await;
        },
    );
}
