//! [`MongoSettings`]: where the store lives and how it talks to MongoDB.

use std::time::Duration;

use mongodb::options::{Acknowledgment, ReadConcern, WriteConcern};

use crate::error::MongoStoreError;
use crate::problem::SettingsProblem;

/// The database used when neither the settings nor the URI name one.
pub const DEFAULT_DATABASE: &str = "eventful";

/// How the store connects and where it keeps its documents.
///
/// Defaults: the database named in the URI's path (else [`DEFAULT_DATABASE`]), collections
/// `events`, `snapshots` and `checkpoints`, write concern majority and journaled, read
/// concern majority, polling every 100 ms for appends by other processes, 100,000 stream
/// heads remembered, 64 attempts at an `Any` append's version, a 2 s gap timeout and a 10 s
/// catch-up timeout.
///
/// ```
/// use std::time::Duration;
/// use eventful_store_mongo::MongoSettings;
///
/// let settings = MongoSettings::new("mongodb://localhost:27017/gameevents")
///     .with_events_collection("player_events")
///     .with_poll_interval(Duration::from_millis(50));
/// assert_eq!(settings.events_collection(), "player_events");
/// assert_eq!(settings.poll_interval(), Duration::from_millis(50));
/// ```
#[derive(Debug, Clone)]
pub struct MongoSettings {
    uri: String,
    database: Option<String>,
    events: String,
    snapshots: String,
    checkpoints: String,
    write_concern: WriteConcern,
    read_concern: ReadConcern,
    poll_interval: Duration,
    head_cache_capacity: usize,
    position_attempts: u32,
    server_selection_timeout: Option<Duration>,
    gap_timeout: Duration,
    catch_up_timeout: Duration,
}

impl MongoSettings {
    /// Settings for the deployment at `uri` (`mongodb://` or `mongodb+srv://`), with the
    /// defaults above.
    pub fn new(uri: impl Into<String>) -> Self {
        let mut write_concern = WriteConcern::majority();
        write_concern.journal = Some(true);
        Self {
            uri: uri.into(),
            database: None,
            events: "events".to_owned(),
            snapshots: "snapshots".to_owned(),
            checkpoints: "checkpoints".to_owned(),
            write_concern,
            read_concern: ReadConcern::majority(),
            poll_interval: Duration::from_millis(100),
            head_cache_capacity: 100_000,
            position_attempts: 64,
            server_selection_timeout: None,
            gap_timeout: Duration::from_secs(2),
            catch_up_timeout: Duration::from_secs(10),
        }
    }

    /// Uses database `name`, whatever the URI says.
    pub fn with_database(mut self, name: impl Into<String>) -> Self {
        self.database = Some(name.into());
        self
    }

    /// Names the collection of appended events.
    pub fn with_events_collection(mut self, name: impl Into<String>) -> Self {
        self.events = name.into();
        self
    }

    /// Names the collection of snapshots.
    pub fn with_snapshots_collection(mut self, name: impl Into<String>) -> Self {
        self.snapshots = name.into();
        self
    }

    /// Names the collection of checkpoints.
    pub fn with_checkpoints_collection(mut self, name: impl Into<String>) -> Self {
        self.checkpoints = name.into();
        self
    }

    /// Sets the write concern of every write. Anything short of majority can lose
    /// acknowledged appends on a failover, and with them the global order argued in the
    /// store's documentation.
    pub fn with_write_concern(mut self, write_concern: WriteConcern) -> Self {
        self.write_concern = write_concern;
        self
    }

    /// Sets the read concern of every read. Anything short of majority can show an append
    /// that a failover later rolls back.
    pub fn with_read_concern(mut self, read_concern: ReadConcern) -> Self {
        self.read_concern = read_concern;
        self
    }

