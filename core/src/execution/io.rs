//! What goes into the execution machine ([`Input`], [`StartRequest`]) and what comes out
//! ([`Effects`], [`Reply`], [`Task`], [`Rejected`]).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::ExecutionMachine;
use crate::command::Command;
use crate::cron::CronSchedule;
use crate::enums::{
    CancelExternalWorkflowExecutionFailedCause, ContinueAsNewInitiator,
    SignalExternalWorkflowExecutionFailedCause, WorkflowTaskFailedCause,
};
use crate::failure::Failure;
use crate::history::{HistoryEvent, ParentExecutionInfo, SdkMetadata};
use crate::ids::{
    EventId, Namespace, RequestId, RunId, SignalName, TaskQueueName, WorkflowExecution, WorkflowId,
    WorkflowType,
};
use crate::options::StartWorkflowOptions;
use crate::payload::{Header, Memo, Payloads};
use crate::retry::RetryPolicy;
use crate::search_attributes::SearchAttributes;
use crate::task_queue::TaskQueue;
use crate::time::Timestamp;
use crate::update::{UpdateDelivery, UpdateMessage, UpdateNotice, UpdateRequest, UpdateStage};
use crate::validation::ValidationError;

/// Everything needed to create a run. Built from client options with
/// [`StartRequest::from_options`], or by the machine itself for the next run of a chain
/// (continue-as-new, retry, cron).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StartRequest {
    /// The namespace.
    pub namespace: Namespace,
    /// The workflow id.
    pub workflow_id: WorkflowId,
    /// The new run's id (drawn by the runtime).
    pub run_id: RunId,
    /// The workflow type.
    pub workflow_type: WorkflowType,
    /// The workflow's task queue.
    pub task_queue: TaskQueueName,
    /// The arguments.
    pub input: Payloads,
    /// Limit on the whole chain, if any, as an absolute time (carried across runs).
    pub execution_expiration_time: Option<Timestamp>,
    /// The execution timeout as given (recorded in the Started event).
    #[serde(with = "crate::duration_text::readable_option")]
    pub execution_timeout: Option<Duration>,
    /// Limit on this run.
    #[serde(with = "crate::duration_text::readable_option")]
    pub run_timeout: Option<Duration>,
    /// Limit on one workflow task (normalised: default 10 s, at most 120 s).
    #[serde(with = "crate::duration_text::readable")]
    pub task_timeout: Duration,
    /// The workflow retry policy.
    pub retry_policy: Option<RetryPolicy>,
    /// The cron schedule.
    pub cron_schedule: Option<CronSchedule>,
    /// Delay before the first workflow task (start delay, retry or cron backoff).
    #[serde(with = "crate::duration_text::readable_option")]
    pub first_workflow_task_backoff: Option<Duration>,
    /// The memo.
    pub memo: Memo,
    /// The search attributes.
    pub search_attributes: SearchAttributes,
    /// Context headers.
    pub header: Header,
    /// Who started it.
    pub identity: String,
    /// The start request id, for deduplication by the runtime.
    pub request_id: Option<RequestId>,
    /// The parent, for a child workflow.
    pub parent: Option<ParentExecutionInfo>,
    /// The run this one continues, and how.
    pub continued: Option<Continuation>,
    /// The first run of the chain (this run's id for a first run).
    pub first_execution_run_id: RunId,
    /// The retry attempt, from 1.
    pub attempt: u32,
    /// A signal delivered with the start (signal-with-start).
    pub signal: Option<SignalRequest>,
}

/// How a run continues an earlier one.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Continuation {
    /// The previous run.
    pub previous_run_id: RunId,
    /// Why this run was started.
    pub initiator: ContinueAsNewInitiator,
    /// The previous run's failure (retry, or cron after a failure).
    pub failure: Option<Failure>,
    /// The previous run's result (cron).
    pub last_completion_result: Option<Payloads>,
}

