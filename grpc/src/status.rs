//! The engine's errors as gRPC statuses, with the details Temporal's SDKs look for
//! (`temporal.api.errordetails.v1`): a start that finds its workflow id taken answers
//! `ALREADY_EXISTS` with `WorkflowExecutionAlreadyStartedFailure` and the running run's id,
//! so an SDK raises its "already started" error; a missing run answers `NOT_FOUND` with
//! `NotFoundFailure`.

use endure_core::protocol::{ErrorKind, RemoteError};
use prost::Message;
use tonic::{Code, Status};

use crate::proto::errordetails;

/// A status whose details carry one Temporal error-details message.
fn with_detail<M: Message + prost::Name>(code: Code, message: String, detail: &M) -> Status {
    let details = temporalio_protos::protos::google::rpc::Status {
        code: code as i32,
        message: message.clone(),
        details: vec![prost_types::Any {
            type_url: format!("type.googleapis.com/{}", M::full_name()),
            value: detail.encode_to_vec(),
        }],
    };
    Status::with_details(code, message, details.encode_to_vec().into())
}

/// The status for an engine error.
pub(crate) fn status(error: RemoteError) -> Status {
    let message = error.message;
    match error.kind {
        ErrorKind::AlreadyStarted => with_detail(
            Code::AlreadyExists,
            message,
            &errordetails::WorkflowExecutionAlreadyStartedFailure {
                run_id: error.run_id.map(|run| run.to_string()).unwrap_or_default(),
                ..Default::default()
            },
        ),
        ErrorKind::NotFound => with_detail(
            Code::NotFound,
            message,
            &errordetails::NotFoundFailure::default(),
        ),
        ErrorKind::InvalidArgument => Status::invalid_argument(message),
        ErrorKind::FailedPrecondition => Status::failed_precondition(message),
        ErrorKind::Conflict => Status::aborted(message),
        ErrorKind::Unavailable => Status::unavailable(message),
        ErrorKind::DeadlineExceeded => Status::deadline_exceeded(message),
        ErrorKind::AlreadyExists => with_detail(
            Code::AlreadyExists,
            message,
            &errordetails::NamespaceAlreadyExistsFailure::default(),
        ),
        ErrorKind::Internal => Status::internal(message),
        ErrorKind::PermissionDenied => Status::permission_denied(message),
        ErrorKind::Unauthenticated => Status::unauthenticated(message),
        ErrorKind::ResourceExhausted => Status::resource_exhausted(message),
    }
}

#[cfg(test)]
mod tests {
    use endure_core::RunId;

    use super::*;

    #[test]
    fn an_id_taken_carries_the_running_runs_id_for_the_sdk() {
        let run = RunId::from_u128(42);
        let status = status(RemoteError {
            kind: ErrorKind::AlreadyStarted,
            message: "taken".into(),
            run_id: Some(run),
        });
        assert_eq!(status.code(), Code::AlreadyExists);
        let details =
            temporalio_protos::protos::google::rpc::Status::decode(status.details()).unwrap();
        let detail = &details.details[0];
        assert_eq!(
            detail.type_url,
            "type.googleapis.com/temporal.api.errordetails.v1.WorkflowExecutionAlreadyStartedFailure"
        );
        let failure =
            errordetails::WorkflowExecutionAlreadyStartedFailure::decode(&detail.value[..])
                .unwrap();
        assert_eq!(failure.run_id, run.to_string());
    }
}
