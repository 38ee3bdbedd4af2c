//! The attributes of each history event, field for field after Temporal's
//! `temporal.api.history.v1` messages (single-cluster fields only; Nexus, versioning and
//! replication fields are left out until a feature needs them).
//!
//! Back-references are typed [`EventId`]s: `scheduled_event_id`, `started_event_id`,
//! `initiated_event_id` and `workflow_task_completed_event_id` (the completion whose command
//! produced the event). Temporal's "0 = none" is `None` here.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::cron::CronSchedule;
use crate::enums::{
    CancelExternalWorkflowExecutionFailedCause, ContinueAsNewInitiator, ParentClosePolicy,
    RetryState, SignalExternalWorkflowExecutionFailedCause, StartChildWorkflowExecutionFailedCause,
    TimeoutType, UpdateAdmittedEventOrigin, VersioningBehavior, WorkflowIdReusePolicy,
    WorkflowTaskFailedCause,
};
use crate::failure::Failure;
use crate::ids::{
    ActivityId, ActivityType, EventId, MarkerName, Namespace, RequestId, RunId, SignalName,
    TaskQueueName, TimerId, WorkflowExecution, WorkflowId, WorkflowType,
};
use crate::payload::{Header, Memo, Payloads};
use crate::retry::RetryPolicy;
use crate::search_attributes::SearchAttributes;
use crate::task_queue::TaskQueue;
use crate::time::Timestamp;
use crate::update::{UpdateOutcome, UpdateRequest};
use crate::versioning::WorkerDeploymentVersion;

/// The parent of a child workflow run, as its Started event records it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "testing"), derive(proptest_derive::Arbitrary))]
pub struct ParentExecutionInfo {
    /// The parent's namespace.
    pub namespace: Namespace,
    /// The parent run.
    pub workflow_execution: WorkflowExecution,
    /// The parent's StartChildWorkflowExecutionInitiated event.
    pub initiated_event_id: EventId,
}

/// What the SDK records about itself in a workflow task completion.
#[derive(Clone, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "testing"), derive(proptest_derive::Arbitrary))]
pub struct SdkMetadata {
    /// Behaviour flags the SDK used for the first time in this task; replay honours them.
    pub flags: Vec<u32>,
    /// The SDK's name.
    pub sdk_name: String,
    /// The SDK's version.
    pub sdk_version: String,
}

/// WorkflowExecutionStarted: the first event of every run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "testing"), derive(proptest_derive::Arbitrary))]
pub struct WorkflowExecutionStartedEventAttributes {
    /// The workflow's type.
    pub workflow_type: WorkflowType,
    /// Set when the run is a child workflow.
    pub parent: Option<ParentExecutionInfo>,
    /// The workflow's task queue.
    pub task_queue: TaskQueueName,
    /// The workflow's arguments.
    pub input: Payloads,
    /// Limit on the whole chain.
    #[serde(with = "crate::duration_text::readable_option")]
    pub workflow_execution_timeout: Option<Duration>,
    /// Limit on this run.
    #[serde(with = "crate::duration_text::readable_option")]
    pub workflow_run_timeout: Option<Duration>,
    /// Limit on one workflow task (normalised).
    #[serde(with = "crate::duration_text::readable")]
    pub workflow_task_timeout: Duration,
    /// The run this one continues (continue-as-new, retry or cron).
    pub continued_execution_run_id: Option<RunId>,
    /// What started this run, when it continues another.
    pub initiator: Option<ContinueAsNewInitiator>,
    /// The previous run's failure, for a retry (or a cron run after a failure).
    pub continued_failure: Option<Failure>,
    /// The previous run's result, for a cron run.
    pub last_completion_result: Option<Payloads>,
    /// The run id this run was created with (before any reset).
    pub original_execution_run_id: RunId,
    /// Who started the workflow.
    pub identity: String,
    /// The first run of the chain.
    pub first_execution_run_id: RunId,
    /// The workflow's retry policy.
    pub retry_policy: Option<RetryPolicy>,
    /// The retry attempt of this run, from 1.
    pub attempt: u32,
    /// When the execution timeout expires, if set.
    pub workflow_execution_expiration_time: Option<Timestamp>,
    /// The cron schedule.
    pub cron_schedule: Option<CronSchedule>,
    /// Delay before the first workflow task (start delay, cron, retry backoff).
    #[serde(with = "crate::duration_text::readable_option")]
    pub first_workflow_task_backoff: Option<Duration>,
    /// The memo.
    pub memo: Memo,
    /// The search attributes.
    pub search_attributes: SearchAttributes,
    /// Context headers.
    pub header: Header,
}