impl StartRequest {
    /// The start of a first run from client options. Validates the options; computes the
    /// execution expiration from `now`; `identity` is the client's.
    #[allow(clippy::too_many_arguments)]
    pub fn from_options(
        namespace: Namespace,
        options: &StartWorkflowOptions,
        run_id: RunId,
        workflow_type: WorkflowType,
        input: Payloads,
        header: Header,
        identity: String,
        now: Timestamp,
    ) -> Result<Self, ValidationError> {
        options.validate()?;
        input.check_size("input")?;
        header.check_size("header")?;
        Ok(Self {
            namespace,
            workflow_id: options.id.clone(),
            run_id,
            workflow_type,
            task_queue: options.task_queue.clone(),
            input,
            execution_expiration_time: options
                .execution_timeout
                .map(|timeout| now.saturating_add(timeout)),
            execution_timeout: options.execution_timeout,
            run_timeout: options.run_timeout,
            task_timeout: options.effective_task_timeout(),
            retry_policy: options.retry_policy.clone(),
            cron_schedule: options.cron_schedule.clone(),
            // A cron workflow's first run waits for the schedule's first fire time.
            first_workflow_task_backoff: match &options.cron_schedule {
                Some(schedule) => schedule
                    .next_after(now)
                    .map(|fire| fire.saturating_duration_since(now)),
                None => options.start_delay,
            },
            memo: options.memo.clone(),
            search_attributes: options.search_attributes.clone(),
            header,
            identity,
            request_id: options.request_id.clone(),
            parent: None,
            continued: None,
            first_execution_run_id: run_id,
            attempt: 1,
            signal: None,
        })
    }
}

/// A signal sent to a run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SignalRequest {
    /// The signal's name.
    pub signal_name: SignalName,
    /// Its arguments.
    pub input: Payloads,
    /// Who sent it.
    pub identity: String,
    /// Context headers.
    pub header: Header,
    /// Deduplicates a retried signal.
    pub request_id: Option<RequestId>,
}

impl SignalRequest {
    /// Signal `signal_name` with `input` from `identity`, with no header and no request id
    /// (set the fields to add them).
    pub fn new(signal_name: SignalName, input: Payloads, identity: impl Into<String>) -> Self {
        Self {
            signal_name,
            input,
            identity: identity.into(),
            header: Header::new(),
            request_id: None,
        }
    }
}

/// Identifies one workflow task handed to a worker; a completion for another task (an
/// older attempt, a task that timed out) is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkflowTaskToken {
    /// The task's WorkflowTaskScheduled event (reserved, for transient tasks).
    pub scheduled_event_id: EventId,
    /// The task's WorkflowTaskStarted event (reserved, for transient tasks).
    pub started_event_id: EventId,
    /// The attempt.
    pub attempt: u32,
}

/// Identifies one attempt of one activity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivityTaskToken {
    /// The ActivityTaskScheduled event.
    pub scheduled_event_id: EventId,
    /// The attempt.
    pub attempt: u32,
}

/// A worker's sticky queue, sent with a completion so the next task goes to it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StickyAttributes {
    /// The worker's own queue.
    pub task_queue: TaskQueueName,
    /// How long a task may wait there before falling back to the normal queue.
    #[serde(with = "crate::duration_text::readable")]
    pub schedule_to_start_timeout: Duration,
}

/// A worker's successful answer to a workflow task.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WorkflowTaskCompletion {
    /// The task answered.
    pub token: WorkflowTaskToken,
    /// The commands, in order.
    pub commands: Vec<Command>,
    /// The worker.
    pub identity: String,
    /// Where to send the next task; `None` clears stickiness.
    pub sticky: Option<StickyAttributes>,
    /// Ask for a new workflow task even with nothing new (the local-activity heartbeat).
    pub force_create_workflow_task: bool,
    /// The SDK's flags, name and version.
    pub sdk_metadata: SdkMetadata,
    /// The id the next run gets if this completion closes the run with a successor
    /// (continue-as-new, retry, cron). An input like any other: the engine's shard draws
    /// it when it applies the completion (the protocol's completion has no such field).
    pub next_run_id: RunId,
    /// Answers to the updates delivered with the task, placed among the commands by
    /// `ProtocolMessage` commands (those no command names are processed after them).
    pub messages: Vec<UpdateMessage>,
    /// The worker's deployment version, if it runs versioned.
    #[serde(default)]
    pub deployment_version: Option<crate::versioning::WorkerDeploymentVersion>,
    /// How the worker declares the workflow type follows versions.
    #[serde(default)]
    pub versioning_behavior: crate::enums::VersioningBehavior,
}

