//! The command line the example programs share.

use std::fmt;

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
}

impl Default for Options {
    fn default() -> Self {
        Self {
            players: 6,
            matches: 3,
            seed: 7,
            store: StoreChoice::Memory,
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

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invocation {
    /// A run.
    Run(Options),
    /// The usage text.
    Help,
}

/// A command line that cannot be understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OptionsError {
    /// An option this program does not have.
    #[error("unknown option `{0}` (try --help)")]
    Unknown(String),
    /// An option without its value.
    #[error("`{0}` needs a value (try --help)")]
    MissingValue(&'static str),
    /// A value that is not a number.
    #[error("`{option}` takes a number, not `{value}`")]
    NotANumber {
        /// The option.
        option: &'static str,
        /// What was given.
        value: String,
    },
    /// A store this program does not know.
    #[error("unknown store `{0}`: choose `memory` or `mongo`")]
    UnknownStore(String),
    /// `--store mongo` without a URI.
    #[error("`--store mongo` needs `--mongo-uri URI` (or EVENTFUL_MONGO_URI)")]
    MissingMongoUri,
    /// `--players 0`: nobody to play.
    #[error("`--players` needs at least 1")]
    NoPlayers,
    /// `--mongo-uri` with another store.
    #[error("`--mongo-uri` goes with `--store mongo`")]
    UriWithoutMongo,
}

impl Options {
    /// Reads the arguments after the program's name. `mongo_uri_env` is the value of
    /// `EVENTFUL_MONGO_URI`, used when `--store mongo` comes without `--mongo-uri`.
    ///
    /// ```
    /// use eventful_examples::options::{Invocation, Options, StoreChoice};
    ///
    /// let args = ["--players", "4", "--store", "mongo", "--mongo-uri", "mongodb://db:27017"];
    /// let Invocation::Run(options) = Options::parse(args.map(String::from), None)? else { panic!() };
    /// assert_eq!(options.players, 4);
    /// assert_eq!(options.store, StoreChoice::Mongo { uri: "mongodb://db:27017".into() });
    /// # Ok::<(), eventful_examples::options::OptionsError>(())
    /// ```
    pub fn parse(
        args: impl IntoIterator<Item = String>,
        mongo_uri_env: Option<String>,
    ) -> Result<Invocation, OptionsError> {
        let mut options = Self::default();
        let mut store = "memory".to_owned();
        let mut uri = None;
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            let mut value = |option| args.next().ok_or(OptionsError::MissingValue(option));
            match arg.as_str() {
                "-h" | "--help" => return Ok(Invocation::Help),
                "--players" => options.players = number("--players", value("--players")?)?,
                "--matches" => options.matches = number("--matches", value("--matches")?)?,
                "--seed" => options.seed = number("--seed", value("--seed")?)?,
                "--store" => store = value("--store")?,
                "--mongo-uri" => uri = Some(value("--mongo-uri")?),
                _ => return Err(OptionsError::Unknown(arg)),
            }
        }
        if options.players == 0 {
            return Err(OptionsError::NoPlayers);
        }
        options.store = match store.as_str() {
            "memory" if uri.is_some() => return Err(OptionsError::UriWithoutMongo),
            "memory" => StoreChoice::Memory,
            "mongo" => StoreChoice::Mongo {
                uri: uri.or(mongo_uri_env).ok_or(OptionsError::MissingMongoUri)?,
            },
            _ => return Err(OptionsError::UnknownStore(store)),
        };
        Ok(Invocation::Run(options))
    }

    /// The usage text of `program`.
    pub fn usage(program: &str) -> impl fmt::Display + '_ {
        Usage(program)
    }
}

fn number<T: std::str::FromStr>(option: &'static str, value: String) -> Result<T, OptionsError> {
    value
        .parse()
        .map_err(|_| OptionsError::NotANumber { option, value })
}

struct Usage<'a>(&'a str);

impl fmt::Display for Usage<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let defaults = Options::default();
        write!(
            f,
            "usage: cargo run --example {} -- [options]

  --players N          players who sign up (default {})
  --matches N          matches played (default {})
  --seed N             seeds who plays, the scores and who disconnects (default {})
  --store memory       the in-memory store (the default)
  --store mongo        MongoDB, at --mongo-uri URI or EVENTFUL_MONGO_URI
  -h, --help           this text
",
            self.0, defaults.players, defaults.matches, defaults.seed
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Invocation, OptionsError> {
        Options::parse(args.iter().map(|arg| (*arg).to_owned()), None)
    }

    #[test]
    fn no_arguments_is_the_default_run_on_memory() {
        assert_eq!(parse(&[]), Ok(Invocation::Run(Options::default())));
    }

    #[test]
    fn mistakes_are_named() {
        assert_eq!(
            parse(&["--players"]),
            Err(OptionsError::MissingValue("--players"))
        );
        assert_eq!(
            parse(&["--matches", "many"]),
            Err(OptionsError::NotANumber {
                option: "--matches",
                value: "many".into()
            })
        );
        assert_eq!(
            parse(&["--store", "mongo"]),
            Err(OptionsError::MissingMongoUri)
        );
        assert_eq!(
            parse(&["--store", "redis"]),
            Err(OptionsError::UnknownStore("redis".into()))
        );
        assert_eq!(
            parse(&["--fast"]),
            Err(OptionsError::Unknown("--fast".into()))
        );
    }

    #[test]
    fn the_environment_gives_the_mongo_uri() {
        let args = ["--store", "mongo"].map(String::from);
        let parsed = Options::parse(args, Some("mongodb://localhost".into()));
        let Ok(Invocation::Run(options)) = parsed else {
            panic!("{parsed:?}")
        };
        assert_eq!(
            options.store,
            StoreChoice::Mongo {
                uri: "mongodb://localhost".into()
            }
        );
    }
}
