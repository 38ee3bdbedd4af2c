//! What clients send about workflows — start, signal, update, cancel, terminate, query,
//! reset, delete — and read back: descriptions, listings, history.

use serde::{Deserialize, Serialize};

use super::CheckText;
use super::text::{identity, reason};
use crate::ValidationError;
use crate::execution::{PendingActivity, PendingChild, ResetRequest, SignalRequest};
use crate::history::HistoryEvent;
use crate::ids::ExecutionKey;
use crate::ids::{EventId, Namespace, RunId, TaskQueueName, WorkflowId, WorkflowType};
use crate::options::StartWorkflowOptions;
use crate::payload::{Header, Memo, Payloads};
use crate::payload_codec::{CodecError, PayloadVisitor, VisitPayloads};
use crate::search_attributes::SearchAttributes;
use crate::storage::VisibilityQuery;
use crate::time::Timestamp;
use crate::update::{UpdateOutcome, UpdateRequest, UpdateStage};
use crate::{UpdateId, WorkflowExecution, WorkflowExecutionStatus};

/// A client's start of a workflow.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StartWorkflowRequest {
    /// The namespace.
    pub namespace: Namespace,
    /// Id, queue, policies, timeouts, retry, cron, delay, memo, search attributes.
    pub options: StartWorkflowOptions,
    /// The workflow type.
    pub workflow_type: WorkflowType,
    /// The arguments.
    pub input: Payloads,
    /// Context headers.
    pub header: Header,
    /// The client.
    pub identity: String,
}

/// The run a start created or found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StartWorkflowResponse {
    /// The run.
    pub run_id: RunId,
    /// False when an existing run was returned (same request id, or the use-existing policy).
    pub started: bool,
}

/// Signal the workflow id's running run, or start one carrying the signal.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SignalWithStartWorkflowRequest {
    /// The start, used if no run is running.
    pub start: StartWorkflowRequest,
    /// The signal.
    pub signal: SignalRequest,
}

/// A client's update of a run (spec §5.19.3; Temporal's `UpdateWorkflowExecution`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UpdateWorkflowRequest {
    /// The namespace.
    pub namespace: Namespace,
    /// The workflow id.
    pub workflow_id: WorkflowId,
    /// The run, or the current one (an update then follows a continue-as-new).
    pub run_id: Option<RunId>,
    /// The update; its id makes sending it again safe.
    pub request: UpdateRequest,
    /// Answer once the update has come this far (or the long poll ends first).
    pub wait_for: UpdateStage,
}

/// How far an update has come, and its outcome once completed. A rejected update is
/// completed with its validator's failure.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UpdateWorkflowResponse {
    /// The run that took the update.
    pub run_id: RunId,
    /// How far it has come (it may be short of the stage waited for if the long poll
    /// ended first: ask again).
    pub stage: UpdateStage,
    /// The result or failure, once completed.
    pub outcome: Option<UpdateOutcome>,
}

/// Update the workflow id's running run, or start one that takes the update with its first
/// task (update-with-start; it ends a start delay).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UpdateWithStartWorkflowRequest {
    /// The start, used if no run is running.
    pub start: StartWorkflowRequest,
    /// The update (its namespace and workflow id are the start's).
    pub update: UpdateWorkflowRequest,
}

/// Update-with-start's run and update.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UpdateWithStartWorkflowResponse {
    /// The run started, or the running one.
    pub start: StartWorkflowResponse,
    /// The update.
    pub update: UpdateWorkflowResponse,
}

/// Signal a run (the current one if no run id).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SignalWorkflowRequest {
    /// The namespace.
    pub namespace: Namespace,
    /// The workflow id.
    pub workflow_id: WorkflowId,
    /// The run, or the current one.
    pub run_id: Option<RunId>,
    /// The signal.
    pub signal: SignalRequest,
}

/// Ask a run to cancel.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RequestCancelWorkflowRequest {
    /// The namespace.
    pub namespace: Namespace,
    /// The workflow id.
    pub workflow_id: WorkflowId,
    /// The run, or the current one.
    pub run_id: Option<RunId>,
    /// The reason given.
    pub reason: String,
    /// Who asks.
    pub identity: String,
}

/// Terminate a run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TerminateWorkflowRequest {
    /// The namespace.
    pub namespace: Namespace,
    /// The workflow id.
    pub workflow_id: WorkflowId,
    /// The run, or the current one.
    pub run_id: Option<RunId>,
    /// The reason given.
    pub reason: String,
    /// Details.
    pub details: Option<Payloads>,
    /// Who asks.
    pub identity: String,
}

