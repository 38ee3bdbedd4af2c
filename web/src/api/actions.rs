//! Acting on workflows: start, signal, query, update, cancel, terminate, reset, delete.
//! Arguments are JSON values, one payload each (as Temporal's CLI sends `--input`).

use std::time::Duration;

use axum::Json;
use axum::extract::Path;
use axum::http::StatusCode;
use endure::{ResetOptions, ResetPoint, UpdateOptions, WorkflowHandle};
use endure_core::{EventId, Payload, Payloads, StartWorkflowOptions, TaskQueueName};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::error::{ApiError, ErrorBody};
use super::params::{self, Body, NamespacePath, Params, WorkflowPath};
use super::reads::RunParams;
use crate::Caller;

/// The run an action names: the workflow's current run unless `run_id` is given.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct RunTarget {
    /// The run; absent or empty for the current one.
    #[serde(default)]
    pub run_id: Option<String>,
}

/// The arguments as payloads: one JSON payload per value.
fn payloads(values: &[Value]) -> Result<Payloads, ApiError> {
    values
        .iter()
        .map(Payload::encode)
        .collect::<Result<Vec<_>, _>>()
        .map(Payloads)
        .map_err(|error| ApiError::bad_request(format!("an argument: {error}")))
}

/// The handle `path` and `run_id` name.
fn handle(
    caller: &Caller,
    WorkflowPath {
        namespace,
        workflow_id,
    }: &WorkflowPath,
    run_id: Option<&str>,
) -> Result<WorkflowHandle, ApiError> {
    let client = caller.client(params::namespace(namespace)?);
    Ok(client.handle(params::workflow_id(workflow_id)?, params::run_id(run_id)?))
}

/// A workflow to start.
#[derive(Debug, Deserialize, ToSchema)]
pub struct StartRequest {
    /// The workflow id (required: choose a business identifier).
    pub workflow_id: String,
    /// The registered workflow type.
    pub workflow_type: String,
    /// The task queue its workers poll.
    pub task_queue: String,
    /// Its arguments, one JSON value each.
    #[serde(default)]
    #[schema(value_type = Vec<Object>)]
    pub input: Vec<Value>,
    /// The whole chain's time limit, as text (`1h30m`).
    #[serde(default)]
    pub execution_timeout: Option<String>,
    /// One run's time limit, as text.
    #[serde(default)]
    pub run_timeout: Option<String>,
}

/// A run started, or signalled.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RunStarted {
    /// The workflow id.
    pub workflow_id: String,
    /// The run.
    pub run_id: String,
}

fn duration(text: Option<&str>, what: &str) -> Result<Option<Duration>, ApiError> {
    text.filter(|text| !text.is_empty())
        .map(|text| {
            endure_core::duration_text::parse(text)
                .map_err(|error| ApiError::bad_request(format!("{what} {text:?}: {error}")))
        })
        .transpose()
}

/// `POST /api/v1/namespaces/{namespace}/workflows`
#[utoipa::path(
    post,
    path = "/api/v1/namespaces/{namespace}/workflows",
    tag = "actions",
    params(NamespacePath),
    request_body = StartRequest,
    responses(
        (status = 201, description = "Started", body = RunStarted),
        (status = 409, description = "A run with this id is open (code AlreadyStarted)", body = ErrorBody),
    )
)]
pub(crate) async fn start(
    caller: Caller,
    Path(NamespacePath { namespace }): Path<NamespacePath>,
    Body(request): Body<StartRequest>,
) -> Result<(StatusCode, Json<RunStarted>), ApiError> {
    let client = caller.client(params::namespace(&namespace)?);
    let mut options = StartWorkflowOptions::new(
        params::workflow_id(&request.workflow_id)?,
        TaskQueueName::new(request.task_queue.as_str())
            .map_err(|error| ApiError::bad_request(format!("task_queue: {error}")))?,
    );
    options.execution_timeout =
        duration(request.execution_timeout.as_deref(), "execution_timeout")?;
    options.run_timeout = duration(request.run_timeout.as_deref(), "run_timeout")?;
    let handle = client
        .start_workflow_raw(options, &request.workflow_type, payloads(&request.input)?)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(RunStarted {
            workflow_id: handle.workflow_id().to_string(),
            run_id: handle
                .run_id()
                .map(|run| run.to_string())
                .unwrap_or_default(),
        }),
    ))
}

