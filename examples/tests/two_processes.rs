//! The player service and the game-session service as OS processes of their own, joined by
//! the local RabbitMQ (`EVENTFUL_AMQP_URI`): two player-service instances on one MongoDB
//! database (`EVENTFUL_MONGO_URI`), the session service on its own in-memory store, driving
//! the seeded simulation. The player-service process holding the awards is killed with SIGKILL
//! in the middle.
//! Every completed game must award xp exactly once, and every player must end with the same
//! facts and the same state as in the one-process backend run with the same seed.
//!
//! Both player-service instances serve their operator's endpoints (`--admin`): once the run
//! converged, the survivor is ready with both broker links connected, its `/metrics` parse,
//! and its admin API lists the handler it took over.
//!
//! Skipped, with a notice, unless both variables are set (`.ci/run` sets both). The example
//! binaries are the ones `cargo test` builds beside this test.

mod http;

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use eventful_core::{
    CheckpointStore, EventFilter, EventStore, Position, RecordedEvent, Upcasters, Uuid,
};
use eventful_examples::ids::PlayerId;
use eventful_examples::integration::GameCompletedEvent;
use eventful_examples::player::{Player, PlayerEvent, PlayerService};
use eventful_examples::programs::game_backend::Backend;
use eventful_store_memory::MemoryStore;
use eventful_store_mongo::{MongoSettings, MongoStore};
use prometheus_parse::Scrape;

use self::http::get;

const PLAYERS: usize = 6;
const MATCHES: usize = 8;
const SEED: u64 = 11;
/// The player-service process killed once this match is played.
const KILL_AFTER: usize = 3;
/// How long a step may take before the test gives up (MongoDB here is a small server over
/// SQLite, and the machine is shared).
const PATIENCE: Duration = Duration::from_secs(180);
/// The admin token every process is started with.
const ADMIN_TOKEN: &str = "two-processes-admin-token-0123456789abcdef";

/// One service process: its stdout, line by line, and everything it printed so far.
struct Process {
    name: String,
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
    stderr: PathBuf,
}

impl Process {
    fn start(name: &str, program: &str, args: &[String]) -> Self {
        let binary = examples_dir().join(program);
        assert!(
            binary.exists(),
            "{} is missing: `cargo test -p eventful-examples` builds the examples",
            binary.display()
        );
        let stderr =
            std::env::temp_dir().join(format!("eventful-{name}-{}.err", std::process::id()));
        let mut child = Command::new(&binary)
            .args(args)
            .env("EVENTFUL_ADMIN_TOKEN", ADMIN_TOKEN)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&stderr).expect("a stderr file"))
            .spawn()
            .expect("the example starts");
        let stdout = child.stdout.take().expect("piped");
        let (sender, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if sender.send(line).is_err() {
                    return;
                }
            }
        });
        Self {
            name: name.to_owned(),
            child,
            lines,
            seen: Vec::new(),
            stderr,
        }
    }

    /// Waits for a line that starts with `prefix`, and returns it.
    fn wait_for(&mut self, prefix: &str) -> String {
        let deadline = std::time::Instant::now() + PATIENCE;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    let found = line.starts_with(prefix);
                    self.seen.push(line.clone());
                    if found {
                        return line;
                    }
                }
                Err(error) => panic!(
                    "{} printed no `{prefix}` ({error:?}); stdout:\n{}\nstderr:\n{}",
                    self.name,
                    self.seen.join("\n"),
                    std::fs::read_to_string(&self.stderr).unwrap_or_default()
                ),
            }
        }
    }

    /// SIGKILL: nothing released, nothing acknowledged.
    fn kill(&mut self) {
        self.child.kill().expect("killed");
        self.child.wait().expect("reaped");
    }

    /// SIGTERM, then the exit, which must be a clean one that says `STOPPED`.
    fn stop(mut self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success());
        self.wait_for("STOPPED");
        let exit = self.child.wait().expect("reaped");
        assert!(exit.success(), "{} exited with {exit}", self.name);
        let _ = std::fs::remove_file(&self.stderr);
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        // A test that failed half-way leaves no process behind.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Where `cargo test` put the example binaries: beside this test's `deps` directory.
fn examples_dir() -> PathBuf {
    let test = std::env::current_exe().expect("the test binary");
    test.parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>/deps")
        .join("examples")
}

