//! [`MongoStoreError`]: what can go wrong talking to MongoDB, sorted into the cases a caller
//! acts on differently, and how each becomes the core's [`StoreError`].
//!
//! The driver's errors are classified by kind and server error code only, never by message
//! text: messages differ between server versions (and between MongoDB and wire-compatible
//! servers), codes do not.

use std::fmt;

use eventful_core::{RecordLocation, StoreError, StreamId, TypeName, Version};
use mongodb::error::{Error as DriverError, ErrorKind, WriteFailure};
use uuid::Uuid;

use crate::problem::{BsonProblem, DecodeProblem, IndexProblem, SettingsProblem};

/// The server's code for a duplicate key in a unique index.
pub(crate) const DUPLICATE_KEY: i32 = 11000;

/// Server codes meaning the caller lacks a right or its credentials were refused.
const UNAUTHORIZED_CODES: [i32; 2] = [
    13, // Unauthorized
    18, // AuthenticationFailed
];

/// Server codes meaning an operation ran out of time on the server.
const TIMEOUT_CODES: [i32; 5] = [
    50,  // MaxTimeMSExpired
    64,  // WriteConcernFailed (wtimeout): the write may still become durable
    89,  // NetworkTimeout
    202, // NetworkInterfaceExceededTimeLimit
    262, // ExceededTimeLimit
];

/// Server codes meaning the node cannot serve now (no primary, shutting down, stepping down).
const UNAVAILABLE_CODES: [i32; 10] = [
    6,     // HostUnreachable
    7,     // HostNotFound
    91,    // ShutdownInProgress
    189,   // PrimarySteppedDown
    9001,  // SocketException
    10107, // NotWritablePrimary
    11600, // InterruptedAtShutdown
    11602, // InterruptedDueToReplStateChange
    13435, // NotPrimaryNoSecondaryOk
    13436, // NotPrimaryOrSecondary
];