/// A signal.
#[derive(Debug, Deserialize, ToSchema)]
pub struct SignalRequest {
    /// The signal's name.
    pub signal_name: String,
    /// Its arguments, one JSON value each.
    #[serde(default)]
    #[schema(value_type = Vec<Object>)]
    pub input: Vec<Value>,
    /// The run; absent for the current one.
    #[serde(default)]
    pub run_id: Option<String>,
}

/// `POST …/workflows/{workflow_id}/signal`
#[utoipa::path(
    post,
    path = "/api/v1/namespaces/{namespace}/workflows/{workflow_id}/signal",
    tag = "actions",
    params(
        WorkflowPath,
    ),
    request_body = SignalRequest,
    responses(
        (status = 204, description = "Signalled"),
        (status = 404, description = "No such workflow", body = ErrorBody),
        (status = 400, description = "The run is closed (FailedPrecondition)", body = ErrorBody),
    )
)]
pub(crate) async fn signal(
    caller: Caller,
    Path(path): Path<WorkflowPath>,
    Body(request): Body<SignalRequest>,
) -> Result<StatusCode, ApiError> {
    let handle = handle(&caller, &path, request.run_id.as_deref())?;
    handle
        .signal_raw(&request.signal_name, payloads(&request.input)?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A query, or an update.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CallRequest {
    /// The query's or the update's name (`__stack_trace` for the workflow's stack).
    pub name: String,
    /// Its arguments, one JSON value each.
    #[serde(default)]
    #[schema(value_type = Vec<Object>)]
    pub args: Vec<Value>,
    /// The run; absent for the current one.
    #[serde(default)]
    pub run_id: Option<String>,
    /// For an update: its id, so sending it again is the same update.
    #[serde(default)]
    pub update_id: Option<String>,
}

/// A query's or an update's answer.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CallResult {
    /// The answer: one value as itself, several as a list, none as null.
    #[schema(value_type = Object)]
    pub result: Value,
    /// For an update: its id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_id: Option<String>,
}

/// `POST …/workflows/{workflow_id}/query`
#[utoipa::path(
    post,
    path = "/api/v1/namespaces/{namespace}/workflows/{workflow_id}/query",
    tag = "actions",
    params(
        WorkflowPath,
    ),
    request_body = CallRequest,
    responses(
        (status = 200, description = "The handler's answer", body = CallResult),
        (status = 400, description = "The handler failed or does not exist (QueryFailed)", body = ErrorBody),
    )
)]
pub(crate) async fn query(
    caller: Caller,
    Path(path): Path<WorkflowPath>,
    Body(request): Body<CallRequest>,
) -> Result<Json<CallResult>, ApiError> {
    let handle = handle(&caller, &path, request.run_id.as_deref())?;
    let answer = handle
        .query_raw(&request.name, payloads(&request.args)?)
        .await?;
    Ok(Json(CallResult {
        result: Payload::readable_all(answer.as_ref()),
        update_id: None,
    }))
}

/// `POST …/workflows/{workflow_id}/update`
#[utoipa::path(
    post,
    path = "/api/v1/namespaces/{namespace}/workflows/{workflow_id}/update",
    tag = "actions",
    params(
        WorkflowPath,
    ),
    request_body = CallRequest,
    responses(
        (status = 200, description = "The update's result, once it completed", body = CallResult),
        (status = 400, description = "Rejected by its validator, or the run is closed", body = ErrorBody),
        (status = 422, description = "Its handler failed (UpdateFailed)", body = ErrorBody),
    )
)]
pub(crate) async fn update(
    caller: Caller,
    Path(path): Path<WorkflowPath>,
    Body(request): Body<CallRequest>,
) -> Result<Json<CallResult>, ApiError> {
    let handle = handle(&caller, &path, request.run_id.as_deref())?;
    let options = UpdateOptions {
        update_id: request.update_id.clone(),
        ..UpdateOptions::default()
    };
    let update = handle
        .start_update_raw(&request.name, payloads(&request.args)?, options)
        .await?;
    let result = update.result_raw().await?;
    Ok(Json(CallResult {
        result: Payload::readable_all(Some(&result)),
        update_id: Some(update.update_id().to_string()),
    }))
}

