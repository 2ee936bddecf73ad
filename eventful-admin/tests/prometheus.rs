//! The Prometheus exporter: `/metrics` serves what eventful records in the text format, as a
//! Prometheus text-format parser reads it. The exporter is the process's one recorder, so
//! this file holds one test.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::{Player, create, gain};
use eventful_admin::PrometheusMetrics;
use eventful_core::Repository;
use eventful_store_memory::MemoryStore;
use prometheus_parse::{Scrape, Value};
use tower::ServiceExt;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_served_in_the_prometheus_text_format() {
    let metrics = PrometheusMetrics::install().expect("the first recorder of this process");
    assert!(
        PrometheusMetrics::install().is_err(),
        "one recorder per process"
    );
    let players = Repository::<Player, _>::new(MemoryStore::new());
    players.execute(create(1)).await.expect("created");
    players.execute(gain(1, 3)).await.expect("xp");
    assert!(players.execute(create(1)).await.is_err());

    let response = metrics
        .router()
        .oneshot(
            Request::get("/metrics")
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect("answered");
    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response.headers()["content-type"].to_str().expect("text");
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .expect("body");
    let text = String::from_utf8(bytes.to_vec()).expect("UTF-8");
    let scrape = Scrape::parse(text.lines().map(|line| Ok(line.to_owned()))).expect("parses");

    let value = |name: &str, labels: &[(&str, &str)]| {
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
    assert_eq!(
        value(
            "eventful_commands_total",
            &[("aggregate", "player"), ("outcome", "ok")]
        ),
        Value::Counter(2.0)
    );
    assert_eq!(
        value(
            "eventful_commands_total",
            &[("aggregate", "player"), ("outcome", "rejected")]
        ),
        Value::Counter(1.0)
    );
    assert_eq!(
        value("eventful_events_appended_total", &[("aggregate", "player")]),
        Value::Counter(2.0)
    );
    let Value::Histogram(buckets) = value(
        "eventful_command_duration_seconds",
        &[("aggregate", "player")],
    ) else {
        panic!("the latency is a histogram:\n{text}");
    };
    assert_eq!(
        buckets.len(),
        eventful_admin::COMMAND_DURATION_BUCKETS.len() + 1,
        "{buckets:?}"
    );
    let all = buckets.last().expect("+Inf");
    assert!(
        all.less_than.is_infinite() && all.count == 3.0,
        "{buckets:?}"
    );
    assert!(
        scrape
            .docs
            .get("eventful_commands_total")
            .is_some_and(|help| help.contains("outcome")),
        "described: {:?}",
        scrape.docs
    );
}
