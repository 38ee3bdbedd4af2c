//! Activity tasks: polls, heartbeats and the three answers, by task token.

use endure_core::execution::ActivityTaskToken;
use endure_core::protocol::{
    ActivityTask, CancelActivityTaskRequest, CompleteActivityTaskRequest, FailActivityTaskRequest,
    PollActivityTaskRequest, RecordActivityHeartbeatRequest,
};
use endure_core::{ExecutionKey, Failure};
use tonic::Status;

use crate::convert::common::{
    duration, header, id_in, payloads, payloads_opt, payloads_opt_in, retry_policy, run_id, time,
};
use crate::convert::deployment::worker_version;
use crate::convert::failure::failure_in;
use crate::proto::{common as pbc, failure as pbf, service as pb};
use crate::service::{Call, closed_run_not_found, namespace};
use crate::token::{self, TaskToken};

/// PollActivityTaskQueue: an attempt, or (the poll expired) an empty response.
pub(crate) async fn poll(
    call: Call,
    request: pb::PollActivityTaskQueueRequest,
) -> Result<pb::PollActivityTaskQueueResponse, Status> {
    let queue = request
        .task_queue
        .ok_or_else(|| Status::invalid_argument("task_queue: the queue is required"))?;
    let polled = call
        .rpc(PollActivityTaskRequest {
            namespace: namespace(&request.namespace)?,
            task_queue: id_in("task_queue", queue.name)?,
            identity: request.identity,
            deployment_version: worker_version("deployment_options", request.deployment_options)?,
        })
        .await?;
    let Some(polled) = polled else {
        return Ok(pb::PollActivityTaskQueueResponse::default());
    };
    Ok(activity_task_out(&polled.execution, polled.task))
}

/// A started attempt of `execution`'s as Temporal hands it to a worker: a poll's answer,
/// or one of a workflow task completion's eager `activity_tasks`.
pub(crate) fn activity_task_out(
    execution: &ExecutionKey,
    task: ActivityTask,
) -> pb::PollActivityTaskQueueResponse {
    let scheduled = task.scheduled;
    pb::PollActivityTaskQueueResponse {
        task_token: token::encode(&TaskToken::Activity {
            execution: execution.clone(),
            token: task.token,
        }),
        workflow_namespace: execution.namespace.as_str().to_owned(),
        workflow_type: Some(pbc::WorkflowType {
            name: task.workflow_type.into(),
        }),
        workflow_execution: Some(pbc::WorkflowExecution {
            workflow_id: execution.workflow_id.as_str().to_owned(),
            run_id: run_id(execution.run_id),
        }),
        activity_type: Some(pbc::ActivityType {
            name: scheduled.activity_type.into(),
        }),
        activity_id: scheduled.activity_id.into(),
        header: header(scheduled.header),
        input: payloads(scheduled.input),
        heartbeat_details: payloads_opt(task.heartbeat_details),
        scheduled_time: Some(time(task.scheduled_time)),
        current_attempt_scheduled_time: Some(time(task.current_attempt_scheduled_time)),
        started_time: Some(time(task.started_time)),
        attempt: i32::try_from(task.token.attempt).unwrap_or(i32::MAX),
        // Temporal's server always sets the timeouts, zero meaning none (its TypeScript SDK
        // refuses a task without them).
        schedule_to_close_timeout: Some(duration(
            scheduled.schedule_to_close_timeout.unwrap_or_default(),
        )),
        start_to_close_timeout: Some(duration(scheduled.start_to_close_timeout)),
        heartbeat_timeout: Some(duration(scheduled.heartbeat_timeout.unwrap_or_default())),
        retry_policy: Some(retry_policy(scheduled.retry_policy)),
        ..Default::default()
    }
}

fn activity_token(bytes: &[u8]) -> Result<(ExecutionKey, ActivityTaskToken), Status> {
    match token::decode("task_token", bytes)? {
        TaskToken::Activity { execution, token } => Ok((execution, token)),
        _ => Err(Status::invalid_argument(
            "task_token: not an activity task's token",
        )),
    }
}

