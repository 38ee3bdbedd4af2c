//! Schedules and worker deployments: listed and described; schedules created (from the
//! `schedule` document describe returns), paused, unpaused, triggered and deleted.

use axum::Json;
use axum::extract::Path;
use axum::http::StatusCode;
use endure::schedule::{Schedule, ScheduleDescription, ScheduleListEntry, ScheduleOverlapPolicy};
use endure::versioning::WorkerDeploymentDescription;
use endure::{ScheduleHandle, ScheduleOptions};
use endure_core::WorkflowId;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::error::{ApiError, ErrorBody};
use super::params::{self, Body, NamespacePath, Params, SchedulePath};
use crate::Caller;

/// A schedule listing's query string.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ScheduleListParams {
    /// A list filter over the schedules' search attributes; empty lists all.
    pub query: Option<String>,
}

/// The schedules, latest created first (at most a thousand).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ScheduleList {
    /// Each schedule: id, workflow type, paused and its note, recent actions, next times.
    #[schema(value_type = Vec<Object>)]
    pub schedules: Vec<ScheduleListEntry>,
}

/// `GET /api/v1/namespaces/{namespace}/schedules`
#[utoipa::path(
    get,
    path = "/api/v1/namespaces/{namespace}/schedules",
    tag = "schedules",
    params(NamespacePath, ScheduleListParams),
    responses(
        (status = 200, description = "The schedules", body = ScheduleList),
        (status = 400, description = "A filter that does not parse", body = ErrorBody),
    )
)]
pub(crate) async fn list(
    caller: Caller,
    Path(NamespacePath { namespace }): Path<NamespacePath>,
    Params(params): Params<ScheduleListParams>,
) -> Result<Json<ScheduleList>, ApiError> {
    let client = caller.client(params::namespace(&namespace)?);
    let schedules = client
        .schedules()
        .list(params.query.as_deref().unwrap_or_default())
        .await?;
    Ok(Json(ScheduleList { schedules }))
}

/// A schedule to create.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateSchedule {
    /// Its id, unique in the namespace.
    pub schedule_id: String,
    /// The schedule, in the shape describe returns under `schedule`: `spec` (calendars,
    /// intervals, cron strings, time zone, bounds, jitter), `action` (`{"StartWorkflow":
    /// {workflow_id, workflow_type, task_queue, input, …}}`), `policies` and `state`.
    #[schema(value_type = Object)]
    pub schedule: Schedule,
    /// Take the action once right away.
    #[serde(default)]
    pub trigger_immediately: bool,
}

/// The schedule created.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ScheduleCreated {
    /// Its id.
    pub schedule_id: String,
}

/// `POST /api/v1/namespaces/{namespace}/schedules`
#[utoipa::path(
    post,
    path = "/api/v1/namespaces/{namespace}/schedules",
    tag = "schedules",
    params(NamespacePath),
    request_body = CreateSchedule,
    responses(
        (status = 201, description = "Created", body = ScheduleCreated),
        (status = 400, description = "Not a valid schedule (a bad spec says which part)", body = ErrorBody),
        (status = 409, description = "The id is taken", body = ErrorBody),
    )
)]
pub(crate) async fn create(
    caller: Caller,
    Path(NamespacePath { namespace }): Path<NamespacePath>,
    Body(request): Body<CreateSchedule>,
) -> Result<(StatusCode, Json<ScheduleCreated>), ApiError> {
    let client = caller.client(params::namespace(&namespace)?);
    let mut options = ScheduleOptions::from_schedule(request.schedule_id, request.schedule);
    options.trigger_immediately = request.trigger_immediately;
    let handle = client.schedules().create(options).await?;
    Ok((
        StatusCode::CREATED,
        Json(ScheduleCreated {
            schedule_id: handle.id().to_string(),
        }),
    ))
}

/// The schedule the path names.
fn handle(
    caller: &Caller,
    SchedulePath {
        namespace,
        schedule_id,
    }: &SchedulePath,
) -> Result<ScheduleHandle, ApiError> {
    let client = caller.client(params::namespace(namespace)?);
    let id = WorkflowId::new(schedule_id.as_str())
        .map_err(|error| ApiError::bad_request(format!("schedule id: {error}")))?;
    Ok(client.schedules().handle(id))
}

