//! `endure`: what users of Endure import.
//!
//! Today it re-exports the domain vocabulary of `endure-core` — options, retry policies,
//! payloads, failures, ids — so that user code names `endure::…` only. The client, worker,
//! workflow and activity APIs, the Replayer and the time-skipping test environment arrive
//! with their issues (see `README.md`'s feature table).

pub use endure_core::{
    ActivityCancellationType, ActivityId, ActivityOptions, ActivityType,
    ChildWorkflowCancellationType, CronSchedule, Failure, FailureInfo, Header, Memo, Namespace,
    ParentClosePolicy, Payload, PayloadError, Payloads, RetryPolicy, RunId, SearchAttributeValue,
    SearchAttributes, SignalName, StartWorkflowOptions, TaskQueueName, TimeoutType,
    ValidationError, WorkflowExecution, WorkflowExecutionStatus, WorkflowId,
    WorkflowIdConflictPolicy, WorkflowIdReusePolicy, WorkflowType,
};
