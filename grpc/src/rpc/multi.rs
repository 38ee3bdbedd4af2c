//! ExecuteMultiOperation: update-with-start, the one combination Temporal's server takes
//! (a start, then an update of that workflow id).

use endure_core::WorkflowIdConflictPolicy;
use endure_core::protocol::UpdateWithStartWorkflowRequest;
use prost::Message;
use tonic::{Code, Status};

use super::updates::{update_answer, update_in};
use super::workflows::{start_answer, start_in};
use crate::proto::errordetails;
use crate::proto::service::execute_multi_operation_response as answer;
use crate::proto::service::{self as pb, execute_multi_operation_request as ask};
use crate::service::Call;

/// The status of a failed update-with-start, with Temporal's per-operation details: the
/// operation that failed carries the engine's status (the start, for an id already taken),
/// the other is `ABORTED`, as Temporal's SDKs read them.
fn failed(status: Status) -> Status {
    let own = errordetails::multi_operation_execution_failure::OperationStatus {
        code: status.code() as i32,
        message: status.message().to_owned(),
        details: temporalio_protos::protos::google::rpc::Status::decode(status.details())
            .map(|details| details.details)
            .unwrap_or_default(),
    };
    let aborted = errordetails::multi_operation_execution_failure::OperationStatus {
        code: Code::Aborted as i32,
        message: "Operation was aborted.".to_owned(),
        details: Vec::new(),
    };
    let statuses = if status.code() == Code::AlreadyExists {
        vec![own, aborted]
    } else {
        vec![aborted, own]
    };
    let detail = errordetails::MultiOperationExecutionFailure { statuses };
    let message = format!("update-with-start failed: {}", status.message());
    let details = temporalio_protos::protos::google::rpc::Status {
        code: status.code() as i32,
        message: message.clone(),
        details: vec![prost_types::Any {
            type_url: format!(
                "type.googleapis.com/{}",
                <errordetails::MultiOperationExecutionFailure as prost::Name>::full_name()
            ),
            value: detail.encode_to_vec(),
        }],
    };
    Status::with_details(status.code(), message, details.encode_to_vec().into())
}

/// ExecuteMultiOperation with `[StartWorkflow, UpdateWorkflow]`.
pub(crate) async fn execute(
    call: Call,
    request: pb::ExecuteMultiOperationRequest,
) -> Result<pb::ExecuteMultiOperationResponse, Status> {
    let mut operations = request.operations.into_iter().map(|op| op.operation);
    let (
        Some(Some(ask::operation::Operation::StartWorkflow(start))),
        Some(Some(ask::operation::Operation::UpdateWorkflow(update))),
        None,
    ) = (operations.next(), operations.next(), operations.next())
    else {
        return Err(Status::invalid_argument(
            "operations: Endure takes a start followed by an update (update-with-start)",
        ));
    };
    let start = start_in(start, WorkflowIdConflictPolicy::Fail)?;
    let (update, workflow_id, update_id) = update_in(update)?;
    if update.workflow_id != start.options.id || update.namespace != start.namespace {
        return Err(Status::invalid_argument(
            "operations: the update must name the started workflow id in the same namespace",
        ));
    }
    let answered = call
        .rpc(UpdateWithStartWorkflowRequest { start, update })
        .await
        .map_err(failed)?;
    Ok(pb::ExecuteMultiOperationResponse {
        responses: vec![
            answer::Response {
                response: Some(answer::response::Response::StartWorkflow(start_answer(
                    answered.start,
                ))),
            },
            answer::Response {
                response: Some(answer::response::Response::UpdateWorkflow(update_answer(
                    workflow_id,
                    update_id,
                    answered.update,
                ))),
            },
        ],
    })
}
