//! The game workload of `../shared/WORKLOAD.md`, the one benchmark every store runs.
//!
//! - **commands**: P players, each `CreatePlayer` then 18 × `GainXp { 100 }` and 2 ×
//!   `UnlockAchievement`, every command through [`Repository::execute`] (load, decide, append
//!   with the expected version); 22 events per player, counted and checked.
//! - **replay**: one player with 10,000 events, loaded without a snapshot (every payload
//!   decoded) and with snapshots every 100 events.
//! - **keyed commands on a long stream** (only with `--keyed-long-stream`): commands with a
//!   fresh idempotency key each, as a policy sends them, on a player whose stream holds 100
//!   events, then on one whose stream holds 1,000,000; see [`keyed`].
//! - **policies in instances** (only with `--policy-instances K`): a policy over the commands'
//!   events, run by K buses sharing the store as K instances of one service; see [`policies`].
//! - **latencies** (only with `--latencies`): the commands once more on a fresh store, each
//!   timed; see [`latency`].
//!
//! [`run`] runs them on stores from a factory and returns a [`WorkloadReport`], which prints
//! the figures and the lines scripts read. The process around it (the command line, the
//! runtime, the exit status) belongs to the bench binary; [`BenchArgs`] is the command line
//! they share. A store's `benches/game_workload.rs`, with `harness = false`:
//!
//! ```no_run
//! use std::convert::Infallible;
//! use std::process::ExitCode;
//!
//! use clap::Parser;
//! use eventful_core::testing::workload::{self, BenchArgs, peak_memory_bytes};
//! use eventful_store_memory::MemoryStore;
//!
//! fn main() -> ExitCode {
//!     let args = BenchArgs::parse().workload;
//!     let make_store =
//!         || async { Ok::<_, Infallible>(MemoryStore::with_payload_format(args.payload_format)) };
//!     let outcome = match args.runtime() {
//!         Ok(runtime) => runtime.block_on(workload::run("memory", &args, make_store)),
//!         Err(error) => Err(error.into()),
//!     };
//!     match outcome {
//!         Ok(report) => {
//!             print!("{}", report.with_peak_memory(peak_memory_bytes()));
//!             ExitCode::SUCCESS
//!         }
//!         Err(error) => {
//!             eprintln!("workload failed: {error}");
//!             ExitCode::FAILURE
//!         }
//!     }
//! }
//! ```
//!
//! The last line it prints is the one scripts read:
//! `RESULT name=<impl> players=<P> tasks=<T> commands_per_s=<x> events_per_s=<y> replay_events_per_s=<z>`;
//! with `--keyed-long-stream`, a `RESULT_KEYED` line comes before it
//! (see [`WorkloadReport::keyed_result_line`]), with `--policy-instances K`, a
//! `RESULT_POLICIES` line (see [`WorkloadReport::policies_result_line`]), and with
//! `--latencies`, a `RESULT_LATENCY` line (see [`WorkloadReport::latency_result_line`]).

pub mod keyed;
pub mod latency;
pub mod policies;
mod report;

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use self::keyed::KeyedReport;
pub use self::latency::LatencyReport;
pub use self::policies::PoliciesReport;
pub use self::report::WorkloadReport;
use crate::aggregate::Aggregate;
use crate::checkpoint::CheckpointStore;
use crate::envelope::Version;
use crate::payload::{PayloadError, PayloadFormat};
use crate::repository::{CommandError, LoadError, Repository};
use crate::snapshot::SnapshotStore;
use crate::store::{EventStore, StoreError};
use crate::testing::model::{Player, PlayerAction, PlayerCommand, PlayerError};
use crate::upcast::BoxError;

/// Further commands per player after `CreatePlayer`.
pub const COMMANDS_PER_PLAYER: u64 = 20;
/// Events each player ends with.
pub const EVENTS_PER_PLAYER: u64 = 22;