/// Why the MongoDB store could not start or complete an operation.
///
/// Every operation of the [`EventStore`](eventful_core::EventStore) traits returns the core's
/// [`StoreError`], with one of these inside as its source: match on the `StoreError` variant
/// to decide what to do, and downcast the source to this type for the MongoDB details.
/// [`MongoStore::connect`](crate::MongoStore::connect) returns this type directly.
///
/// Each variant carries what went wrong as data (the `problem` fields, see
/// [`crate::problem`]), and its message says the same in words:
///
/// ```
/// use eventful_core::StoreError;
/// use eventful_store_mongo::{MongoStoreError, SettingsProblem};
///
/// let error = MongoStoreError::InvalidSettings {
///     setting: "database",
///     problem: SettingsProblem::ForbiddenCharacter { name: "game.events".to_owned(), character: '.' },
/// };
/// assert_eq!(
///     error.to_string(),
///     "invalid setting `database`: the name `game.events` contains '.', which MongoDB refuses there"
/// );
/// assert!(matches!(StoreError::from(error), StoreError::Backend { .. }));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MongoStoreError {
    /// A setting cannot work: a URI that does not parse, a database or collection name MongoDB
    /// refuses. Found before any I/O.
    #[error("invalid setting `{setting}`: {problem}")]
    InvalidSettings {
        /// Which setting (`"uri"`, `"database"`, `"events collection"`, …).
        setting: &'static str,
        /// What is wrong with it.
        problem: SettingsProblem,
    },
    /// No server could be reached, or none can serve now (no primary, shutting down).
    #[error("MongoDB is unreachable ({operation}): {source}")]
    Unreachable {
        /// What was being done.
        operation: &'static str,
        /// The driver's error.
        #[source]
        source: DriverError,
    },
    /// The server, or the network, took longer than allowed. A write that timed out may still
    /// have been stored: retry it with the same event ids, and it is stored once.
    #[error("MongoDB timed out ({operation}): {source}")]
    Timeout {
        /// What was being done.
        operation: &'static str,
        /// The driver's error.
        #[source]
        source: DriverError,
    },
    /// The credentials were refused, or the user lacks a right the store needs (`find`,
    /// `insert`, `update`, `remove`, `createIndex`, `listIndexes` on the store's database).
    #[error("MongoDB refused access to database `{database}` ({operation}): {source}")]
    Unauthorized {
        /// The store's database.
        database: String,
        /// What was being done.
        operation: &'static str,
        /// The driver's error.
        #[source]
        source: DriverError,
    },
    /// An index the store relies on could not be made as it must be.
    #[error("index {} of collection `{collection}`: {problem}", IndexKeys(.keys))]
    Index {
        /// The collection.
        collection: String,
        /// The index's keys, in order, all ascending.
        keys: &'static [&'static str],
        /// What is wrong.
        problem: IndexProblem,
    },
    /// Any other failure reported by the server or the driver.
    #[error("MongoDB failed ({operation}): {source}")]
    Server {
        /// What was being done.
        operation: &'static str,
        /// The driver's error.
        #[source]
        source: DriverError,
    },
    /// An event cannot be stored as BSON without losing something: an integer above
    /// `i64::MAX` in its payload, or a key containing a NUL character. Nothing was written.
    #[error(
        "event {event_id} (type `{event_type}`) for stream `{stream_id}` cannot be stored \
         in MongoDB: {problem}; nothing was written"
    )]
    Unrepresentable {
        /// The stream appended to.
        stream_id: StreamId,
        /// The event.
        event_id: Uuid,
        /// Its type.
        event_type: TypeName,
        /// What cannot be represented, and where.
        problem: BsonProblem,
    },
    /// A snapshot's state cannot be stored as BSON without losing something. Nothing was
    /// written.
    #[error(
        "the snapshot of stream `{stream_id}` at version {version} cannot be stored in \
         MongoDB: {problem}"
    )]
    UnrepresentableSnapshot {
        /// The snapshot's stream.
        stream_id: StreamId,
        /// The version it covers.
        version: Version,
        /// What cannot be represented, and where.
        problem: BsonProblem,
    },
    /// An append's document would exceed MongoDB's document size limit. Nothing was written;
    /// split the append.
    #[error(
        "the append of {events} events to stream `{stream_id}` is {bytes} bytes of BSON, \
         over MongoDB's limit of {limit} bytes per document; nothing was written"
    )]
    AppendTooLarge {
        /// The stream appended to.
        stream_id: StreamId,
        /// Events in the append.
        events: usize,
        /// Its size as one document.
        bytes: usize,
        /// The limit.
        limit: usize,
    },
    /// A stored document does not decode as what the store wrote.
    #[error("{location} in collection `{collection}` does not decode: {problem}")]
    Undecodable {
        /// The collection.
        collection: String,
        /// Which record: an event's stream and version where they are readable, else the
        /// append's position, else its stream; a checkpoint by its name
        /// ([`RecordLocation::Key`]).
        location: RecordLocation,
        /// What is wrong with it.
        problem: DecodeProblem,
    },
    /// Other writers took the stream's next version every time this `Any` append tried it.
    #[error(
        "could not append to stream `{stream_id}` (from version {first_version}) in \
         {attempts} attempts: other writers took its next version each time"
    )]
    PositionContention {
        /// The stream appended to.
        stream_id: StreamId,
        /// The version the append would have started at.
        first_version: Version,
        /// Attempts made.
        attempts: u32,
    },
    /// The server refused an append because of a document its read concern's view does not
    /// show yet (just after an election, a new primary's majority view can be older than
    /// what it holds), and the view did not catch up within the catch-up timeout. Nothing
    /// was written by this call; retrying the same append later is safe and is then either
    /// stored or reported as already stored.
    #[error(
        "the cluster is catching up: an append to stream `{stream_id}` at version {version} \
         was refused because of a document the read view still did not show after \
         {waited:?}; nothing was written by it, and retrying it is safe"
    )]
    CatchingUp {
        /// The stream appended to.
        stream_id: StreamId,
        /// The version the append would have started at.
        version: Version,
        /// How long the store waited for the view.
        waited: std::time::Duration,
    },
}

impl MongoStoreError {
    /// Sorts a driver error from `operation` on `database` into the case a caller acts on.
    pub(crate) fn from_driver(
        operation: &'static str,
        database: &str,
        source: DriverError,
    ) -> Self {
        match classify(&source) {
            Class::Unreachable => Self::Unreachable { operation, source },
            Class::Timeout => Self::Timeout { operation, source },
            Class::Unauthorized => Self::Unauthorized {
                database: database.to_owned(),
                operation,
                source,
            },
            Class::Other => Self::Server { operation, source },
        }
    }
}

impl From<MongoStoreError> for StoreError {
    fn from(error: MongoStoreError) -> Self {
        match error {
            MongoStoreError::Unreachable { .. } => StoreError::Unavailable {
                source: Box::new(error),
            },
            MongoStoreError::Timeout { operation, .. } => StoreError::Timeout {
                operation,
                source: Box::new(error),
            },
            MongoStoreError::PositionContention { .. } => StoreError::Timeout {
                operation: "appending to a contended stream",
                source: Box::new(error),
            },
            MongoStoreError::CatchingUp { .. } => StoreError::Unavailable {
                source: Box::new(error),
            },
            MongoStoreError::Unauthorized { .. } => StoreError::Unauthorized {
                source: Box::new(error),
            },
            MongoStoreError::Undecodable { ref location, .. } => StoreError::Corrupt {
                location: location.clone(),
                source: Box::new(error),
            },
            MongoStoreError::Unrepresentable { ref stream_id, .. }
            | MongoStoreError::UnrepresentableSnapshot { ref stream_id, .. }
            | MongoStoreError::AppendTooLarge { ref stream_id, .. } => StoreError::Unstorable {
                stream_id: stream_id.clone(),
                source: Box::new(error),
            },
            MongoStoreError::InvalidSettings { .. }
            | MongoStoreError::Index { .. }
            | MongoStoreError::Server { .. } => StoreError::Backend {
                source: Box::new(error),
            },
        }
    }
}