/// WorkflowExecutionCompleted: the workflow returned a result.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "testing"), derive(proptest_derive::Arbitrary))]
pub struct WorkflowExecutionCompletedEventAttributes {
    /// The result.
    pub result: Option<Payloads>,
    /// The completion that carried the command.
    pub workflow_task_completed_event_id: EventId,
    /// The next run, when cron starts one.
    pub new_execution_run_id: Option<RunId>,
}

/// WorkflowExecutionFailed: the workflow returned an error.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "testing"), derive(proptest_derive::Arbitrary))]
pub struct WorkflowExecutionFailedEventAttributes {
    /// Why.
    pub failure: Failure,
    /// Whether a retry follows.
    pub retry_state: RetryState,
    /// The completion that carried the command.
    pub workflow_task_completed_event_id: EventId,
    /// The next run, when retry or cron starts one.
    pub new_execution_run_id: Option<RunId>,
}

/// WorkflowExecutionTimedOut: the run or execution timeout fired.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "testing"), derive(proptest_derive::Arbitrary))]
pub struct WorkflowExecutionTimedOutEventAttributes {
    /// Whether a retry follows.
    pub retry_state: RetryState,
    /// The next run, when retry or cron starts one.
    pub new_execution_run_id: Option<RunId>,
}

/// WorkflowTaskScheduled: the workflow has new events for a worker to process.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "testing"), derive(proptest_derive::Arbitrary))]
pub struct WorkflowTaskScheduledEventAttributes {
    /// The queue (normal or sticky).
    pub task_queue: TaskQueue,
    /// Limit on the task once started.
    #[serde(with = "crate::duration_text::readable")]
    pub start_to_close_timeout: Duration,
    /// The attempt, from 1.
    pub attempt: u32,
}

/// WorkflowTaskStarted: a worker took the task. Its time is the workflow's "now".
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "testing"), derive(proptest_derive::Arbitrary))]
pub struct WorkflowTaskStartedEventAttributes {
    /// The WorkflowTaskScheduled event.
    pub scheduled_event_id: EventId,
    /// The worker.
    pub identity: String,
    /// The poll request that took the task.
    pub request_id: String,
    /// History is long enough that continuing as new is advised.
    pub suggest_continue_as_new: bool,
    /// History size in bytes when the task started.
    pub history_size_bytes: u64,
}

/// WorkflowTaskCompleted: the worker answered with commands; their events follow.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "testing"), derive(proptest_derive::Arbitrary))]
pub struct WorkflowTaskCompletedEventAttributes {
    /// The WorkflowTaskScheduled event.
    pub scheduled_event_id: EventId,
    /// The WorkflowTaskStarted event.
    pub started_event_id: EventId,
    /// The worker.
    pub identity: String,
    /// The SDK's flags, name and version.
    pub sdk_metadata: SdkMetadata,
    /// The worker's deployment version, if it runs versioned (spec §5.13.1).
    #[serde(default)]
    pub worker_deployment_version: Option<WorkerDeploymentVersion>,
    /// How the worker declares the workflow type follows versions.
    #[serde(default)]
    pub versioning_behavior: VersioningBehavior,
}

/// WorkflowTaskTimedOut: start-to-close, or schedule-to-start on a sticky or speculative task.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "testing"), derive(proptest_derive::Arbitrary))]
pub struct WorkflowTaskTimedOutEventAttributes {
    /// The WorkflowTaskScheduled event.
    pub scheduled_event_id: EventId,
    /// The WorkflowTaskStarted event; `None` for a schedule-to-start timeout.
    pub started_event_id: Option<EventId>,
    /// Which timeout.
    pub timeout_type: TimeoutType,
}