/// What a player's stream says, in a form that does not depend on the order in which the
/// service's handlers ran: each statistics change with its reason, each level reward.
fn facts(history: &[RecordedEvent<PlayerEvent>]) -> Vec<String> {
    let mut facts: Vec<String> = history
        .iter()
        .flat_map(|event| match &event.payload {
            PlayerEvent::Created { name, stats, .. } => vec![format!("created {name} {stats:?}")],
            PlayerEvent::StatsUpdated {
                changes, reason, ..
            } => vec![format!("{changes:?} for {reason:?}")],
            PlayerEvent::LeveledUp { rewards, .. } => rewards
                .iter()
                .map(|reward| format!("reward {reward:?}"))
                .collect(),
        })
        .collect();
    facts.sort();
    facts
}

/// Each player's facts and state, and the game results, of a store holding the player
/// service's log.
struct Outcome {
    players: BTreeMap<PlayerId, (Vec<String>, Player)>,
    results: Vec<String>,
}

async fn outcome(
    store: impl EventStore + eventful_core::SnapshotStore + Clone + 'static,
) -> Outcome {
    let service = PlayerService::new(store.clone());
    let mut players = BTreeMap::new();
    for player_id in (1..=PLAYERS as u64).map(PlayerId) {
        let history = service
            .players()
            .history(&player_id)
            .await
            .expect("history");
        let state = service
            .players()
            .load(&player_id)
            .await
            .expect("state")
            .state;
        players.insert(player_id, (facts(&history), state));
    }
    let mut results: Vec<String> = game_results(&store)
        .await
        .iter()
        .map(|(_, result)| format!("{result:?}"))
        .collect();
    results.sort();
    Outcome { players, results }
}

/// Every `game_completed` of the log, with its id.
async fn game_results(store: &impl EventStore) -> Vec<(Uuid, GameCompletedEvent)> {
    let filter = EventFilter::all()
        .with_event_types([eventful_core::TypeName::from_static("game_completed")]);
    let events = store
        .read_all(Position::START, &filter, 100_000)
        .await
        .expect("read")
        .events;
    events
        .iter()
        .map(|event| {
            let result = Upcasters::new()
                .decode::<GameCompletedEvent>(event)
                .expect("a game result");
            (event.event_id, result)
        })
        .collect()
}

/// The one-process backend on the same seed.
async fn one_process() -> Outcome {
    let backend = Backend::start(MemoryStore::new()).expect("starts");
    let roster = backend.sign_up(PLAYERS).await.expect("sign-ups");
    backend.play(&roster, MATCHES, SEED).await.expect("plays");
    backend.bus.wait_until_settled().await.expect("settles");
    let outcome = outcome(backend.store.clone()).await;
    backend.bus.stop().await;
    outcome
}