/// RecordActivityTaskHeartbeat.
pub(crate) async fn heartbeat(
    call: Call,
    request: pb::RecordActivityTaskHeartbeatRequest,
) -> Result<pb::RecordActivityTaskHeartbeatResponse, Status> {
    let (execution, token) = activity_token(&request.task_token)?;
    let cancel_requested = heartbeat_attempt(&call, execution, token, request.details).await?;
    Ok(pb::RecordActivityTaskHeartbeatResponse {
        cancel_requested,
        ..Default::default()
    })
}

/// RespondActivityTaskCompleted.
pub(crate) async fn complete(
    call: Call,
    request: pb::RespondActivityTaskCompletedRequest,
) -> Result<pb::RespondActivityTaskCompletedResponse, Status> {
    let (execution, token) = activity_token(&request.task_token)?;
    complete_attempt(&call, execution, token, request.result, request.identity).await?;
    Ok(pb::RespondActivityTaskCompletedResponse::default())
}

/// RespondActivityTaskFailed.
pub(crate) async fn fail(
    call: Call,
    request: pb::RespondActivityTaskFailedRequest,
) -> Result<pb::RespondActivityTaskFailedResponse, Status> {
    let (execution, token) = activity_token(&request.task_token)?;
    fail_attempt(
        &call,
        execution,
        token,
        request.failure,
        request.last_heartbeat_details,
        request.identity,
    )
    .await?;
    Ok(pb::RespondActivityTaskFailedResponse::default())
}

/// RespondActivityTaskCanceled.
pub(crate) async fn cancel(
    call: Call,
    request: pb::RespondActivityTaskCanceledRequest,
) -> Result<pb::RespondActivityTaskCanceledResponse, Status> {
    let (execution, token) = activity_token(&request.task_token)?;
    cancel_attempt(&call, execution, token, request.details, request.identity).await?;
    Ok(pb::RespondActivityTaskCanceledResponse::default())
}

// The four answers to an attempt, whether its caller named it by task token or by ids
// (`by_id.rs`): one engine call each; an attempt no longer open is `NOT_FOUND`.

/// Records a heartbeat of an attempt; whether its cancellation was asked.
pub(crate) async fn heartbeat_attempt(
    call: &Call,
    execution: ExecutionKey,
    token: ActivityTaskToken,
    details: Option<pbc::Payloads>,
) -> Result<bool, Status> {
    let answer = call
        .rpc(RecordActivityHeartbeatRequest {
            execution,
            token,
            details: payloads_opt_in(details),
        })
        .await
        .map_err(closed_run_not_found)?;
    Ok(answer.cancel_requested)
}

/// Completes an attempt with its result.
pub(crate) async fn complete_attempt(
    call: &Call,
    execution: ExecutionKey,
    token: ActivityTaskToken,
    result: Option<pbc::Payloads>,
    identity: String,
) -> Result<(), Status> {
    call.rpc(CompleteActivityTaskRequest {
        execution,
        token,
        result: payloads_opt_in(result),
        identity,
    })
    .await
    .map_err(closed_run_not_found)?;
    Ok(())
}

/// Fails an attempt. The last heartbeat's details, when the SDK sends them beside the
/// failure (a heartbeat it had not sent yet), are recorded first, so the next attempt
/// starts from them as Temporal's server keeps them.
pub(crate) async fn fail_attempt(
    call: &Call,
    execution: ExecutionKey,
    token: ActivityTaskToken,
    failure: Option<pbf::Failure>,
    last_heartbeat_details: Option<pbc::Payloads>,
    identity: String,
) -> Result<(), Status> {
    let failure: Failure = match failure {
        Some(failure) => failure_in(failure)?,
        None => Failure::application("the activity failed without saying why", ""),
    };
    if last_heartbeat_details.is_some() {
        heartbeat_attempt(call, execution.clone(), token, last_heartbeat_details).await?;
    }
    call.rpc(FailActivityTaskRequest {
        execution,
        token,
        failure,
        identity,
    })
    .await
    .map_err(closed_run_not_found)?;
    Ok(())
}

/// Acknowledges an attempt's cancellation, with details.
pub(crate) async fn cancel_attempt(
    call: &Call,
    execution: ExecutionKey,
    token: ActivityTaskToken,
    details: Option<pbc::Payloads>,
    identity: String,
) -> Result<(), Status> {
    call.rpc(CancelActivityTaskRequest {
        execution,
        token,
        details: payloads_opt_in(details),
        identity,
    })
    .await
    .map_err(closed_run_not_found)?;
    Ok(())
}
