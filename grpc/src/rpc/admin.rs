//! Operator calls on one run: DeleteWorkflowExecution and ResetWorkflowExecution.

use endure_core::RequestId;
use endure_core::execution::{ResetPoint, ResetReapply, ResetRequest};
use endure_core::protocol::{DeleteWorkflowRequest, ResetWorkflowRequest};
use tonic::Status;

use crate::convert::common::{event_id_in, execution_in, id_in, run_id};
use crate::proto::{enums as pbe, service as pb};
use crate::service::{Call, namespace};

/// DeleteWorkflowExecution: the run and its history are removed (a running run is
/// terminated first, as Temporal does).
pub(crate) async fn delete(
    call: Call,
    request: pb::DeleteWorkflowExecutionRequest,
) -> Result<pb::DeleteWorkflowExecutionResponse, Status> {
    let execution = execution_in(request.workflow_execution)?;
    call.rpc(DeleteWorkflowRequest {
        namespace: namespace(&request.namespace)?,
        workflow_id: execution.workflow_id,
        run_id: execution.run_id,
        identity: String::new(),
    })
    .await?;
    Ok(pb::DeleteWorkflowExecutionResponse::default())
}

/// What a reset reapplies, from Temporal's reapply type and exclusions.
fn reapply(kind: i32, excluded: &[i32]) -> Result<ResetReapply, Status> {
    let signals = i32::from(pbe::ResetReapplyExcludeType::Signal);
    let updates = i32::from(pbe::ResetReapplyExcludeType::Update);
    let by_type = match pbe::ResetReapplyType::try_from(kind) {
        Ok(pbe::ResetReapplyType::Signal) => ResetReapply::Signals,
        Ok(pbe::ResetReapplyType::None) => ResetReapply::None,
        Ok(pbe::ResetReapplyType::Unspecified | pbe::ResetReapplyType::AllEligible) => {
            ResetReapply::SignalsAndUpdates
        }
        Err(_) => {
            return Err(Status::invalid_argument(format!(
                "reset_reapply_type: unknown value {kind}"
            )));
        }
    };
    Ok(by_type.excluding(excluded.contains(&signals), excluded.contains(&updates)))
}

/// ResetWorkflowExecution: a new run forked at the workflow task that ended with
/// `workflow_task_finish_event_id`.
#[allow(
    deprecated,
    reason = "Temporal deprecated reset_reapply_type for its exclusions; its CLI still sends it"
)]
pub(crate) async fn reset(
    call: Call,
    request: pb::ResetWorkflowExecutionRequest,
) -> Result<pb::ResetWorkflowExecutionResponse, Status> {
    let execution = execution_in(request.workflow_execution)?;
    let point = event_id_in(request.workflow_task_finish_event_id).ok_or_else(|| {
        Status::invalid_argument(
            "workflow_task_finish_event_id: the WorkflowTaskCompleted (or failed/timed out) event to reset to is required",
        )
    })?;
    let reset = call
        .rpc(ResetWorkflowRequest {
            namespace: namespace(&request.namespace)?,
            workflow_id: execution.workflow_id,
            run_id: execution.run_id,
            request: ResetRequest {
                point: ResetPoint::Event(point),
                reason: request.reason,
                reapply: reapply(
                    request.reset_reapply_type,
                    &request.reset_reapply_exclude_types,
                )?,
                identity: request.identity,
                request_id: (!request.request_id.is_empty())
                    .then(|| id_in::<RequestId>("request_id", request.request_id))
                    .transpose()?,
            },
        })
        .await?;
    Ok(pb::ResetWorkflowExecutionResponse {
        run_id: run_id(reset.run_id),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reapply_follows_the_type_and_its_exclusions() {
        let all = i32::from(pbe::ResetReapplyType::AllEligible);
        let signal = i32::from(pbe::ResetReapplyExcludeType::Signal);
        let update = i32::from(pbe::ResetReapplyExcludeType::Update);
        assert_eq!(reapply(0, &[]).unwrap(), ResetReapply::SignalsAndUpdates);
        assert_eq!(reapply(all, &[update]).unwrap(), ResetReapply::Signals);
        assert_eq!(reapply(all, &[signal, update]).unwrap(), ResetReapply::None);
        assert_eq!(
            reapply(i32::from(pbe::ResetReapplyType::Signal), &[]).unwrap(),
            ResetReapply::Signals
        );
        // Signals excluded, updates kept: Endure refused this until it could reapply
        // updates alone.
        assert_eq!(reapply(all, &[signal]).unwrap(), ResetReapply::Updates);
        assert!(reapply(99, &[]).is_err());
    }
}
