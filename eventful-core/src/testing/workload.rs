//! The game workload of `../shared/WORKLOAD.md`, the one benchmark every store runs.
//!
//! - **commands**: P players, each `CreatePlayer` then 18 × `GainXp { 100 }` and 2 ×
//!   `UnlockAchievement`, every command through [`Repository::execute`] (load, decide, append
//!   with the expected version); 22 events per player, counted and checked.
//! - **replay**: one player with 10,000 events, loaded without a snapshot (every payload
//!   decoded) and with snapshots every 100 events.
//!
//! A store's bench is one call:
//!
//! ```no_run
//! // benches/game_workload.rs, with `harness = false`:
//! eventful_core::testing::workload::main("memory", || async {
//!     eventful_store_memory::MemoryStore::new()
//! });
//! ```
//!
//! It prints the figures, then the line scripts read:
//! `RESULT name=<impl> players=<P> tasks=<T> commands_per_s=<x> events_per_s=<y> replay_events_per_s=<z>`.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::aggregate::Aggregate;
use crate::envelope::Version;
use crate::repository::{CommandError, LoadError, Repository};
use crate::snapshot::SnapshotStore;
use crate::store::{EventStore, StoreError};
use crate::testing::model::{Player, PlayerAction, PlayerCommand, PlayerError};

/// Further commands per player after `CreatePlayer`.
pub const COMMANDS_PER_PLAYER: u64 = 20;
/// Events each player ends with.
pub const EVENTS_PER_PLAYER: u64 = 22;

/// What the benchmark is asked to run.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct WorkloadArgs {
    /// Players (`--players`, default 10,000).
    pub players: u64,
    /// Concurrent tasks, each on its share of the players (`--tasks`, default 1).
    pub tasks: u64,
    /// Events in the replayed stream (`--replay-events`, default 10,000).
    pub replay_events: u64,
    /// Snapshot interval for the second replay (`--snapshot-every`, default 100).
    pub snapshot_every: u64,
    /// Loads timed per replay figure; the median is reported (`--replay-runs`, default 5).
    pub replay_runs: usize,
}

impl Default for WorkloadArgs {
    fn default() -> Self {
        Self {
            players: 10_000,
            tasks: 1,
            replay_events: 10_000,
            snapshot_every: 100,
            replay_runs: 5,
        }
    }
}

/// Why the arguments were refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ArgsError {
    /// An option this benchmark does not know.
    #[error(
        "unknown option `{0}` (known: --players N, --tasks N, --replay-events N, --snapshot-every N, --replay-runs N)"
    )]
    Unknown(String),
    /// An option without a positive whole number after it.
    #[error("`{option}` needs a positive whole number, got `{value}`")]
    BadNumber {
        /// The option.
        option: String,
        /// What followed it.
        value: String,
    },
}

impl WorkloadArgs {
    /// Parses `--players N --tasks N --replay-events N --snapshot-every N --replay-runs N`,
    /// ignoring the `--bench` flag that `cargo bench` passes.
    pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Self, ArgsError> {
        let mut parsed = Self::default();
        let mut args = args.into_iter();
        while let Some(option) = args.next() {
            if option == "--bench" {
                continue;
            }
            let value = args.next().unwrap_or_default();
            let number = value
                .parse::<u64>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| ArgsError::BadNumber {
                    option: option.clone(),
                    value: value.clone(),
                })?;
            match option.as_str() {
                "--players" => parsed.players = number,
                "--tasks" => parsed.tasks = number,
                "--replay-events" => parsed.replay_events = number,
                "--snapshot-every" => parsed.snapshot_every = number,
                "--replay-runs" => {
                    parsed.replay_runs = usize::try_from(number).unwrap_or(usize::MAX)
                }
                _ => return Err(ArgsError::Unknown(option)),
            }
        }
        Ok(parsed)
    }
}