/// What the benchmark is asked to run; its options on a bench's command line (see
/// [`BenchArgs`]).
///
/// ```
/// use eventful_core::testing::workload::WorkloadArgs;
///
/// let mut args = WorkloadArgs::default();
/// args.players = 1_000;
/// assert!(!args.keyed_long_stream, "the keyed case is opt-in");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
#[non_exhaustive]
pub struct WorkloadArgs {
    /// Players in the commands run
    #[arg(long, value_name = "N", value_parser = positive::<u64>)]
    #[arg(default_value_t = Self::default().players)]
    pub players: u64,
    /// Concurrent tasks, each on its share of the players
    #[arg(long, value_name = "N", value_parser = positive::<u64>)]
    #[arg(default_value_t = Self::default().tasks)]
    pub tasks: u64,
    /// Events in the replayed stream
    #[arg(long, value_name = "N", value_parser = positive::<u64>)]
    #[arg(default_value_t = Self::default().replay_events)]
    pub replay_events: u64,
    /// Snapshot interval of the second replay
    #[arg(long, value_name = "N", value_parser = positive::<u64>)]
    #[arg(default_value_t = Self::default().snapshot_every)]
    pub snapshot_every: u64,
    /// Loads timed per replay figure; the median is reported
    #[arg(long, value_name = "N", value_parser = positive::<usize>)]
    #[arg(default_value_t = Self::default().replay_runs)]
    pub replay_runs: usize,
    /// Also time commands with fresh idempotency keys on a short and a long stream
    #[arg(long)]
    pub keyed_long_stream: bool,
    /// Also run the commands once more on a fresh store, timing each (percentiles, slowest)
    #[arg(long)]
    pub latencies: bool,
    /// Events in the long stream of the keyed case
    #[arg(long, value_name = "N", value_parser = positive::<u64>)]
    #[arg(default_value_t = Self::default().long_stream_events)]
    pub long_stream_events: u64,
    /// Keyed commands timed on each stream
    #[arg(long, value_name = "N", value_parser = positive::<u64>)]
    #[arg(default_value_t = Self::default().keyed_commands)]
    pub keyed_commands: u64,
    /// Also run a policy over the commands' events in N instances sharing the store
    #[arg(long, value_name = "N", value_parser = positive::<u32>)]
    pub policy_instances: Option<u32>,
    /// The payload format new events are written in (json, postcard), for a store that lets
    /// its user choose
    #[arg(long, value_name = "FORMAT", default_value_t = Self::default().payload_format)]
    pub payload_format: PayloadFormat,
    /// Give each task a store of its own in the commands run (and `stores=<T>` on the RESULT
    /// line): the tasks then share no store, so the rate against the usual run's is what
    /// sharing one costs them
    #[arg(long, conflicts_with = "policy_instances")]
    pub store_per_task: bool,
}

impl Default for WorkloadArgs {
    fn default() -> Self {
        Self {
            players: 10_000,
            tasks: 1,
            replay_events: 10_000,
            snapshot_every: 100,
            replay_runs: 5,
            keyed_long_stream: false,
            latencies: false,
            long_stream_events: 1_000_000,
            keyed_commands: 10_000,
            policy_instances: None,
            payload_format: PayloadFormat::Json,
            store_per_task: false,
        }
    }
}

impl WorkloadArgs {
    /// A multi-threaded runtime with a worker per task (at most 64), timers and I/O on.
    pub fn runtime(&self) -> std::io::Result<tokio::runtime::Runtime> {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(usize::try_from(self.tasks).unwrap_or(1).clamp(1, 64))
            .enable_all()
            .build()
    }
}

/// A whole number from 1 up, for clap.
fn positive<T: TryFrom<u64>>(value: &str) -> Result<T, NotPositive> {
    value
        .parse::<u64>()
        .ok()
        .filter(|number| *number > 0)
        .and_then(|number| T::try_from(number).ok())
        .ok_or(NotPositive)
}

