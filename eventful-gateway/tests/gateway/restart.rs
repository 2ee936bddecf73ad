//! The gateway's process killed while a client follows a player, and another started on the
//! same MongoDB database (`examples/serve_mongo.rs`, as its own OS process); the test appends
//! to the player's stream on that database between the kill and the restart, and after: the
//! client comes back with its last position and gets every event it missed while the gateway
//! was gone, then the live ones, with no gap and no duplicate.
//!
//! Needs `EVENTFUL_MONGO_URI` (`.ci/run` sets it); skipped with a notice otherwise. The
//! gateway program is the example `cargo test` builds beside this test.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use eventful_core::{EventStore, Position, StreamId, Version};
use eventful_store_mongo::{MongoSettings, MongoStore};
use futures::StreamExt;

use crate::support::*;

/// The gateway process: `serve_mongo` on the test's database.
struct GatewayProcess {
    child: Child,
    address: SocketAddr,
}

impl GatewayProcess {
    fn start(uri: &str, database: &str, address: &str) -> Self {
        let program = examples_dir().join("serve_mongo");
        assert!(
            program.exists(),
            "{} is missing: `cargo test -p eventful-gateway` builds the examples",
            program.display()
        );
        let mut child = Command::new(&program)
            .args([uri, database, address])
            .env(
                "EVENTFUL_GATEWAY_SECRET",
                String::from_utf8_lossy(SECRET).as_ref(),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the gateway starts");
        let stdout = child.stdout.take().expect("its stdout");
        // Read on a thread of its own: a gateway that never says LISTENING fails the test
        // after PATIENCE instead of hanging it.
        let (said, first_line) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let read = BufReader::new(stdout).read_line(&mut line).map(|_| line);
            let _ = said.send(read);
        });
        let line = match first_line.recv_timeout(PATIENCE) {
            Ok(read) => read.expect("reads the gateway's first line"),
            Err(_) => {
                let _ = child.kill();
                panic!("the gateway said nothing within {PATIENCE:?}");
            }
        };
        let address = line
            .trim()
            .strip_prefix("LISTENING ")
            .unwrap_or_else(|| panic!("the gateway said `{line}`, not LISTENING"))
            .parse()
            .expect("an address");
        Self { child, address }
    }

    fn ws_url(&self, token: &str) -> String {
        format!("ws://{}/ws?token={token}", self.address)
    }

    /// SIGKILL: no closing frame, nothing flushed.
    fn kill(mut self) {
        self.child.kill().expect("killed");
        self.child.wait().expect("reaped");
    }
}

impl Drop for GatewayProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Drops the test's database at the end, passed or failed, through a connection of its own
/// on a runtime of its own (the test's may be unwinding).
struct DropDatabase(MongoSettings);

impl Drop for DropDatabase {
    fn drop(&mut self) {
        let settings = self.0.clone();
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime");
            runtime.block_on(async {
                if let Ok(store) = MongoStore::connect(settings).await {
                    let _ = store.database().drop().await;
                }
            });
        })
        .join();
    }
}

/// Where cargo puts this package's examples: beside the test binary's `deps` directory.
fn examples_dir() -> PathBuf {
    let mut dir = std::env::current_exe().expect("the test binary");
    dir.pop();
    if dir.ends_with("deps") {
        dir.pop();
    }
    dir.join("examples")
}

/// A client of `gateway` following `player-7` after `after`, past its confirmation.
async fn follower(gateway: &GatewayProcess, after: Option<Position>) -> WsClient {
    let mut client = WsClient::connect(&gateway.ws_url(&token("7"))).await;
    assert!(matches!(
        client.frame().await,
        eventful_gateway::ServerFrame::Welcome { .. }
    ));
    client.subscribe("me", stream("player-7"), after).await;
    client
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gateway_killed_and_started_again_resumes_its_clients_with_no_gap() {
    let Ok(uri) = std::env::var("EVENTFUL_MONGO_URI") else {
        eprintln!(
            "skipped `a_gateway_killed_and_started_again_resumes_its_clients_with_no_gap`: \
             EVENTFUL_MONGO_URI is not set (.ci/run sets it)"
        );
        return;
    };
    let database = format!("eventful_gateway_restart_{}", uuid::Uuid::new_v4().simple());
    let settings = MongoSettings::new(&uri).with_database(&database);
    let _dropped = DropDatabase(settings.clone());
    let writer = MongoStore::connect(settings)
        .await
        .expect("the writer's store");

    let gateway = GatewayProcess::start(&uri, &database, "127.0.0.1:0");
    let mut client = follower(&gateway, None).await;
    let mut received = Vec::new();
    for amount in 1..=3 {
        let position = append(&writer, "player-7", amount).await;
        let (_, event) = client.event().await;
        assert_eq!(event.position, position);
        received.push(event.position);
    }

    // The gateway dies with the client connected; the game goes on meanwhile.
    gateway.kill();
    tokio::time::timeout(PATIENCE, async {
        while let Some(Ok(message)) = client.socket.next().await {
            assert!(
                !matches!(message, tokio_tungstenite::tungstenite::Message::Text(_)),
                "nothing more from a dead gateway: {message:?}"
            );
        }
    })
    .await
    .expect("the connection ends with the process");
    for amount in 4..=7 {
        append(&writer, "player-7", amount).await;
    }

    // A new gateway process on the same database; the client comes back after the last
    // position it received.
    let gateway = GatewayProcess::start(&uri, &database, "127.0.0.1:0");
    let mut client = follower(&gateway, received.last().copied()).await;
    for _ in 4..=7 {
        received.push(client.event().await.1.position);
    }
    for amount in 8..=9 {
        let position = append(&writer, "player-7", amount).await;
        let (_, event) = client.event().await;
        assert_eq!(event.position, position, "then the live events");
        received.push(event.position);
    }

    let stored: Vec<Position> = writer
        .read_stream(
            &StreamId::new("player-7").expect("valid"),
            Version::new(1),
            100,
        )
        .await
        .expect("reads")
        .iter()
        .map(|event| event.position)
        .collect();
    assert_eq!(received, stored, "every event of the stream once, in order");
}