impl WorkflowTaskCompletion {
    /// `identity`'s answer to task `token` with `commands`, and nothing else: no sticky
    /// queue, no update messages, no SDK metadata, unversioned (set the fields to add
    /// them); the shard draws `next_run_id`.
    pub fn new(
        token: WorkflowTaskToken,
        commands: Vec<Command>,
        identity: impl Into<String>,
    ) -> Self {
        Self {
            token,
            commands,
            identity: identity.into(),
            sticky: None,
            force_create_workflow_task: false,
            sdk_metadata: SdkMetadata::default(),
            next_run_id: RunId::from_u128(0),
            messages: Vec::new(),
            deployment_version: None,
            versioning_behavior: crate::enums::VersioningBehavior::default(),
        }
    }
}

/// One input to a run's machine. Every input is applied at a `now` given with it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Input {
    /// A worker took the pending workflow task.
    WorkflowTaskStarted {
        /// The pending task's WorkflowTaskScheduled event.
        scheduled_event_id: EventId,
        /// The poll request; a retried start with the same id gets the same answer.
        request_id: String,
        /// The worker.
        identity: String,
    },
    /// A worker completed the started workflow task.
    WorkflowTaskCompleted(Box<WorkflowTaskCompletion>),
    /// A worker failed the started workflow task.
    WorkflowTaskFailed {
        /// The task.
        token: WorkflowTaskToken,
        /// Why.
        cause: WorkflowTaskFailedCause,
        /// Details.
        failure: Option<Failure>,
        /// The worker.
        identity: String,
    },
    /// A worker took an activity attempt.
    ActivityTaskStarted {
        /// The attempt.
        token: ActivityTaskToken,
        /// The poll request; a retried start with the same id gets the same answer.
        request_id: String,
        /// The worker.
        identity: String,
    },
    /// The worker the run is sticky to stopped: its next tasks go to the normal queue
    /// (a task already waiting on the sticky queue still falls back on its timeout).
    ResetStickyTaskQueue,
    /// A running activity reported progress.
    ActivityTaskHeartbeat {
        /// The attempt.
        token: ActivityTaskToken,
        /// Progress details, given to the next attempt.
        details: Option<Payloads>,
    },
    /// An activity attempt returned a result.
    ActivityTaskCompleted {
        /// The attempt.
        token: ActivityTaskToken,
        /// The result.
        result: Option<Payloads>,
        /// The worker.
        identity: String,
    },
    /// An activity attempt failed.
    ActivityTaskFailed {
        /// The attempt.
        token: ActivityTaskToken,
        /// Why.
        failure: Failure,
        /// The worker.
        identity: String,
    },
    /// An activity acknowledged a cancel request.
    ActivityTaskCanceled {
        /// The attempt.
        token: ActivityTaskToken,
        /// Details.
        details: Option<Payloads>,
        /// The worker.
        identity: String,
    },
    /// A signal arrived.
    Signal(SignalRequest),
    /// A signal-with-start found the run open: a signal that also ends a start delay.
    SignalWithStart(SignalRequest),
    /// Cancellation of the workflow was requested.
    RequestCancel {
        /// The reason given.
        reason: String,
        /// Who asked.
        identity: String,
        /// Deduplicates a retried request.
        request_id: Option<RequestId>,
    },
    /// The run is to be terminated.
    Terminate {
        /// The reason given.
        reason: String,
        /// Details.
        details: Option<Payloads>,
        /// Who asked.
        identity: String,
    },
    /// The child initiated by this run's event started as `run_id` (the runtime started it).
    ChildWorkflowStarted {
        /// The StartChildWorkflowExecutionInitiated event.
        initiated_event_id: EventId,
        /// The child's first run.
        run_id: RunId,
        /// The header the child was started with (the Initiated event's), which Temporal
        /// repeats on ChildWorkflowExecutionStarted.
        #[serde(default)]
        header: Header,
    },
    /// The child initiated by this run's event could not be started.
    StartChildWorkflowFailed {
        /// The StartChildWorkflowExecutionInitiated event.
        initiated_event_id: EventId,
        /// Why.
        cause: crate::enums::StartChildWorkflowExecutionFailedCause,
    },
    /// The chain of the child initiated by this run's event ended.
    ChildWorkflowClosed {
        /// The StartChildWorkflowExecutionInitiated event.
        initiated_event_id: EventId,
        /// The child's first run (its start may not have been reported yet).
        run_id: RunId,
        /// How.
        outcome: super::ChildOutcome,
    },
    /// Time passed: fire every deadline due at `now`.
    Deadline {
        /// The id the next run gets if a timeout starts one (retry or cron).
        next_run_id: RunId,
    },
    /// Another workflow signalled this run (its SignalExternalWorkflowExecution command,
    /// delivered by the runtime). The signal's request id makes a redelivery a no-op.
    SignalFromWorkflow {
        /// The signal.
        signal: SignalRequest,
        /// The sending run.
        sender: WorkflowExecution,
    },
    /// Another workflow asked this run to cancel (its RequestCancelExternalWorkflowExecution
    /// command, delivered by the runtime).
    RequestCancelFromWorkflow {
        /// The reason given.
        reason: String,
        /// The requesting run.
        sender: WorkflowExecution,
        /// The requesting run's RequestCancelExternalWorkflowExecutionInitiated event.
        initiated_event_id: EventId,
    },
    /// A client's update (spec §5.19.3): admitted in memory until the workflow answers;
    /// `ends_start_delay` for update-with-start.
    Update {
        /// The request.
        request: UpdateRequest,
        /// Update-with-start: the first workflow task runs now, start delay or not.
        ends_start_delay: bool,
    },
    /// The runtime delivered a signal this run sent (`failure: None`), or could not.
    ExternalSignalResolved {
        /// The signal, as its Initiated event names it.
        request: ExternalRequest,
        /// Why it could not be delivered.
        failure: Option<SignalExternalWorkflowExecutionFailedCause>,
    },
    /// The runtime delivered a cancel request this run sent (`failure: None`), or could not.
    ExternalCancelResolved {
        /// The request, as its Initiated event names it.
        request: ExternalRequest,
        /// Why it could not be delivered.
        failure: Option<CancelExternalWorkflowExecutionFailedCause>,
    },
    /// An operator changed the run's options (Temporal's `UpdateWorkflowExecutionOptions`):
    /// set or remove its versioning override (spec §5.13.1). Its next tasks follow it.
    UpdateOptions {
        /// The override to set; `None` with `unset` removes it.
        versioning_override: Option<crate::versioning::VersioningOverride>,
        /// Remove the override.
        unset_versioning_override: bool,
        /// Who changed it.
        identity: String,
    },
}