/// WorkflowTaskFailed: the worker failed the task, the engine refused its commands, or a reset.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "testing"), derive(proptest_derive::Arbitrary))]
pub struct WorkflowTaskFailedEventAttributes {
    /// The WorkflowTaskScheduled event.
    pub scheduled_event_id: EventId,
    /// The WorkflowTaskStarted event.
    pub started_event_id: EventId,
    /// Why.
    pub cause: WorkflowTaskFailedCause,
    /// Details of the failure.
    pub failure: Option<Failure>,
    /// The worker (or "reset").
    pub identity: String,
    /// For a reset: the run that was reset.
    pub base_run_id: Option<RunId>,
    /// For a reset: the new run (reseeds randomness on replay).
    pub new_run_id: Option<RunId>,
}

/// ActivityTaskScheduled: the workflow scheduled an activity. Timeouts are normalised.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "testing"), derive(proptest_derive::Arbitrary))]
pub struct ActivityTaskScheduledEventAttributes {
    /// The activity id.
    pub activity_id: ActivityId,
    /// The activity's type.
    pub activity_type: ActivityType,
    /// The queue.
    pub task_queue: TaskQueueName,
    /// Context headers.
    pub header: Header,
    /// The arguments.
    pub input: Payloads,
    /// Limit on the whole activity; `None` is unlimited.
    #[serde(with = "crate::duration_text::readable_option")]
    pub schedule_to_close_timeout: Option<Duration>,
    /// Limit on waiting in the queue; `None` is unlimited.
    #[serde(with = "crate::duration_text::readable_option")]
    pub schedule_to_start_timeout: Option<Duration>,
    /// Limit on one attempt.
    #[serde(with = "crate::duration_text::readable")]
    pub start_to_close_timeout: Duration,
    /// Longest silence between heartbeats.
    #[serde(with = "crate::duration_text::readable_option")]
    pub heartbeat_timeout: Option<Duration>,
    /// The completion that carried the command.
    pub workflow_task_completed_event_id: EventId,
    /// The retry policy (activities always have one).
    pub retry_policy: RetryPolicy,
}

/// ActivityTaskStarted: written when the activity closes, showing the final attempt.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "testing"), derive(proptest_derive::Arbitrary))]
pub struct ActivityTaskStartedEventAttributes {
    /// The ActivityTaskScheduled event.
    pub scheduled_event_id: EventId,
    /// The worker that ran the final attempt.
    pub identity: String,
    /// The poll request that took the final attempt.
    pub request_id: String,
    /// The final attempt, from 1.
    pub attempt: u32,
    /// The failure of the attempt before it, if any.
    pub last_failure: Option<Failure>,
}

/// ActivityTaskCompleted: the activity returned a result.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "testing"), derive(proptest_derive::Arbitrary))]
pub struct ActivityTaskCompletedEventAttributes {
    /// The result.
    pub result: Option<Payloads>,
    /// The ActivityTaskScheduled event.
    pub scheduled_event_id: EventId,
    /// The ActivityTaskStarted event.
    pub started_event_id: EventId,
    /// The worker.
    pub identity: String,
}

/// ActivityTaskFailed: the final attempt failed and no retry follows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "testing"), derive(proptest_derive::Arbitrary))]
pub struct ActivityTaskFailedEventAttributes {
    /// Why.
    pub failure: Failure,
    /// The ActivityTaskScheduled event.
    pub scheduled_event_id: EventId,
    /// The ActivityTaskStarted event.
    pub started_event_id: EventId,
    /// The worker.
    pub identity: String,
    /// Why retrying stopped.
    pub retry_state: RetryState,
}

/// ActivityTaskTimedOut: a timeout fired and no retry follows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "testing"), derive(proptest_derive::Arbitrary))]
pub struct ActivityTaskTimedOutEventAttributes {
    /// The timeout failure; its cause is the last attempt's failure.
    pub failure: Failure,
    /// The ActivityTaskScheduled event.
    pub scheduled_event_id: EventId,
    /// The ActivityTaskStarted event, if an attempt started.
    pub started_event_id: Option<EventId>,
    /// Why retrying stopped.
    pub retry_state: RetryState,
}

/// ActivityTaskCancelRequested: the workflow asked to cancel an activity.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "testing"), derive(proptest_derive::Arbitrary))]
pub struct ActivityTaskCancelRequestedEventAttributes {
    /// The ActivityTaskScheduled event.
    pub scheduled_event_id: EventId,
    /// The completion that carried the command.
    pub workflow_task_completed_event_id: EventId,
}

