//! What the gateway records: clients connected by transport, and clients dropped for reading
//! too slowly — read from a debugging recorder installed for the test's thread (its
//! runtime, and so the gateway, run every task on that thread).

use std::time::Duration;

use eventful_core::telemetry::{GATEWAY_CONNECTIONS, GATEWAY_SLOW_CLIENTS_DROPPED_TOTAL};
use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
use tokio_tungstenite::MaybeTlsStream;

use crate::support::*;

/// What the recorder holds now, as (metric, transport, value). A read takes it: counters
/// count from zero again, and gauges read zero until moved again.
fn take(snapshotter: &Snapshotter) -> Vec<(String, String, DebugValue)> {
    snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .filter_map(|(key, .., value)| {
            let key = key.key();
            let transport = key.labels().find(|label| label.key() == "transport")?;
            Some((key.name().to_owned(), transport.value().to_owned(), value))
        })
        .collect()
}

fn find<'r>(
    reading: &'r [(String, String, DebugValue)],
    name: &str,
    transport: &str,
) -> Option<&'r DebugValue> {
    reading
        .iter()
        .find(|(metric, label, _)| metric == name && label == transport)
        .map(|(.., value)| value)
}

#[test]
fn connections_by_transport_and_slow_clients_dropped_are_recorded() {
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
        let gauge = |transport| match find(&reading, GATEWAY_CONNECTIONS, transport) {
            Some(DebugValue::Gauge(value)) => value.into_inner(),
            other => panic!("{transport}: {other:?}"),
        };
        assert_eq!(
            (gauge("websocket"), gauge("sse")),
            (1.0, 1.0),
            "two opened, one gone; one stream"
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
        let mut dropped = 0;
        while dropped == 0 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "not dropped in time"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
            let reading = take(&snapshotter);
            if let Some(DebugValue::Counter(count)) =
                find(&reading, GATEWAY_SLOW_CLIENTS_DROPPED_TOTAL, "websocket")
            {
                dropped += count;
            }
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
        let again = find(&reading, GATEWAY_SLOW_CLIENTS_DROPPED_TOTAL, "websocket");
        assert!(
            matches!(again, None | Some(DebugValue::Counter(0))),
            "dropped once: {again:?}"
        );
        assert_eq!(dropped, 1);
        drop(stalled);
    });
}
