//! The player service and the game-session service as processes of their own, each with its
//! own store, joined by RabbitMQ (`eventful-bus-amqp`): what `--amqp URI` runs.
//!
//! ```text
//! (stand-ins: matchmaking, gateway) ──matchmaking_completed, player_disconnected──▶ game_session
//! game_session ──session_ended, game_completed──▶ player_service (xp, stats, level-ups)
//! player_service ──player_created, stats_updated, leveled_up──▶ whoever binds them
//! ```
//!
//! Each service publishes its public events with a [`Relay`](eventful_bus_amqp::Relay) on its
//! own bus (claimed: one instance publishes) and receives the others' with a
//! [`Consumer`](eventful_bus_amqp::Consumer) whose [`Inbox`](eventful_bus_amqp::Inbox)
//! records them in its own store; from there its policies run exactly as in the one-process
//! backend, on its own log. Several instances of the player service share one MongoDB
//! database and one queue.
//!
//! | module | what lives there |
//! | --- | --- |
//! | [`options`] | [`BridgeOptions`]: the command line of this mode |
//! | [`player`] | the player service's process |
//! | [`session`] | the game-session service's process, and with `--play` the stand-ins that drive matches |
//! | [`arrivals`] | [`Arrivals`](arrivals::Arrivals): the driver's waits, across the broker |
//! | `operations` | `--admin ADDR`: `/metrics`, `/health/*` (with both broker links) and `/admin` |
//!
//! A process prints one line when it is ready (`READY <service> instance=<id>`, with
//! `admin=http://ADDR` under `--admin`), a line per
//! event it announces, `MATCH <n> played` and `PLAYED <n> matches` as the driver goes, and
//! `STOPPED` at the end: the lines docs/examples.md tells you to watch, and that the
//! two-process test reads.

pub mod arrivals;
mod operations;
pub mod options;
pub mod player;
pub mod session;

use std::ffi::OsString;
use std::fmt::Display;
use std::future::Future;
use std::process::ExitCode;

use eventful_bus_amqp::AmqpSettings;
use eventful_store_mongo::{MongoSettings, MongoStore};

pub use self::options::BridgeOptions;
use crate::error::Error;

/// The player service's name: its queue is `<exchange>.player_service`.
pub const PLAYER_SERVICE: &str = "player_service";

/// The game-session service's name: its queue is `<exchange>.game_session`.
pub const GAME_SESSION: &str = "game_session";

/// Whether this process was started in the long-running mode (`--amqp` among its arguments).
pub fn wanted() -> bool {
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    BridgeOptions::wanted(&args)
}

/// Runs `service` in the long-running mode: logs warnings to stderr, parses the command line,
/// calls `run` until it returns (at SIGINT or SIGTERM) and prints what it returns.
pub async fn main<R, Fut>(service: &str, run: impl FnOnce(BridgeOptions) -> Fut) -> ExitCode
where
    R: Display,
    Fut: Future<Output = Result<R, Error>>,
{
    // A second subscriber (in tests, say) is no reason to stop.
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(tracing::Level::WARN)
        .try_init();
    let args = std::env::args_os().skip(1);
    let mongo_uri = std::env::var("EVENTFUL_MONGO_URI").ok();
    let options = match BridgeOptions::parse_from(service, args, mongo_uri) {
        Ok(options) => options,
        Err(error) => {
            let _ = error.print();
            return ExitCode::from(u8::try_from(error.exit_code()).unwrap_or(2));
        }
    };
    match run(options).await {
        Ok(report) => {
            println!("{report}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("{service}: {error}");
            ExitCode::FAILURE
        }
    }
}

/// The broker settings of one instance of `service`.
fn amqp(options: &BridgeOptions, service: &str) -> AmqpSettings {
    AmqpSettings::new(&options.amqp_uri)
        .with_exchange(&options.exchange)
        .with_connection_name(format!("{service} {}", options.instance))
}

/// The service's MongoDB database, the same for every instance (unlike the one-shot
/// programs, which take a fresh database per run).
async fn open_mongo(uri: &str, database: &str) -> Result<MongoStore, Error> {
    Ok(MongoStore::connect(MongoSettings::new(uri).with_database(database)).await?)
}

/// Resolves at SIGINT (Ctrl-C) or SIGTERM.
async fn stop_signal() -> Result<(), Error> {
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(Error::Signal)?;
    tokio::select! {
        interrupted = tokio::signal::ctrl_c() => interrupted.map_err(Error::Signal),
        _ = terminate.recv() => Ok(()),
    }
}
