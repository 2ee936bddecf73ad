//! The broker stopped and started again (`rabbitmqctl stop_app`, `start_app`) while a relay
//! and a consumer are at work, a message held in the consumer's handlers and more sent ahead,
//! events being appended meanwhile: both reconnect, the messages in flight come again, and
//! every event is tallied exactly once. A test binary of its own, since stopping the broker cuts
//! every connection on it: cargo runs test binaries one after another.
//!
//! Runs against `EVENTFUL_AMQP_URI` (skipped, with a notice, when it is unset) and needs
//! `rabbitmqctl` beside the broker.

mod common;

use std::collections::HashSet;
use std::process::Command;
use std::time::Duration;

use common::*;
use eventful_bus_amqp::{Backoff, Consumer, Relay};
use eventful_core::{EventBus, Repository};
use eventful_store_memory::MemoryStore;

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
    let Some(uri) =
        amqp_uri("a_broker_restarted_mid_stream_loses_nothing_and_handles_nothing_twice")
    else {
        return;
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let run = unique("restart");
        let queue = format!("{run}.tally");
        // Quick reconnects, so that the test waits little once the broker is back.
        let settings = settings(&uri, &run).with_reconnect(Backoff::new(
            Duration::from_millis(50),
            Duration::from_millis(500),
        ));
        let _clean = CleanUp::new(&uri, &run, &[&queue]);
        let tallies = MemoryStore::new();
        // The 30th message is held in its handlers when the broker stops, its tally recorded
        // and its acknowledgement still to come, with up to 15 more sent ahead.
        let gate = Gate::holding_delivery(30);
        let mut consumer = Consumer::new(settings.clone(), queue.clone()).with_prefetch(16);
        consumer.policy(TallyScores {
            tallies: Repository::new(tallies.clone()),
        });
        gate.add_to(&mut consumer);
        let consuming = consumer.start().await.expect("the consumer starts");
        let scores = MemoryStore::new();
        let relay = Relay::builder(settings)
            .publish::<ScoreRecorded>()
            .connect()
            .await
            .expect("connects");
        let mut bus = EventBus::new(scores.clone(), scores.clone());
        bus.handler(relay.clone());
        let running = bus.start().expect("starts");

        let mut ids = record_scores(&scores, 100).await;
        let held = gate.holding().await;

        let restart = Restart;
        let stopped = tokio::task::spawn_blocking(|| rabbitmqctl("stop_app"))
            .await
            .expect("rabbitmqctl");
        assert!(stopped, "rabbitmqctl stop_app");
        // Its handlers return while the broker is away: the acknowledgement is lost.
        gate.open();
        // Appended while the broker is away: the relay waits for it, in the call.
        ids.extend(record_scores_from(&scores, 100, 100).await);
        tokio::time::sleep(Duration::from_millis(500)).await;
        let started = tokio::task::spawn_blocking(|| rabbitmqctl("start_app"))
            .await
            .expect("rabbitmqctl");
        assert!(started, "rabbitmqctl start_app");
        drop(restart);

        running
            .wait_until_caught_up()
            .await
            .expect("every score relayed");
        eventually("every score tallied", || async {
            additions(&tallies).await.len() >= 200
        })
        .await;
        eventually("the held message delivered again", || async {
            gate.deliveries_of(held) >= 2
        })
        .await;
        let added = additions(&tallies).await;
        assert_eq!(added.len(), 200, "nothing tallied twice");
        let causes: HashSet<_> = added.iter().filter_map(|(cause, _)| *cause).collect();
        assert_eq!(causes, ids.iter().copied().collect(), "nothing lost");
        assert!(relay.reconnects() >= 1, "the relay reconnected");
        let stats = consuming.stats();
        assert!(
            stats.redelivered >= 1,
            "messages in flight came again: {stats:?}"
        );
        assert!(stats.reconnects >= 1, "the consumer reconnected: {stats:?}");

        running.shutdown().await;
        consuming.shutdown().await;
    });
}
