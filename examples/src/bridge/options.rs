//! The command line of the long-running mode, read by `clap`: `--amqp URI` and what goes with
//! it.

use std::ffi::OsString;
use std::net::SocketAddr;
use std::time::Duration;

use clap::{CommandFactory, FromArgMatches, Parser, ValueEnum};

use crate::options::StoreChoice;

/// How one service process runs over RabbitMQ.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct BridgeOptions {
    /// The broker.
    pub amqp_uri: String,
    /// The topic exchange the services share; queues are named `<exchange>.<service>`.
    pub exchange: String,
    /// Where the service keeps its events.
    pub store: StoreChoice,
    /// The MongoDB database of the service (the same for all its instances).
    pub database: String,
    /// This instance's id in claims (unique among the service's instances).
    pub instance: String,
    /// How long a dead instance keeps its claims.
    pub lease: Duration,
    /// Players who sign up (the player service signs them up; the game-session driver
    /// picks among them).
    pub players: usize,
    /// Matches the driver plays (game session with `--play`).
    pub matches: usize,
    /// Seeds the driver's choices.
    pub seed: u64,
    /// Whether the game-session process also runs the stand-ins that drive matches.
    pub play: bool,
    /// Where to serve `/metrics`, `/health/live`, `/health/ready` and `/admin` (port 0: any
    /// free port), if anywhere.
    pub admin: Option<SocketAddr>,
}

/// Runs a service as a long-running process on RabbitMQ
#[derive(Debug, Parser)]
struct CommandLine {
    /// The broker: amqp://user:password@host:port/vhost (the vhost URL-encoded, %2f for /)
    #[arg(long = "amqp", value_name = "URI")]
    amqp_uri: String,
    /// The topic exchange the services share; queues are <EXCHANGE>.<service>
    #[arg(long, value_name = "NAME", default_value = "eventful")]
    exchange: String,
    /// Where the service keeps its events
    #[arg(long, value_enum, default_value_t = Store::Memory)]
    store: Store,
    /// MongoDB's connection string, for --store mongo (or EVENTFUL_MONGO_URI)
    #[arg(long, value_name = "URI")]
    mongo_uri: Option<String>,
    /// The service's MongoDB database, shared by its instances [default: eventful_<service>]
    #[arg(long, value_name = "NAME")]
    database: Option<String>,
    /// This instance's id, unique among the service's instances [default: <service>-<pid>]
    #[arg(long, value_name = "ID")]
    instance: Option<String>,
    /// How long a dead instance keeps its claims, in milliseconds
    #[arg(long, value_name = "MS", default_value_t = 5_000)]
    lease_ms: u64,
    /// Players who sign up
    #[arg(long, value_name = "N", default_value_t = 6)]
    players: usize,
    /// Matches played, with --play
    #[arg(long, value_name = "N", default_value_t = 3)]
    matches: usize,
    /// Seeds who plays, the scores and who disconnects
    #[arg(long, value_name = "N", default_value_t = 7)]
    seed: u64,
    /// (game_session) Also run matchmaking, the gateway and the game servers, and play
    #[arg(long)]
    play: bool,
    /// Serve /metrics, /health/live, /health/ready (the store, the broker links, the handlers)
    /// and /admin (token: EVENTFUL_ADMIN_TOKEN) at ADDR, e.g. 127.0.0.1:9100
    #[arg(long, value_name = "ADDR")]
    admin: Option<SocketAddr>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Store {
    /// The in-memory store: one instance, gone at exit
    Memory,
    /// MongoDB, at --mongo-uri URI or EVENTFUL_MONGO_URI: several instances share it
    Mongo,
}

impl BridgeOptions {
    /// Whether `args` ask for the long-running mode (they hold `--amqp`).
    pub fn wanted(args: &[OsString]) -> bool {
        args.iter()
            .any(|arg| arg == "--amqp" || arg.to_string_lossy().starts_with("--amqp="))
    }