#[derive(Debug, thiserror::Error)]
#[error("needs a whole number from 1 up")]
struct NotPositive;

/// The command line of a store's `benches/game_workload.rs`: the [`WorkloadArgs`], and the
/// `--bench` flag that `cargo bench` passes on, which means nothing here.
///
/// ```
/// use clap::Parser;
/// use eventful_core::testing::workload::BenchArgs;
///
/// let args = BenchArgs::try_parse_from(["game_workload", "--players", "50", "--bench"])?.workload;
/// assert_eq!((args.players, args.tasks), (50, 1));
/// let refused = BenchArgs::try_parse_from(["game_workload", "--players", "0"]).unwrap_err();
/// assert!(refused.to_string().contains("--players"), "{refused}");
/// # Ok::<(), clap::Error>(())
/// ```
#[derive(Debug, Clone, clap::Parser)]
#[command(
    name = "game_workload",
    about = "The game workload of WORKLOAD.md on one store",
    long_about = None,
    override_usage = "cargo bench -p <store crate> --bench game_workload -- [OPTIONS]"
)]
#[non_exhaustive]
pub struct BenchArgs {
    /// What to run.
    #[command(flatten)]
    pub workload: WorkloadArgs,
    #[arg(long, hide = true)]
    bench: bool,
}