/// ActivityTaskCanceled: the activity confirmed the cancel, or had not started.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "testing"), derive(proptest_derive::Arbitrary))]
pub struct ActivityTaskCanceledEventAttributes {
    /// Details given by the activity.
    pub details: Option<Payloads>,
    /// The ActivityTaskCancelRequested event.
    pub latest_cancel_requested_event_id: EventId,
    /// The ActivityTaskScheduled event.
    pub scheduled_event_id: EventId,
    /// The ActivityTaskStarted event, if it started.
    pub started_event_id: Option<EventId>,
    /// The worker.
    pub identity: String,
}

/// TimerStarted: the workflow started a timer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "testing"), derive(proptest_derive::Arbitrary))]
pub struct TimerStartedEventAttributes {
    /// The timer id.
    pub timer_id: TimerId,
    /// How long until it fires.
    #[serde(with = "crate::duration_text::readable")]
    pub start_to_fire_timeout: Duration,
    /// The completion that carried the command.
    pub workflow_task_completed_event_id: EventId,
}

/// TimerFired: the timer's time came.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "testing"), derive(proptest_derive::Arbitrary))]
pub struct TimerFiredEventAttributes {
    /// The timer id.
    pub timer_id: TimerId,
    /// The TimerStarted event.
    pub started_event_id: EventId,
}

/// TimerCanceled: the workflow cancelled the timer before it fired.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "testing"), derive(proptest_derive::Arbitrary))]
pub struct TimerCanceledEventAttributes {
    /// The timer id.
    pub timer_id: TimerId,
    /// The TimerStarted event.
    pub started_event_id: EventId,
    /// The completion that carried the command.
    pub workflow_task_completed_event_id: EventId,
    /// The worker.
    pub identity: String,
}

/// WorkflowExecutionCancelRequested: a client, the parent or another workflow asked the
/// workflow to cancel.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "testing"), derive(proptest_derive::Arbitrary))]
pub struct WorkflowExecutionCancelRequestedEventAttributes {
    /// The reason given.
    pub cause: String,
    /// The requesting workflow's RequestCancelExternal…Initiated event, if a workflow asked.
    pub external_initiated_event_id: Option<EventId>,
    /// The requesting workflow, if a workflow asked.
    pub external_workflow_execution: Option<WorkflowExecution>,
    /// Who asked.
    pub identity: String,
}

/// WorkflowExecutionCanceled: the workflow acknowledged the cancel and closed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "testing"), derive(proptest_derive::Arbitrary))]
pub struct WorkflowExecutionCanceledEventAttributes {
    /// The completion that carried the command.
    pub workflow_task_completed_event_id: EventId,
    /// Details.
    pub details: Option<Payloads>,
}

/// RequestCancelExternalWorkflowExecutionInitiated: the workflow asked to cancel another.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "testing"), derive(proptest_derive::Arbitrary))]
pub struct RequestCancelExternalWorkflowExecutionInitiatedEventAttributes {
    /// The completion that carried the command.
    pub workflow_task_completed_event_id: EventId,
    /// The target's namespace.
    pub namespace: Namespace,
    /// The target.
    pub workflow_execution: WorkflowExecution,
    /// Only a child of this workflow may be the target.
    pub child_workflow_only: bool,
    /// The reason given.
    pub reason: String,
}

/// RequestCancelExternalWorkflowExecutionFailed: the target was not found.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "testing"), derive(proptest_derive::Arbitrary))]
pub struct RequestCancelExternalWorkflowExecutionFailedEventAttributes {
    /// Why.
    pub cause: CancelExternalWorkflowExecutionFailedCause,
    /// The completion that carried the command.
    pub workflow_task_completed_event_id: EventId,
    /// The target's namespace.
    pub namespace: Namespace,
    /// The target.
    pub workflow_execution: WorkflowExecution,
    /// The Initiated event.
    pub initiated_event_id: EventId,
}

/// ExternalWorkflowExecutionCancelRequested: the cancel request reached the target.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "testing"), derive(proptest_derive::Arbitrary))]
pub struct ExternalWorkflowExecutionCancelRequestedEventAttributes {
    /// The Initiated event.
    pub initiated_event_id: EventId,
    /// The target's namespace.
    pub namespace: Namespace,
    /// The target.
    pub workflow_execution: WorkflowExecution,
}

