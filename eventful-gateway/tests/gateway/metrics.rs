//! What the gateway records: clients connected by transport, clients dropped for reading too
//! slowly, and each event pushed to a client as a delivery — read from a debugging recorder
//! installed for the test's thread (its runtime, and so the gateway, run every task on that
//! thread).

use std::time::Duration;

use eventful_core::telemetry::{
    DELIVERIES_TOTAL, GATEWAY_CONNECTIONS, GATEWAY_SLOW_CLIENTS_DROPPED_TOTAL,
};
use eventful_gateway::ServerFrame;
use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
use tokio_tungstenite::MaybeTlsStream;

use crate::support::*;

/// A metric's name, labels and value.
type Reading = Vec<(String, Vec<(String, String)>, DebugValue)>;

/// What the recorder holds now. A read takes it: counters count from zero again, and gauges
/// read zero until moved again.
fn take(snapshotter: &Snapshotter) -> Reading {
    snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .map(|(key, .., value)| {
            let key = key.key();
            let labels = key
                .labels()
                .map(|label| (label.key().to_owned(), label.value().to_owned()))
                .collect();
            (key.name().to_owned(), labels, value)
        })
        .collect()
}

/// The value of `name` with every label of `labels`.
fn find<'r>(reading: &'r Reading, name: &str, labels: &[(&str, &str)]) -> Option<&'r DebugValue> {
    reading
        .iter()
        .find(|(metric, has, _)| {
            metric == name
                && labels
                    .iter()
                    .all(|&(key, value)| has.iter().any(|(k, v)| k == key && v == value))
        })
        .map(|(.., value)| value)
}

/// The count of `name` with `labels`, zero when it was not recorded since the last read.
fn count(reading: &Reading, name: &str, labels: &[(&str, &str)]) -> u64 {
    match find(reading, name, labels) {
        Some(DebugValue::Counter(count)) => *count,
        None => 0,
        other => panic!("{name} {labels:?} is not a counter: {other:?}"),
    }
}

const DELIVERED: &[(&str, &str)] = &[("kind", "gateway"), ("outcome", "delivered")];
const DROPPED: &[(&str, &str)] = &[("kind", "gateway"), ("outcome", "dropped")];

#[test]
fn connections_slow_clients_dropped_and_deliveries_are_recorded() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let _local = metrics::set_default_local_recorder(&recorder);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let store = memory();
        let served = Served::start(store.clone(), settings().with_queue_capacity(1)).await;
        let _kept = served.client("7").await;
        let gone = served.client("8").await;
        let query = format!("token={}&stream=player-7", token("7"));
        let mut sse = SseClient::open(&served.sse_url(&query), None)
            .await
            .expect("accepted");
        sse.frame().await; // the welcome: the session is open
        drop(gone);
        while served.gateway.connections() > 2 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let reading = take(&snapshotter);
        let gauge =
            |transport| match find(&reading, GATEWAY_CONNECTIONS, &[("transport", transport)]) {
                Some(DebugValue::Gauge(value)) => value.into_inner(),
                other => panic!("{transport}: {other:?}"),
            };
        assert_eq!(
            (gauge("websocket"), gauge("sse")),
            (1.0, 1.0),
            "two opened, one gone; one stream"
        );

        // One event for the stream's subscriber: one delivery, once it has the frame.
        append(&store, "player-7", 5).await;
        // (after the subscription's confirmation)
        while !matches!(sse.frame().await, ServerFrame::Event { .. }) {}
        let reading = take(&snapshotter);
        assert_eq!(
            (
                count(&reading, DELIVERIES_TOTAL, DELIVERED),
                count(&reading, DELIVERIES_TOTAL, DROPPED)
            ),
            (1, 0)
        );

        // A client stuck on a frame larger than every buffer, while two more come for it:
        // one more than its queue of one.
        let stalled = stalled_websocket(&served, "9").await;
        append_huge(&store, "player-9").await;
        let MaybeTlsStream::Plain(tcp) = stalled.socket.get_ref() else {
            panic!("a plain TCP connection");
        };
        writing_begun(tcp).await;
        append(&store, "player-9", 1).await;
        append(&store, "player-9", 2).await;
        let deadline = tokio::time::Instant::now() + PATIENCE;
        let (mut dropped, mut deliveries_dropped) = (0, 0);
        while dropped == 0 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "not dropped in time"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
            let reading = take(&snapshotter);
            dropped += count(
                &reading,
                GATEWAY_SLOW_CLIENTS_DROPPED_TOTAL,
                &[("transport", "websocket")],
            );
            deliveries_dropped += count(&reading, DELIVERIES_TOTAL, DROPPED);
        }
        // No queue left to overflow: the next event for the client counts nothing.
        let last = append(&store, "player-9", 3).await;
        while served.gateway.position() < last {
            assert!(
                tokio::time::Instant::now() < deadline,
                "not dispatched in time"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let reading = take(&snapshotter);
        let again = count(
            &reading,
            GATEWAY_SLOW_CLIENTS_DROPPED_TOTAL,
            &[("transport", "websocket")],
        );
        assert_eq!((dropped, again), (1, 0), "dropped once");
        // The event that found the queue full is the one dropped delivery.
        deliveries_dropped += count(&reading, DELIVERIES_TOTAL, DROPPED);
        assert_eq!(deliveries_dropped, 1);
        drop(stalled);
    });
}