/// Ask a run's workflow code a question (spec §5.19.1); answered by a worker.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QueryWorkflowRequest {
    /// The namespace.
    pub namespace: Namespace,
    /// The workflow id.
    pub workflow_id: WorkflowId,
    /// The run, or the current one.
    pub run_id: Option<RunId>,
    /// The query's name.
    pub query_type: String,
    /// Its arguments.
    pub args: Payloads,
    /// Context headers (tracing context, auth), handed to the worker's interceptors.
    pub header: Header,
}

/// A query's answer from a worker: the handler's result, or why it failed (an unknown
/// query type, a handler error).
pub type QueryAnswer = Result<Option<Payloads>, String>;

/// Read a run's whole history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GetHistoryRequest {
    /// The run.
    pub execution: ExecutionKey,
}

/// Read one page (about 1 MiB) of a run's history from `first_event_id`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GetHistoryPageRequest {
    /// The run.
    pub execution: ExecutionKey,
    /// Where the page starts.
    pub first_event_id: EventId,
}

/// One page of a run's history.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HistoryPageResponse {
    /// Events in order.
    pub events: Vec<HistoryEvent>,
    /// Where the next page starts, if more events follow.
    pub next_event_id: Option<EventId>,
}

/// List runs of a namespace, latest start first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ListWorkflowsRequest {
    /// The namespace.
    pub namespace: Namespace,
    /// The filter.
    pub query: VisibilityQuery,
    /// Rows to skip.
    pub offset: usize,
    /// Most rows returned.
    pub limit: usize,
}

/// Describe a task queue (Temporal's `DescribeTaskQueue`): who polls it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DescribeTaskQueueRequest {
    /// The namespace.
    pub namespace: Namespace,
    /// The queue.
    pub task_queue: TaskQueueName,
}

/// A task queue's recent pollers, per half.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskQueueDescription {
    /// Workers that polled its workflow tasks in the last five minutes, latest first.
    pub workflow_pollers: Vec<PollerInfo>,
    /// Workers that polled its activity tasks in the last five minutes, latest first.
    pub activity_pollers: Vec<PollerInfo>,
}

/// A worker that polled a queue.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PollerInfo {
    /// The worker's identity.
    pub identity: String,
    /// When it last polled.
    pub last_access_time: Timestamp,
    /// Its deployment version, if it runs versioned.
    pub deployment_version: Option<crate::versioning::WorkerDeploymentVersion>,
}

/// Count runs of a namespace (Temporal's `CountWorkflowExecutions`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CountWorkflowsRequest {
    /// The namespace.
    pub namespace: Namespace,
    /// The filter.
    pub query: VisibilityQuery,
}

/// What a listing shows about a run (Temporal's `WorkflowExecutionInfo`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WorkflowExecutionInfo {
    /// The run.
    pub execution: ExecutionKey,
    /// Its type.
    pub workflow_type: WorkflowType,
    /// Its task queue.
    pub task_queue: TaskQueueName,
    /// Its status.
    pub status: WorkflowExecutionStatus,
    /// When it started.
    pub start_time: Timestamp,
    /// When it closed.
    pub close_time: Option<Timestamp>,
    /// Its memo.
    pub memo: Memo,
    /// Its search attributes.
    pub search_attributes: SearchAttributes,
}

/// Wait until a run closes (the current one if no run id), at most `wait`; answered with
/// its description either way, and its closing event once it closed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AwaitWorkflowCloseRequest {
    /// The namespace.
    pub namespace: Namespace,
    /// The workflow id.
    pub workflow_id: WorkflowId,
    /// The run, or the current one.
    pub run_id: Option<RunId>,
    /// The longest wait.
    #[serde(with = "crate::duration_text::readable")]
    pub wait: std::time::Duration,
}

/// What a wait for a run's close answers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WorkflowCloseResponse {
    /// The run as describe shows it.
    pub description: WorkflowDescription,
    /// Its closing event — the last of its history: the result, the failure, or the run
    /// that continues the chain — when it closed; `None` while it is open.
    pub closing_event: Option<HistoryEvent>,
}

/// Describe a run (the current one if no run id).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DescribeWorkflowRequest {
    /// The namespace.
    pub namespace: Namespace,
    /// The workflow id.
    pub workflow_id: WorkflowId,
    /// The run, or the current one.
    pub run_id: Option<RunId>,
}