/// MarkerRecorded: a side effect, version or local activity result recorded by the SDK.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "testing"), derive(proptest_derive::Arbitrary))]
pub struct MarkerRecordedEventAttributes {
    /// The marker's name (what kind of marker it is).
    pub marker_name: MarkerName,
    /// The marker's data.
    #[cfg_attr(
        any(test, feature = "testing"),
        proptest(
            strategy = "proptest::collection::btree_map(\"[a-z]{1,8}\", proptest::arbitrary::any::<Payloads>(), 0..3)"
        )
    )]
    pub details: BTreeMap<String, Payloads>,
    /// The completion that carried the command.
    pub workflow_task_completed_event_id: EventId,
    /// Context headers.
    pub header: Header,
    /// A failure, for a failed local activity.
    pub failure: Option<Failure>,
}

/// WorkflowExecutionSignaled: a signal arrived.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "testing"), derive(proptest_derive::Arbitrary))]
pub struct WorkflowExecutionSignaledEventAttributes {
    /// The signal's name.
    pub signal_name: SignalName,
    /// Its arguments.
    pub input: Payloads,
    /// Who sent it.
    pub identity: String,
    /// Context headers.
    pub header: Header,
    /// The request id of the signal, for deduplication.
    pub request_id: Option<RequestId>,
    /// The sending workflow, when another workflow signalled.
    pub external_workflow_execution: Option<WorkflowExecution>,
}

/// WorkflowExecutionTerminated: the run was ended without the workflow's involvement.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "testing"), derive(proptest_derive::Arbitrary))]
pub struct WorkflowExecutionTerminatedEventAttributes {
    /// The reason given.
    pub reason: String,
    /// Details.
    pub details: Option<Payloads>,
    /// Who terminated it.
    pub identity: String,
}

/// WorkflowExecutionContinuedAsNew: the run closed and a new run of the same id started.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "testing"), derive(proptest_derive::Arbitrary))]
pub struct WorkflowExecutionContinuedAsNewEventAttributes {
    /// The new run.
    pub new_execution_run_id: RunId,
    /// The new run's type.
    pub workflow_type: WorkflowType,
    /// The new run's queue.
    pub task_queue: TaskQueueName,
    /// The new run's arguments.
    pub input: Payloads,
    /// The new run's run timeout.
    #[serde(with = "crate::duration_text::readable_option")]
    pub workflow_run_timeout: Option<Duration>,
    /// The new run's workflow task timeout.
    #[serde(with = "crate::duration_text::readable")]
    pub workflow_task_timeout: Duration,
    /// The completion that carried the command.
    pub workflow_task_completed_event_id: EventId,
    /// Delay before the new run's first workflow task.
    #[serde(with = "crate::duration_text::readable_option")]
    pub backoff_start_interval: Option<Duration>,
    /// Why the new run was started.
    pub initiator: ContinueAsNewInitiator,
    /// The failure carried to the new run.
    pub failure: Option<Failure>,
    /// The result carried to the new run.
    pub last_completion_result: Option<Payloads>,
    /// Context headers.
    pub header: Header,
    /// The new run's memo.
    pub memo: Memo,
    /// The new run's search attributes.
    pub search_attributes: SearchAttributes,
}

/// StartChildWorkflowExecutionInitiated: the workflow asked to start a child.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "testing"), derive(proptest_derive::Arbitrary))]
pub struct StartChildWorkflowExecutionInitiatedEventAttributes {
    /// The child's namespace.
    pub namespace: Namespace,
    /// The child's workflow id.
    pub workflow_id: WorkflowId,
    /// The child's type.
    pub workflow_type: WorkflowType,
    /// The child's queue.
    pub task_queue: TaskQueueName,
    /// The child's arguments.
    pub input: Payloads,
    /// The child's execution timeout.
    #[serde(with = "crate::duration_text::readable_option")]
    pub workflow_execution_timeout: Option<Duration>,
    /// The child's run timeout.
    #[serde(with = "crate::duration_text::readable_option")]
    pub workflow_run_timeout: Option<Duration>,
    /// The child's workflow task timeout.
    #[serde(with = "crate::duration_text::readable_option")]
    pub workflow_task_timeout: Option<Duration>,
    /// What happens to the child when this workflow closes.
    pub parent_close_policy: ParentClosePolicy,
    /// The completion that carried the command.
    pub workflow_task_completed_event_id: EventId,
    /// The child id's reuse policy.
    pub workflow_id_reuse_policy: WorkflowIdReusePolicy,
    /// The child's retry policy.
    pub retry_policy: Option<RetryPolicy>,
    /// The child's cron schedule.
    pub cron_schedule: Option<CronSchedule>,
    /// Context headers.
    pub header: Header,
    /// The child's memo.
    pub memo: Memo,
    /// The child's search attributes.
    pub search_attributes: SearchAttributes,
}

