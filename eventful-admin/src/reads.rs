//! The routes that read the log for debugging a player's report: any stream, and any
//! aggregate's state, as of a version or a time.

use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use chrono::{DateTime, Utc};
use eventful_core::{EventStore, StreamId, Version};
use serde::Deserialize;

use crate::Admin;
use crate::control::AsOf;
use crate::error::{AdminError, path_arg as path};
use crate::views::{AggregateView, EventView, StreamView};

/// Events one stream read returns unless asked for fewer.
const DEFAULT_LIMIT: usize = 100;
/// Events one stream read returns at most.
const MAX_LIMIT: usize = 1_000;

/// `?version=N` or `?at=RFC 3339 time` (not both), and for streams `from` and `limit`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReadQuery {
    version: Option<u64>,
    at: Option<String>,
    from: Option<u64>,
    limit: Option<usize>,
}

impl ReadQuery {
    fn as_of(&self) -> Result<AsOf, AdminError> {
        match (self.version, &self.at) {
            (Some(_), Some(_)) => Err(AdminError::BadRequest {
                argument: "version, at",
                reason: "give `version` or `at`, not both".into(),
            }),
            (Some(0), None) => Err(AdminError::BadRequest {
                argument: "version",
                reason: "`version` counts from 1".into(),
            }),
            (Some(version), None) => Ok(AsOf::Version(Version::new(version))),
            (None, Some(at)) => DateTime::parse_from_rfc3339(at)
                .map(|at| AsOf::Time(at.with_timezone(&Utc)))
                .map_err(|error| AdminError::BadRequest {
                    argument: "at",
                    reason: format!(
                        "`at` must be an RFC 3339 time such as 2026-12-01T20:00:00Z: {error}"
                    ),
                }),
            (None, None) => Ok(AsOf::Latest),
        }
    }
}

fn query(extracted: Result<Query<ReadQuery>, QueryRejection>) -> Result<ReadQuery, AdminError> {
    extracted
        .map(|Query(query)| query)
        .map_err(|rejection| AdminError::BadRequest {
            argument: "query",
            reason: rejection.body_text(),
        })
}

/// `GET /streams/{stream_id}`: the stream's events from `from` (1 by default), at most
/// `limit` (100 by default, 1,000 at most), up to the version it is read as of.
pub(crate) async fn stream(
    State(admin): State<Arc<Admin>>,
    stream_id: Result<Path<String>, PathRejection>,
    read: Result<Query<ReadQuery>, QueryRejection>,
) -> Result<Json<StreamView>, AdminError> {
    let stream_id = StreamId::new(path(stream_id)?).map_err(|error| AdminError::BadRequest {
        argument: "stream_id",
        reason: error.to_string(),
    })?;
    let read = query(read)?;
    let as_of = read.as_of()?;
    let limit = read.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(AdminError::BadRequest {
            argument: "limit",
            reason: format!("`limit` must be from 1 to {MAX_LIMIT}"),
        });
    }
    let from = Version::new(read.from.unwrap_or(1).max(1));
    let current = admin.store.stream_version(&stream_id).await?;
    if current == Version::NONE {
        return Err(AdminError::StreamNotFound {
            stream_id: stream_id.to_string(),
        });
    }
    let until = as_of.resolve(&admin.store, &stream_id, current).await?;
    let wanted = until.get().saturating_sub(from.get() - 1);
    let take = limit.min(usize::try_from(wanted).unwrap_or(usize::MAX));
    let events = if take == 0 {
        Vec::new()
    } else {
        admin.store.read_stream(&stream_id, from, take).await?
    };
    let events = events
        .iter()
        .map(EventView::of)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| AdminError::Unreadable {
            stream_id: stream_id.to_string(),
            reason: error.to_string(),
        })?;
    Ok(Json(StreamView {
        stream_id: stream_id.to_string(),
        current_version: current.get(),
        events,
    }))
}

/// `GET /aggregates/{aggregate_type}/{id}`: the aggregate's state as of a version (or time),
/// rebuilt from its events.
pub(crate) async fn aggregate(
    State(admin): State<Arc<Admin>>,
    ids: Result<Path<(String, String)>, PathRejection>,
    read: Result<Query<ReadQuery>, QueryRejection>,
) -> Result<Json<AggregateView>, AdminError> {
    let (aggregate_type, id) = path(ids)?;
    let read = query(read)?;
    if read.from.is_some() || read.limit.is_some() {
        return Err(AdminError::BadRequest {
            argument: "from, limit",
            reason: "an aggregate is read as of `version` or `at`; `from` and `limit` are for \
                     streams"
                .into(),
        });
    }
    let as_of = read.as_of()?;
    let reader = admin
        .aggregates
        .get(&aggregate_type)
        .ok_or(AdminError::UnknownAggregate { aggregate_type })?;
    Ok(Json(
        reader
            .read(&admin.store, &admin.upcasters, &id, as_of)
            .await?,
    ))
}
