//! The command line the example programs share, read by `clap`.

use std::ffi::OsString;
use std::net::SocketAddr;

use clap::error::ErrorKind;
use clap::{CommandFactory, FromArgMatches, Parser, ValueEnum};

/// What to simulate, and on which store.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Options {
    /// How many players sign up.
    pub players: usize,
    /// How many matches are played.
    pub matches: usize,
    /// Seeds the simulation's choices (who plays, scores, who disconnects): one seed, one
    /// story.
    pub seed: u64,
    /// Where the events go.
    pub store: StoreChoice,
    /// `game_backend` only: keep running and serve the live gateway and its page here.
    pub serve: Option<SocketAddr>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            players: 6,
            matches: 3,
            seed: 7,
            store: StoreChoice::Memory,
            serve: None,
        }
    }
}

/// Which event store a run uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreChoice {
    /// The in-memory store: nothing to set up, gone at exit.
    Memory,
    /// MongoDB at `uri`.
    Mongo {
        /// The connection string.
        uri: String,
    },
}

/// A command line that clap reads but the programs cannot run; it reaches the caller as the
/// message of a [`clap::Error`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OptionsError {
    /// `--store mongo` without a URI.
    #[error("`--store mongo` needs `--mongo-uri URI` (or EVENTFUL_MONGO_URI)")]
    MissingMongoUri,
    /// `--players 0`: nobody to play.
    #[error("`--players` needs at least 1")]
    NoPlayers,
    /// `--mongo-uri` with another store.
    #[error("`--mongo-uri` goes with `--store mongo`")]
    UriWithoutMongo,
    /// `--serve` for a program other than `game_backend`.
    #[error("`--serve` is an option of `game_backend` only")]
    ServeOnlyBackend,
}

impl OptionsError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::MissingMongoUri => ErrorKind::MissingRequiredArgument,
            Self::NoPlayers => ErrorKind::ValueValidation,
            Self::UriWithoutMongo | Self::ServeOnlyBackend => ErrorKind::ArgumentConflict,
        }
    }
}

