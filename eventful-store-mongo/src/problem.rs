//! What exactly is wrong, as data: the `problem` fields of [`MongoStoreError`]'s variants, so
//! that a caller can match on the stream, the field, the path or the number involved instead
//! of parsing a message.
//!
//! A `message: String` appears only where the cause is free text from someone else's parser
//! (the driver's URI parser, the BSON reader, the JSON parser): the store cannot type what it
//! is not told.
//!
//! [`MongoStoreError`]: crate::MongoStoreError

use eventful_core::NameError;
use mongodb::bson::spec::ElementType;
use mongodb::error::Error as DriverError;

/// Why a setting cannot work ([`MongoStoreError::InvalidSettings`](crate::MongoStoreError::InvalidSettings)).
///
/// ```
/// use eventful_store_mongo::{MongoSettings, MongoStore, MongoStoreError, SettingsProblem};
///
/// # async fn demo() {
/// let settings = MongoSettings::new("mongodb://localhost").with_database("game.events");
/// match MongoStore::connect(settings).await {
///     Err(MongoStoreError::InvalidSettings {
///         problem: SettingsProblem::ForbiddenCharacter { character: '.', .. },
///         ..
///     }) => {}
///     other => panic!("expected a refused name, got {other:?}"),
/// }
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SettingsProblem {
    /// The connection string does not parse, or names options the driver refuses. The
    /// message is the driver's own (free text from its URI parser).
    #[error("{message}")]
    Uri {
        /// The driver's message.
        message: String,
    },
    /// A name is empty.
    #[error("the name is empty")]
    EmptyName,
    /// A name is longer than MongoDB allows.
    #[error("the name `{name}` is {bytes} bytes long; MongoDB allows at most {limit}")]
    NameTooLong {
        /// The name.
        name: String,
        /// Its length in bytes.
        bytes: usize,
        /// The most MongoDB allows.
        limit: usize,
    },
    /// A name contains a character MongoDB refuses in it.
    #[error("the name `{name}` contains {character:?}, which MongoDB refuses there")]
    ForbiddenCharacter {
        /// The name.
        name: String,
        /// The first refused character.
        character: char,
    },
    /// A collection name is in MongoDB's reserved `system.` namespace.
    #[error("`{name}` is in the reserved `system.` namespace")]
    ReservedName {
        /// The name.
        name: String,
    },
    /// Two of the events, snapshots and checkpoints collections have the same name.
    #[error(
        "events, snapshots and checkpoints need three distinct collections, but `{name}` \
         is named twice"
    )]
    SharedCollection {
        /// The name used twice.
        name: String,
    },
    /// Write concern `w: 0`: the server would never report a conflict, so no append could be
    /// checked.
    #[error("w: 0 never reports a conflict, so appends could not be checked")]
    UnacknowledgedWrites,
}

/// Why an index the store relies on is not as it must be ([`MongoStoreError::Index`](crate::MongoStoreError::Index)).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IndexProblem {
    /// It exists but is not unique, and the store's guarantees rest on its uniqueness.
    #[error(
        "it exists but is not unique, and the store's guarantees rest on its uniqueness: \
         drop it and connect again"
    )]
    NotUnique,
    /// The server refused to build it because stored documents already break its
    /// uniqueness: for `{event_ids: 1}`, an event id stored twice (in two streams, or at two
    /// versions of one) by a version of the store that only kept ids unique per stream.
    #[error(
        "stored documents already break its uniqueness (for `event_ids`: an event id stored \
         twice, which older versions of the store allowed across streams); remove the \
         duplicates and connect again: {source}"
    )]
    DuplicateKeys {
        /// The server's error.
        source: Box<DriverError>,
    },
    /// The server refused to build it for another reason.
    #[error("the server refused to create it: {source}")]
    Refused {
        /// The server's error.
        source: Box<DriverError>,
    },
    /// The server accepted it but does not list it.
    #[error("the server accepted it but does not list it")]
    NotListed,
}

