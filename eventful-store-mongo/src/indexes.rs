//! The indexes of the events collection: what each is for, and how they are made at start-up
//! (idempotently) and checked.
//!
//! Indexes are matched by their keys, never by name (some servers rename them), and a unique
//! index is only accepted once the server lists it as unique: creating a unique index over an
//! existing non-unique one with the same keys can leave it non-unique without an error.

use futures::TryStreamExt;
use mongodb::bson::{Bson, Document, RawDocumentBuf};
use mongodb::options::IndexOptions;
use mongodb::{Collection, IndexModel};

use crate::error::{MongoStoreError, is_namespace_not_found};
use crate::schema::field;

/// One index the store relies on.
#[derive(Debug, Clone, Copy)]
pub(crate) struct IndexSpec {
    /// Its keys, all ascending.
    pub(crate) keys: &'static [&'static str],
    pub(crate) unique: bool,
    pub(crate) name: &'static str,
}

/// The events collection's indexes besides `_id` (whose uniqueness claims global positions).
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
    // Idempotent appends and find_event; unique per stream, so that two concurrent retries
    // of one `Any` append cannot both be stored (on servers that enforce multikey uniqueness).
    IndexSpec {
        keys: &[field::STREAM_ID, field::EVENT_IDS],
        unique: true,
        name: "eventful_stream_event_ids",
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

impl IndexSpec {
    fn key_document(&self) -> Document {
        self.keys
            .iter()
            .map(|key| ((*key).to_owned(), Bson::Int32(1)))
            .collect()
    }

    fn describe(&self) -> String {
        let keys: Vec<String> = self.keys.iter().map(|key| format!("{key}: 1")).collect();
        format!("{{{}}}", keys.join(", "))
    }

    fn matches(&self, keys: &Document) -> bool {
        keys.len() == self.keys.len()
            && keys
                .iter()
                .zip(self.keys)
                .all(|((name, direction), wanted)| {
                    name == wanted
                        && match direction {
                            Bson::Int32(1) | Bson::Int64(1) => true,
                            Bson::Double(direction) => *direction == 1.0,
                            _ => false,
                        }
                })
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

/// Creates the indexes that are missing, then checks that every one is there, unique where
/// it must be.
pub(crate) async fn ensure(
    collection: &Collection<RawDocumentBuf>,
    specs: &[IndexSpec],
    database: &str,
) -> Result<(), MongoStoreError> {
    let existing = list(collection, database).await?;
    let mut missing = Vec::new();
    for spec in specs {
        match existing.iter().find(|(keys, _)| spec.matches(keys)) {
            Some((_, unique)) => check_unique(collection, spec, *unique)?,
            None => missing.push(spec.model()),
        }
    }
    if !missing.is_empty() {
        collection.create_indexes(missing).await.map_err(
            |error| match MongoStoreError::from_driver("creating indexes", database, error) {
                MongoStoreError::Server { source, .. } => MongoStoreError::Index {
                    collection: collection.name().to_owned(),
                    keys: "(several)".to_owned(),
                    reason: format!(
                        "cannot be created, for example because stored documents already \
                         break a unique index: {source}"
                    ),
                },
                other => other,
            },
        )?;
    }
    let created = list(collection, database).await?;
    for spec in specs {
        match created.iter().find(|(keys, _)| spec.matches(keys)) {
            Some((_, unique)) => check_unique(collection, spec, *unique)?,
            None => {
                return Err(MongoStoreError::Index {
                    collection: collection.name().to_owned(),
                    keys: spec.describe(),
                    reason: "the server accepted it but does not list it".to_owned(),
                });
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
            keys: spec.describe(),
            reason: "it exists but is not unique, and the store's guarantees rest on its \
                     uniqueness: drop it and connect again"
                .to_owned(),
        });
    }
    Ok(())
}

/// The collection's indexes as (keys, unique); none when the collection does not exist yet.
async fn list(
    collection: &Collection<RawDocumentBuf>,
    database: &str,
) -> Result<Vec<(Document, bool)>, MongoStoreError> {
    let listed = match collection.list_indexes().await {
        Ok(cursor) => cursor.try_collect::<Vec<IndexModel>>().await,
        Err(error) => Err(error),
    };
    match listed {
        Ok(models) => Ok(models
            .into_iter()
            .map(|model| {
                let unique = model.options.and_then(|options| options.unique) == Some(true);
                (model.keys, unique)
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
        assert_eq!(spec.describe(), "{stream_id: 1, first_version: 1}");
    }
}
