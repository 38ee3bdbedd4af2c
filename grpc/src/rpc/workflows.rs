//! Starting, signalling, querying, cancelling and terminating workflows.

use endure_core::execution::SignalRequest;
use endure_core::protocol::{
    DescribeWorkflowRequest, QueryWorkflowRequest, RequestCancelWorkflowRequest,
    SignalWithStartWorkflowRequest, SignalWorkflowRequest, StartWorkflowRequest,
    StartWorkflowResponse, TerminateWorkflowRequest,
};
use endure_core::{
    Namespace, QueryRejectCondition, RequestId, StartWorkflowOptions, WorkflowExecutionStatus,
    WorkflowIdConflictPolicy, WorkflowIdReusePolicy,
};
use prost::Message;
use tonic::{Code, Status};

use crate::convert::common::{
    cron_in, duration_in, execution_in, header_in, id_in, memo_in, payloads_in, payloads_opt,
    payloads_opt_in, retry_policy_in, run_id, search_attributes_in, workflow_id_in,
};
use crate::convert::enums::{enum_in, enum_out};
use crate::convert::failure::failure;
use crate::proto::{common as pbc, enums as pbe, errordetails, query, service as pb, taskqueue};
use crate::service::{Call, closed_run_not_found, namespace};

/// The fields a start and a signal-with-start share, as Temporal's requests carry them.
struct Start {
    namespace: String,
    workflow_id: String,
    workflow_type: Option<pbc::WorkflowType>,
    task_queue: Option<taskqueue::TaskQueue>,
    input: Option<pbc::Payloads>,
    execution_timeout: Option<prost_types::Duration>,
    run_timeout: Option<prost_types::Duration>,
    task_timeout: Option<prost_types::Duration>,
    identity: String,
    request_id: String,
    reuse_policy: i32,
    conflict_policy: i32,
    retry_policy: Option<pbc::RetryPolicy>,
    cron_schedule: String,
    memo: Option<pbc::Memo>,
    search_attributes: Option<pbc::SearchAttributes>,
    header: Option<pbc::Header>,
    start_delay: Option<prost_types::Duration>,
}

/// The [`Start`] of a start or signal-with-start request (they name the fields alike).
macro_rules! start_of {
    ($request:ident) => {
        Start {
            namespace: $request.namespace,
            workflow_id: $request.workflow_id,
            workflow_type: $request.workflow_type,
            task_queue: $request.task_queue,
            input: $request.input,
            execution_timeout: $request.workflow_execution_timeout,
            run_timeout: $request.workflow_run_timeout,
            task_timeout: $request.workflow_task_timeout,
            identity: $request.identity,
            request_id: $request.request_id,
            reuse_policy: $request.workflow_id_reuse_policy,
            conflict_policy: $request.workflow_id_conflict_policy,
            retry_policy: $request.retry_policy,
            cron_schedule: $request.cron_schedule,
            memo: $request.memo,
            search_attributes: $request.search_attributes,
            header: $request.header,
            start_delay: $request.workflow_start_delay,
        }
    };
}

impl Start {
    /// The engine's start request; an unset conflict policy is `default_conflict`
    /// (Temporal's: Fail for a start, UseExisting for a signal-with-start).
    fn request(
        self,
        default_conflict: WorkflowIdConflictPolicy,
    ) -> Result<StartWorkflowRequest, Status> {
        let queue = self.task_queue.map(|queue| queue.name).unwrap_or_default();
        let mut options = StartWorkflowOptions::new(
            workflow_id_in(self.workflow_id)?,
            id_in("task_queue", queue)?,
        );
        options.id_reuse_policy = enum_in!(
            "workflow_id_reuse_policy",
            pbe::WorkflowIdReusePolicy,
            "WORKFLOW_ID_REUSE_POLICY_",
            self.reuse_policy
        )?
        .unwrap_or(WorkflowIdReusePolicy::default());
        options.id_conflict_policy = enum_in!(
            "workflow_id_conflict_policy",
            pbe::WorkflowIdConflictPolicy,
            "WORKFLOW_ID_CONFLICT_POLICY_",
            self.conflict_policy
        )?
        .unwrap_or(default_conflict);
        options.request_id = (!self.request_id.is_empty())
            .then(|| id_in::<RequestId>("request_id", self.request_id))
            .transpose()?;
        options.execution_timeout =
            duration_in("workflow_execution_timeout", self.execution_timeout)?;
        options.run_timeout = duration_in("workflow_run_timeout", self.run_timeout)?;
        options.task_timeout = duration_in("workflow_task_timeout", self.task_timeout)?;
        options.retry_policy = retry_policy_in(self.retry_policy)?;
        options.cron_schedule = cron_in(self.cron_schedule)?;
        options.start_delay = duration_in("workflow_start_delay", self.start_delay)?;
        options.memo = memo_in(self.memo);
        options.search_attributes = search_attributes_in(self.search_attributes)?;
        Ok(StartWorkflowRequest {
            namespace: namespace(&self.namespace)?,
            options,
            workflow_type: id_in(
                "workflow_type",
                self.workflow_type.map(|t| t.name).unwrap_or_default(),
            )?,
            input: payloads_in(self.input),
            header: header_in(self.header),
            identity: self.identity,
        })
    }
}

