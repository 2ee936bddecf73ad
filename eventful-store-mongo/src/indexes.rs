//! The indexes of the events collection: what each is for, and how they are made at start-up
//! (idempotently) and checked.
//!
//! Indexes are matched by their keys, never by name (some servers rename them), and a unique
//! index is only accepted once the server lists it as unique: creating a unique index over an
//! existing non-unique one with the same keys can leave it non-unique without an error.
//!
//! Migration: databases written before event ids were unique store-wide have a unique
//! `{stream_id: 1, event_ids: 1}` index instead of `{event_ids: 1}`. The new index is built
//! beside it (under its own name, so the two never clash), and once the server lists it as
//! unique the old one, which it makes redundant, is dropped. Building it fails if such a
//! database already holds one id in two places ([`IndexProblem::DuplicateKeys`]).

use futures::TryStreamExt;
use mongodb::bson::{Bson, Document, RawDocumentBuf};
use mongodb::options::IndexOptions;
use mongodb::{Collection, IndexModel};

use crate::error::{MongoStoreError, is_duplicate_key, is_namespace_not_found};
use crate::problem::IndexProblem;
use crate::schema::field;

/// One index the store relies on.
#[derive(Debug, Clone, Copy)]
pub(crate) struct IndexSpec {
    /// Its keys, all ascending.
    pub(crate) keys: &'static [&'static str],
    pub(crate) unique: bool,
    pub(crate) name: &'static str,
}

/// The events collection's indexes besides `_id` (whose uniqueness keeps one document a position: an
/// append, a gap document or nothing).
pub(crate) const EVENT_INDEXES: [IndexSpec; 8] = [
    // Optimistic concurrency: two appends to a stream from the same version collide here.
    IndexSpec {
        keys: &[field::STREAM_ID, field::FIRST_VERSION],
        unique: true,
        name: "eventful_stream_first_version",
    },
    // A stream from a version (the append holding it is the first with last_version >= it),
    // and a stream's head.
    IndexSpec {
        keys: &[field::STREAM_ID, field::LAST_VERSION],
        unique: true,
        name: "eventful_stream_last_version",
    },
    // Every query of one stream. MongoDB serves them from the compound indexes' prefix too;
    // some wire-compatible servers only use an index whose keys the query names exactly, and
    // scan the collection otherwise.
    IndexSpec {
        keys: &[field::STREAM_ID],
        unique: false,
        name: "eventful_stream",
    },
    // The log from a position (the append holding it is the first with last_position >= it).
    IndexSpec {
        keys: &[field::LAST_POSITION],
        unique: true,
        name: "eventful_last_position",
    },
    // One event id, one place: an insert holding an id stored anywhere in the store fails
    // here (on servers that enforce unique multikey indexes); the ids lookup of an append and
    // find_event use it.
    IndexSpec {
        keys: &[field::EVENT_IDS],
        unique: true,
        name: "eventful_event_ids",
    },
    // The log from a position, of some event types.
    IndexSpec {
        keys: &[field::EVENT_TYPES, field::LAST_POSITION],
        unique: false,
        name: "eventful_event_types_position",
    },
    // The log from a position, of some aggregate types.
    IndexSpec {
        keys: &[field::AGGREGATE_TYPES, field::LAST_POSITION],
        unique: false,
        name: "eventful_aggregate_types_position",
    },
    // Events of a time range.
    IndexSpec {
        keys: &[field::RECORDED_AT],
        unique: false,
        name: "eventful_recorded_at",
    },
];

/// Indexes of earlier versions of the store that the ones above make redundant: dropped once
/// those are in place.
pub(crate) const OBSOLETE_EVENT_INDEXES: [&[&str]; 1] = [
    // Event ids unique per stream; `{event_ids: 1}` keeps them unique store-wide.
    &[field::STREAM_ID, field::EVENT_IDS],
];

impl IndexSpec {
    fn key_document(&self) -> Document {
        self.keys
            .iter()
            .map(|key| ((*key).to_owned(), Bson::Int32(1)))
            .collect()
    }

    fn matches(&self, keys: &Document) -> bool {
        ascending_on(keys, self.keys)
    }

    fn model(&self) -> IndexModel {
        IndexModel::builder()
            .keys(self.key_document())
            .options(
                IndexOptions::builder()
                    .unique(self.unique.then_some(true))
                    .name(self.name.to_owned())
                    .build(),
            )
            .build()
    }
}

/// Whether index keys `keys` are exactly `wanted`, in order, all ascending.
fn ascending_on(keys: &Document, wanted: &[&str]) -> bool {
    keys.len() == wanted.len()
        && keys.iter().zip(wanted).all(|((name, direction), wanted)| {
            name == wanted
                && match direction {
                    Bson::Int32(1) | Bson::Int64(1) => true,
                    Bson::Double(direction) => *direction == 1.0,
                    _ => false,
                }
        })
}

