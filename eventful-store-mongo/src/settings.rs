//! [`MongoSettings`]: where the store lives and how it talks to MongoDB.

use std::time::Duration;

use mongodb::options::{Acknowledgment, ReadConcern, WriteConcern};

use crate::error::MongoStoreError;

/// The database used when neither the settings nor the URI name one.
pub const DEFAULT_DATABASE: &str = "eventful";

/// How the store connects and where it keeps its documents.
///
/// Defaults: the database named in the URI's path (else [`DEFAULT_DATABASE`]), collections
/// `events`, `snapshots` and `checkpoints`, write concern majority and journaled, read
/// concern majority, polling every 100 ms for appends by other processes, 100,000 stream
/// heads remembered, 64 attempts at a global position.
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

    /// How many times one append tries for a global position that other processes keep
    /// taking before it fails with a timeout.
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
        if self.events == self.snapshots
            || self.events == self.checkpoints
            || self.snapshots == self.checkpoints
        {
            return Err(MongoStoreError::InvalidSettings {
                setting: "collections",
                reason: format!(
                    "events, snapshots and checkpoints need three distinct collections, got \
                     `{}`, `{}` and `{}`",
                    self.events, self.snapshots, self.checkpoints
                ),
            });
        }
        if matches!(self.write_concern.w, Some(Acknowledgment::Nodes(0))) {
            return Err(MongoStoreError::InvalidSettings {
                setting: "write concern",
                reason: "w: 0 never reports a conflict, so appends could not be checked".to_owned(),
            });
        }
        Ok(())
    }
}

/// MongoDB's rules for database names (on every platform it runs on).
fn check_database_name(name: &str) -> Result<(), MongoStoreError> {
    let refuse = |reason: String| {
        Err(MongoStoreError::InvalidSettings {
            setting: "database",
            reason,
        })
    };
    if name.is_empty() {
        return refuse("the database name is empty".to_owned());
    }
    if name.len() >= 64 {
        return refuse(format!(
            "the database name `{name}` is longer than 63 bytes"
        ));
    }
    if let Some(bad) = name.chars().find(|c| "/\\. \"$*<>:|?\0".contains(*c)) {
        return refuse(format!("the database name `{name}` contains {bad:?}"));
    }
    Ok(())
}

/// MongoDB's rules for collection names.
fn check_collection_name(setting: &'static str, name: &str) -> Result<(), MongoStoreError> {
    let reason = if name.is_empty() {
        Some("the name is empty".to_owned())
    } else if name.contains('$') || name.contains('\0') {
        Some(format!("`{name}` contains `$` or a NUL character"))
    } else if name.starts_with("system.") {
        Some(format!("`{name}` is in the reserved `system.` namespace"))
    } else {
        None
    };
    match reason {
        Some(reason) => Err(MongoStoreError::InvalidSettings { setting, reason }),
        None => Ok(()),
    }
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
        let same = MongoSettings::new("mongodb://localhost").with_snapshots_collection("events");
        assert!(same.validate("db").is_err());
        let system = MongoSettings::new("mongodb://localhost").with_events_collection("system.x");
        assert!(system.validate("db").is_err());
        let unacknowledged =
            MongoSettings::new("mongodb://localhost").with_write_concern(WriteConcern::nodes(0));
        assert!(unacknowledged.validate("db").is_err());
    }
}