    /// Reads the arguments after the name of `service`; `mongo_uri_env` is the value of
    /// `EVENTFUL_MONGO_URI`.
    ///
    /// ```
    /// use eventful_examples::bridge::BridgeOptions;
    ///
    /// let args = ["--amqp", "amqp://guest:guest@127.0.0.1:5672/%2f", "--instance", "players-a"];
    /// let options = BridgeOptions::parse_from("player_service", args, None)?;
    /// assert_eq!(options.instance, "players-a");
    /// assert_eq!(options.database, "eventful_player_service");
    /// # Ok::<(), clap::Error>(())
    /// ```
    pub fn parse_from<I, T>(
        service: &str,
        args: I,
        mongo_uri_env: Option<String>,
    ) -> Result<Self, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString> + Clone,
    {
        let mut command = CommandLine::command()
            .no_binary_name(true)
            .override_usage(format!(
                "cargo run --example {service} -- --amqp URI [OPTIONS]"
            ));
        let matches = command.try_get_matches_from_mut(args)?;
        let line = CommandLine::from_arg_matches(&matches).map_err(|e| e.format(&mut command))?;
        let store = match (line.store, line.mongo_uri) {
            (Store::Memory, None) => StoreChoice::Memory,
            (Store::Memory, Some(_)) => {
                return Err(command.error(
                    clap::error::ErrorKind::ArgumentConflict,
                    "`--mongo-uri` goes with `--store mongo`",
                ));
            }
            (Store::Mongo, uri) => match uri.or(mongo_uri_env) {
                Some(uri) => StoreChoice::Mongo { uri },
                None => {
                    return Err(command.error(
                        clap::error::ErrorKind::MissingRequiredArgument,
                        "`--store mongo` needs `--mongo-uri URI` (or EVENTFUL_MONGO_URI)",
                    ));
                }
            },
        };
        if line.players == 0 {
            return Err(command.error(
                clap::error::ErrorKind::ValueValidation,
                "`--players` needs at least 1",
            ));
        }
        Ok(Self {
            amqp_uri: line.amqp_uri,
            exchange: line.exchange,
            store,
            database: line
                .database
                .unwrap_or_else(|| format!("eventful_{service}")),
            instance: line
                .instance
                .unwrap_or_else(|| format!("{service}-{}", std::process::id())),
            lease: Duration::from_millis(line.lease_ms.max(100)),
            players: line.players,
            matches: line.matches,
            seed: line.seed,
            play: line.play,
            admin: line.admin,
        })
    }

    /// The service's queue: `<exchange>.<service>`.
    pub fn queue(&self, service: &str) -> String {
        format!("{}.{service}", self.exchange)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mode_is_asked_for_by_amqp() {
        let args = |list: &[&str]| list.iter().map(OsString::from).collect::<Vec<_>>();
        assert!(BridgeOptions::wanted(&args(&["--amqp", "amqp://h"])));
        assert!(BridgeOptions::wanted(&args(&[
            "--players",
            "3",
            "--amqp=amqp://h"
        ])));
        assert!(!BridgeOptions::wanted(&args(&["--players", "3"])));
    }

    #[test]
    fn mistakes_are_named() {
        let parse = |args: &[&str]| BridgeOptions::parse_from("player_service", args, None);
        for (args, named) in [
            (&["--store", "mongo"][..], "--amqp"),
            (&["--amqp", "amqp://h", "--store", "mongo"], "--mongo-uri"),
            (
                &["--amqp", "amqp://h", "--mongo-uri", "mongodb://h"],
                "--store mongo",
            ),
            (&["--amqp", "amqp://h", "--players", "0"], "at least 1"),
        ] {
            let error = parse(args).expect_err("refused");
            assert!(error.to_string().contains(named), "{args:?}: {error}");
        }
        let mongo = BridgeOptions::parse_from(
            "game_session",
            ["--amqp", "amqp://h", "--store", "mongo", "--play"],
            Some("mongodb://db".into()),
        )
        .expect("valid");
        assert_eq!(
            mongo.store,
            StoreChoice::Mongo {
                uri: "mongodb://db".into()
            }
        );
        assert_eq!(mongo.queue("game_session"), "eventful.game_session");
        assert!(mongo.play);
    }
}