impl Input {
    /// The input's name, for logs and spans.
    pub fn name(&self) -> &'static str {
        match self {
            Self::WorkflowTaskStarted { .. } => "WorkflowTaskStarted",
            Self::WorkflowTaskCompleted(_) => "WorkflowTaskCompleted",
            Self::WorkflowTaskFailed { .. } => "WorkflowTaskFailed",
            Self::ActivityTaskStarted { .. } => "ActivityTaskStarted",
            Self::ResetStickyTaskQueue => "ResetStickyTaskQueue",
            Self::ActivityTaskHeartbeat { .. } => "ActivityTaskHeartbeat",
            Self::ActivityTaskCompleted { .. } => "ActivityTaskCompleted",
            Self::ActivityTaskFailed { .. } => "ActivityTaskFailed",
            Self::ActivityTaskCanceled { .. } => "ActivityTaskCanceled",
            Self::Signal(_) => "Signal",
            Self::SignalWithStart(_) => "SignalWithStart",
            Self::RequestCancel { .. } => "RequestCancel",
            Self::Terminate { .. } => "Terminate",
            Self::ChildWorkflowStarted { .. } => "ChildWorkflowStarted",
            Self::StartChildWorkflowFailed { .. } => "StartChildWorkflowFailed",
            Self::ChildWorkflowClosed { .. } => "ChildWorkflowClosed",
            Self::Deadline { .. } => "Deadline",
            Self::SignalFromWorkflow { .. } => "SignalFromWorkflow",
            Self::RequestCancelFromWorkflow { .. } => "RequestCancelFromWorkflow",
            Self::Update { .. } => "Update",
            Self::ExternalSignalResolved { .. } => "ExternalSignalResolved",
            Self::ExternalCancelResolved { .. } => "ExternalCancelResolved",
            Self::UpdateOptions { .. } => "UpdateOptions",
        }
    }
}