    /// How often a waiting subscriber looks for appends made by other processes (appends
    /// through the same store wake it at once).
    pub fn with_poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval;
        self
    }

    /// How many streams' last known versions the store remembers, to append with one round
    /// trip; 0 makes every append with an expected version read the stream's head first.
    pub fn with_head_cache_capacity(mut self, capacity: usize) -> Self {
        self.head_cache_capacity = capacity;
        self
    }

    /// How many times one `Any` append tries for the stream's next version that other
    /// writers keep taking before it fails with a timeout.
    pub fn with_position_attempts(mut self, attempts: u32) -> Self {
        self.position_attempts = attempts.max(1);
        self
    }

    /// How long to wait for a usable server before an operation fails as unreachable (the
    /// driver's default is 30 s; the URI's `serverSelectionTimeoutMS` sets it too).
    pub fn with_server_selection_timeout(mut self, timeout: Duration) -> Self {
        self.server_selection_timeout = Some(timeout);
        self
    }

    /// How long a reader waits for a position of the log that holds nothing, below appends
    /// that committed, before it closes it for good (its writer died, or is that late: a
    /// late insert then goes to another position). Positions commit out of order when
    /// several writers share the log; a writer alive closes the positions it will not use
    /// itself within milliseconds, so this wait is only met after a crash. Longer than any
    /// insert can take; at least 10 ms.
    ///
    /// ```
    /// use std::time::Duration;
    /// use eventful_store_mongo::MongoSettings;
    ///
    /// let settings = MongoSettings::new("mongodb://localhost:27017")
    ///     .with_gap_timeout(Duration::from_secs(5));
    /// assert_eq!(settings.gap_timeout(), Duration::from_secs(5));
    /// ```
    pub fn with_gap_timeout(mut self, timeout: Duration) -> Self {
        self.gap_timeout = timeout.max(Duration::from_millis(10));
        self
    }

    /// How long an append whose insert the server refused waits for the read concern's view
    /// to show what refused it, before it fails with
    /// [`MongoStoreError::CatchingUp`](crate::MongoStoreError::CatchingUp). The server's
    /// unique indexes see every committed document, but just after an election a new
    /// primary's majority view can be older than what it holds; the store does not guess
    /// what refused the insert.
    ///
    /// ```
    /// use std::time::Duration;
    /// use eventful_store_mongo::MongoSettings;
    ///
    /// let settings = MongoSettings::new("mongodb://localhost:27017")
    ///     .with_catch_up_timeout(Duration::from_secs(3));
    /// assert_eq!(settings.catch_up_timeout(), Duration::from_secs(3));
    /// ```
    pub fn with_catch_up_timeout(mut self, timeout: Duration) -> Self {
        self.catch_up_timeout = timeout;
        self
    }

    /// The gap timeout ([`MongoSettings::with_gap_timeout`]).
    pub fn gap_timeout(&self) -> Duration {
        self.gap_timeout
    }

    /// The catch-up timeout ([`MongoSettings::with_catch_up_timeout`]).
    pub fn catch_up_timeout(&self) -> Duration {
        self.catch_up_timeout
    }

    /// The connection string.
    pub fn uri(&self) -> &str {
        &self.uri
    }

    /// The database named by these settings, if any (else the URI's, else
    /// [`DEFAULT_DATABASE`]).
    pub fn database(&self) -> Option<&str> {
        self.database.as_deref()
    }

    /// The collection of appended events.
    pub fn events_collection(&self) -> &str {
        &self.events
    }

    /// The collection of snapshots.
    pub fn snapshots_collection(&self) -> &str {
        &self.snapshots
    }

    /// The collection of checkpoints.
    pub fn checkpoints_collection(&self) -> &str {
        &self.checkpoints
    }

    /// The write concern of every write.
    pub fn write_concern(&self) -> &WriteConcern {
        &self.write_concern
    }

    /// The read concern of every read.
    pub fn read_concern(&self) -> &ReadConcern {
        &self.read_concern
    }

    /// The polling interval for appends by other processes.
    pub fn poll_interval(&self) -> Duration {
        self.poll_interval
    }

    /// How many stream heads are remembered.
    pub fn head_cache_capacity(&self) -> usize {
        self.head_cache_capacity
    }

    /// Attempts at a global position per append.
    pub fn position_attempts(&self) -> u32 {
        self.position_attempts
    }

    /// The server selection timeout set here, if any.
    pub fn server_selection_timeout(&self) -> Option<Duration> {
        self.server_selection_timeout
    }

    /// Checks every name before any I/O.
    pub(crate) fn validate(&self, database: &str) -> Result<(), MongoStoreError> {
        check_database_name(database)?;
        for (setting, name) in [
            ("events collection", &self.events),
            ("snapshots collection", &self.snapshots),
            ("checkpoints collection", &self.checkpoints),
        ] {
            check_collection_name(setting, name)?;
        }
        let shared = if self.events == self.snapshots || self.events == self.checkpoints {
            Some(&self.events)
        } else if self.snapshots == self.checkpoints {
            Some(&self.snapshots)
        } else {
            None
        };
        if let Some(name) = shared {
            return Err(MongoStoreError::InvalidSettings {
                setting: "collections",
                problem: SettingsProblem::SharedCollection { name: name.clone() },
            });
        }
        if matches!(self.write_concern.w, Some(Acknowledgment::Nodes(0))) {
            return Err(MongoStoreError::InvalidSettings {
                setting: "write concern",
                problem: SettingsProblem::UnacknowledgedWrites,
            });
        }
        Ok(())
    }
}