#[test]
fn two_services_as_processes_award_each_game_once_through_a_sigkill() {
    let (Ok(amqp), Ok(mongo)) = (
        std::env::var("EVENTFUL_AMQP_URI"),
        std::env::var("EVENTFUL_MONGO_URI"),
    ) else {
        eprintln!(
            "skipped two_services_as_processes_award_each_game_once_through_a_sigkill: \
             EVENTFUL_AMQP_URI and EVENTFUL_MONGO_URI must both be set (.ci/run sets them)"
        );
        return;
    };
    let random = Uuid::new_v4().simple().to_string();
    let run = format!("eventful-test-two-processes-{}", &random[..12]);
    let database = format!("players_{}", &random[..12]);
    let common = |instance: &str| -> Vec<String> {
        [
            "--amqp",
            &amqp,
            "--exchange",
            &run,
            "--lease-ms",
            "1000",
            "--players",
            &PLAYERS.to_string(),
            "--instance",
            instance,
        ]
        .map(str::to_owned)
        .to_vec()
    };
    let player = |instance: &str, extra: &[&str]| {
        let mut args = common(instance);
        args.extend(extra.iter().map(|&arg| arg.to_owned()));
        args.extend(
            [
                "--store",
                "mongo",
                "--mongo-uri",
                &mongo,
                "--database",
                &database,
            ]
            .map(str::to_owned),
        );
        Process::start(instance, "player_service", &args)
    };

    // Both serve their operator's endpoints: whichever survives is read at the end.
    let admin_address = |ready: String| -> std::net::SocketAddr {
        ready
            .split_whitespace()
            .find_map(|part| part.strip_prefix("admin=http://"))
            .unwrap_or_else(|| panic!("no admin address in `{ready}`"))
            .parse()
            .expect("an address")
    };
    let mut instances = Vec::new();
    for name in ["players-a", "players-b"] {
        let mut process = player(name, &["--admin", "127.0.0.1:0"]);
        let admin = admin_address(process.wait_for("READY player_service"));
        instances.push((name, process, admin));
    }
    let mut session_args = common("sessions");
    session_args.extend(
        [
            "--play",
            "--matches",
            &MATCHES.to_string(),
            "--seed",
            &SEED.to_string(),
        ]
        .map(str::to_owned),
    );
    let mut sessions = Process::start("sessions", "game_session", &session_args);
    sessions.wait_for("READY game_session");
    sessions.wait_for(&format!("MATCH {KILL_AFTER} played"));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let store = runtime.block_on(async {
        MongoStore::connect(MongoSettings::new(&mongo).with_database(&database))
            .await
            .expect("the player service's database")
    });
    // The instance killed is the one holding the awards (one segment, claimed by the first
    // to start unless a late renewal let the other take it): the survivor must take them
    // over from it.
    let owner = runtime.block_on(async {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let segments = store
                .segments("award_game_results")
                .await
                .expect("segments");
            if let Some(owner) = segments.iter().find_map(|segment| segment.owner.clone()) {
                return owner;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "nobody holds the awards"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
    let victim = instances
        .iter()
        .position(|(name, ..)| *name == owner)
        .unwrap_or_else(|| panic!("the awards are held by `{owner}`, not by an instance"));
    let (killed, mut process, _) = instances.remove(victim);
    process.kill();
    let (survivor, second, admin) = instances.pop().expect("the other instance");
    sessions.wait_for("PLAYED");

    runtime.block_on(async {
        let expected = one_process().await;
        assert!(!expected.results.is_empty(), "the seed plays games to the end");

        let converged = tokio::time::timeout(PATIENCE, async {
            loop {
                let now = outcome(store.clone()).await;
                if now.results == expected.results && now.players == expected.players {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        })
        .await;
        let now = outcome(store.clone()).await;
        assert!(
            converged.is_ok(),
            "the player service did not reach the one-process outcome:\nresults {:#?}\nvs {:#?}\nplayers {:#?}\nvs {:#?}",
            now.results, expected.results, now.players, expected.players
        );

        // Each completed game awarded once: one `stats_updated` caused by each result.
        let all = store
            .read_all(Position::START, &EventFilter::all(), 100_000)
            .await
            .expect("read")
            .events;
        let mut caused: HashMap<Uuid, usize> = HashMap::new();
        for event in all.iter().filter(|event| event.event_type == "stats_updated") {
            if let Some(cause) = event.metadata.causation_id {
                *caused.entry(cause).or_default() += 1;
            }
        }
        let results = game_results(&store).await;
        assert_eq!(results.len(), expected.results.len(), "each result received once");
        for (event_id, result) in &results {
            assert_eq!(caused.get(event_id), Some(&1), "{result:?} awarded once");
        }

        // The survivor took the dead instance's work over.
        let segments = store.segments("award_game_results").await.expect("segments");
        assert!(
            segments.iter().all(|segment| segment.owner.as_deref() != Some(killed)),
            "{killed}'s claims were taken over: {segments:?}"
        );

        // And says so to an operator: ready, with both of its broker links up…
        let (status, body) = get(admin, "/health/ready", None).await;
        assert_eq!(status, 200, "{body}");
        let readiness: serde_json::Value = serde_json::from_str(&body).expect("JSON");
        for link in [
            format!("amqp consumer {run}.player_service"),
            String::from("amqp relay amqp_relay"),
        ] {
            assert!(
                readiness["checks"]
                    .as_array()
                    .expect("checks")
                    .iter()
                    .any(|check| check["name"] == link.as_str() && check["ok"] == true),
                "{link} in {body}"
            );
        }
        // …its metrics, with the sign-ups it made (its own, or found already made)…
        let (status, text) = get(admin, "/metrics", None).await;
        assert_eq!(status, 200, "{text}");
        let scrape = Scrape::parse(text.lines().map(|line| Ok(line.to_owned()))).expect("parses");
        let commands: f64 = scrape
            .samples
            .iter()
            .filter(|sample| {
                sample.metric == "eventful_commands_total"
                    && sample.labels.get("aggregate") == Some("player")
            })
            .map(|sample| match sample.value {
                prometheus_parse::Value::Counter(count) => count,
                ref other => panic!("not a counter: {other:?}"),
            })
            .sum();
        assert!(commands >= PLAYERS as f64, "{commands} commands in:\n{text}");
        // …and the handler it took over, in its admin API.
        let (status, body) = get(admin, "/admin/handlers/award_game_results", Some(ADMIN_TOKEN)).await;
        assert_eq!(status, 200, "{body}");
        assert!(body.contains(survivor), "owned by the survivor: {body}");
    });

    second.stop();
    sessions.stop();
    for queue in ["player_service", "game_session"] {
        for name in [
            format!("{run}.{queue}"),
            format!("{run}.{queue}.dead-letter"),
        ] {
            let _ = Command::new("rabbitmqctl")
                .args(["delete_queue", &name])
                .stdout(Stdio::null())
                .status();
        }
    }
}
