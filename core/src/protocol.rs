//! The engine's API as messages: what clients and workers send ([`Request`]) and get back
//! ([`Response`], [`RemoteError`]), and the Transport port that carries them.
//!
//! Adapters: in-process (`endure_server::engine::InProcessTransport`) and TCP
//! (`endure::remote::TcpTransport`, served by `endure_server::tcp`). The SDK
//! holds an `Arc<dyn Transport>`, so user code does not change between embedded and server
//! mode.

use std::future::Future;
use std::pin::Pin;

use serde::{Deserialize, Serialize};

use crate::execution::{
    ActivityTaskStartedReply, ActivityTaskToken, Reply, SignalRequest, WorkflowTaskCompletion,
    WorkflowTaskToken,
};
use crate::failure::Failure;
use crate::history::HistoryEvent;
use crate::ids::{EventId, Namespace, RunId, TaskQueueName, WorkflowId, WorkflowType};
use crate::options::StartWorkflowOptions;
use crate::payload::{Header, Payloads};
use crate::storage::{ExecutionKey, HistoryPage, VisibilityQuery, VisibilityRow};
use crate::update::{UpdateDelivery, UpdateOutcome, UpdateRequest, UpdateStage};
use crate::{WorkflowExecutionStatus, WorkflowTaskFailedCause};

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

/// A workflow task handed to a worker.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WorkflowTaskForWorker {
    /// The run.
    pub execution: ExecutionKey,
    /// The workflow type.
    pub workflow_type: WorkflowType,
    /// Answer with this.
    pub token: WorkflowTaskToken,
    /// The first page (at most 1 MiB) of the persisted history up to and including this
    /// task's WorkflowTaskStarted: from the first event, or for a task from a worker's
    /// sticky queue from the event after `previous_started_event_id` (a worker without the
    /// run cached at that point fetches the earlier events with
    /// [`Request::GetHistoryPage`]).
    pub history: Vec<HistoryEvent>,
    /// Where the rest of the persisted history starts, if it did not fit in one page.
    pub next_page: Option<EventId>,
    /// The task's events not in persisted history (the Scheduled and Started of a
    /// transient task), after all the persisted ones.
    pub transient_events: Vec<HistoryEvent>,
    /// The WorkflowTaskStarted of the last task a worker completed: a cached run fed up to
    /// exactly this event can go on from it; any other must be rebuilt.
    pub previous_started_event_id: Option<EventId>,
    /// Updates for the workflow to accept or reject after the task's events.
    pub updates: Vec<UpdateDelivery>,
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

/// A query handed to a worker (spec §5.19.1): answer it from the workflow's state after
/// its last completed workflow task, without running a task or writing history.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QueryTaskForWorker {
    /// The run.
    pub execution: ExecutionKey,
    /// The workflow type.
    pub workflow_type: WorkflowType,
    /// Answer with this id ([`Request::RespondQueryTask`]).
    pub query_id: u64,
    /// The query's name.
    pub query_type: String,
    /// Its arguments.
    pub args: Payloads,
    /// The first page (at most 1 MiB) of the history (a worker without the run cached
    /// replays all of it).
    pub history: Vec<HistoryEvent>,
    /// Where the rest of the history starts, if it did not fit in one page.
    pub next_page: Option<EventId>,
    /// The WorkflowTaskStarted of the last completed workflow task: the point the answer
    /// reflects (a cached run stopped exactly there can answer at once).
    pub previous_started_event_id: EventId,
}

/// A query's answer from a worker: the handler's result, or why it failed (an unknown
/// query type, a handler error).
pub type QueryAnswer = Result<Option<Payloads>, String>;

/// An activity attempt handed to a worker.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ActivityTaskForWorker {
    /// The run that scheduled it.
    pub execution: ExecutionKey,
    /// The attempt: id, type, input, timeouts, heartbeat details, token.
    pub task: ActivityTaskStartedReply,
}

impl ActivityTaskForWorker {
    /// The token to answer with.
    pub fn token(&self) -> ActivityTaskToken {
        self.task.token
    }
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
    pub start_time: crate::time::Timestamp,
    /// When it closed (its last event's time), if it did.
    pub close_time: Option<crate::time::Timestamp>,
    /// The run that continues its chain (continue-as-new, retry, cron), if any.
    pub next_run_id: Option<RunId>,
    /// Its parent, if it is a child workflow.
    pub parent: Option<crate::WorkflowExecution>,
    /// Activities scheduled and not yet closed.
    pub pending_activities: u32,
    /// Timers started and not yet fired or canceled.
    pub pending_timers: u32,
    /// Child workflows initiated and not yet closed.
    pub pending_children: u32,
    /// Its memo.
    pub memo: crate::Memo,
    /// Its search attributes.
    pub search_attributes: crate::SearchAttributes,
    /// Each pending activity: state, attempt, worker, heartbeat, last failure.
    pub pending_activity_details: Vec<crate::execution::PendingActivity>,
    /// Each pending child workflow: id, run once started, type.
    pub pending_child_details: Vec<crate::execution::PendingChild>,
}

