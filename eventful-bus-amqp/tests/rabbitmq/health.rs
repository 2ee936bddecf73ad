//! The relay's and the consumer's [`BrokerHealth`] follow their links: connected while they
//! work, reconnecting (with the reason) once the broker closed their connections, connected
//! again once they reconnected, ended once shut down or closed.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use eventful_bus_amqp::{Backoff, BrokerHealth, Consumer, LinkStatus};

use crate::common::*;
use crate::proxy::Cuttable;

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
    on_broker(
        "health_is_down_with_a_reason_while_reconnecting_and_ended_after_shutdown",
        |uri| async move {
            let run = Run::new(&uri, "health", "tally");
            // A second at least before each reconnection: the test sees the links down.
            let settings = run
                .settings()
                .with_reconnect(Backoff::new(Duration::from_secs(1), Duration::from_secs(2)));
            let consumer = Consumer::new(settings.clone(), run.queue.clone());
            let pair = Pair::start(consumer, None, settings).await;

            let (inbound, outbound) = (pair.consuming.health(), pair.relay.health());
            assert_eq!(inbound.name(), format!("amqp consumer {}", run.queue));
            assert_eq!(outbound.name(), "amqp relay amqp_relay");
            record_scores(&pair.scores, 10).await;
            pair.wait_for_tallies(10).await;
            inbound.check().expect("the consumer is connected");
            outbound.check().expect("the relay is connected");
            let first = (connected_since(&inbound), connected_since(&outbound));

            // The relay is idle now: only its watch on the connection sees the close.
            // Each link stays down at least the backoff's second once it has noticed the
            // close, but `rabbitmqctl` closes the connections a second or more apart, and an
            // idle relay notices late: the first may be back before the last goes down, or
            // before the closing returns. So each is looked at while it is down, watched from
            // before the first close.
            let seen_down = [AtomicBool::new(false), AtomicBool::new(false)];
            let each_down = eventually("each link down", || async {
                for (health, seen) in [&inbound, &outbound].into_iter().zip(&seen_down) {
                    if seen.load(Ordering::Relaxed) || !reconnecting(health) {
                        continue;
                    }
                    let down = health.check().expect_err("down");
                    assert_eq!(down.name, health.name());
                    let LinkStatus::Reconnecting { reason, .. } = &down.status else {
                        panic!("not reconnecting: {down}");
                    };
                    assert!(!reason.is_empty(), "{down}");
                    #[cfg(feature = "admin")]
                    if std::ptr::eq(health, &inbound) {
                        use eventful_admin::HealthCheck;
                        let detail = HealthCheck::check(&inbound)
                            .await
                            .expect_err("readiness fails")
                            .to_string();
                        assert!(detail.starts_with(&format!(
                            "amqp consumer {}: reconnecting since ",
                            run.queue
                        )));
                    }
                    seen.store(true, Ordering::Relaxed);
                }
                seen_down.iter().all(|seen| seen.load(Ordering::Relaxed))
            });
            let (closed, ()) = tokio::join!(close_connections_of(&run.name), each_down);
            assert!(closed >= 2, "the relay's and the consumer's: {closed}");

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
            assert!(pair.consuming.stats().reconnects >= 1);
            assert!(pair.relay.reconnects() >= 1);
            #[cfg(feature = "admin")]
            {
                use eventful_admin::HealthCheck;
                HealthCheck::check(&outbound)
                    .await
                    .expect("readiness passes");
            }
            // And they work: 10 more, tallied.
            record_scores_from(&pair.scores, 10, 10).await;
            pair.wait_for_tallies(20).await;

            pair.consuming.shutdown().await;
            assert_eq!(
                inbound.status(),
                LinkStatus::Ended {
                    reason: "shut down".to_owned()
                }
            );
            pair.relay.close();
            assert_eq!(
                outbound.status(),
                LinkStatus::Ended {
                    reason: "the relay was closed".to_owned()
                }
            );
            pair.running.shutdown().await;
            drop(pair.relay);
            assert!(matches!(outbound.status(), LinkStatus::Ended { .. }));
        },
    );
}

#[test]
fn a_relay_dropped_while_the_broker_is_away_stops_reconnecting_and_ends() {
    on_broker(
        "a_relay_dropped_while_the_broker_is_away_stops_reconnecting_and_ends",
        |uri| async move {
            let run = Run::new(&uri, "relay-dropped", "tally");
            let (proxy, through) = Cuttable::to_broker_of(&uri).await;
            let settings = settings(&through, &run.name).with_reconnect(Backoff::new(
                Duration::from_millis(20),
                Duration::from_millis(50),
            ));
            let relay = score_relay(settings).await;
            let outbound = relay.health();
            outbound.check().expect("connected");

            // Nothing reaches the broker any more: the relay's watch on its connection keeps
            // trying to open it again, holding the relay while it does.
            proxy.cut();
            eventually("the relay reconnecting", || async {
                reconnecting(&outbound)
            })
            .await;
            drop(relay);
            eventually("the relay's link ended", || async {
                matches!(outbound.status(), LinkStatus::Ended { .. })
            })
            .await;
            assert_eq!(
                outbound.status(),
                LinkStatus::Ended {
                    reason: "dropped".to_owned()
                },
                "ended by the last handle's drop, not by a close"
            );
        },
    );
}