/// What describe shows about a run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WorkflowDescription {
    /// The run.
    pub execution: ExecutionKey,
    /// Its status.
    pub status: WorkflowExecutionStatus,
    /// Number of events in its history.
    pub history_length: u64,
    /// Its workflow type.
    pub workflow_type: WorkflowType,
    /// Its task queue.
    pub task_queue: TaskQueueName,
    /// When it started.
    pub start_time: Timestamp,
    /// When it closed (its last event's time), if it did.
    pub close_time: Option<Timestamp>,
    /// The run that continues its chain (continue-as-new, retry, cron), if any.
    pub next_run_id: Option<RunId>,
    /// Its parent, if it is a child workflow.
    pub parent: Option<WorkflowExecution>,
    /// Activities scheduled and not yet closed.
    pub pending_activities: u32,
    /// Timers started and not yet fired or canceled.
    pub pending_timers: u32,
    /// Child workflows initiated and not yet closed.
    pub pending_children: u32,
    /// Its memo.
    pub memo: Memo,
    /// Its search attributes.
    pub search_attributes: SearchAttributes,
    /// Each pending activity: state, attempt, worker, heartbeat, last failure.
    pub pending_activity_details: Vec<PendingActivity>,
    /// Each pending child workflow: id, run once started, type.
    pub pending_child_details: Vec<PendingChild>,
    /// Its versioning (spec §5.13.1): behavior, version, override.
    pub versioning: crate::versioning::RunVersioning,
}

impl WorkflowDescription {
    /// The token of the current attempt of pending activity `activity_id`, as Temporal's
    /// server finds it for an answer by id; `None` if the run has no such activity pending.
    pub fn pending_activity_token(
        &self,
        activity_id: &crate::ids::ActivityId,
    ) -> Option<super::ActivityCompletionToken> {
        let pending = self
            .pending_activity_details
            .iter()
            .find(|pending| &pending.activity_id == activity_id)?;
        Some(super::ActivityCompletionToken {
            execution: self.execution.clone(),
            token: crate::execution::ActivityTaskToken {
                scheduled_event_id: pending.scheduled_event_id,
                attempt: pending.attempt,
            },
        })
    }
}

/// Reset a run (the current one if no run id).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ResetWorkflowRequest {
    /// The namespace.
    pub namespace: Namespace,
    /// The workflow id.
    pub workflow_id: WorkflowId,
    /// The run to fork, or the current one.
    pub run_id: Option<RunId>,
    /// Where to fork and what to reapply.
    pub request: ResetRequest,
}

/// A reset's new run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResetWorkflowResponse {
    /// The run the reset created.
    pub run_id: RunId,
}

/// Delete a run (Temporal's `DeleteWorkflowExecution`): terminated first if open, then its
/// history and visibility row gone.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeleteWorkflowRequest {
    /// The namespace.
    pub namespace: Namespace,
    /// The workflow id.
    pub workflow_id: WorkflowId,
    /// The run, or the current one.
    pub run_id: Option<RunId>,
    /// Who asked.
    pub identity: String,
}

/// Wait for an update known only by its id (Temporal's `PollWorkflowExecutionUpdate`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PollUpdateRequest {
    /// The namespace.
    pub namespace: Namespace,
    /// The workflow id.
    pub workflow_id: WorkflowId,
    /// The run, or the current one.
    pub run_id: Option<RunId>,
    /// The update.
    pub update_id: UpdateId,
}

impl CheckText for StartWorkflowRequest {
    fn check_text(&self) -> Result<(), ValidationError> {
        identity(&self.identity)
    }
}

impl CheckText for SignalWithStartWorkflowRequest {
    fn check_text(&self) -> Result<(), ValidationError> {
        identity(&self.start.identity)?;
        identity(&self.signal.identity)
    }
}

impl CheckText for UpdateWorkflowRequest {
    fn check_text(&self) -> Result<(), ValidationError> {
        identity(&self.request.identity)
    }
}

impl CheckText for UpdateWithStartWorkflowRequest {
    fn check_text(&self) -> Result<(), ValidationError> {
        identity(&self.start.identity)?;
        identity(&self.update.request.identity)
    }
}

impl CheckText for SignalWorkflowRequest {
    fn check_text(&self) -> Result<(), ValidationError> {
        identity(&self.signal.identity)
    }
}

impl CheckText for RequestCancelWorkflowRequest {
    fn check_text(&self) -> Result<(), ValidationError> {
        reason("reason", &self.reason)?;
        identity(&self.identity)
    }
}

impl CheckText for TerminateWorkflowRequest {
    fn check_text(&self) -> Result<(), ValidationError> {
        reason("reason", &self.reason)?;
        identity(&self.identity)
    }
}

impl CheckText for QueryWorkflowRequest {
    fn check_text(&self) -> Result<(), ValidationError> {
        reason("query_type", &self.query_type)
    }
}

