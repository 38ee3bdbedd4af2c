//! The activity answers by id (`RespondActivityTask…ById`, `RecordActivityTaskHeartbeatById`):
//! for an activity completed from outside its worker (Go's `CompleteActivityByID`, the SDKs'
//! async activity handles) when the caller has its workflow and activity ids, not its task
//! token. The token is found as Temporal's server finds it: the run's pending activity of
//! that id gives its scheduled event id and its current attempt.

use endure_core::execution::ActivityTaskToken;
use endure_core::protocol::DescribeWorkflowRequest;
use endure_core::{ActivityId, ExecutionKey};
use tonic::Status;

use super::activity_tasks::{cancel_attempt, complete_attempt, fail_attempt, heartbeat_attempt};
use crate::convert::common::{id_in, run_id_in, workflow_id_in};
use crate::proto::service as pb;
use crate::service::{Call, namespace};

/// The token of the current attempt of activity `activity_id` of a run.
async fn token_of(
    call: &Call,
    namespace_name: &str,
    workflow_id: String,
    run_id: &str,
    activity_id: String,
) -> Result<(ExecutionKey, ActivityTaskToken), Status> {
    let activity: ActivityId = id_in("activity_id", activity_id)?;
    let described = call
        .rpc(DescribeWorkflowRequest {
            namespace: namespace(namespace_name)?,
            workflow_id: workflow_id_in(workflow_id)?,
            run_id: run_id_in("run_id", run_id)?,
        })
        .await?;
    let token = described.pending_activity_token(&activity).ok_or_else(|| {
        Status::not_found(format!(
            "the run has no pending activity {activity} (it finished, or never was)"
        ))
    })?;
    Ok((token.execution, token.token))
}

/// The token of the attempt a by-ids request names (a request's namespace, workflow id,
/// run id and activity id).
macro_rules! attempt_of {
    ($call:expr, $request:expr) => {
        token_of(
            &$call,
            &$request.namespace,
            $request.workflow_id,
            &$request.run_id,
            $request.activity_id,
        )
        .await?
    };
}

/// RespondActivityTaskCompletedById.
pub(crate) async fn complete(
    call: Call,
    request: pb::RespondActivityTaskCompletedByIdRequest,
) -> Result<pb::RespondActivityTaskCompletedByIdResponse, Status> {
    let (execution, token) = attempt_of!(call, request);
    complete_attempt(&call, execution, token, request.result, request.identity).await?;
    Ok(pb::RespondActivityTaskCompletedByIdResponse::default())
}

/// RespondActivityTaskFailedById.
pub(crate) async fn fail(
    call: Call,
    request: pb::RespondActivityTaskFailedByIdRequest,
) -> Result<pb::RespondActivityTaskFailedByIdResponse, Status> {
    let (execution, token) = attempt_of!(call, request);
    fail_attempt(
        &call,
        execution,
        token,
        request.failure,
        request.last_heartbeat_details,
        request.identity,
    )
    .await?;
    Ok(pb::RespondActivityTaskFailedByIdResponse::default())
}

/// RespondActivityTaskCanceledById.
pub(crate) async fn cancel(
    call: Call,
    request: pb::RespondActivityTaskCanceledByIdRequest,
) -> Result<pb::RespondActivityTaskCanceledByIdResponse, Status> {
    let (execution, token) = attempt_of!(call, request);
    cancel_attempt(&call, execution, token, request.details, request.identity).await?;
    Ok(pb::RespondActivityTaskCanceledByIdResponse::default())
}

/// RecordActivityTaskHeartbeatById.
pub(crate) async fn heartbeat(
    call: Call,
    request: pb::RecordActivityTaskHeartbeatByIdRequest,
) -> Result<pb::RecordActivityTaskHeartbeatByIdResponse, Status> {
    let (execution, token) = attempt_of!(call, request);
    let cancel_requested = heartbeat_attempt(&call, execution, token, request.details).await?;
    Ok(pb::RecordActivityTaskHeartbeatByIdResponse {
        cancel_requested,
        ..Default::default()
    })
}