/// A signal or cancel request this run sent to another workflow, as its Initiated event
/// names it; the runtime reads it from history to report the outcome.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExternalRequest {
    /// The SignalExternal… or RequestCancelExternal…Initiated event.
    pub initiated_event_id: EventId,
    /// The completion that carried the command (the Initiated event's back-reference).
    pub workflow_task_completed_event_id: EventId,
    /// The target's namespace.
    pub namespace: Namespace,
    /// The target, as the command named it.
    pub workflow_execution: WorkflowExecution,
}

/// Why an input was refused. The machine is unchanged.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Rejected {
    /// The run is closed.
    #[error("workflow execution already completed")]
    WorkflowClosed,
    /// The task, attempt or activity is not the current one (stale, timed out, retried).
    #[error("{0} not found; it may have timed out, been retried or completed")]
    NotFound(String),
    /// A signal arrived while the workflow is retrying a close that signals interrupted.
    #[error("workflow is closing; signals are refused until it closes")]
    WorkflowClosing,
    /// The run has received its maximum number of signals.
    #[error("the run has received {0} signals, the maximum")]
    SignalLimitExceeded(u64),
    /// Too many updates in flight, or over the run's life.
    #[error("the run has {0}")]
    UpdateLimitExceeded(String),
    /// The input itself is invalid.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
}

/// A task the runtime must hand to matching once the transition is durable.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Task {
    /// A workflow task is ready.
    WorkflowTask {
        /// Its WorkflowTaskScheduled event (reserved for transient and speculative tasks).
        scheduled_event_id: EventId,
        /// Its attempt.
        attempt: u32,
        /// The queue (normal or sticky).
        task_queue: TaskQueue,
        /// Not persisted: hand it only to a poller that is waiting, never to the backlog.
        speculative: bool,
    },
    /// An activity attempt is ready.
    ActivityTask {
        /// The activity's ActivityTaskScheduled event.
        scheduled_event_id: EventId,
        /// The attempt.
        attempt: u32,
        /// The queue.
        task_queue: TaskQueueName,
    },
    /// Start the child initiated by this event.
    StartChildWorkflow {
        /// The StartChildWorkflowExecutionInitiated event.
        initiated_event_id: EventId,
    },
    /// The run closed: terminate the started child initiated by this event, or ask it to
    /// cancel, as its parent close policy says.
    ApplyParentClosePolicy {
        /// The StartChildWorkflowExecutionInitiated event.
        initiated_event_id: EventId,
    },
    /// This child's chain ended: tell the parent how.
    RecordChildCompletion,
    /// Deliver the signal initiated by this event.
    SignalExternalWorkflow {
        /// The SignalExternalWorkflowExecutionInitiated event.
        initiated_event_id: EventId,
    },
    /// Deliver the cancel request initiated by this event.
    RequestCancelExternalWorkflow {
        /// The RequestCancelExternalWorkflowExecutionInitiated event.
        initiated_event_id: EventId,
    },
}

/// What a worker needs to run a started workflow task, besides the persisted history.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WorkflowTaskStartedReply {
    /// The token to answer with.
    pub token: WorkflowTaskToken,
    /// The last workflow task started before this one that a worker completed.
    pub previous_started_event_id: Option<EventId>,
    /// The run's workflow type.
    pub workflow_type: crate::ids::WorkflowType,
    /// Whether the task was on a worker's sticky queue: that worker has the run cached up
    /// to `previous_started_event_id`, so it is sent only the events after it.
    pub sticky: bool,
    /// Events of this task not in persisted history: the Scheduled and Started events of a
    /// transient or speculative task.
    pub transient_events: Vec<HistoryEvent>,
    /// The updates the workflow sees after the task's events.
    pub updates: Vec<UpdateDelivery>,
}

