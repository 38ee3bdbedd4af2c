//! `endure`: what users of Endure import.
//!
//! Today it holds the workflow side of the SDK — [`workflow::WorkflowContext`], the API
//! workflow code uses instead of clocks, threads, sleeps and randomness, and
//! [`workflow::WorkflowExecutor`], which runs a workflow's coroutines deterministically — and
//! re-exports the domain vocabulary of `endure-core` so that user code names `endure::…`
//! only. The client, worker, activity API, Replayer and test environment arrive with their
//! issues (see `README.md`'s feature table).

pub mod activity;
pub mod replayer;
pub mod workflow;

pub use replayer::{ReplayFailure, Replayer};

pub use endure_core::{
    ActivityCancellationType, ActivityId, ActivityOptions, ActivityType,
    ChildWorkflowCancellationType, CronSchedule, Failure, FailureInfo, Header, Memo, Namespace,
    ParentClosePolicy, Payload, PayloadError, Payloads, RetryPolicy, RunId, SearchAttributeValue,
    SearchAttributes, SignalName, StartWorkflowOptions, TaskQueueName, TimeoutType,
    ValidationError, WorkflowExecution, WorkflowExecutionStatus, WorkflowId,
    WorkflowIdConflictPolicy, WorkflowIdReusePolicy, WorkflowType,
};