/// Why a run failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WorkloadError {
    /// A command failed.
    #[error("command failed: {0}")]
    Command(#[from] CommandError<PlayerError>),
    /// Loading the replayed player failed.
    #[error("replay failed: {0}")]
    Load(#[from] LoadError),
    /// The store failed outside a command.
    #[error("store failed: {0}")]
    Store(#[from] StoreError),
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
    let repository = Arc::new(Repository::<Player, _>::new(store.clone()));
    let started = Instant::now();
    let mut running = Vec::new();
    for task in 0..tasks {
        let repository = repository.clone();
        running.push(tokio::spawn(async move {
            let mut counts = (0u64, 0u64);
            for index in (task..players).step_by(tasks as usize) {
                for command in player_commands(index) {
                    let committed = repository.execute(command).await?;
                    counts.0 += 1;
                    counts.1 += committed.events.len() as u64;
                }
            }
            Ok::<_, WorkloadError>(counts)
        }));
    }
    let (mut commands, mut events) = (0, 0);
    for task in running {
        let (c, e) = task.await??;
        commands += c;
        events += e;
    }
    let elapsed = started.elapsed();
    check_count("events appended", players * EVENTS_PER_PLAYER, events)?;
    for index in 0..players {
        let stream_id = Player::stream_id(&index).map_err(LoadError::from)?;
        let version = store.stream_version(&stream_id).await?;
        check_count(
            &format!("version of `{stream_id}`"),
            EVENTS_PER_PLAYER,
            version.get(),
        )?;
    }
    Ok(CommandsReport {
        players,
        tasks,
        commands,
        events,
        elapsed,
    })
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

impl std::fmt::Display for CommandsReport {
    /// `10000 players, 1 task(s): 210000 commands and 220000 events in 0.210 s = …`
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} players, {} task(s): {} commands and {} events in {:.3} s = {:.0} commands/s, \
             {:.0} events/s ({:.0} ns/command)",
            self.players,
            self.tasks,
            self.commands,
            self.events,
            self.elapsed.as_secs_f64(),
            self.commands_per_s(),
            self.events_per_s(),
            self.elapsed.as_nanos() as f64 / self.commands as f64,
        )
    }
}

impl std::fmt::Display for ReplayReport {
    /// `10000 events: … events/s without snapshots (… ms), … with snapshots every 100 (… ms)`
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} events: {:.0} events/s without snapshots ({:.2} ms), {:.0} events/s with \
             snapshots every {} ({:.3} ms)",
            self.events,
            self.events_per_s(),
            self.without_snapshots.as_secs_f64() * 1e3,
            self.events_per_s_with_snapshots(),
            self.snapshot_every,
            self.with_snapshots.as_secs_f64() * 1e3,
        )
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

/// The process's peak resident memory in bytes, where the system tells it (Linux).
pub fn peak_memory_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// The `RESULT` line of one run.
pub fn result_line(
    name: &str,
    args: &WorkloadArgs,
    commands: &CommandsReport,
    replay: &ReplayReport,
) -> String {
    format!(
        "RESULT name={name} players={} tasks={} commands_per_s={:.0} events_per_s={:.0} replay_events_per_s={:.0}",
        args.players,
        args.tasks,
        commands.commands_per_s(),
        commands.events_per_s(),
        replay.events_per_s(),
    )
}

/// Runs the whole workload on stores from `make_store` (one for the commands, a fresh one
/// for the replay) with the process's arguments, and prints the figures and the `RESULT`
/// line. Exits with status 2 on bad arguments and 1 on a failed run.
pub fn main<S, Make, Made>(name: &str, make_store: Make)
where
    S: EventStore + SnapshotStore + Clone + 'static,
    Make: Fn() -> Made,
    Made: Future<Output = S>,
{
    let args = match WorkloadArgs::parse(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(error) => {
            eprintln!("{error}");
            std::process::exit(2);
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(usize::try_from(args.tasks).unwrap_or(1).clamp(1, 64))
        .enable_all()
        .build();
    let outcome = runtime
        .map_err(|error| error.to_string())
        .and_then(|runtime| {
            runtime
                .block_on(run_and_print(name, &args, make_store))
                .map_err(|error| error.to_string())
        });
    if let Err(error) = outcome {
        eprintln!("workload failed: {error}");
        std::process::exit(1);
    }
}

async fn run_and_print<S, Make, Made>(
    name: &str,
    args: &WorkloadArgs,
    make_store: Make,
) -> Result<(), WorkloadError>
where
    S: EventStore + SnapshotStore + Clone + 'static,
    Make: Fn() -> Made,
    Made: Future<Output = S>,
{
    let commands = run_commands(make_store().await, args.players, args.tasks).await?;
    println!("commands: {commands}");
    if let Some(peak) = peak_memory_bytes() {
        println!("peak memory: {:.1} MB", peak as f64 / 1e6);
    }
    let replay = run_replay(
        make_store().await,
        args.replay_events,
        args.snapshot_every,
        args.replay_runs,
    )
    .await?;
    println!("replay: {replay}");
    println!("{}", result_line(name, args, &commands, &replay));
    Ok(())
}

#[cfg(test)]
mod tests {
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

    #[test]
    fn arguments_parse_and_refuse_clearly() {
        let parsed =
            WorkloadArgs::parse(["--bench", "--players", "50", "--tasks", "2"].map(String::from))
                .expect("valid");
        assert_eq!((parsed.players, parsed.tasks), (50, 2));
        let err =
            WorkloadArgs::parse(["--players", "many"].map(String::from)).expect_err("bad number");
        assert!(err.to_string().contains("--players"), "{err}");
        assert!(WorkloadArgs::parse(["--wat", "1"].map(String::from)).is_err());
    }
}