/// StartChildWorkflowExecutionFailed: the child could not be started.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "testing"), derive(proptest_derive::Arbitrary))]
pub struct StartChildWorkflowExecutionFailedEventAttributes {
    /// The child's namespace.
    pub namespace: Namespace,
    /// The child's workflow id.
    pub workflow_id: WorkflowId,
    /// The child's type.
    pub workflow_type: WorkflowType,
    /// Why.
    pub cause: StartChildWorkflowExecutionFailedCause,
    /// The Initiated event.
    pub initiated_event_id: EventId,
    /// The completion that carried the command.
    pub workflow_task_completed_event_id: EventId,
}

/// ChildWorkflowExecutionStarted: the child's first run was created.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "testing"), derive(proptest_derive::Arbitrary))]
pub struct ChildWorkflowExecutionStartedEventAttributes {
    /// The child's namespace.
    pub namespace: Namespace,
    /// The Initiated event.
    pub initiated_event_id: EventId,
    /// The child, with its run id.
    pub workflow_execution: WorkflowExecution,
    /// The child's type.
    pub workflow_type: WorkflowType,
    /// Context headers.
    pub header: Header,
}

/// The fields every ChildWorkflowExecution close event carries: which child, and the
/// parent's Initiated and Started events for it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "testing"), derive(proptest_derive::Arbitrary))]
pub struct ChildWorkflowExecutionRef {
    /// The child's namespace.
    pub namespace: Namespace,
    /// The child, with the run id of its chain's last run.
    pub workflow_execution: WorkflowExecution,
    /// The child's type.
    pub workflow_type: WorkflowType,
    /// The Initiated event.
    pub initiated_event_id: EventId,
    /// The ChildWorkflowExecutionStarted event.
    pub started_event_id: EventId,
}

/// ChildWorkflowExecutionCompleted: the child's chain ended with a result.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "testing"), derive(proptest_derive::Arbitrary))]
pub struct ChildWorkflowExecutionCompletedEventAttributes {
    /// Which child.
    pub child: ChildWorkflowExecutionRef,
    /// The result.
    pub result: Option<Payloads>,
}

/// ChildWorkflowExecutionFailed: the child's chain ended with a failure.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "testing"), derive(proptest_derive::Arbitrary))]
pub struct ChildWorkflowExecutionFailedEventAttributes {
    /// Which child.
    pub child: ChildWorkflowExecutionRef,
    /// Why.
    pub failure: Failure,
    /// Why the child's retrying stopped.
    pub retry_state: RetryState,
}

/// ChildWorkflowExecutionCanceled: the child acknowledged a cancel and closed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "testing"), derive(proptest_derive::Arbitrary))]
pub struct ChildWorkflowExecutionCanceledEventAttributes {
    /// Which child.
    pub child: ChildWorkflowExecutionRef,
    /// Details.
    pub details: Option<Payloads>,
}

/// ChildWorkflowExecutionTimedOut: the child's timeout fired.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "testing"), derive(proptest_derive::Arbitrary))]
pub struct ChildWorkflowExecutionTimedOutEventAttributes {
    /// Which child.
    pub child: ChildWorkflowExecutionRef,
    /// Why the child's retrying stopped.
    pub retry_state: RetryState,
}

/// ChildWorkflowExecutionTerminated: the child was terminated.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "testing"), derive(proptest_derive::Arbitrary))]
pub struct ChildWorkflowExecutionTerminatedEventAttributes {
    /// Which child.
    pub child: ChildWorkflowExecutionRef,
}

