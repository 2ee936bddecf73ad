//! The server dies under the store and comes back. The test starts its own nx-27017 (the CI's
//! MongoDB wire-protocol server) on a database file, appends, kills the server with SIGKILL,
//! and starts it again on the same file and port. The store meanwhile:
//!
//! - refuses an append with a typed error while the server is gone, and stores nothing of it;
//! - goes on appending once the server is back, on the same connection pool;
//! - keeps every event acknowledged before the kill, and gives a subscriber (resubscribing
//!   after an error, as the bus does) every event once, in position order, each stream's
//!   versions dense.
//!
//! It needs `EVENTFUL_NX_27017`, the path of the `nx-27017` program (`.ci/run` sets it to the
//! one it installs); without it the test says so and passes without running.

mod common;

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use eventful_core::{
    EventFilter, EventStore, EventStoreExt, ExpectedVersion, NewEvent, Payload, Position,
    RecordedEvent, StoreError, StreamId, TypeName, Version,
};
use eventful_store_mongo::{MongoSettings, MongoStore};
use futures::StreamExt;

/// The variable naming the server program.
const PROGRAM_VARIABLE: &str = "EVENTFUL_NX_27017";
/// Streams written, and events appended to each before and after the restart.
const STREAMS: u64 = 4;
const BEFORE: u64 = 5;
const AFTER: u64 = 5;
/// How long a step may take on a loaded machine before the test gives up.
const PATIENCE: Duration = Duration::from_secs(60);

/// One nx-27017 process serving `file` on `port`.
struct Server {
    child: Child,
}

