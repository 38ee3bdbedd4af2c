//! Updates: UpdateWorkflowExecution (wait for a stage) and PollWorkflowExecutionUpdate
//! (wait for an update known by its id).

use endure_core::protocol::{PollUpdateRequest, UpdateWorkflowRequest, UpdateWorkflowResponse};
use endure_core::{UpdateRequest, UpdateStage, WorkflowId};
use tonic::Status;

use crate::convert::common::{execution_in, header_in, id_in, payloads_in, run_id};
use crate::convert::enums::{enum_in, enum_out};
use crate::convert::protocol::update_outcome;
use crate::proto::{common as pbc, enums as pbe, service as pb, update as pbu};
use crate::service::{Call, namespace};

fn stage_in(policy: Option<pbu::WaitPolicy>) -> Result<UpdateStage, Status> {
    let number = policy.map_or(0, |policy| policy.lifecycle_stage);
    let stage: Option<UpdateStage> = enum_in!(
        "wait_policy.lifecycle_stage",
        pbe::UpdateWorkflowExecutionLifecycleStage,
        "UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_",
        number
    )?;
    // Temporal's SDKs always say; unset waits for acceptance, as Temporal's server does.
    Ok(stage.unwrap_or(UpdateStage::Accepted))
}

fn answer(
    workflow_id: WorkflowId,
    update_id: String,
    answer: UpdateWorkflowResponse,
) -> (Option<pbu::UpdateRef>, Option<pbu::Outcome>, i32) {
    let stage = enum_out!(
        answer.stage,
        pbe::UpdateWorkflowExecutionLifecycleStage,
        "UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_"
    );
    let reference = pbu::UpdateRef {
        workflow_execution: Some(pbc::WorkflowExecution {
            workflow_id: workflow_id.into(),
            run_id: run_id(answer.run_id),
        }),
        update_id,
    };
    (Some(reference), answer.outcome.map(update_outcome), stage)
}

/// Temporal's update request as the engine's, with the workflow id and the update id it
/// names (for the answer's reference).
pub(crate) fn update_in(
    request: pb::UpdateWorkflowExecutionRequest,
) -> Result<(UpdateWorkflowRequest, WorkflowId, String), Status> {
    let execution = execution_in(request.workflow_execution)?;
    let update = request
        .request
        .ok_or_else(|| Status::invalid_argument("request: the update request is required"))?;
    let meta = update.meta.unwrap_or_default();
    let input = update.input.unwrap_or_default();
    let update_id = meta.update_id.clone();
    let engine = UpdateWorkflowRequest {
        namespace: namespace(&request.namespace)?,
        workflow_id: execution.workflow_id.clone(),
        run_id: execution.run_id,
        request: UpdateRequest {
            update_id: id_in("request.meta.update_id", meta.update_id)?,
            identity: meta.identity,
            name: id_in("request.input.name", input.name)?,
            header: header_in(input.header),
            args: payloads_in(input.args),
        },
        wait_for: stage_in(request.wait_policy)?,
    };
    Ok((engine, execution.workflow_id, update_id))
}

/// The engine's answer to an update as Temporal's.
pub(crate) fn update_answer(
    workflow_id: WorkflowId,
    update_id: String,
    answered: UpdateWorkflowResponse,
) -> pb::UpdateWorkflowExecutionResponse {
    let (update_ref, outcome, stage) = answer(workflow_id, update_id, answered);
    pb::UpdateWorkflowExecutionResponse {
        update_ref,
        outcome,
        stage,
        ..Default::default()
    }
}

/// UpdateWorkflowExecution: admits the update and waits for the stage asked (the engine's
/// long poll may end first; the SDK then polls with PollWorkflowExecutionUpdate).
pub(crate) async fn update(
    call: Call,
    request: pb::UpdateWorkflowExecutionRequest,
) -> Result<pb::UpdateWorkflowExecutionResponse, Status> {
    let (engine, workflow_id, update_id) = update_in(request)?;
    let answered = call.rpc(engine).await?;
    Ok(update_answer(workflow_id, update_id, *answered))
}

/// PollWorkflowExecutionUpdate: waits for an update by its id.
pub(crate) async fn poll(
    call: Call,
    request: pb::PollWorkflowExecutionUpdateRequest,
) -> Result<pb::PollWorkflowExecutionUpdateResponse, Status> {
    let reference = request
        .update_ref
        .ok_or_else(|| Status::invalid_argument("update_ref: the update is required"))?;
    let execution = execution_in(reference.workflow_execution)?;
    let update_id = reference.update_id.clone();
    let answered = call
        .rpc(PollUpdateRequest {
            namespace: namespace(&request.namespace)?,
            workflow_id: execution.workflow_id.clone(),
            run_id: execution.run_id,
            update_id: id_in("update_ref.update_id", reference.update_id)?,
        })
        .await?;
    let (update_ref, outcome, stage) = answer(execution.workflow_id, update_id, *answered);
    Ok(pb::PollWorkflowExecutionUpdateResponse {
        outcome,
        stage,
        update_ref,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unset_wait_policy_waits_for_acceptance() {
        assert_eq!(stage_in(None).unwrap(), UpdateStage::Accepted);
        let completed = pbu::WaitPolicy {
            lifecycle_stage: pbe::UpdateWorkflowExecutionLifecycleStage::Completed.into(),
        };
        assert_eq!(stage_in(Some(completed)).unwrap(), UpdateStage::Completed);
    }
}