/// SignalExternalWorkflowExecutionInitiated: the workflow sent a signal to another.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "testing"), derive(proptest_derive::Arbitrary))]
pub struct SignalExternalWorkflowExecutionInitiatedEventAttributes {
    /// The completion that carried the command.
    pub workflow_task_completed_event_id: EventId,
    /// The target's namespace.
    pub namespace: Namespace,
    /// The target.
    pub workflow_execution: WorkflowExecution,
    /// The signal's name.
    pub signal_name: SignalName,
    /// Its arguments.
    pub input: Payloads,
    /// Only a child of this workflow may be the target.
    pub child_workflow_only: bool,
    /// Context headers.
    pub header: Header,
}

/// SignalExternalWorkflowExecutionFailed: the signal could not be delivered.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "testing"), derive(proptest_derive::Arbitrary))]
pub struct SignalExternalWorkflowExecutionFailedEventAttributes {
    /// Why.
    pub cause: SignalExternalWorkflowExecutionFailedCause,
    /// The completion that carried the command.
    pub workflow_task_completed_event_id: EventId,
    /// The target's namespace.
    pub namespace: Namespace,
    /// The target.
    pub workflow_execution: WorkflowExecution,
    /// The Initiated event.
    pub initiated_event_id: EventId,
}

/// ExternalWorkflowExecutionSignaled: the signal reached the target.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "testing"), derive(proptest_derive::Arbitrary))]
pub struct ExternalWorkflowExecutionSignaledEventAttributes {
    /// The Initiated event.
    pub initiated_event_id: EventId,
    /// The target's namespace.
    pub namespace: Namespace,
    /// The target.
    pub workflow_execution: WorkflowExecution,
}

/// UpsertWorkflowSearchAttributes: the workflow changed its search attributes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "testing"), derive(proptest_derive::Arbitrary))]
pub struct UpsertWorkflowSearchAttributesEventAttributes {
    /// The completion that carried the command.
    pub workflow_task_completed_event_id: EventId,
    /// The attributes set (others are unchanged).
    pub search_attributes: SearchAttributes,
}

/// WorkflowExecutionUpdateAccepted: the workflow's validator accepted an update.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "testing"), derive(proptest_derive::Arbitrary))]
pub struct WorkflowExecutionUpdateAcceptedEventAttributes {
    /// The update protocol instance (the update id).
    pub protocol_instance_id: String,
    /// The id of the request message the worker accepted.
    pub accepted_request_message_id: String,
    /// The event after which the request was delivered to the worker.
    pub accepted_request_sequencing_event_id: EventId,
    /// The request itself, kept so replay and reset can deliver it again.
    pub accepted_request: UpdateRequest,
}

/// WorkflowExecutionUpdateCompleted: an accepted update's handler finished.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "testing"), derive(proptest_derive::Arbitrary))]
pub struct WorkflowExecutionUpdateCompletedEventAttributes {
    /// The update id.
    pub update_id: crate::ids::UpdateId,
    /// The UpdateAccepted event.
    pub accepted_event_id: EventId,
    /// The result or failure.
    pub outcome: UpdateOutcome,
}

/// WorkflowPropertiesModified: the workflow changed its memo.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "testing"), derive(proptest_derive::Arbitrary))]
pub struct WorkflowPropertiesModifiedEventAttributes {
    /// The completion that carried the command.
    pub workflow_task_completed_event_id: EventId,
    /// The memo fields set (others are unchanged).
    pub upserted_memo: Memo,
}

/// WorkflowExecutionOptionsUpdated: an operator changed the run's options (Temporal's
/// `UpdateWorkflowExecutionOptions`): its versioning override (spec §5.13.1).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "testing"), derive(proptest_derive::Arbitrary))]
pub struct WorkflowExecutionOptionsUpdatedEventAttributes {
    /// The override set, if one was.
    pub versioning_override: Option<crate::versioning::VersioningOverride>,
    /// Whether the override was removed.
    pub unset_versioning_override: bool,
    /// Who changed it.
    pub identity: String,
}

/// WorkflowExecutionUpdateAdmitted: an update reapplied by a reset (normal admission
/// writes no event).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(any(test, feature = "testing"), derive(proptest_derive::Arbitrary))]
pub struct WorkflowExecutionUpdateAdmittedEventAttributes {
    /// The request.
    pub request: UpdateRequest,
    /// Why the event exists.
    pub origin: UpdateAdmittedEventOrigin,
}