impl WorkflowTaskStartedReply {
    /// The first event of history the task's worker needs: a sticky task's worker has the
    /// run up to its previous task; any other worker starts from the first event.
    pub fn history_from(&self) -> EventId {
        match self.previous_started_event_id {
            Some(previous) if self.sticky => previous.next(),
            _ => EventId::FIRST,
        }
    }
}

/// What a worker needs to run an activity attempt.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ActivityTaskStartedReply {
    /// The token to answer with.
    pub token: ActivityTaskToken,
    /// The activity's ActivityTaskScheduled attributes (id, type, input, timeouts).
    pub scheduled: crate::history::ActivityTaskScheduledEventAttributes,
    /// The type of the workflow that scheduled it.
    pub workflow_type: crate::ids::WorkflowType,
    /// The last heartbeat's details, for a retried attempt.
    pub heartbeat_details: Option<Payloads>,
    /// When the activity was first scheduled.
    pub scheduled_time: Timestamp,
    /// When this attempt was scheduled.
    pub current_attempt_scheduled_time: Timestamp,
    /// When this attempt started.
    pub started_time: Timestamp,
}

/// The answer to the input that caused a transition.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
pub enum Reply {
    /// Nothing to say beyond success.
    #[default]
    Accepted,
    /// The input repeated an earlier one (same request id); nothing changed.
    Duplicate,
    /// The workflow task was started.
    WorkflowTaskStarted(Box<WorkflowTaskStartedReply>),
    /// The completion's commands were refused; the task failed with this cause.
    WorkflowTaskCommandsRefused {
        /// The cause written in WorkflowTaskFailed.
        cause: WorkflowTaskFailedCause,
        /// What was wrong.
        message: String,
    },
    /// A speculative task's completion recorded nothing, so the task left no trace; the
    /// worker rolls its history back to this event.
    WorkflowTaskDiscarded {
        /// The last workflow task started event the workflow has completed.
        reset_history_event_id: Option<EventId>,
    },
    /// The activity attempt was started.
    ActivityTaskStarted(Box<ActivityTaskStartedReply>),
    /// A workflow task's completion was taken, and the activities it scheduled with eager
    /// execution requested were started for the completing worker (in command order).
    EagerActivityTasks(Vec<ActivityTaskStartedReply>),
    /// A heartbeat was recorded.
    Heartbeat {
        /// Cancellation of the activity was requested.
        cancel_requested: bool,
    },
    /// An update's state: `Admitted` for a new (or already admitted) one; for one this run
    /// accepted earlier, its stage and, once completed, its UpdateCompleted event.
    Update {
        /// How far it has come.
        stage: UpdateStage,
        /// The UpdateCompleted event, once completed.
        completed_event_id: Option<EventId>,
    },
}

/// The next run of a chain, created in the same transition as the close of this one.
#[derive(Clone, Debug, PartialEq)]
pub struct NextRun {
    /// The new run's machine.
    pub machine: ExecutionMachine,
    /// The new run's first events and tasks.
    pub effects: Effects,
}

/// What a transition produced. The runtime persists `events` (and `next_run`) atomically
/// with the machine, then hands `tasks` to matching and sends `reply`.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Effects {
    /// New history events of this run, in order, with dense ids.
    pub events: Vec<HistoryEvent>,
    /// Tasks to dispatch.
    pub tasks: Vec<Task>,
    /// The answer to the input.
    pub reply: Reply,
    /// The run that continues this one, if the transition closed it with a successor.
    pub next_run: Option<Box<NextRun>>,
    /// What happened to updates in this transition, for whoever waits on them.
    pub updates: Vec<(crate::ids::UpdateId, UpdateNotice)>,
    /// History warning thresholds this transition crossed, for the runtime to log.
    pub warnings: Vec<super::HistoryWarning>,
}
