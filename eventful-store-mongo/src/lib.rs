//! # eventful-store-mongo
//!
//! The MongoDB event, snapshot and checkpoint store of eventful, on the official `mongodb`
//! driver. Point it at a standalone server, a replica set or an Atlas cluster, and it keeps
//! every guarantee of the other stores (atomic appends, optimistic concurrency, idempotent
//! appends, gap-free versions, a global order a subscriber can follow without ever missing
//! an event) with no multi-document transaction, and passes the same conformance suite.
//!
//! ```no_run
//! use eventful_core::{EventStore, ExpectedVersion, NewEvent, Payload, StreamId, TypeName, Version};
//! use eventful_store_mongo::{MongoSettings, MongoStore};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let store = MongoStore::connect(MongoSettings::new("mongodb://localhost:27017/gameevents")).await?;
//! let stream = StreamId::new("player-1")?;
//! let event = NewEvent::new(
//!     TypeName::from_static("player"),
//!     TypeName::from_static("player_created"),
//!     1,
//!     Payload::from_json_slice(br#"{"name":"ana"}"#)?,
//! );
//! store.append(&stream, ExpectedVersion::NoStream, &[event]).await?;
//! assert_eq!(store.stream_version(&stream).await?, Version::new(1));
//! # Ok(()) }
//! ```
//!
//! A [`MongoStore`] is also a [`SnapshotStore`](eventful_core::SnapshotStore) and a
//! [`CheckpointStore`](eventful_core::CheckpointStore), so one handle serves a repository,
//! its snapshots and the event bus.
//!
//! ## How it stores events
//!
//! One document per append, in the events collection, holding the append's events as an
//! array: one `insert_one`, atomic on every deployment. Its `_id` is the append's first
//! global position. Unique indexes decide every append:
//!
//! - `(stream_id, first_version)`: two appends from the same stream version collide, so an
//!   append expecting version `v` is only attempted when the stream is known to have been at
//!   `v` — and if it has moved on, the append that moved it started at `v + 1`.
//! - `_id`: positions come from a counter document, a block per store with one `$inc`
//!   (reserved ahead, in the background), so writers never race for the next position and an
//!   append costs one insert. Positions may commit out of order; a reader of the log never
//!   passes a position that holds nothing yet: it waits for it to fill, or for a *gap
//!   document* to close it — written by the store that held it unused, or by a reader once
//!   the gap has been open for the gap timeout (its writer died). The unique `_id` makes a
//!   late insert and a gap document exclude each other. A stream's positions grow with its
//!   versions, and an append made after reading an event is after it.
//! - `event_ids`, store-wide: an event id is stored at most once in the store. The same ids
//!   at the same versions of the same stream are a retry, reported as
//!   [`AppendResult::already_stored`](eventful_core::AppendResult::already_stored) with what
//!   was stored then; anywhere else (another version, another stream, only some of them)
//!   they are [`StoreError::DuplicateEvent`](eventful_core::StoreError::DuplicateEvent)
//!   naming where an offending id is, and nothing is written. MongoDB enforces this unique
//!   multikey index across documents, so it costs nothing until an insert is refused. Some
//!   wire-compatible servers do not (nx-27017, the CI server); `connect` finds out
//!   ([`MongoStore::server_enforces_unique_event_ids`]), and on those an append of several
//!   events inserts a claim document per id in the same ordered `insert_many`.
//!
//! The whole argument, the schema, the indexes, the settings and what to watch in
//! production are in `docs/stores/mongodb.md`.
//!
//! ## How it is laid out
//!
//! | module | what lives there |
//! | --- | --- |
//! | `store` | [`MongoStore`]: connecting, the shared state, the `EventStore` implementation |
//! | `append` | the expected-version rules, where an append goes, what a refused insert means |
//! | `sequence` | global positions: the counter, each store's blocks, releasing unused positions |
//! | `gaps` | positions that hold nothing yet, and the gap documents that close them |
//! | `ids` | one event id, one place: the rule, the lookup, the probe, claims |
//! | `reads` | streams, the log, heads and events by id, each on an index; waiting for appends |
//! | `schema` | the append document: its fields, building it from an append |
//! | `stored` | an append document read back: checked, decoded, errors naming stream and version |
//! | `payload` | JSON payloads as real BSON values, and back |
//! | `indexes` | the indexes, created, checked and migrated at start-up |
//! | `heads` | the bounded cache of stream versions seen |
//! | `snapshots`, `checkpoints` | the other two stores, one collection each |
//! | `put` | keeping one document per `_id` with whole-document writes |
//! | `settings`, `error` | [`MongoSettings`] and [`MongoStoreError`] |
//! | [`problem`] | what exactly is wrong, as data: the `problem` fields of the errors |

#![warn(clippy::unwrap_used)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod append;
mod checkpoints;
mod error;
mod gaps;
mod heads;
mod ids;
mod indexes;
mod payload;
pub mod problem;
mod progress;
mod put;
mod reads;
mod schema;
mod sequence;
mod settings;
mod snapshots;
#[cfg(test)]
mod stale_view;
mod store;
mod stored;
#[cfg(test)]
mod views;

pub use crate::error::MongoStoreError;
pub use crate::problem::{BsonProblem, DecodeProblem, IndexProblem, SettingsProblem};
pub use crate::settings::{DEFAULT_DATABASE, MongoSettings};
pub use crate::store::MongoStore;

/// The driver's concern types, for [`MongoSettings::with_write_concern`] and
/// [`MongoSettings::with_read_concern`].
pub use mongodb::options::{Acknowledgment, ReadConcern, WriteConcern};