impl Server {
    fn start(program: &Path, file: &Path, port: u16, dir: &Path) -> Self {
        let child = Command::new(program)
            .arg("--db")
            .arg(file)
            .args(["--host", "127.0.0.1", "-p", &port.to_string()])
            .arg("--log-file")
            .arg(dir.join("nx.log"))
            .arg("--pid-file")
            .arg(dir.join("nx.pid"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|error| panic!("{} does not start: {error}", program.display()));
        let deadline = Instant::now() + PATIENCE;
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "nx-27017 does not listen on {port}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Self { child }
    }

    /// SIGKILL: nothing flushed or closed on the server's side.
    fn kill(mut self) {
        self.child.kill().expect("killed");
        self.child.wait().expect("reaped");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port nothing listens on now.
fn free_port() -> u16 {
    std::net::TcpListener::bind(("127.0.0.1", 0))
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port()
}

fn event(stream: u64, version: u64) -> NewEvent {
    NewEvent::new(
        TypeName::from_static("test"),
        TypeName::from_static("numbered"),
        1,
        Payload::from_json_slice(format!(r#"{{"s":{stream},"v":{version}}}"#).as_bytes())
            .expect("valid JSON"),
    )
}

fn stream_of(run: &str, stream: u64) -> StreamId {
    StreamId::new(format!("restart{run}-{stream}")).expect("valid")
}

/// Appends event `version` of `stream`, trying again while the server is away (an outcome
/// the store cannot know is retried with the same event id, which stores it once).
async fn append_through(store: &MongoStore, run: &str, stream: u64, version: u64) {
    let id = stream_of(run, stream);
    let new = event(stream, version);
    let deadline = Instant::now() + PATIENCE;
    loop {
        let expected = ExpectedVersion::Exact(Version::new(version - 1));
        match store
            .append(&id, expected, std::slice::from_ref(&new))
            .await
        {
            Ok(_) => return,
            Err(StoreError::Unavailable { .. } | StoreError::Timeout { .. })
                if Instant::now() < deadline =>
            {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(error) => panic!("appending {id} v{version}: {error}"),
        }
    }
}

/// Follows the log from the start until `count` events came, subscribing again after the
/// last one seen whenever a read fails.
async fn follow(store: MongoStore, count: usize) -> Vec<RecordedEvent> {
    let mut seen: Vec<RecordedEvent> = Vec::new();
    let mut failures = 0;
    while seen.len() < count {
        let from = seen
            .last()
            .map_or(Position::START, |event| event.position.next());
        let mut events = store.subscribe(from, EventFilter::all());
        while let Some(next) = events.next().await {
            match next {
                Ok(event) => {
                    seen.push(event);
                    if seen.len() == count {
                        return seen;
                    }
                }
                Err(_) => {
                    failures += 1;
                    break;
                }
            }
        }
        assert!(failures < 10_000, "the subscription never recovered");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_and_restarted_loses_nothing_acknowledged() {
    let Some(program) = std::env::var_os(PROGRAM_VARIABLE).map(PathBuf::from) else {
        eprintln!(
            "skipped `a_server_killed_and_restarted_loses_nothing_acknowledged`: \
             {PROGRAM_VARIABLE} is not set (.ci/run sets it to its nx-27017)"
        );
        return;
    };
    let dir = std::env::temp_dir().join(format!("eventful-restart-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("a directory");
    let file = dir.join("events.db");
    let port = free_port();
    let server = Server::start(&program, &file, port, &dir);
    let settings = MongoSettings::new(format!("mongodb://127.0.0.1:{port}/?directConnection=true"))
        .with_database("restart")
        .with_server_selection_timeout(Duration::from_secs(2))
        .with_poll_interval(Duration::from_millis(20));
    let store = common::connect(settings.clone()).await;
    let run = uuid::Uuid::new_v4().simple().to_string();
    let follower = tokio::spawn(follow(store.clone(), (STREAMS * (BEFORE + AFTER)) as usize));

    for version in 1..=BEFORE {
        for stream in 0..STREAMS {
            append_through(&store, &run, stream, version).await;
        }
    }
    server.kill();

    // The server is gone: a typed error, not a hang or a panic, and nothing stored.
    let lost = store
        .append(
            &stream_of(&run, 0),
            ExpectedVersion::Exact(Version::new(BEFORE)),
            &[event(99, 99)],
        )
        .await;
    assert!(
        matches!(
            lost,
            Err(StoreError::Unavailable { .. } | StoreError::Timeout { .. })
        ),
        "an append with the server gone: {lost:?}"
    );

    let _server = Server::start(&program, &file, port, &dir);
    for version in BEFORE + 1..=BEFORE + AFTER {
        for stream in 0..STREAMS {
            append_through(&store, &run, stream, version).await;
        }
    }

    let seen = tokio::time::timeout(PATIENCE * 2, follower)
        .await
        .expect("the follower got every event in time")
        .expect("the follower did not panic");
    let positions: Vec<u64> = seen.iter().map(|event| event.position.get()).collect();
    assert!(
        positions.windows(2).all(|pair| pair[0] < pair[1]),
        "in position order, each once: {positions:?}"
    );
    let ids: HashSet<_> = seen.iter().map(|event| event.event_id).collect();
    assert_eq!(ids.len(), seen.len(), "no event twice");
    let mut versions: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for event in &seen {
        versions
            .entry(event.stream_id.to_string())
            .or_default()
            .push(event.version.get());
    }
    let dense: Vec<u64> = (1..=BEFORE + AFTER).collect();
    assert_eq!(versions.len(), STREAMS as usize, "{versions:?}");
    for (stream, got) in &versions {
        assert_eq!(got, &dense, "{stream}: every version once, in order");
    }
    assert!(
        seen.iter()
            .all(|event| event.payload.to_value().expect("JSON")["s"] != 99),
        "the append refused while the server was gone was not stored"
    );

    // A new process on the restarted server reads the same log.
    let fresh = common::connect(settings).await;
    let reread: Vec<u64> = fresh
        .read_all_events(Position::START, EventFilter::all())
        .map(|event| event.expect("reads").position.get())
        .collect()
        .await;
    assert_eq!(reread, positions);
    let _ = std::fs::remove_dir_all(&dir);
}