/// `GET /api/v1/namespaces/{namespace}/schedules/{schedule_id}`
#[utoipa::path(
    get,
    path = "/api/v1/namespaces/{namespace}/schedules/{schedule_id}",
    tag = "schedules",
    params(
        SchedulePath,
    ),
    responses(
        (status = 200, description = "The schedule: spec, action, policies, state, info, next times", body = Object),
        (status = 404, description = "No such schedule", body = ErrorBody),
    )
)]
pub(crate) async fn describe(
    caller: Caller,
    Path(path): Path<SchedulePath>,
) -> Result<Json<ScheduleDescription>, ApiError> {
    Ok(Json(handle(&caller, &path)?.describe().await?))
}

/// A schedule action's note.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct ScheduleNote {
    /// Why (kept as the schedule's notes).
    #[serde(default)]
    pub note: String,
}

/// `POST …/schedules/{schedule_id}/pause`
#[utoipa::path(
    post,
    path = "/api/v1/namespaces/{namespace}/schedules/{schedule_id}/pause",
    tag = "schedules",
    params(
        SchedulePath,
    ),
    request_body = ScheduleNote,
    responses((status = 204, description = "Paused"), (status = 404, description = "No such schedule", body = ErrorBody))
)]
pub(crate) async fn pause(
    caller: Caller,
    Path(path): Path<SchedulePath>,
    Body(note): Body<ScheduleNote>,
) -> Result<StatusCode, ApiError> {
    handle(&caller, &path)?.pause(&note.note).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST …/schedules/{schedule_id}/unpause`
#[utoipa::path(
    post,
    path = "/api/v1/namespaces/{namespace}/schedules/{schedule_id}/unpause",
    tag = "schedules",
    params(
        SchedulePath,
    ),
    request_body = ScheduleNote,
    responses((status = 204, description = "Unpaused"), (status = 404, description = "No such schedule", body = ErrorBody))
)]
pub(crate) async fn unpause(
    caller: Caller,
    Path(path): Path<SchedulePath>,
    Body(note): Body<ScheduleNote>,
) -> Result<StatusCode, ApiError> {
    handle(&caller, &path)?.unpause(&note.note).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST …/schedules/{schedule_id}/trigger`: the action now, under the schedule's overlap
/// policy, even while paused.
#[utoipa::path(
    post,
    path = "/api/v1/namespaces/{namespace}/schedules/{schedule_id}/trigger",
    tag = "schedules",
    params(
        SchedulePath,
    ),
    request_body = ScheduleNote,
    responses((status = 204, description = "Triggered"), (status = 404, description = "No such schedule", body = ErrorBody))
)]
pub(crate) async fn trigger(
    caller: Caller,
    Path(path): Path<SchedulePath>,
    Body(_note): Body<ScheduleNote>,
) -> Result<StatusCode, ApiError> {
    handle(&caller, &path)?
        .trigger(ScheduleOverlapPolicy::Unspecified)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE …/schedules/{schedule_id}`: the workflows it started keep running.
#[utoipa::path(
    delete,
    path = "/api/v1/namespaces/{namespace}/schedules/{schedule_id}",
    tag = "schedules",
    params(
        SchedulePath,
    ),
    responses((status = 204, description = "Deleted"), (status = 404, description = "No such schedule", body = ErrorBody))
)]
pub(crate) async fn delete(
    caller: Caller,
    Path(path): Path<SchedulePath>,
) -> Result<StatusCode, ApiError> {
    handle(&caller, &path)?.delete().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The worker deployments of a namespace.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DeploymentList {
    /// Each deployment: name, routing (current and ramping versions), versions and their
    /// status.
    #[schema(value_type = Vec<Object>)]
    pub deployments: Vec<WorkerDeploymentDescription>,
}

/// `GET /api/v1/namespaces/{namespace}/deployments`
#[utoipa::path(
    get,
    path = "/api/v1/namespaces/{namespace}/deployments",
    tag = "deployments",
    params(NamespacePath),
    responses((status = 200, description = "The deployments", body = DeploymentList))
)]
pub(crate) async fn deployments(
    caller: Caller,
    Path(NamespacePath { namespace }): Path<NamespacePath>,
) -> Result<Json<DeploymentList>, ApiError> {
    let client = caller.client(params::namespace(&namespace)?);
    let deployments = client.deployments().list().await?;
    Ok(Json(DeploymentList { deployments }))
}