/// Why a run failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WorkloadError {
    /// The runtime could not start.
    #[error("cannot start the runtime: {0}")]
    Runtime(#[from] std::io::Error),
    /// The factory could not make a store.
    #[error("cannot make a store: {0}")]
    MakeStore(#[source] BoxError),
    /// A command failed.
    #[error("command failed: {0}")]
    Command(#[from] CommandError<PlayerError>),
    /// Loading the replayed player failed.
    #[error("replay failed: {0}")]
    Load(#[from] LoadError),
    /// The store failed outside a command.
    #[error("store failed: {0}")]
    Store(#[from] StoreError),
    /// The policies' bus failed.
    #[error("the policies' bus failed: {0}")]
    Bus(#[from] crate::bus::BusError),
    /// An event appended outside the repository could not be encoded.
    #[error("cannot encode an event: {0}")]
    Encode(#[from] PayloadError),
    /// What was stored is not what the workload appended.
    #[error("{what}: expected {expected}, found {found}")]
    Miscount {
        /// What was counted.
        what: String,
        /// What the workload appended.
        expected: u64,
        /// What the store holds.
        found: u64,
    },
    /// A task panicked.
    #[error("a workload task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

/// Runs the workload on stores from `make_store`: the commands on one, the replay on a
/// fresh one, and the keyed case (when `args` ask for it) on a third. `name` names the store
/// in the report's `RESULT` line.
///
/// ```
/// use std::convert::Infallible;
///
/// use eventful_core::testing::workload::{self, WorkloadArgs};
/// use eventful_store_memory::MemoryStore;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), workload::WorkloadError> {
/// let mut args = WorkloadArgs::default();
/// (args.players, args.replay_events) = (10, 200);
/// let report = workload::run("memory", &args, || async { Ok::<_, Infallible>(MemoryStore::new()) })
///     .await?;
/// assert_eq!(report.commands.events, 10 * workload::EVENTS_PER_PLAYER);
/// assert!(report.to_string().ends_with(&format!("{}\n", report.result_line())));
/// assert!(report.result_line().starts_with("RESULT name=memory players=10 tasks=1 "));
/// # Ok(())
/// # }
/// ```
///
/// With [`WorkloadArgs::store_per_task`], each task's players go to a store of their own:
///
/// ```
/// use std::convert::Infallible;
/// use std::sync::{Arc, Mutex};
///
/// use eventful_core::EventStore;
/// use eventful_core::testing::workload::{self, WorkloadArgs};
/// use eventful_store_memory::MemoryStore;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), workload::WorkloadError> {
/// let mut args = WorkloadArgs::default();
/// (args.players, args.tasks, args.replay_events, args.store_per_task) = (10, 2, 200, true);
/// let made = Arc::new(Mutex::new(Vec::new()));
/// let make_store = || async {
///     let store = MemoryStore::new();
///     made.lock().unwrap().push(store.clone());
///     Ok::<_, Infallible>(store)
/// };
/// let report = workload::run("memory", &args, make_store).await?;
/// assert!(report.result_line().ends_with(" stores=2"));
/// let made = made.lock().unwrap().clone();
/// for store in &made[..2] {
///     // Five players each, the even ones in the first store, the odd ones in the second.
///     let head = store.head_position().await?;
///     assert_eq!(head.get(), 5 * workload::EVENTS_PER_PLAYER);
/// }
/// # Ok(())
/// # }
/// ```
pub async fn run<S, Make, Made, E>(
    name: &str,
    args: &WorkloadArgs,
    make_store: Make,
) -> Result<WorkloadReport, WorkloadError>
where
    S: EventStore + SnapshotStore + CheckpointStore + Clone + 'static,
    Make: Fn() -> Made,
    Made: Future<Output = Result<S, E>>,
    E: Into<BoxError>,
{
    let make_store = || async {
        make_store()
            .await
            .map_err(|e| WorkloadError::MakeStore(e.into()))
    };
    let store = make_store().await?;
    let mut stores = vec![store.clone()];
    if args.store_per_task {
        for _ in 1..args.tasks {
            stores.push(make_store().await?);
        }
    }
    let commands = run_commands_timed(&stores, args.players, args.tasks, false)
        .await?
        .0;
    let policies = match args.policy_instances {
        Some(instances) => Some(policies::run_policies(store, instances).await?),
        None => None,
    };
    let replay = run_replay(
        make_store().await?,
        args.replay_events,
        args.snapshot_every,
        args.replay_runs,
    )
    .await?;
    let keyed = if args.keyed_long_stream {
        let store = make_store().await?;
        Some(keyed::run_keyed(store, args.long_stream_events, args.keyed_commands).await?)
    } else {
        None
    };
    let latencies = if args.latencies {
        let store = make_store().await?;
        Some(latency::run_latencies(store, args.players, args.tasks).await?)
    } else {
        None
    };
    let report = WorkloadReport::new(name, commands, replay, keyed)
        .with_policies(policies)
        .with_latencies(latencies);
    Ok(if args.store_per_task {
        report.with_result_field("stores", stores.len())
    } else {
        report
    })
}

/// Figures of the commands run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CommandsReport {
    /// Players.
    pub players: u64,
    /// Concurrent tasks.
    pub tasks: u64,
    /// Commands run.
    pub commands: u64,
    /// Events appended.
    pub events: u64,
    /// Wall time.
    pub elapsed: Duration,
}

impl CommandsReport {
    /// Commands per second.
    pub fn commands_per_s(&self) -> f64 {
        self.commands as f64 / self.elapsed.as_secs_f64()
    }

    /// Events per second.
    pub fn events_per_s(&self) -> f64 {
        self.events as f64 / self.elapsed.as_secs_f64()
    }
}

/// The commands of player `index`, in order: create, 9 xp gains, an achievement, 9 xp gains,
/// another achievement.
pub fn player_commands(index: u64) -> impl Iterator<Item = PlayerCommand> {
    let create = PlayerCommand::new(
        index,
        PlayerAction::CreatePlayer {
            name: format!("Player {index}"),
        },
    );
    std::iter::once(create).chain((0..COMMANDS_PER_PLAYER).map(move |k| {
        let action = match k {
            9 => PlayerAction::UnlockAchievement {
                id: "first_win".to_owned(),
            },
            19 => PlayerAction::UnlockAchievement {
                id: "veteran".to_owned(),
            },
            _ => PlayerAction::GainXp { amount: 100 },
        };
        PlayerCommand::new(index, action)
    }))
}

/// Runs the commands of `players` players on `store`, split over `tasks` concurrent tasks,
/// through one shared repository; checks what was stored.
pub async fn run_commands<S>(
    store: S,
    players: u64,
    tasks: u64,
) -> Result<CommandsReport, WorkloadError>
where
    S: EventStore + Clone + 'static,
{
    Ok(run_commands_timed(&[store], players, tasks, false).await?.0)
}

/// [`run_commands`] on `stores`, task `t` on store `t % stores.len()` through a repository of
/// that store (one repository, when there is one store), and with `timed` how long each
/// command took.
async fn run_commands_timed<S>(
    stores: &[S],
    players: u64,
    tasks: u64,
    timed: bool,
) -> Result<(CommandsReport, Vec<Duration>), WorkloadError>
where
    S: EventStore + Clone + 'static,
{
    let repositories: Vec<_> = stores
        .iter()
        .map(|store| Arc::new(Repository::<Player, _>::new(store.clone())))
        .collect();
    let started = Instant::now();
    let mut running = Vec::new();
    for task in 0..tasks {
        let repository = repositories[task as usize % repositories.len()].clone();
        running.push(tokio::spawn(async move {
            let mut counts = (0u64, 0u64);
            let mut latencies = Vec::new();
            for index in (task..players).step_by(tasks as usize) {
                for command in player_commands(index) {
                    let sent = timed.then(Instant::now);
                    let committed = repository.execute(command).await?;
                    if let Some(sent) = sent {
                        latencies.push(sent.elapsed());
                    }
                    counts.0 += 1;
                    counts.1 += committed.events.len() as u64;
                }
            }
            Ok::<_, WorkloadError>((counts, latencies))
        }));
    }
    let (mut commands, mut events) = (0, 0);
    let mut latencies = Vec::new();
    for task in running {
        let ((c, e), timed) = task.await??;
        commands += c;
        events += e;
        latencies.extend(timed);
    }
    let elapsed = started.elapsed();
    check_count("events appended", players * EVENTS_PER_PLAYER, events)?;
    for index in 0..players {
        let stream_id = Player::stream_id(&index).map_err(LoadError::from)?;
        let store = &stores[(index % tasks) as usize % stores.len()];
        let version = store.stream_version(&stream_id).await?;
        check_count(
            &format!("version of `{stream_id}`"),
            EVENTS_PER_PLAYER,
            version.get(),
        )?;
    }
    let report = CommandsReport {
        players,
        tasks,
        commands,
        events,
        elapsed,
    };
    Ok((report, latencies))
}

fn check_count(what: &str, expected: u64, found: u64) -> Result<(), WorkloadError> {
    if expected == found {
        Ok(())
    } else {
        Err(WorkloadError::Miscount {
            what: what.to_owned(),
            expected,
            found,
        })
    }
}

/// Figures of the replay run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReplayReport {
    /// Events in the stream.
    pub events: u64,
    /// The snapshot interval of the second load.
    pub snapshot_every: u64,
    /// Median time to load it from its events alone.
    pub without_snapshots: Duration,
    /// Median time to load it from its latest snapshot and the events after it.
    pub with_snapshots: Duration,
}

impl ReplayReport {
    /// Events per second replayed without snapshots.
    pub fn events_per_s(&self) -> f64 {
        self.events as f64 / self.without_snapshots.as_secs_f64()
    }

    /// The stream's events per second of load time, with snapshots.
    pub fn events_per_s_with_snapshots(&self) -> f64 {
        self.events as f64 / self.with_snapshots.as_secs_f64()
    }
}

/// Builds one player with `events` events (snapshotting every `snapshot_every`), then times
/// loading it `runs` times each way; reports the medians.
pub async fn run_replay<S>(
    store: S,
    events: u64,
    snapshot_every: u64,
    runs: usize,
) -> Result<ReplayReport, WorkloadError>
where
    S: EventStore + SnapshotStore + Clone + 'static,
{
    let id = u64::MAX;
    let writer =
        Repository::<Player, _>::new(store.clone()).with_snapshots(store.clone(), snapshot_every);
    let mut version = writer
        .execute(PlayerCommand::new(
            id,
            PlayerAction::CreatePlayer {
                name: "Replayed".to_owned(),
            },
        ))
        .await?
        .version;
    while version < Version::new(events) {
        version = writer
            .execute(PlayerCommand::new(id, PlayerAction::GainXp { amount: 1 }))
            .await?
            .version;
    }
    let plain = Repository::<Player, _>::new(store.clone()).with_cache_capacity(0);
    let snapshotted = Repository::<Player, _>::new(store.clone())
        .with_snapshots(store.clone(), snapshot_every)
        .with_cache_capacity(0);
    let without_snapshots = median_load(&plain, &id, version, runs).await?;
    let with_snapshots = median_load(&snapshotted, &id, version, runs).await?;
    Ok(ReplayReport {
        events: version.get(),
        snapshot_every,
        without_snapshots,
        with_snapshots,
    })
}

async fn median_load<S: EventStore>(
    repository: &Repository<Player, S>,
    id: &u64,
    version: Version,
    runs: usize,
) -> Result<Duration, WorkloadError> {
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs.max(1) {
        let started = Instant::now();
        let loaded = repository.load(id).await?;
        times.push(started.elapsed());
        check_count("replayed version", version.get(), loaded.version.get())?;
    }
    times.sort();
    Ok(times[times.len() / 2])
}

/// The process's peak resident memory in bytes, where the system tells it (`VmHWM` of
/// `/proc/self/status` on Linux); `None` elsewhere. A bench reads it after the run, for
/// [`WorkloadReport::with_peak_memory`].
pub fn peak_memory_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[test]
    fn each_player_gets_21_commands_and_22_events() {
        let mut player = Player::default();
        let mut events = 0;
        let commands: Vec<_> = player_commands(3).collect();
        assert_eq!(commands.len() as u64, COMMANDS_PER_PLAYER + 1);
        for command in commands {
            for event in player
                .handle(&command)
                .expect("the workload's commands are valid")
            {
                player.apply(&event);
                events += 1;
            }
        }
        assert_eq!(events, EVENTS_PER_PLAYER);
        assert_eq!((player.xp, player.level), (1800, 2));
    }

    fn parse(args: &[&str]) -> Result<WorkloadArgs, clap::Error> {
        let program = std::iter::once("game_workload");
        BenchArgs::try_parse_from(program.chain(args.iter().copied())).map(|args| args.workload)
    }

    #[test]
    fn no_arguments_are_the_defaults() {
        assert_eq!(parse(&["--bench"]).expect("valid"), WorkloadArgs::default());
    }

    #[test]
    fn arguments_parse_and_refuse_clearly() {
        let parsed = parse(&[
            "--bench",
            "--players",
            "50",
            "--tasks",
            "2",
            "--keyed-long-stream",
            "--latencies",
        ])
        .expect("valid");
        assert_eq!((parsed.players, parsed.tasks), (50, 2));
        assert!(parsed.keyed_long_stream && parsed.latencies);
        for (args, kind) in [
            (
                &["--players", "many"][..],
                clap::error::ErrorKind::ValueValidation,
            ),
            (
                &["--replay-runs", "0"],
                clap::error::ErrorKind::ValueValidation,
            ),
            (&["--wat", "1"], clap::error::ErrorKind::UnknownArgument),
            (
                &["--store-per-task", "--policy-instances", "2"],
                clap::error::ErrorKind::ArgumentConflict,
            ),
        ] {
            let error = parse(args).expect_err("refused");
            assert_eq!(error.kind(), kind, "{error}");
            assert!(error.to_string().contains(args[0]), "{error}");
        }
    }
}
