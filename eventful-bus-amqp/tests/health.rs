//! The relay's and the consumer's [`BrokerHealth`] follow their links: connected while they
//! work, reconnecting (with the reason) once the broker closed their connections, connected
//! again once they reconnected, ended once shut down or closed.
//!
//! Runs against `EVENTFUL_AMQP_URI` (skipped, with a notice, when it is unset) and needs
//! `rabbitmqctl` beside the broker.

mod common;

use std::time::Duration;

use common::*;
use eventful_bus_amqp::{Backoff, BrokerHealth, Consumer, LinkStatus, Relay};
use eventful_core::{EventBus, Repository};
use eventful_store_memory::MemoryStore;

/// When `health` connected last; panics unless it is connected.
fn connected_since(health: &BrokerHealth) -> chrono::DateTime<chrono::Utc> {
    match health.status() {
        LinkStatus::Connected { since } => since,
        other => panic!("{} is not connected: {other}", health.name()),
    }
}

/// Whether `health` is reconnecting; panics if it ended.
fn reconnecting(health: &BrokerHealth) -> bool {
    match health.status() {
        LinkStatus::Reconnecting { .. } => true,
        LinkStatus::Connected { .. } => false,
        other => panic!("{} ended: {other}", health.name()),
    }
}

#[test]
fn health_is_down_with_a_reason_while_reconnecting_and_ended_after_shutdown() {
    let Some(uri) =
        amqp_uri("health_is_down_with_a_reason_while_reconnecting_and_ended_after_shutdown")
    else {
        return;
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let run = unique("health");
        let queue = format!("{run}.tally");
        let _clean = CleanUp::new(&uri, &run, &[&queue]);
        // A second at least before each reconnection: the test sees the links down.
        let settings = settings(&uri, &run)
            .with_reconnect(Backoff::new(Duration::from_secs(1), Duration::from_secs(2)));
        let tallies = MemoryStore::new();
        let mut consumer = Consumer::new(settings.clone(), queue.clone());
        consumer.policy(TallyScores {
            tallies: Repository::new(tallies.clone()),
        });
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

        let (inbound, outbound) = (consuming.health(), relay.health());
        assert_eq!(inbound.name(), format!("amqp consumer {queue}"));
        assert_eq!(outbound.name(), "amqp relay amqp_relay");
        record_scores(&scores, 10).await;
        eventually("10 scores tallied", || async {
            additions(&tallies).await.len() >= 10
        })
        .await;
        inbound.check().expect("the consumer is connected");
        outbound.check().expect("the relay is connected");
        let first = (connected_since(&inbound), connected_since(&outbound));

        // The relay is idle now: only its watch on the connection sees the close.
        let closed = tokio::task::spawn_blocking({
            let run = run.clone();
            move || close_connections_of(&run)
        })
        .await
        .expect("rabbitmqctl");
        assert!(closed >= 2, "the relay's and the consumer's: {closed}");
        eventually("both links down", || async {
            reconnecting(&inbound) && reconnecting(&outbound)
        })
        .await;
        for health in [&inbound, &outbound] {
            let down = health.check().expect_err("down");
            assert_eq!(down.name, health.name());
            let LinkStatus::Reconnecting { reason, .. } = &down.status else {
                panic!("not reconnecting: {down}");
            };
            assert!(!reason.is_empty(), "{down}");
        }
        #[cfg(feature = "admin")]
        {
            use eventful_admin::HealthCheck;
            let detail = HealthCheck::check(&inbound)
                .await
                .expect_err("readiness fails")
                .to_string();
            assert!(detail.starts_with(&format!("amqp consumer {queue}: reconnecting since ")));
        }

        eventually("both links up again", || async {
            !reconnecting(&inbound) && !reconnecting(&outbound)
        })
        .await;
        assert!(
            connected_since(&inbound) > first.0,
            "the consumer reconnected"
        );
        assert!(
            connected_since(&outbound) > first.1,
            "the relay reconnected"
        );
        assert!(consuming.stats().reconnects >= 1);
        assert!(relay.reconnects() >= 1);
        #[cfg(feature = "admin")]
        {
            use eventful_admin::HealthCheck;
            HealthCheck::check(&outbound)
                .await
                .expect("readiness passes");
        }
        // And they work: 10 more, tallied.
        record_scores_from(&scores, 10, 10).await;
        eventually("20 scores tallied", || async {
            additions(&tallies).await.len() >= 20
        })
        .await;

        consuming.shutdown().await;
        assert_eq!(
            inbound.status(),
            LinkStatus::Ended {
                reason: "shut down".to_owned()
            }
        );
        relay.close();
        assert_eq!(
            outbound.status(),
            LinkStatus::Ended {
                reason: "the relay was closed".to_owned()
            }
        );
        running.shutdown().await;
        drop(relay);
        assert!(matches!(outbound.status(), LinkStatus::Ended { .. }));
    });
}
