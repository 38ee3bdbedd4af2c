//! The engine API's error; its request and response types are `endure_core::protocol`'s.

use endure_core::execution::Rejected;
pub use endure_core::protocol::{
    ActivityTaskForWorker, Health, QueryAnswer, QueryTaskForWorker, StartWorkflowRequest,
    StartWorkflowResponse, WorkflowDescription, WorkflowTaskForWorker,
};
use endure_core::storage::{StorageError, WriteRejection};
use endure_core::{Namespace, RunId, UpdateAbort, ValidationError, WorkflowId};

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
    /// No worker of the named deployment has polled, so the deployment is unknown.
    #[error(
        "worker deployment {0:?} not found: no worker of it has polled; start workers with its name and a build id first"
    )]
    DeploymentNotFound(String),
    /// The request names a namespace that does not exist.
    #[error("namespace {0} not found; create it first (`endure namespace create {0}`)")]
    NamespaceNotFound(Namespace),
    /// A namespace of that name exists already.
    #[error("namespace {0} already exists")]
    NamespaceExists(Namespace),
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
    /// This node of a cluster does not serve the workflow's shard (now): another node
    /// holds it, or its lease is moving; retry, through the node that holds it.
    #[error(
        "shard {shard} is not served by this node; retry (the cluster is moving it, or another node holds it)"
    )]
    NotServed {
        /// The shard.
        shard: u32,
    },
    /// A request the engine cannot take as given (say, an empty query type).
    #[error("bad request: {0}")]
    BadRequest(String),
    /// The run is not in a state to answer (a query before its first workflow task).
    #[error("not yet possible: {0}")]
    NotReady(String),
    /// Too many requests wait for the same part of the engine; retry shortly.
    #[error("the engine is overloaded ({0}); retry shortly")]
    Overloaded(String),
    /// Nobody answered in time (a query no worker took).
    #[error("timed out: {0}")]
    TimedOut(String),
    /// The update will not complete (the workflow closed before taking it, or the task
    /// that received it failed); sending it again with the same id may succeed.
    #[error("update aborted: {0}")]
    UpdateAborted(UpdateAbort),
}