/// Temporal's start request as the engine's; an unset conflict policy is
/// `default_conflict`.
pub(crate) fn start_in(
    request: pb::StartWorkflowExecutionRequest,
    default_conflict: WorkflowIdConflictPolicy,
) -> Result<StartWorkflowRequest, Status> {
    if request.request_eager_execution {
        // Eager start hands the first task back in the response; Endure does not, and
        // Temporal's SDKs poll for it when it is not granted.
        tracing::debug!("eager workflow start asked for; the task goes to the queue");
    }
    start_of!(request).request(default_conflict)
}

/// The engine's answer to a start as Temporal's.
pub(crate) fn start_answer(started: StartWorkflowResponse) -> pb::StartWorkflowExecutionResponse {
    pb::StartWorkflowExecutionResponse {
        run_id: run_id(started.run_id),
        started: started.started,
        status: if started.started {
            pbe::WorkflowExecutionStatus::Running.into()
        } else {
            0
        },
        ..Default::default()
    }
}

/// StartWorkflowExecution.
pub(crate) async fn start(
    call: Call,
    request: pb::StartWorkflowExecutionRequest,
) -> Result<pb::StartWorkflowExecutionResponse, Status> {
    let started = call
        .rpc(start_in(request, WorkflowIdConflictPolicy::Fail)?)
        .await?;
    Ok(start_answer(started))
}

/// SignalWithStartWorkflowExecution.
pub(crate) async fn signal_with_start(
    call: Call,
    request: pb::SignalWithStartWorkflowExecutionRequest,
) -> Result<pb::SignalWithStartWorkflowExecutionResponse, Status> {
    let signal = SignalRequest {
        signal_name: id_in("signal_name", request.signal_name)?,
        input: payloads_in(request.signal_input),
        identity: request.identity.clone(),
        header: header_in(request.header.clone()),
        request_id: None,
    };
    let start = start_of!(request);
    let started = call
        .rpc(SignalWithStartWorkflowRequest {
            start: start.request(WorkflowIdConflictPolicy::UseExisting)?,
            signal,
        })
        .await?;
    Ok(pb::SignalWithStartWorkflowExecutionResponse {
        run_id: run_id(started.run_id),
        started: started.started,
        ..Default::default()
    })
}

/// SignalWorkflowExecution.
pub(crate) async fn signal(
    call: Call,
    request: pb::SignalWorkflowExecutionRequest,
) -> Result<pb::SignalWorkflowExecutionResponse, Status> {
    let execution = execution_in(request.workflow_execution)?;
    call.rpc(SignalWorkflowRequest {
        namespace: namespace(&request.namespace)?,
        workflow_id: execution.workflow_id,
        run_id: execution.run_id,
        signal: SignalRequest {
            signal_name: id_in("signal_name", request.signal_name)?,
            input: payloads_in(request.input),
            identity: request.identity,
            header: header_in(request.header),
            request_id: (!request.request_id.is_empty())
                .then(|| id_in::<RequestId>("request_id", request.request_id))
                .transpose()?,
        },
    })
    .await
    .map_err(closed_run_not_found)?;
    Ok(pb::SignalWorkflowExecutionResponse::default())
}

