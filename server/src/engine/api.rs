//! What the engine API takes and returns, besides core types.

use endure_core::execution::{
    ActivityTaskStartedReply, ActivityTaskToken, Rejected, WorkflowTaskToken,
};
use endure_core::history::HistoryEvent;
use endure_core::options::StartWorkflowOptions;
use endure_core::storage::{ExecutionKey, StorageError, WriteRejection};
use endure_core::{
    Header, Namespace, Payloads, RunId, ValidationError, WorkflowExecutionStatus, WorkflowId,
    WorkflowType,
};

/// A client's start of a workflow.
#[derive(Clone, Debug)]
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
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StartWorkflowResponse {
    /// The run.
    pub run_id: RunId,
    /// False when an existing run was returned (same request id, or the use-existing policy).
    pub started: bool,
}

/// A workflow task handed to a worker.
#[derive(Clone, Debug)]
pub struct WorkflowTaskForWorker {
    /// The run.
    pub execution: ExecutionKey,
    /// The workflow type.
    pub workflow_type: WorkflowType,
    /// Answer with this.
    pub token: WorkflowTaskToken,
    /// The whole history up to and including this task's WorkflowTaskStarted.
    pub history: Vec<HistoryEvent>,
    /// The last task a worker completed, for sticky caches.
    pub previous_started_event_id: Option<endure_core::EventId>,
}

/// An activity attempt handed to a worker.
#[derive(Clone, Debug)]
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
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkflowDescription {
    /// The run.
    pub execution: ExecutionKey,
    /// Its status.
    pub status: WorkflowExecutionStatus,
    /// Number of events in its history.
    pub history_length: u64,
}

/// Why an engine call failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    /// The workflow id has a running run (id-conflict policy FAIL), or its closed run may not be
    /// reused (id-reuse policy).
    #[error("workflow {workflow_id} already started as run {run_id}")]
    AlreadyStarted {
        /// The workflow id.
        workflow_id: WorkflowId,
        /// The run that blocks the start.
        run_id: RunId,
    },
    /// No such workflow or run.
    #[error("workflow execution not found: {0}")]
    NotFound(String),
    /// The run refused the input.
    #[error(transparent)]
    Rejected(#[from] Rejected),
    /// The request is invalid.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// Storage failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// A concurrent change won; retrying the request is safe.
    #[error("write conflict, retry: {0}")]
    Conflict(WriteRejection),
    /// The engine stopped.
    #[error("the engine is shut down")]
    Shutdown,
}
