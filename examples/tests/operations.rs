//! The operator's side of `game_backend --serve`: `/metrics` read from the running backend
//! and parsed as Prometheus text, readiness, and the admin API behind its token. Its own test
//! binary: the Prometheus exporter is the process's one recorder.

mod http;

use std::net::SocketAddr;
use std::time::Duration;

use eventful_examples::serve::{self, ServeSettings};
use eventful_store_memory::MemoryStore;
use prometheus_parse::{Scrape, Value};

use self::http::{call, get};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_served_backend_exports_metrics_health_and_the_admin_api() {
    let settings = ServeSettings {
        address: SocketAddr::from(([127, 0, 0, 1], 0)),
        players: 4,
        seed: 7,
        // A match starts at once and then every 20 ms: metrics move while the test reads.
        match_pause: Duration::from_millis(20),
    };
    let serving = serve::start(MemoryStore::new(), &settings)
        .await
        .expect("the backend is served");
    let address = serving.address;

    let (status, text) = get(address, "/metrics", None).await;
    assert_eq!(status, 200, "{text}");
    let scrape = Scrape::parse(text.lines().map(|line| Ok(line.to_owned()))).expect("parses");
    let sample = |name: &str, labels: &[(&str, &str)]| {
        scrape
            .samples
            .iter()
            .find(|sample| {
                sample.metric == name
                    && labels
                        .iter()
                        .all(|(key, value)| sample.labels.get(key) == Some(*value))
            })
            .map(|sample| sample.value.clone())
            .unwrap_or_else(|| panic!("no {name} {labels:?} in:\n{text}"))
    };
    // Four sign-ups at least, each a command of the player service.
    let Value::Counter(ok) = sample(
        "eventful_commands_total",
        &[("aggregate", "player"), ("outcome", "ok")],
    ) else {
        panic!("a counter");
    };
    assert!(ok >= 4.0, "{ok}");
    assert!(matches!(
        sample("eventful_command_duration_seconds", &[("aggregate", "player")]),
        Value::Histogram(buckets) if buckets.last().is_some_and(|all| all.count >= 4.0)
    ));
    assert!(matches!(
        sample("eventful_handler_position", &[("handler", "leaderboard"), ("segment", "0/1")]),
        Value::Gauge(position) if position >= 4.0
    ));
    assert!(scrape.docs.contains_key("eventful_handler_lag_events"));

    let (status, body) = get(address, "/health/ready", None).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(r#""status":"ready""#), "{body}");

    let (status, body) = get(address, "/admin/handlers", None).await;
    assert_eq!(status, 401, "{body}");
    let (status, body) = get(address, "/admin/handlers", Some(&serving.admin_token)).await;
    assert_eq!(status, 200, "{body}");
    let handlers: Vec<serde_json::Value> = serde_json::from_str(&body).expect("JSON");
    assert!(
        handlers
            .iter()
            .any(|handler| handler["name"] == "leaderboard"),
        "{body}"
    );
    let (status, body) = get(
        address,
        "/admin/aggregates/player/1",
        Some(&serving.admin_token),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(r#""stream_id":"player-1""#), "{body}");
    let (status, body) = get(
        address,
        "/admin/streams/player-1?version=999",
        Some(&serving.admin_token),
    )
    .await;
    assert_eq!(status, 404, "{body}");
    assert!(body.contains("version_beyond_stream"), "{body}");

    // The leaderboard, which the page reads, is rebuilt into a fresh copy and swapped in.
    let (status, body) = call(
        address,
        "POST",
        "/admin/handlers/leaderboard/rebuild",
        Some(&serving.admin_token),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(r#""handler":"leaderboard""#), "{body}");

    serving.stop("the test is over").await.expect("stops");
}