/// The longest database name MongoDB accepts, in bytes.
const MAX_DATABASE_NAME_BYTES: usize = 63;

/// MongoDB's rules for database names (on every platform it runs on).
fn check_database_name(name: &str) -> Result<(), MongoStoreError> {
    let problem = if name.is_empty() {
        SettingsProblem::EmptyName
    } else if name.len() > MAX_DATABASE_NAME_BYTES {
        SettingsProblem::NameTooLong {
            name: name.to_owned(),
            bytes: name.len(),
            limit: MAX_DATABASE_NAME_BYTES,
        }
    } else if let Some(character) = name.chars().find(|c| "/\\. \"$*<>:|?\0".contains(*c)) {
        SettingsProblem::ForbiddenCharacter {
            name: name.to_owned(),
            character,
        }
    } else {
        return Ok(());
    };
    Err(MongoStoreError::InvalidSettings {
        setting: "database",
        problem,
    })
}

/// MongoDB's rules for collection names.
fn check_collection_name(setting: &'static str, name: &str) -> Result<(), MongoStoreError> {
    let problem = if name.is_empty() {
        SettingsProblem::EmptyName
    } else if let Some(character) = name.chars().find(|c| matches!(c, '$' | '\0')) {
        SettingsProblem::ForbiddenCharacter {
            name: name.to_owned(),
            character,
        }
    } else if name.starts_with("system.") {
        SettingsProblem::ReservedName {
            name: name.to_owned(),
        }
    } else {
        return Ok(());
    };
    Err(MongoStoreError::InvalidSettings { setting, problem })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_durable() {
        let settings = MongoSettings::new("mongodb://localhost");
        assert_eq!(settings.write_concern().w, Some(Acknowledgment::Majority));
        assert_eq!(settings.write_concern().journal, Some(true));
        assert_eq!(settings.read_concern(), &ReadConcern::majority());
        assert_eq!(settings.database(), None);
        assert!(settings.validate(DEFAULT_DATABASE).is_ok());
    }

    #[test]
    fn bad_names_are_refused_before_any_io() {
        let settings = MongoSettings::new("mongodb://localhost");
        for bad in ["", "a.b", "a b", "a/b", "a$b", &"x".repeat(64)] {
            assert!(
                matches!(
                    settings.validate(bad),
                    Err(MongoStoreError::InvalidSettings {
                        setting: "database",
                        ..
                    })
                ),
                "database `{bad}` must be refused"
            );
        }
        let problem = |settings: &MongoSettings, database: &str| match settings.validate(database) {
            Err(MongoStoreError::InvalidSettings { problem, .. }) => problem,
            other => panic!("expected InvalidSettings, got {other:?}"),
        };
        assert_eq!(
            problem(&settings, "a.b"),
            SettingsProblem::ForbiddenCharacter {
                name: "a.b".to_owned(),
                character: '.'
            }
        );
        assert!(matches!(
            problem(&settings, &"x".repeat(64)),
            SettingsProblem::NameTooLong {
                bytes: 64,
                limit: 63,
                ..
            }
        ));
        let same = MongoSettings::new("mongodb://localhost").with_snapshots_collection("events");
        assert_eq!(
            problem(&same, "db"),
            SettingsProblem::SharedCollection {
                name: "events".to_owned()
            }
        );
        let system = MongoSettings::new("mongodb://localhost").with_events_collection("system.x");
        assert_eq!(
            problem(&system, "db"),
            SettingsProblem::ReservedName {
                name: "system.x".to_owned()
            }
        );
        let unacknowledged =
            MongoSettings::new("mongodb://localhost").with_write_concern(WriteConcern::nodes(0));
        assert_eq!(
            problem(&unacknowledged, "db"),
            SettingsProblem::UnacknowledgedWrites
        );
        assert_eq!(
            MongoStoreError::InvalidSettings {
                setting: "database",
                problem: problem(&settings, "")
            }
            .to_string(),
            "invalid setting `database`: the name is empty"
        );
    }
}