/// An index's keys as `{field: 1, ...}`.
struct IndexKeys<'a>(&'a [&'a str]);

impl fmt::Display for IndexKeys<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("{")?;
        for (i, key) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{key}: 1")?;
        }
        f.write_str("}")
    }
}

/// The cases a driver error falls into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Unreachable,
    Timeout,
    Unauthorized,
    Other,
}

fn classify(error: &DriverError) -> Class {
    match error.kind.as_ref() {
        ErrorKind::ServerSelection { .. }
        | ErrorKind::ConnectionPoolCleared { .. }
        | ErrorKind::DnsResolve { .. }
        | ErrorKind::Shutdown => Class::Unreachable,
        ErrorKind::Io(io) if io.kind() == std::io::ErrorKind::TimedOut => Class::Timeout,
        ErrorKind::Io(_) => Class::Unreachable,
        ErrorKind::Authentication { .. } => Class::Unauthorized,
        ErrorKind::Command(command) => by_code(command.code),
        ErrorKind::Write(WriteFailure::WriteConcernError(concern)) => by_code(concern.code),
        ErrorKind::Write(WriteFailure::WriteError(write)) => by_code(write.code),
        ErrorKind::InsertMany(insert) => insert
            .write_errors
            .iter()
            .flatten()
            .map(|write| by_code(write.code))
            .chain(
                insert
                    .write_concern_error
                    .iter()
                    .map(|concern| by_code(concern.code)),
            )
            .find(|class| *class != Class::Other)
            .unwrap_or(Class::Other),
        _ => Class::Other,
    }
}

fn by_code(code: i32) -> Class {
    if UNAUTHORIZED_CODES.contains(&code) {
        Class::Unauthorized
    } else if TIMEOUT_CODES.contains(&code) {
        Class::Timeout
    } else if UNAVAILABLE_CODES.contains(&code) {
        Class::Unreachable
    } else {
        Class::Other
    }
}

/// Whether a write failed on a unique index (the only server code the store branches on).
pub(crate) fn is_duplicate_key(error: &DriverError) -> bool {
    match error.kind.as_ref() {
        ErrorKind::Write(WriteFailure::WriteError(write)) => write.code == DUPLICATE_KEY,
        ErrorKind::InsertMany(insert) => insert
            .write_errors
            .iter()
            .flatten()
            .any(|write| write.code == DUPLICATE_KEY),
        ErrorKind::Command(command) => command.code == DUPLICATE_KEY,
        _ => false,
    }
}

/// Whether a command failed because its collection does not exist yet.
pub(crate) fn is_namespace_not_found(error: &DriverError) -> bool {
    matches!(error.kind.as_ref(), ErrorKind::Command(command) if command.code == 26)
}

#[cfg(test)]
mod tests {
    use super::*;
    use mongodb::bson::{Document, doc, from_document};
    use mongodb::error::{CommandError, WriteConcernError, WriteError};

    fn command(code: i32) -> DriverError {
        let error: CommandError = from_document(doc! {
            "code": code, "codeName": "Test", "errmsg": "test"
        })
        .expect("a command error decodes");
        ErrorKind::Command(error).into()
    }

    fn write(code: i32) -> DriverError {
        let error: WriteError =
            from_document(doc! { "code": code, "errmsg": "test" }).expect("a write error decodes");
        ErrorKind::Write(WriteFailure::WriteError(error)).into()
    }

    fn concern(code: i32) -> DriverError {
        let error: WriteConcernError = from_document(doc! {
            "code": code, "codeName": "Test", "errmsg": "test", "errInfo": Document::new()
        })
        .expect("a write concern error decodes");
        ErrorKind::Write(WriteFailure::WriteConcernError(error)).into()
    }

    fn store_error(error: DriverError) -> StoreError {
        MongoStoreError::from_driver("testing", "db", error).into()
    }