/// `POST …/workflows/{workflow_id}/cancel`
#[utoipa::path(
    post,
    path = "/api/v1/namespaces/{namespace}/workflows/{workflow_id}/cancel",
    tag = "actions",
    params(
        WorkflowPath,
    ),
    request_body = RunTarget,
    responses(
        (status = 204, description = "Cancellation requested"),
        (status = 404, description = "No such workflow", body = ErrorBody),
    )
)]
pub(crate) async fn cancel(
    caller: Caller,
    Path(path): Path<WorkflowPath>,
    Body(request): Body<RunTarget>,
) -> Result<StatusCode, ApiError> {
    handle(&caller, &path, request.run_id.as_deref())?
        .cancel()
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A termination.
#[derive(Debug, Deserialize, ToSchema)]
pub struct TerminateRequest {
    /// Why: kept in the WorkflowExecutionTerminated event.
    #[serde(default)]
    pub reason: String,
    /// The run; absent for the current one.
    #[serde(default)]
    pub run_id: Option<String>,
}

/// `POST …/workflows/{workflow_id}/terminate`
#[utoipa::path(
    post,
    path = "/api/v1/namespaces/{namespace}/workflows/{workflow_id}/terminate",
    tag = "actions",
    params(
        WorkflowPath,
    ),
    request_body = TerminateRequest,
    responses(
        (status = 204, description = "Terminated"),
        (status = 400, description = "The run is closed (FailedPrecondition)", body = ErrorBody),
    )
)]
pub(crate) async fn terminate(
    caller: Caller,
    Path(path): Path<WorkflowPath>,
    Body(request): Body<TerminateRequest>,
) -> Result<StatusCode, ApiError> {
    handle(&caller, &path, request.run_id.as_deref())?
        .terminate(&request.reason)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A reset: to an event (a WorkflowTaskCompleted, or any event of the task it ends), or
/// to the first or last workflow task.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ResetRequest {
    /// The event to reset to; or give `to`.
    #[serde(default)]
    pub event_id: Option<u64>,
    /// `FirstWorkflowTask` or `LastWorkflowTask`, instead of an event id.
    #[serde(default)]
    pub to: Option<String>,
    /// Why: kept in the new run's history.
    #[serde(default)]
    pub reason: String,
    /// The run; absent for the current one.
    #[serde(default)]
    pub run_id: Option<String>,
}

/// `POST …/workflows/{workflow_id}/reset`
#[utoipa::path(
    post,
    path = "/api/v1/namespaces/{namespace}/workflows/{workflow_id}/reset",
    tag = "actions",
    params(
        WorkflowPath,
    ),
    request_body = ResetRequest,
    responses(
        (status = 200, description = "The new run", body = RunStarted),
        (status = 400, description = "Not a point the run can be reset to", body = ErrorBody),
    )
)]
pub(crate) async fn reset(
    caller: Caller,
    Path(path): Path<WorkflowPath>,
    Body(request): Body<ResetRequest>,
) -> Result<Json<RunStarted>, ApiError> {
    let point = match (request.event_id, request.to.as_deref()) {
        (Some(id), None) => ResetPoint::Event(
            EventId::new(id).ok_or_else(|| ApiError::bad_request("event_id starts at 1"))?,
        ),
        (None, Some("FirstWorkflowTask")) => ResetPoint::FirstWorkflowTask,
        (None, Some("LastWorkflowTask")) => ResetPoint::LastWorkflowTask,
        _ => {
            return Err(ApiError::bad_request(
                "say where to reset: event_id, or to = FirstWorkflowTask | LastWorkflowTask",
            ));
        }
    };
    let handle = handle(&caller, &path, request.run_id.as_deref())?;
    let run = handle
        .reset(ResetOptions::new(point, request.reason))
        .await?;
    Ok(Json(RunStarted {
        workflow_id: handle.workflow_id().to_string(),
        run_id: run.to_string(),
    }))
}

/// `DELETE …/workflows/{workflow_id}`
#[utoipa::path(
    delete,
    path = "/api/v1/namespaces/{namespace}/workflows/{workflow_id}",
    tag = "actions",
    params(
        WorkflowPath,
        RunParams,
    ),
    responses(
        (status = 204, description = "Deleted (a running run is terminated first)"),
        (status = 404, description = "No such workflow", body = ErrorBody),
    )
)]
pub(crate) async fn delete(
    caller: Caller,
    Path(path): Path<WorkflowPath>,
    Params(params): Params<RunParams>,
) -> Result<StatusCode, ApiError> {
    handle(&caller, &path, params.run_id.as_deref())?
        .delete()
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
