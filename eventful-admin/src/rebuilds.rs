//! Rebuilds as background jobs: `POST /handlers/{name}/rebuild` starts one on a task of its
//! own (or joins the one running), waits for it up to the admin's rebuild wait, and answers
//! its outcome, or `202 Accepted` while it still runs; `GET /handlers/{name}/rebuild` tells
//! how the last one went. A rebuild of a large log outlives any HTTP time-out, and a client
//! that hangs up does not cancel a half-built copy.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use eventful_core::Position;
use eventful_core::projection::RebuildError;
use serde::Serialize;
use tokio::sync::watch;

use crate::Admin;
use crate::error::{AdminError, path_arg as path};

/// Where a rebuild job is.
#[derive(Debug, Clone)]
pub(crate) enum RebuildState {
    Running,
    /// Swapped in, at this position.
    Done(Position),
    Failed(Arc<RebuildError>),
}

/// The last rebuild job of each read model, shared by every router of one [`Admin`].
#[derive(Clone, Default)]
pub(crate) struct RebuildJobs(Arc<Mutex<HashMap<String, watch::Receiver<RebuildState>>>>);

impl RebuildJobs {
    /// The job running for `name`, or a new one started for it.
    fn start(&self, admin: &Admin, name: &str) -> Option<watch::Receiver<RebuildState>> {
        let rebuild = admin.rebuilds.get(name)?.clone();
        let mut jobs = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(job) = jobs.get(name)
            && matches!(*job.borrow(), RebuildState::Running)
        {
            return Some(job.clone());
        }
        let (state, job) = watch::channel(RebuildState::Running);
        let (store, upcasters, handler) = (
            admin.store.clone(),
            admin.upcasters.clone(),
            name.to_owned(),
        );
        tokio::spawn(async move {
            let outcome = match rebuild.rebuild(&store, &upcasters).await {
                Ok(reached) => {
                    tracing::info!(%handler, position = %reached, "rebuilt through the admin API");
                    RebuildState::Done(reached)
                }
                Err(error) => {
                    tracing::error!(%handler, %error, "a rebuild through the admin API failed");
                    RebuildState::Failed(Arc::new(error))
                }
            };
            state.send_replace(outcome);
        });
        jobs.insert(name.to_owned(), job.clone());
        Some(job)
    }

    fn last(&self, name: &str) -> Option<RebuildState> {
        let jobs = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        jobs.get(name).map(|job| job.borrow().clone())
    }
}

/// A rebuild job, as the routes answer it.
#[derive(Debug, Serialize)]
pub(crate) struct RebuildView {
    handler: String,
    /// `running`, `done`, `failed`, or `none` (never rebuilt through this admin).
    state: &'static str,
    /// Once done: the position the fresh copy had reached when it was swapped in.
    #[serde(skip_serializing_if = "Option::is_none")]
    swapped_in_at: Option<u64>,
    /// Once failed: why.
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

impl RebuildView {
    fn of(handler: &str, state: Option<&RebuildState>) -> Self {
        let (state, swapped_in_at, error) = match state {
            None => ("none", None, None),
            Some(RebuildState::Running) => ("running", None, None),
            Some(RebuildState::Done(at)) => ("done", Some(at.get()), None),
            Some(RebuildState::Failed(error)) => ("failed", None, Some(error.to_string())),
        };
        Self {
            handler: handler.to_owned(),
            state,
            swapped_in_at,
            error,
        }
    }
}

/// The typed refusal of a failed rebuild: the event it failed at, when there was one.
fn failed(handler: &str, error: &RebuildError) -> AdminError {
    let position = match error {
        RebuildError::Apply { position, .. } => Some(*position),
        RebuildError::Decode(error) => Some(error.position),
        _ => None,
    };
    AdminError::RebuildFailed {
        handler: handler.to_owned(),
        position,
        reason: match error {
            RebuildError::Apply { source, .. } => source.to_string(),
            other => other.to_string(),
        },
    }
}

/// The handler exists but cannot be rebuilt, or does not exist.
async fn refuse(admin: &Admin, name: String) -> AdminError {
    match crate::handlers::view_of(admin, &name).await {
        Ok(_) => AdminError::NotRebuildable { handler: name },
        Err(unknown) => unknown,
    }
}

/// `POST /handlers/{name}/rebuild`: `200` once the fresh copy is swapped in, `202` while the
/// job still runs after the admin's rebuild wait; a failed rebuild is `rebuild_failed`.
pub(crate) async fn start(
    State(admin): State<Arc<Admin>>,
    name: Result<Path<String>, PathRejection>,
) -> Result<(StatusCode, Json<RebuildView>), AdminError> {
    let name = path(name)?;
    let Some(mut job) = admin.jobs.start(&admin, &name) else {
        return Err(refuse(&admin, name).await);
    };
    let finished = tokio::time::timeout(
        admin.rebuild_wait,
        job.wait_for(|state| !matches!(state, RebuildState::Running)),
    )
    .await;
    match finished {
        Err(_) => Ok((
            StatusCode::ACCEPTED,
            Json(RebuildView::of(&name, Some(&RebuildState::Running))),
        )),
        // The job's task is gone without an outcome: it panicked.
        Ok(Err(_)) => Err(AdminError::RebuildFailed {
            handler: name,
            position: None,
            reason: "the rebuild task ended without an outcome".to_owned(),
        }),
        Ok(Ok(state)) => {
            let state = state.clone();
            match &state {
                RebuildState::Failed(error) => Err(failed(&name, error)),
                _ => Ok((StatusCode::OK, Json(RebuildView::of(&name, Some(&state))))),
            }
        }
    }
}

/// `GET /handlers/{name}/rebuild`: how the last rebuild through this admin went.
pub(crate) async fn last(
    State(admin): State<Arc<Admin>>,
    name: Result<Path<String>, PathRejection>,
) -> Result<Json<RebuildView>, AdminError> {
    let name = path(name)?;
    if !admin.rebuilds.contains_key(&name) {
        return Err(refuse(&admin, name).await);
    }
    Ok(Json(RebuildView::of(
        &name,
        admin.jobs.last(&name).as_ref(),
    )))
}
