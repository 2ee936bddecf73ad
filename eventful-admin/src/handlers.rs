//! The routes that act on handlers: list them, pause and resume them, and list, replay and
//! dismiss what they parked (rebuilds are in `rebuilds`).

use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use eventful_core::BusError;
use serde::Serialize;
use uuid::Uuid;

use crate::Admin;
use crate::error::{AdminError, path_arg as path};
use crate::views::{HandlerView, ParkedView};

pub(crate) async fn view_of(admin: &Admin, name: &str) -> Result<HandlerView, AdminError> {
    admin
        .bus
        .status()
        .await?
        .iter()
        .find(|status| status.name == name)
        .map(|status| HandlerView::of(status, admin.rebuilds.contains_key(name)))
        .ok_or_else(|| AdminError::UnknownHandler {
            handler: name.to_owned(),
        })
}

/// `GET /handlers`.
pub(crate) async fn list(
    State(admin): State<Arc<Admin>>,
) -> Result<Json<Vec<HandlerView>>, AdminError> {
    let statuses = admin.bus.status().await?;
    Ok(Json(
        statuses
            .iter()
            .map(|status| HandlerView::of(status, admin.rebuilds.contains_key(&status.name)))
            .collect(),
    ))
}

/// `GET /handlers/{name}`.
pub(crate) async fn one(
    State(admin): State<Arc<Admin>>,
    name: Result<Path<String>, PathRejection>,
) -> Result<Json<HandlerView>, AdminError> {
    let name = path(name)?;
    Ok(Json(view_of(&admin, &name).await?))
}

/// `POST /handlers/{name}/pause`: `200` once every segment here has paused; `202` if they
/// have not within the admin's pause wait (a segment inside a long batch, a store that does
/// not answer): the handler is then still pausing, and pauses once it can.
pub(crate) async fn pause(
    State(admin): State<Arc<Admin>>,
    name: Result<Path<String>, PathRejection>,
) -> Result<(StatusCode, Json<HandlerView>), AdminError> {
    let name = path(name)?;
    let status = match tokio::time::timeout(admin.pause_wait, admin.bus.pause(&name)).await {
        Ok(paused) => {
            paused?;
            tracing::info!(handler = %name, "paused through the admin API");
            StatusCode::OK
        }
        Err(_) => {
            tracing::warn!(handler = %name, wait = ?admin.pause_wait, "pausing through the admin API: not every segment has paused yet");
            StatusCode::ACCEPTED
        }
    };
    Ok((status, Json(view_of(&admin, &name).await?)))
}

/// `POST /handlers/{name}/resume`.
pub(crate) async fn resume(
    State(admin): State<Arc<Admin>>,
    name: Result<Path<String>, PathRejection>,
) -> Result<Json<HandlerView>, AdminError> {
    let name = path(name)?;
    admin.bus.resume(&name)?;
    tracing::info!(handler = %name, "resumed through the admin API");
    Ok(Json(view_of(&admin, &name).await?))
}

/// `GET /handlers/{name}/parked`.
pub(crate) async fn parked(
    State(admin): State<Arc<Admin>>,
    name: Result<Path<String>, PathRejection>,
) -> Result<Json<Vec<ParkedView>>, AdminError> {
    let name = path(name)?;
    let parked = admin.bus.parked(&name).await?;
    Ok(Json(parked.iter().map(ParkedView::from).collect()))
}

/// What was done with a parked event.
#[derive(Debug, Serialize)]
pub(crate) struct ParkedDone {
    handler: String,
    event_id: Uuid,
    /// `replayed` (handled, no longer parked) or `dismissed` (forgotten unhandled).
    outcome: &'static str,
}

/// `POST /handlers/{name}/parked/{event_id}/replay`: handled, the event is unparked; failed
/// again, it stays parked and the answer is `409 replay_failed`.
pub(crate) async fn replay(
    State(admin): State<Arc<Admin>>,
    ids: Result<Path<(String, Uuid)>, PathRejection>,
) -> Result<Json<ParkedDone>, AdminError> {
    let (name, event_id) = path(ids)?;
    admin
        .bus
        .replay_parked(&name, event_id)
        .await
        .map_err(|error| match error {
            BusError::HandlerFailed(failure) => AdminError::ReplayFailed {
                handler: name.clone(),
                event_id,
                reason: failure.error.to_string(),
            },
            other => other.into(),
        })?;
    tracing::info!(handler = %name, %event_id, "replayed a parked event through the admin API");
    Ok(Json(ParkedDone {
        handler: name,
        event_id,
        outcome: "replayed",
    }))
}

/// `DELETE /handlers/{name}/parked/{event_id}`.
pub(crate) async fn dismiss(
    State(admin): State<Arc<Admin>>,
    ids: Result<Path<(String, Uuid)>, PathRejection>,
) -> Result<Json<ParkedDone>, AdminError> {
    let (name, event_id) = path(ids)?;
    admin.bus.dismiss_parked(&name, event_id).await?;
    tracing::info!(handler = %name, %event_id, "dismissed a parked event through the admin API");
    Ok(Json(ParkedDone {
        handler: name,
        event_id,
        outcome: "dismissed",
    }))
}