/// Whether a run in `status` rejects a query under `condition`.
fn rejects(condition: QueryRejectCondition, status: WorkflowExecutionStatus) -> bool {
    match condition {
        QueryRejectCondition::None => false,
        QueryRejectCondition::NotOpen => status != WorkflowExecutionStatus::Running,
        QueryRejectCondition::NotCompletedCleanly => !matches!(
            status,
            WorkflowExecutionStatus::Running | WorkflowExecutionStatus::Completed
        ),
    }
}

/// QueryWorkflow: answered by a worker; a handler's failure is `INVALID_ARGUMENT` with
/// `QueryFailedFailure`, as Temporal's server answers it.
pub(crate) async fn query(
    call: Call,
    request: pb::QueryWorkflowRequest,
) -> Result<pb::QueryWorkflowResponse, Status> {
    let namespace: Namespace = namespace(&request.namespace)?;
    let execution = execution_in(request.execution)?;
    let question = request
        .query
        .ok_or_else(|| Status::invalid_argument("query: the query is required"))?;
    let condition: Option<QueryRejectCondition> = enum_in!(
        "query_reject_condition",
        pbe::QueryRejectCondition,
        "QUERY_REJECT_CONDITION_",
        request.query_reject_condition
    )?;
    if let Some(condition) = condition.filter(|c| *c != QueryRejectCondition::None) {
        let description = call
            .rpc(DescribeWorkflowRequest {
                namespace: namespace.clone(),
                workflow_id: execution.workflow_id.clone(),
                run_id: execution.run_id,
            })
            .await?;
        if rejects(condition, description.status) {
            return Ok(pb::QueryWorkflowResponse {
                query_rejected: Some(query::QueryRejected {
                    status: enum_out!(
                        description.status,
                        pbe::WorkflowExecutionStatus,
                        "WORKFLOW_EXECUTION_STATUS_"
                    ),
                }),
                ..Default::default()
            });
        }
    }
    let answer = call
        .rpc(QueryWorkflowRequest {
            namespace,
            workflow_id: execution.workflow_id,
            run_id: execution.run_id,
            query_type: question.query_type,
            args: payloads_in(question.query_args),
            header: header_in(question.header),
        })
        .await?;
    match answer {
        Ok(result) => Ok(pb::QueryWorkflowResponse {
            query_result: payloads_opt(result),
            ..Default::default()
        }),
        Err(message) => Err(query_failed(message)),
    }
}

/// The status of a query whose handler failed.
fn query_failed(message: String) -> Status {
    let detail = errordetails::QueryFailedFailure {
        failure: Some(failure(endure_core::Failure::application(
            message.clone(),
            "QueryFailed",
        ))),
    };
    let details = temporalio_protos::protos::google::rpc::Status {
        code: Code::InvalidArgument as i32,
        message: message.clone(),
        details: vec![prost_types::Any {
            type_url: format!(
                "type.googleapis.com/{}",
                <errordetails::QueryFailedFailure as prost::Name>::full_name()
            ),
            value: detail.encode_to_vec(),
        }],
    };
    Status::with_details(
        Code::InvalidArgument,
        message,
        details.encode_to_vec().into(),
    )
}

/// RequestCancelWorkflowExecution.
pub(crate) async fn request_cancel(
    call: Call,
    request: pb::RequestCancelWorkflowExecutionRequest,
) -> Result<pb::RequestCancelWorkflowExecutionResponse, Status> {
    let execution = execution_in(request.workflow_execution)?;
    call.rpc(RequestCancelWorkflowRequest {
        namespace: namespace(&request.namespace)?,
        workflow_id: execution.workflow_id,
        run_id: execution.run_id,
        reason: request.reason,
        identity: request.identity,
    })
    .await
    .map_err(closed_run_not_found)?;
    Ok(pb::RequestCancelWorkflowExecutionResponse::default())
}

/// TerminateWorkflowExecution.
pub(crate) async fn terminate(
    call: Call,
    request: pb::TerminateWorkflowExecutionRequest,
) -> Result<pb::TerminateWorkflowExecutionResponse, Status> {
    let execution = execution_in(request.workflow_execution)?;
    call.rpc(TerminateWorkflowRequest {
        namespace: namespace(&request.namespace)?,
        workflow_id: execution.workflow_id,
        run_id: execution.run_id,
        reason: request.reason,
        details: payloads_opt_in(request.details),
        identity: request.identity,
    })
    .await
    .map_err(closed_run_not_found)?;
    Ok(pb::TerminateWorkflowExecutionResponse::default())
}