/// Whether the engine serves: Temporal's health check (`SERVING`, `NOT_SERVING`) with why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    /// Why the store stopped, if a failure stopped it (a full disk, a failing device, a
    /// corrupt file): the engine then refuses every call that needs it until restarted.
    pub store_stopped: Option<String>,
}

impl Health {
    /// Whether the engine serves requests.
    pub fn is_serving(&self) -> bool {
        self.store_stopped.is_none()
    }
}

/// A call to the engine.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Request {
    /// Start a workflow.
    StartWorkflow(Box<StartWorkflowRequest>),
    /// Signal the workflow id's running run, or start one carrying the signal.
    SignalWithStartWorkflow {
        /// The start, used if no run is running.
        start: Box<StartWorkflowRequest>,
        /// The signal.
        signal: SignalRequest,
    },
    /// Update a run and wait for a stage.
    UpdateWorkflow(Box<UpdateWorkflowRequest>),
    /// Update the workflow id's running run, or start one that takes the update with its
    /// first task (update-with-start; it ends a start delay).
    UpdateWithStartWorkflow {
        /// The start, used if no run is running.
        start: Box<StartWorkflowRequest>,
        /// The update (its namespace and workflow id are the start's).
        update: Box<UpdateWorkflowRequest>,
    },
    /// Signal a run (the current one if no run id).
    SignalWorkflow {
        /// The namespace.
        namespace: Namespace,
        /// The workflow id.
        workflow_id: WorkflowId,
        /// The run, or the current one.
        run_id: Option<RunId>,
        /// The signal.
        signal: SignalRequest,
    },
    /// Ask a run to cancel.
    RequestCancelWorkflow {
        /// The namespace.
        namespace: Namespace,
        /// The workflow id.
        workflow_id: WorkflowId,
        /// The run, or the current one.
        run_id: Option<RunId>,
        /// The reason given.
        reason: String,
        /// Who asks.
        identity: String,
    },
    /// Terminate a run.
    TerminateWorkflow {
        /// The namespace.
        namespace: Namespace,
        /// The workflow id.
        workflow_id: WorkflowId,
        /// The run, or the current one.
        run_id: Option<RunId>,
        /// The reason given.
        reason: String,
        /// Details.
        details: Option<Payloads>,
        /// Who asks.
        identity: String,
    },
    /// Long-poll a workflow task; answered with a workflow task, a query task or nothing.
    PollWorkflowTask {
        /// The namespace.
        namespace: Namespace,
        /// The queue.
        task_queue: TaskQueueName,
        /// The worker.
        identity: String,
    },
    /// Complete a workflow task.
    CompleteWorkflowTask {
        /// The run.
        execution: ExecutionKey,
        /// The completion.
        completion: Box<WorkflowTaskCompletion>,
    },
    /// Fail a workflow task.
    FailWorkflowTask {
        /// The run.
        execution: ExecutionKey,
        /// The task.
        token: WorkflowTaskToken,
        /// Why.
        cause: WorkflowTaskFailedCause,
        /// Details.
        failure: Option<Failure>,
        /// The worker.
        identity: String,
    },
    /// The worker a run is sticky to is stopping: send the run's next tasks to its normal
    /// queue.
    ResetStickyTaskQueue {
        /// The run.
        execution: ExecutionKey,
    },
    /// Ask a run's workflow code a question (spec §5.19.1); answered by a worker.
    QueryWorkflow {
        /// The namespace.
        namespace: Namespace,
        /// The workflow id.
        workflow_id: WorkflowId,
        /// The run, or the current one.
        run_id: Option<RunId>,
        /// The query's name.
        query_type: String,
        /// Its arguments.
        args: Payloads,
    },
    /// A worker's answer to a query task.
    RespondQueryTask {
        /// The query task's id.
        query_id: u64,
        /// The answer.
        answer: QueryAnswer,
    },
    /// Long-poll an activity task.
    PollActivityTask {
        /// The namespace.
        namespace: Namespace,
        /// The queue.
        task_queue: TaskQueueName,
        /// The worker.
        identity: String,
    },
    /// Record an activity heartbeat.
    RecordActivityHeartbeat {
        /// The run.
        execution: ExecutionKey,
        /// The attempt.
        token: ActivityTaskToken,
        /// Progress details.
        details: Option<Payloads>,
    },
    /// An activity attempt returned a result.
    CompleteActivityTask {
        /// The run.
        execution: ExecutionKey,
        /// The attempt.
        token: ActivityTaskToken,
        /// The result.
        result: Option<Payloads>,
        /// The worker.
        identity: String,
    },
    /// An activity attempt failed.
    FailActivityTask {
        /// The run.
        execution: ExecutionKey,
        /// The attempt.
        token: ActivityTaskToken,
        /// Why.
        failure: Failure,
        /// The worker.
        identity: String,
    },
    /// An activity acknowledged cancellation.
    CancelActivityTask {
        /// The run.
        execution: ExecutionKey,
        /// The attempt.
        token: ActivityTaskToken,
        /// Details.
        details: Option<Payloads>,
        /// The worker.
        identity: String,
    },
    /// Read a run's history.
    GetHistory {
        /// The run.
        execution: ExecutionKey,
    },
    /// Read one page (about 1 MiB) of a run's history from `first_event_id`.
    GetHistoryPage {
        /// The run.
        execution: ExecutionKey,
        /// Where the page starts.
        first_event_id: EventId,
    },
    /// List runs of a namespace, latest start first.
    ListWorkflows {
        /// The namespace.
        namespace: Namespace,
        /// The filter.
        query: VisibilityQuery,
        /// Rows to skip.
        offset: usize,
        /// Most rows returned.
        limit: usize,
    },
    /// Wait until a run closes (the current one if no run id), at most `wait`; answers with
    /// its description either way.
    AwaitWorkflowClose {
        /// The namespace.
        namespace: Namespace,
        /// The workflow id.
        workflow_id: WorkflowId,
        /// The run, or the current one.
        run_id: Option<RunId>,
        /// The longest wait.
        wait: std::time::Duration,
    },
    /// Describe a run (the current one if no run id).
    DescribeWorkflow {
        /// The namespace.
        namespace: Namespace,
        /// The workflow id.
        workflow_id: WorkflowId,
        /// The run, or the current one.
        run_id: Option<RunId>,
    },
    /// Register a namespace; answered with [`Response::Namespace`].
    CreateNamespace {
        /// Its name.
        name: Namespace,
        /// Its configuration.
        config: crate::namespace::NamespaceConfig,
    },
    /// Describe a namespace; answered with [`Response::Namespace`].
    DescribeNamespace {
        /// Its name.
        name: Namespace,
    },
    /// List every namespace; answered with [`Response::Namespaces`].
    ListNamespaces,
    /// Change a namespace's configuration; answered with [`Response::Namespace`].
    UpdateNamespace {
        /// Its name.
        name: Namespace,
        /// What changes.
        update: crate::namespace::NamespaceUpdate,
    },
    /// Reset a run (the current one if no run id); answered with [`Response::Reset`].
    ResetWorkflow {
        /// The namespace.
        namespace: Namespace,
        /// The workflow id.
        workflow_id: WorkflowId,
        /// The run to fork, or the current one.
        run_id: Option<RunId>,
        /// Where to fork and what to reapply.
        request: Box<crate::execution::ResetRequest>,
    },
    /// Whether the engine serves (its store running); answered with [`Response::Health`].
    Health,
    /// Delete a run (Temporal's `DeleteWorkflowExecution`): terminated first if open, then
    /// its history and visibility row gone; answered with [`Response::Done`].
    DeleteWorkflow {
        /// The namespace.
        namespace: Namespace,
        /// The workflow id.
        workflow_id: WorkflowId,
        /// The run, or the current one.
        run_id: Option<RunId>,
        /// Who asked.
        identity: String,
    },
    /// Wait for an update known only by its id (Temporal's `PollWorkflowExecutionUpdate`);
    /// answered with [`Response::Update`].
    PollUpdate {
        /// The namespace.
        namespace: Namespace,
        /// The workflow id.
        workflow_id: WorkflowId,
        /// The run, or the current one.
        run_id: Option<RunId>,
        /// The update.
        update_id: crate::UpdateId,
    },
}