/// Creates the indexes that are missing (one at a time, so that a refusal names its keys),
/// checks that every one is there, unique where it must be, then drops the `obsolete` ones.
pub(crate) async fn ensure(
    collection: &Collection<RawDocumentBuf>,
    specs: &[IndexSpec],
    obsolete: &[&[&str]],
    database: &str,
) -> Result<(), MongoStoreError> {
    let index_error = |spec: &IndexSpec, problem| MongoStoreError::Index {
        collection: collection.name().to_owned(),
        keys: spec.keys,
        problem,
    };
    let existing = list(collection, database).await?;
    for spec in specs {
        match existing.iter().find(|index| spec.matches(&index.keys)) {
            Some(index) => check_unique(collection, spec, index.unique)?,
            None => {
                if let Err(error) = collection.create_index(spec.model()).await {
                    let duplicate = is_duplicate_key(&error);
                    return Err(
                        match MongoStoreError::from_driver("creating an index", database, error) {
                            MongoStoreError::Server { source, .. } if duplicate => index_error(
                                spec,
                                IndexProblem::DuplicateKeys {
                                    source: Box::new(source),
                                },
                            ),
                            MongoStoreError::Server { source, .. } => index_error(
                                spec,
                                IndexProblem::Refused {
                                    source: Box::new(source),
                                },
                            ),
                            other => other,
                        },
                    );
                }
            }
        }
    }
    let created = list(collection, database).await?;
    for spec in specs {
        match created.iter().find(|index| spec.matches(&index.keys)) {
            Some(index) => check_unique(collection, spec, index.unique)?,
            None => return Err(index_error(spec, IndexProblem::NotListed)),
        }
    }
    for keys in obsolete {
        for index in created
            .iter()
            .filter(|index| ascending_on(&index.keys, keys))
        {
            // Redundant, not wrong: a failure to drop it costs index space, not correctness.
            if let Err(error) = collection.drop_index(&index.name).await {
                tracing::warn!(
                    collection = collection.name(), index = %index.name, %error,
                    "could not drop an index the store no longer needs"
                );
            }
        }
    }
    Ok(())
}

fn check_unique(
    collection: &Collection<RawDocumentBuf>,
    spec: &IndexSpec,
    unique: bool,
) -> Result<(), MongoStoreError> {
    if spec.unique && !unique {
        return Err(MongoStoreError::Index {
            collection: collection.name().to_owned(),
            keys: spec.keys,
            problem: IndexProblem::NotUnique,
        });
    }
    Ok(())
}

/// One index as the server lists it.
struct Listed {
    name: String,
    keys: Document,
    unique: bool,
}

/// The collection's indexes; none when the collection does not exist yet.
async fn list(
    collection: &Collection<RawDocumentBuf>,
    database: &str,
) -> Result<Vec<Listed>, MongoStoreError> {
    let listed = match collection.list_indexes().await {
        Ok(cursor) => cursor.try_collect::<Vec<IndexModel>>().await,
        Err(error) => Err(error),
    };
    match listed {
        Ok(models) => Ok(models
            .into_iter()
            .map(|model| {
                let options = model.options.unwrap_or_default();
                Listed {
                    name: options.name.unwrap_or_default(),
                    keys: model.keys,
                    unique: options.unique == Some(true),
                }
            })
            .collect()),
        Err(error) if is_namespace_not_found(&error) => Ok(Vec::new()),
        Err(error) => Err(MongoStoreError::from_driver(
            "listing indexes",
            database,
            error,
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mongodb::bson::doc;

    #[test]
    fn indexes_match_by_keys_and_direction_not_by_name() {
        let spec = EVENT_INDEXES[0];
        assert!(spec.matches(&doc! { "stream_id": 1, "first_version": 1 }));
        assert!(spec.matches(&doc! { "stream_id": 1_i64, "first_version": 1.0 }));
        assert!(!spec.matches(&doc! { "first_version": 1, "stream_id": 1 }));
        assert!(!spec.matches(&doc! { "stream_id": 1 }));
        assert!(!spec.matches(&doc! { "stream_id": 1, "first_version": -1 }));
    }

    #[test]
    fn event_ids_are_unique_store_wide_and_the_per_stream_index_is_obsolete() {
        let ids = EVENT_INDEXES
            .iter()
            .find(|spec| spec.keys.contains(&field::EVENT_IDS))
            .expect("an event ids index");
        assert_eq!(ids.keys, [field::EVENT_IDS]);
        assert!(ids.unique);
        assert!(
            EVENT_INDEXES
                .iter()
                .all(|spec| spec.name != "eventful_stream_event_ids"),
            "the new index must not take the old one's name: creating it would clash"
        );
        let old = doc! { "stream_id": 1, "event_ids": 1 };
        assert!(
            OBSOLETE_EVENT_INDEXES
                .iter()
                .any(|keys| ascending_on(&old, keys))
        );
        assert!(!EVENT_INDEXES.iter().any(|spec| spec.matches(&old)));
    }
}
