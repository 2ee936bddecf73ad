//! Keeping one document per `_id` (a snapshot, a checkpoint) with whole-document writes only.
//!
//! An upsert with update operators would do it in one call, but some wire-compatible servers
//! turn `$set` dates into strings and give upserted replacements a fresh `_id`; a replacement
//! of an existing document, then an insert when there is none, behaves the same everywhere.

use mongodb::Collection;
use mongodb::bson::{Document, RawDocumentBuf};

use crate::error::is_duplicate_key;

/// Replaces the document matching `filter` (which names its `_id`) with `document`, or
/// inserts `document` when no document has that `_id`. Returns whether `document` was
/// written: `false` when a document with that `_id` exists but does not match `filter`.
pub(crate) async fn put(
    collection: &Collection<RawDocumentBuf>,
    filter: Document,
    document: RawDocumentBuf,
) -> mongodb::error::Result<bool> {
    if replace(collection, filter.clone(), &document).await? {
        return Ok(true);
    }
    match collection.insert_one(&document).await {
        Ok(_) => Ok(true),
        // Another writer inserted it meanwhile: it is there now, so replace it if it matches.
        Err(error) if is_duplicate_key(&error) => replace(collection, filter, &document).await,
        Err(error) => Err(error),
    }
}

async fn replace(
    collection: &Collection<RawDocumentBuf>,
    filter: Document,
    document: &RawDocumentBuf,
) -> mongodb::error::Result<bool> {
    let replaced = collection.replace_one(filter, document).await?;
    Ok(replaced.matched_count > 0)
}