impl CheckText for ResetWorkflowRequest {
    fn check_text(&self) -> Result<(), ValidationError> {
        reason("reason", &self.request.reason)?;
        identity(&self.request.identity)
    }
}

impl CheckText for DeleteWorkflowRequest {
    fn check_text(&self) -> Result<(), ValidationError> {
        identity(&self.identity)
    }
}

impl CheckText for GetHistoryRequest {}
impl CheckText for GetHistoryPageRequest {}
impl CheckText for ListWorkflowsRequest {}
impl CheckText for CountWorkflowsRequest {}
impl CheckText for DescribeTaskQueueRequest {}
impl CheckText for AwaitWorkflowCloseRequest {}
impl CheckText for DescribeWorkflowRequest {}
impl CheckText for PollUpdateRequest {}

impl VisitPayloads for StartWorkflowRequest {
    fn visit_payloads(&mut self, visit: &mut PayloadVisitor<'_>) -> Result<(), CodecError> {
        self.options.visit_payloads(visit)?;
        self.input.visit_payloads(visit)?;
        self.header.visit_payloads(visit)
    }
}

impl VisitPayloads for SignalWithStartWorkflowRequest {
    fn visit_payloads(&mut self, visit: &mut PayloadVisitor<'_>) -> Result<(), CodecError> {
        self.start.visit_payloads(visit)?;
        self.signal.visit_payloads(visit)
    }
}

impl VisitPayloads for UpdateWorkflowRequest {
    fn visit_payloads(&mut self, visit: &mut PayloadVisitor<'_>) -> Result<(), CodecError> {
        self.request.visit_payloads(visit)
    }
}

impl VisitPayloads for UpdateWorkflowResponse {
    fn visit_payloads(&mut self, visit: &mut PayloadVisitor<'_>) -> Result<(), CodecError> {
        self.outcome.visit_payloads(visit)
    }
}

impl VisitPayloads for UpdateWithStartWorkflowRequest {
    fn visit_payloads(&mut self, visit: &mut PayloadVisitor<'_>) -> Result<(), CodecError> {
        self.start.visit_payloads(visit)?;
        self.update.visit_payloads(visit)
    }
}

impl VisitPayloads for UpdateWithStartWorkflowResponse {
    fn visit_payloads(&mut self, visit: &mut PayloadVisitor<'_>) -> Result<(), CodecError> {
        self.update.visit_payloads(visit)
    }
}

impl VisitPayloads for SignalWorkflowRequest {
    fn visit_payloads(&mut self, visit: &mut PayloadVisitor<'_>) -> Result<(), CodecError> {
        self.signal.visit_payloads(visit)
    }
}

impl VisitPayloads for TerminateWorkflowRequest {
    fn visit_payloads(&mut self, visit: &mut PayloadVisitor<'_>) -> Result<(), CodecError> {
        self.details.visit_payloads(visit)
    }
}

impl VisitPayloads for QueryWorkflowRequest {
    fn visit_payloads(&mut self, visit: &mut PayloadVisitor<'_>) -> Result<(), CodecError> {
        self.args.visit_payloads(visit)?;
        self.header.visit_payloads(visit)
    }
}

impl VisitPayloads for HistoryPageResponse {
    fn visit_payloads(&mut self, visit: &mut PayloadVisitor<'_>) -> Result<(), CodecError> {
        self.events.visit_payloads(visit)
    }
}

impl VisitPayloads for WorkflowExecutionInfo {
    fn visit_payloads(&mut self, visit: &mut PayloadVisitor<'_>) -> Result<(), CodecError> {
        self.memo.visit_payloads(visit)
    }
}

impl VisitPayloads for WorkflowCloseResponse {
    fn visit_payloads(&mut self, visit: &mut PayloadVisitor<'_>) -> Result<(), CodecError> {
        self.description.visit_payloads(visit)?;
        self.closing_event.visit_payloads(visit)
    }
}

impl VisitPayloads for WorkflowDescription {
    fn visit_payloads(&mut self, visit: &mut PayloadVisitor<'_>) -> Result<(), CodecError> {
        self.memo.visit_payloads(visit)?;
        self.pending_activity_details.visit_payloads(visit)
    }
}

crate::payload_codec::no_payloads!(
    StartWorkflowResponse,
    RequestCancelWorkflowRequest,
    GetHistoryRequest,
    GetHistoryPageRequest,
    ListWorkflowsRequest,
    CountWorkflowsRequest,
    DescribeTaskQueueRequest,
    TaskQueueDescription,
    AwaitWorkflowCloseRequest,
    DescribeWorkflowRequest,
    ResetWorkflowRequest,
    ResetWorkflowResponse,
    DeleteWorkflowRequest,
    PollUpdateRequest,
);