impl Request {
    /// The request's name, for logs and errors.
    pub fn name(&self) -> &'static str {
        match self {
            Self::StartWorkflow(..) => "StartWorkflow",
            Self::SignalWithStartWorkflow { .. } => "SignalWithStartWorkflow",
            Self::UpdateWorkflow(..) => "UpdateWorkflow",
            Self::UpdateWithStartWorkflow { .. } => "UpdateWithStartWorkflow",
            Self::SignalWorkflow { .. } => "SignalWorkflow",
            Self::RequestCancelWorkflow { .. } => "RequestCancelWorkflow",
            Self::TerminateWorkflow { .. } => "TerminateWorkflow",
            Self::PollWorkflowTask { .. } => "PollWorkflowTask",
            Self::CompleteWorkflowTask { .. } => "CompleteWorkflowTask",
            Self::FailWorkflowTask { .. } => "FailWorkflowTask",
            Self::ResetStickyTaskQueue { .. } => "ResetStickyTaskQueue",
            Self::QueryWorkflow { .. } => "QueryWorkflow",
            Self::RespondQueryTask { .. } => "RespondQueryTask",
            Self::PollActivityTask { .. } => "PollActivityTask",
            Self::RecordActivityHeartbeat { .. } => "RecordActivityHeartbeat",
            Self::CompleteActivityTask { .. } => "CompleteActivityTask",
            Self::FailActivityTask { .. } => "FailActivityTask",
            Self::CancelActivityTask { .. } => "CancelActivityTask",
            Self::GetHistory { .. } => "GetHistory",
            Self::GetHistoryPage { .. } => "GetHistoryPage",
            Self::ListWorkflows { .. } => "ListWorkflows",
            Self::AwaitWorkflowClose { .. } => "AwaitWorkflowClose",
            Self::DescribeWorkflow { .. } => "DescribeWorkflow",
            Self::CreateNamespace { .. } => "CreateNamespace",
            Self::DescribeNamespace { .. } => "DescribeNamespace",
            Self::ListNamespaces => "ListNamespaces",
            Self::UpdateNamespace { .. } => "UpdateNamespace",
            Self::ResetWorkflow { .. } => "ResetWorkflow",
            Self::Health => "Health",
            Self::DeleteWorkflow { .. } => "DeleteWorkflow",
            Self::PollUpdate { .. } => "PollUpdate",
        }
    }
}