/// What in an event or a snapshot BSON cannot hold ([`MongoStoreError::Unrepresentable`](crate::MongoStoreError::Unrepresentable),
/// [`MongoStoreError::UnrepresentableSnapshot`](crate::MongoStoreError::UnrepresentableSnapshot)).
///
/// Paths are JSON pointers into the payload (`/items/0/n`; `/` is the payload itself).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BsonProblem {
    /// An integer above `i64::MAX`: BSON has no larger integer, and a double would lose
    /// digits.
    #[error(
        "the integer {value} at `{path}` of the payload is above i64::MAX, the largest BSON integer"
    )]
    IntegerAboveI64 {
        /// Where it is in the payload.
        path: String,
        /// The integer.
        value: u64,
    },
    /// An object key containing a NUL character, which BSON keys cannot hold.
    #[error(
        "the key {key:?} in `{path}` of the payload contains a NUL character, which BSON keys cannot hold"
    )]
    NulInKey {
        /// The object holding the key.
        path: String,
        /// The key.
        key: String,
    },
    /// A metadata key containing a NUL character, which BSON keys cannot hold.
    #[error("the metadata key {key:?} contains a NUL character, which BSON keys cannot hold")]
    NulInMetadataKey {
        /// The key.
        key: String,
    },
    /// The payload is not JSON (the JSON parser's message, free text). A
    /// [`Payload`](eventful_core::Payload) is checked when it is made, so this means it was
    /// made unchecked.
    #[error("the payload is not JSON: {message}")]
    NotJson {
        /// The JSON parser's message.
        message: String,
    },
}

/// What is wrong with a stored document that does not decode ([`MongoStoreError::Undecodable`](crate::MongoStoreError::Undecodable)).
///
/// `field` names a field of the document (`last_version`), of an event in it (`event_type`),
/// or of its metadata (`correlation_id`); `path` is a JSON pointer into a payload.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeProblem {
    /// A field the store writes is missing.
    #[error("the field `{field}` is missing")]
    MissingField {
        /// The field.
        field: String,
    },
    /// A field holds another BSON type than the store writes.
    #[error("`{field}` is a {found:?}, not {expected}")]
    WrongType {
        /// The field.
        field: String,
        /// What the store writes there.
        expected: &'static str,
        /// What is there.
        found: ElementType,
    },
    /// An integer field is out of its range (a negative version, a schema version above
    /// `u32::MAX`).
    #[error("`{field}` is {value}, outside {min}..={max}")]
    OutOfRange {
        /// The field.
        field: String,
        /// Its value.
        value: i64,
        /// The least it may be.
        min: i64,
        /// The most it may be.
        max: i64,
    },
    /// A date outside what a UTC time holds.
    #[error("`{field}` ({millis} ms after 1970) is out of range")]
    DateOutOfRange {
        /// The field.
        field: String,
        /// Its milliseconds since the Unix epoch.
        millis: i64,
    },
    /// An id that is not a UUID.
    #[error("`{field}` {text:?} is not a UUID")]
    NotAUuid {
        /// The field.
        field: String,
        /// Its text.
        text: String,
    },
    /// A stream id or type name the core refuses.
    #[error("`{field}`: {error}")]
    InvalidName {
        /// The field.
        field: String,
        /// Why the name is refused (boxed: it is the largest of these problems, and every
        /// store error carries one).
        error: Box<NameError>,
    },
    /// The append's positions and versions do not span the same number of events, or start
    /// at 0.
    #[error(
        "positions {first_position}..={last_position} do not match versions \
         {first_version}..={last_version}"
    )]
    MismatchedRange {
        /// The append's first position (`_id`).
        first_position: u64,
        /// Its last position.
        last_position: u64,
        /// Its first version.
        first_version: u64,
        /// Its last version.
        last_version: u64,
    },
    /// An event's own version and position disagree with its place in the append.
    #[error(
        "the event says version {stored_version} at position {stored_position}, its place \
         in the append says version {version} at position {position}"
    )]
    MisplacedEvent {
        /// The version its place gives it.
        version: u64,
        /// The position its place gives it.
        position: u64,
        /// The version it holds.
        stored_version: u64,
        /// The position it holds.
        stored_position: u64,
    },
    /// The append holds another number of events than its versions span.
    #[error("the append holds {found} events, not {expected}")]
    EventCount {
        /// Events in the `events` array.
        found: u64,
        /// Events its versions span.
        expected: u64,
    },
    /// A payload value with no JSON form (a date, an ObjectId, written by hand).
    #[error("a BSON {found:?} at `{path}` has no JSON form (the store writes only JSON types)")]
    NoJsonForm {
        /// Where it is in the payload.
        path: String,
        /// Its BSON type.
        found: ElementType,
    },
    /// A non-finite double in a payload, which JSON cannot hold.
    #[error("the double {value} at `{path}` has no JSON form")]
    NonFiniteDouble {
        /// Where it is in the payload.
        path: String,
        /// The double.
        value: f64,
    },
    /// The bytes are not well-formed BSON (the BSON reader's message, free text).
    #[error("malformed BSON at `{at}`: {message}")]
    Malformed {
        /// The field or payload path being read.
        at: String,
        /// The BSON reader's message.
        message: String,
    },
}