    #[test]
    fn server_codes_become_the_matching_store_errors() {
        assert!(matches!(
            store_error(command(13)),
            StoreError::Unauthorized { .. }
        ));
        assert!(matches!(
            store_error(command(18)),
            StoreError::Unauthorized { .. }
        ));
        assert!(matches!(
            store_error(write(13)),
            StoreError::Unauthorized { .. }
        ));
        assert!(matches!(
            store_error(command(50)),
            StoreError::Timeout {
                operation: "testing",
                ..
            }
        ));
        assert!(matches!(
            store_error(concern(64)),
            StoreError::Timeout { .. }
        ));
        assert!(matches!(
            store_error(command(10107)),
            StoreError::Unavailable { .. }
        ));
        assert!(matches!(
            store_error(concern(91)),
            StoreError::Unavailable { .. }
        ));
        assert!(matches!(
            store_error(command(2)),
            StoreError::Backend { .. }
        ));
        assert!(matches!(
            store_error(write(DUPLICATE_KEY)),
            StoreError::Backend { .. }
        ));
    }

    #[test]
    fn network_failures_are_unavailable_or_timeouts() {
        let refused: DriverError =
            std::io::Error::from(std::io::ErrorKind::ConnectionRefused).into();
        assert!(matches!(
            store_error(refused),
            StoreError::Unavailable { .. }
        ));
        let slow: DriverError = std::io::Error::from(std::io::ErrorKind::TimedOut).into();
        assert!(matches!(store_error(slow), StoreError::Timeout { .. }));
    }

    #[test]
    fn duplicate_keys_are_recognised_by_code_alone() {
        assert!(is_duplicate_key(&write(DUPLICATE_KEY)));
        assert!(is_duplicate_key(&command(DUPLICATE_KEY)));
        assert!(!is_duplicate_key(&write(8)));
        assert!(!is_duplicate_key(&concern(DUPLICATE_KEY)));
        assert!(is_namespace_not_found(&command(26)));
        assert!(!is_namespace_not_found(&command(13)));
    }

    #[test]
    fn store_side_errors_keep_their_meaning() {
        let stream_id = StreamId::new("player-1").expect("valid");
        let undecodable = MongoStoreError::Undecodable {
            collection: "events".to_owned(),
            location: RecordLocation::Event {
                stream_id: stream_id.clone(),
                version: Version::new(3),
            },
            problem: DecodeProblem::MissingField {
                field: "events".to_owned(),
            },
        };
        assert_eq!(
            undecodable.to_string(),
            "stream `player-1` version 3 in collection `events` does not decode: the field \
             `events` is missing"
        );
        match StoreError::from(undecodable) {
            StoreError::Corrupt { location, source } => {
                assert_eq!(
                    location,
                    RecordLocation::Event {
                        stream_id: stream_id.clone(),
                        version: Version::new(3)
                    }
                );
                match source.downcast_ref::<MongoStoreError>() {
                    Some(MongoStoreError::Undecodable {
                        problem: DecodeProblem::MissingField { field },
                        ..
                    }) => assert_eq!(field, "events"),
                    other => panic!("expected the MongoDB details, got {other:?}"),
                }
            }
            other => panic!("expected Corrupt, got {other}"),
        }
        let contention = MongoStoreError::PositionContention {
            stream_id: stream_id.clone(),
            first_version: Version::new(4),
            attempts: 3,
        };
        assert!(matches!(
            StoreError::from(contention),
            StoreError::Timeout { .. }
        ));
        let too_large = MongoStoreError::AppendTooLarge {
            stream_id: stream_id.clone(),
            events: 2,
            bytes: 17_000_000,
            limit: 16_777_216,
        };
        match StoreError::from(too_large) {
            StoreError::Unstorable {
                stream_id: s,
                source,
            } => {
                assert_eq!(s, stream_id);
                assert!(source.to_string().contains("16777216"), "{source}");
            }
            other => panic!("expected Unstorable, got {other}"),
        }
        let unrepresentable = MongoStoreError::Unrepresentable {
            stream_id,
            event_id: Uuid::nil(),
            event_type: TypeName::from_static("big"),
            problem: BsonProblem::IntegerAboveI64 {
                path: "/n".to_owned(),
                value: u64::MAX,
            },
        };
        assert_eq!(
            unrepresentable.to_string(),
            "event 00000000-0000-0000-0000-000000000000 (type `big`) for stream `player-1` \
             cannot be stored in MongoDB: the integer 18446744073709551615 at `/n` of the \
             payload is above i64::MAX, the largest BSON integer; nothing was written"
        );
        let error = StoreError::from(unrepresentable);
        assert!(matches!(error, StoreError::Unstorable { .. }));
        assert!(error.to_string().contains("player-1"), "{error}");
    }

    #[test]
    fn index_errors_name_their_keys() {
        let error = MongoStoreError::Index {
            collection: "events".to_owned(),
            keys: &["stream_id", "first_version"],
            problem: IndexProblem::NotUnique,
        };
        assert!(
            error
                .to_string()
                .starts_with("index {stream_id: 1, first_version: 1} of collection `events`: it exists but is not unique"),
            "{error}"
        );
    }
}