/// The engine's answer to a [`Request`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Response {
    /// Done; nothing to return.
    Done,
    /// A start's run.
    Started(StartWorkflowResponse),
    /// A polled workflow task, or none within the long-poll.
    WorkflowTask(Option<Box<WorkflowTaskForWorker>>),
    /// A workflow-task poll's other possible answer: a query to run.
    QueryTask(Box<QueryTaskForWorker>),
    /// A query's answer.
    QueryAnswered(QueryAnswer),
    /// A completion's outcome (accepted, or commands refused with a cause).
    WorkflowTaskCompleted(Reply),
    /// A polled activity task, or none within the long-poll.
    ActivityTask(Option<Box<ActivityTaskForWorker>>),
    /// A heartbeat's answer.
    Heartbeat {
        /// Cancellation of the activity was requested.
        cancel_requested: bool,
    },
    /// A history.
    History(Vec<HistoryEvent>),
    /// A page of a history.
    HistoryPage(HistoryPage),
    /// Runs listed.
    Workflows(Vec<VisibilityRow>),
    /// A description.
    Description(Box<WorkflowDescription>),
    /// An update's stage and outcome.
    Update(Box<UpdateWorkflowResponse>),
    /// Update-with-start's run and update.
    UpdateWithStart {
        /// The run started, or the running one.
        start: StartWorkflowResponse,
        /// The update.
        update: Box<UpdateWorkflowResponse>,
    },
    /// A reset's new run.
    Reset {
        /// The run the reset created.
        run_id: RunId,
    },
    /// A namespace's record.
    Namespace(Box<crate::namespace::NamespaceRecord>),
    /// Every namespace, by name.
    Namespaces(Vec<crate::namespace::NamespaceRecord>),
    /// The engine's health.
    Health(Health),
}

/// What kind of failure a [`RemoteError`] is: what the caller can do about it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ErrorKind {
    /// The workflow id is taken (see the error's run id).
    AlreadyStarted,
    /// No such workflow, run, task or attempt.
    NotFound,
    /// The request is invalid; retrying it cannot help.
    InvalidArgument,
    /// The run is closed, or closing.
    FailedPrecondition,
    /// A concurrent change won; retrying is safe.
    Conflict,
    /// The engine or its storage is unavailable, or the connection to it failed; retry
    /// later.
    Unavailable,
    /// The call did not finish within its deadline; it may or may not have taken effect.
    DeadlineExceeded,
    /// What the request would create exists already (a namespace).
    AlreadyExists,
    /// The server failed handling the request (a bug, or a library failing on bad data);
    /// it logged why. Retrying may or may not help.
    Internal,
}

/// A failed call, in a form that crosses a wire.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{kind:?}: {message}")]
pub struct RemoteError {
    /// What the caller can do.
    pub kind: ErrorKind,
    /// What happened, for people.
    pub message: String,
    /// For `AlreadyStarted`: the run that holds the workflow id.
    pub run_id: Option<RunId>,
}

/// A boxed `Send` future, as transports return them.
pub type TransportFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Response, RemoteError>> + Send + 'a>>;

/// The Transport port: carries one request to the engine and its response back. Long polls
/// resolve when a task comes or the poll expires (with an empty response).
pub trait Transport: Send + Sync + 'static {
    /// Sends `request` and waits for the response.
    fn call(&self, request: Request) -> TransportFuture<'_>;
}