/// What to simulate, and on which store.
#[derive(Debug, Parser)]
struct CommandLine {
    /// Players who sign up
    #[arg(long, value_name = "N", default_value_t = Options::default().players)]
    players: usize,
    /// Matches played
    #[arg(long, value_name = "N", default_value_t = Options::default().matches)]
    matches: usize,
    /// Seeds who plays, the scores and who disconnects
    #[arg(long, value_name = "N", default_value_t = Options::default().seed)]
    seed: u64,
    /// Where the events go
    #[arg(long, value_enum, default_value_t = StoreKind::Memory)]
    store: StoreKind,
    /// MongoDB's connection string, for --store mongo (or EVENTFUL_MONGO_URI)
    #[arg(long, value_name = "URI")]
    mongo_uri: Option<String>,
    /// Keep running (matches keep being played) and serve the live gateway and its page at
    /// ADDR, such as 127.0.0.1:8080 (game_backend only)
    #[arg(long, value_name = "ADDR")]
    serve: Option<SocketAddr>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum StoreKind {
    /// The in-memory store (nothing to set up)
    Memory,
    /// MongoDB, at --mongo-uri URI or EVENTFUL_MONGO_URI
    Mongo,
}

impl CommandLine {
    fn into_options(
        self,
        program: &str,
        mongo_uri_env: Option<String>,
    ) -> Result<Options, OptionsError> {
        if self.players == 0 {
            return Err(OptionsError::NoPlayers);
        }
        if self.serve.is_some() && program != "game_backend" {
            return Err(OptionsError::ServeOnlyBackend);
        }
        let store = match (self.store, self.mongo_uri) {
            (StoreKind::Memory, Some(_)) => return Err(OptionsError::UriWithoutMongo),
            (StoreKind::Memory, None) => StoreChoice::Memory,
            (StoreKind::Mongo, uri) => StoreChoice::Mongo {
                uri: uri.or(mongo_uri_env).ok_or(OptionsError::MissingMongoUri)?,
            },
        };
        Ok(Options {
            players: self.players,
            matches: self.matches,
            seed: self.seed,
            store,
            serve: self.serve,
        })
    }
}

impl Options {
    /// Reads the arguments after the name of `program`. `mongo_uri_env` is the value of
    /// `EVENTFUL_MONGO_URI`, used when `--store mongo` comes without `--mongo-uri`.
    ///
    /// A mistake is an error to print as it is (status 2); so is `--help`, clap's way, which
    /// prints the usage text (status 0): see [`clap::Error::print`] and
    /// [`clap::Error::exit_code`].
    ///
    /// ```
    /// use eventful_examples::options::{Options, StoreChoice};
    ///
    /// let args = ["--players", "4", "--store", "mongo", "--mongo-uri", "mongodb://db:27017"];
    /// let options = Options::parse_from("game_backend", args, None)?;
    /// assert_eq!(options.players, 4);
    /// assert_eq!(options.store, StoreChoice::Mongo { uri: "mongodb://db:27017".into() });
    ///
    /// let refused = Options::parse_from("game_backend", ["--players", "0"], None).unwrap_err();
    /// assert_eq!(refused.exit_code(), 2);
    /// assert!(refused.to_string().contains("`--players` needs at least 1"), "{refused}");
    /// # Ok::<(), clap::Error>(())
    /// ```
    pub fn parse_from<I, T>(
        program: &str,
        args: I,
        mongo_uri_env: Option<String>,
    ) -> Result<Self, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString> + Clone,
    {
        let mut command = CommandLine::command()
            .no_binary_name(true)
            .override_usage(format!("cargo run --example {program} -- [OPTIONS]"));
        let matches = command.try_get_matches_from_mut(args)?;
        let line = CommandLine::from_arg_matches(&matches).map_err(|e| e.format(&mut command))?;
        line.into_options(program, mongo_uri_env)
            .map_err(|refusal| command.error(refusal.kind(), refusal))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Options, clap::Error> {
        Options::parse_from("test", args, None)
    }

    #[test]
    fn no_arguments_is_the_default_run_on_memory() {
        assert_eq!(parse(&[]).expect("valid"), Options::default());
    }

    #[test]
    fn mistakes_are_named() {
        for (args, kind, named) in [
            (&["--players"][..], ErrorKind::InvalidValue, "--players"),
            (&["--matches", "many"], ErrorKind::ValueValidation, "'many'"),
            (
                &["--players", "0"],
                ErrorKind::ValueValidation,
                "at least 1",
            ),
            (
                &["--store", "mongo"],
                ErrorKind::MissingRequiredArgument,
                "--mongo-uri",
            ),
            (&["--store", "redis"], ErrorKind::InvalidValue, "'redis'"),
            (
                &["--mongo-uri", "mongodb://db"],
                ErrorKind::ArgumentConflict,
                "--store mongo",
            ),
            (&["--fast"], ErrorKind::UnknownArgument, "--fast"),
            (
                &["--serve", "127.0.0.1:8080"],
                ErrorKind::ArgumentConflict,
                "game_backend",
            ),
            (&["--serve", "eight"], ErrorKind::ValueValidation, "'eight'"),
        ] {
            let error = parse(args).expect_err("refused");
            assert_eq!(error.kind(), kind, "{args:?}: {error}");
            assert_eq!(error.exit_code(), 2, "{args:?}");
            assert!(error.to_string().contains(named), "{args:?}: {error}");
        }
    }

    #[test]
    fn help_shows_every_option_and_its_default() {
        let help = parse(&["--help"]).expect_err("help stops the run");
        assert_eq!((help.kind(), help.exit_code()), (ErrorKind::DisplayHelp, 0));
        let text = help.to_string();
        for part in [
            "cargo run --example test -- [OPTIONS]",
            "--players <N>",
            "[default: 6]",
            "--matches <N>",
            "--seed <N>",
            "--store <STORE>",
            "mongo",
            "--mongo-uri <URI>",
            "EVENTFUL_MONGO_URI",
        ] {
            assert!(text.contains(part), "no `{part}` in:\n{text}");
        }
    }

    #[test]
    fn serve_is_the_backend_s_option() {
        let options = Options::parse_from("game_backend", ["--serve", "127.0.0.1:8080"], None)
            .expect("valid");
        assert_eq!(
            options.serve,
            Some("127.0.0.1:8080".parse().expect("an address"))
        );
    }

    #[test]
    fn the_environment_gives_the_mongo_uri() {
        let options = Options::parse_from(
            "test",
            ["--store", "mongo"],
            Some("mongodb://localhost".into()),
        )
        .expect("valid");
        assert_eq!(
            options.store,
            StoreChoice::Mongo {
                uri: "mongodb://localhost".into()
            }
        );
    }
}
