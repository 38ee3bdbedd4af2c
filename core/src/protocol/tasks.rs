//! What workers send and get: polls for workflow, query and activity tasks, and the answers
//! to them.

use serde::{Deserialize, Serialize};

use super::CheckText;
use super::text::identity;
use super::workflows::QueryAnswer;
use crate::ValidationError;
use crate::WorkflowTaskFailedCause;
use crate::command::Command;
use crate::execution::{
    ActivityTaskStartedReply, ActivityTaskToken, StickyAttributes, WorkflowTaskToken,
};
use crate::failure::Failure;
use crate::history::SdkMetadata;
use crate::history::{ActivityTaskScheduledEventAttributes, HistoryEvent};
use crate::ids::ExecutionKey;
use crate::ids::{EventId, Namespace, TaskQueueName, WorkflowType};
use crate::payload::{Header, Payloads};
use crate::payload_codec::{CodecError, PayloadVisitor, VisitPayloads};
use crate::time::Timestamp;
use crate::update::{UpdateDelivery, UpdateMessage};
use crate::versioning::{VersioningBehavior, WorkerDeploymentVersion};

/// Long-poll a workflow task on a queue; answered with a workflow task, a query task or
/// nothing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PollWorkflowTaskRequest {
    /// The namespace.
    pub namespace: Namespace,
    /// The queue.
    pub task_queue: TaskQueueName,
    /// The worker.
    pub identity: String,
    /// The worker's deployment version, if it runs versioned: it gets only tasks routed
    /// to that version (spec §5.13.1).
    pub deployment_version: Option<WorkerDeploymentVersion>,
    /// For a poll of the worker's sticky queue, the queue it stands in for (Temporal's
    /// `normal_name`): the version's deployment lists that one, not the sticky queue.
    pub normal_queue: Option<TaskQueueName>,
}

/// What a workflow-task poll got.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum PolledWorkflowTask {
    /// A workflow task, started.
    Task(Box<WorkflowTaskForWorker>),
    /// A query to answer.
    Query(Box<QueryTaskForWorker>),
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
    /// run cached at that point fetches the earlier events with a history page request).
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

/// A query handed to a worker (spec §5.19.1): answer it from the workflow's state after
/// its last completed workflow task, without running a task or writing history.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QueryTaskForWorker {
    /// The run.
    pub execution: ExecutionKey,
    /// The workflow type.
    pub workflow_type: WorkflowType,
    /// Answer with this id ([`RespondQueryTaskRequest`]).
    pub query_id: u64,
    /// The query's name.
    pub query_type: String,
    /// Its arguments.
    pub args: Payloads,
    /// The client's context headers.
    pub header: Header,
    /// The first page (at most 1 MiB) of the history (a worker without the run cached
    /// replays all of it).
    pub history: Vec<HistoryEvent>,
    /// Where the rest of the history starts, if it did not fit in one page.
    pub next_page: Option<EventId>,
    /// The WorkflowTaskStarted of the last completed workflow task: the point the answer
    /// reflects (a cached run stopped exactly there can answer at once).
    pub previous_started_event_id: EventId,
}

/// A worker's completion of a workflow task (Temporal's
/// `RespondWorkflowTaskCompletedRequest`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CompleteWorkflowTaskRequest {
    /// The run.
    pub execution: ExecutionKey,
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
    /// Answers to the updates delivered with the task, placed among the commands by
    /// `ProtocolMessage` commands (those no command names are processed after them).
    pub messages: Vec<UpdateMessage>,
    /// The worker's deployment version, if it runs versioned.
    pub deployment_version: Option<WorkerDeploymentVersion>,
    /// How the worker declares the workflow type follows versions.
    pub versioning_behavior: VersioningBehavior,
}

/// What became of a workflow task's completion.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum CompleteWorkflowTaskResponse {
    /// Taken as sent.
    Accepted,
    /// The same completion was taken before; nothing changed.
    Duplicate,
    /// The commands were refused; the task failed with this cause (and is retried).
    CommandsRefused {
        /// The cause written in WorkflowTaskFailed.
        cause: WorkflowTaskFailedCause,
        /// What was wrong.
        message: String,
    },
    /// A speculative task's completion recorded nothing, so the task left no trace; the
    /// worker rolls its history back to this event.
    Discarded {
        /// The last WorkflowTaskStarted the workflow has completed.
        reset_history_event_id: Option<EventId>,
    },
    /// Taken as sent, and the activities it scheduled asking for eager execution that the
    /// engine started for this worker (Temporal's `activity_tasks`), in command order: the
    /// worker runs them at once, as if it had polled them.
    AcceptedWithActivityTasks {
        /// The started attempts, of the completed task's run.
        activity_tasks: Vec<ActivityTask>,
    },
}

/// Fail a workflow task (it is retried).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FailWorkflowTaskRequest {
    /// The run.
    pub execution: ExecutionKey,
    /// The task.
    pub token: WorkflowTaskToken,
    /// Why.
    pub cause: WorkflowTaskFailedCause,
    /// Details.
    pub failure: Option<Failure>,
    /// The worker.
    pub identity: String,
}

/// The worker a run is sticky to is stopping: send the run's next tasks to its normal
/// queue.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResetStickyTaskQueueRequest {
    /// The run.
    pub execution: ExecutionKey,
}

/// A worker's answer to a query task.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RespondQueryTaskRequest {
    /// The queried run, as the task named it: an answer is taken only for a query of this
    /// run (and authorized in its namespace).
    pub execution: ExecutionKey,
    /// The query task's id.
    pub query_id: u64,
    /// The answer.
    pub answer: QueryAnswer,
}

/// Long-poll an activity task on a queue.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PollActivityTaskRequest {
    /// The namespace.
    pub namespace: Namespace,
    /// The queue.
    pub task_queue: TaskQueueName,
    /// The worker.
    pub identity: String,
    /// The worker's deployment version, if it runs versioned.
    pub deployment_version: Option<WorkerDeploymentVersion>,
}

/// An activity attempt handed to a worker.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ActivityTaskForWorker {
    /// The run that scheduled it.
    pub execution: ExecutionKey,
    /// The attempt: id, type, input, timeouts, heartbeat details, token.
    pub task: ActivityTask,
}

/// What a worker needs to run an activity attempt (Temporal's
/// `PollActivityTaskQueueResponse`, less the run it names).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ActivityTask {
    /// The token to answer with.
    pub token: ActivityTaskToken,
    /// The activity's ActivityTaskScheduled attributes (id, type, input, timeouts).
    pub scheduled: ActivityTaskScheduledEventAttributes,
    /// The type of the workflow that scheduled it.
    pub workflow_type: WorkflowType,
    /// The last heartbeat's details, for a retried attempt.
    pub heartbeat_details: Option<Payloads>,
    /// When the activity was first scheduled.
    pub scheduled_time: Timestamp,
    /// When this attempt was scheduled.
    pub current_attempt_scheduled_time: Timestamp,
    /// When this attempt started.
    pub started_time: Timestamp,
}

impl From<ActivityTaskStartedReply> for ActivityTask {
    fn from(started: ActivityTaskStartedReply) -> Self {
        Self {
            token: started.token,
            scheduled: started.scheduled,
            workflow_type: started.workflow_type,
            heartbeat_details: started.heartbeat_details,
            scheduled_time: started.scheduled_time,
            current_attempt_scheduled_time: started.current_attempt_scheduled_time,
            started_time: started.started_time,
        }
    }
}

impl ActivityTaskForWorker {
    /// The token to answer with.
    pub fn token(&self) -> ActivityTaskToken {
        self.task.token
    }
}

/// Record an activity heartbeat.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RecordActivityHeartbeatRequest {
    /// The run.
    pub execution: ExecutionKey,
    /// The attempt.
    pub token: ActivityTaskToken,
    /// Progress details.
    pub details: Option<Payloads>,
}

/// A heartbeat's answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeartbeatResponse {
    /// Cancellation of the activity was requested.
    pub cancel_requested: bool,
}

/// An activity attempt returned a result.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CompleteActivityTaskRequest {
    /// The run.
    pub execution: ExecutionKey,
    /// The attempt.
    pub token: ActivityTaskToken,
    /// The result.
    pub result: Option<Payloads>,
    /// The worker.
    pub identity: String,
}

/// An activity attempt failed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FailActivityTaskRequest {
    /// The run.
    pub execution: ExecutionKey,
    /// The attempt.
    pub token: ActivityTaskToken,
    /// Why.
    pub failure: Failure,
    /// The worker.
    pub identity: String,
}

/// An activity acknowledged cancellation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CancelActivityTaskRequest {
    /// The run.
    pub execution: ExecutionKey,
    /// The attempt.
    pub token: ActivityTaskToken,
    /// Details.
    pub details: Option<Payloads>,
    /// The worker.
    pub identity: String,
}

macro_rules! identity_only {
    ($($t:ty),*) => {$(
        impl CheckText for $t {
            fn check_text(&self) -> Result<(), ValidationError> {
                identity(&self.identity)
            }
        }
    )*};
}

identity_only!(
    PollWorkflowTaskRequest,
    CompleteWorkflowTaskRequest,
    FailWorkflowTaskRequest,
    PollActivityTaskRequest,
    CompleteActivityTaskRequest,
    FailActivityTaskRequest,
    CancelActivityTaskRequest
);

impl CheckText for ResetStickyTaskQueueRequest {}
impl CheckText for RespondQueryTaskRequest {}
impl CheckText for RecordActivityHeartbeatRequest {}

impl VisitPayloads for PolledWorkflowTask {
    fn visit_payloads(&mut self, visit: &mut PayloadVisitor<'_>) -> Result<(), CodecError> {
        match self {
            Self::Task(task) => task.visit_payloads(visit),
            Self::Query(query) => query.visit_payloads(visit),
        }
    }
}

impl VisitPayloads for WorkflowTaskForWorker {
    fn visit_payloads(&mut self, visit: &mut PayloadVisitor<'_>) -> Result<(), CodecError> {
        self.history.visit_payloads(visit)?;
        self.transient_events.visit_payloads(visit)?;
        self.updates.visit_payloads(visit)
    }
}

impl VisitPayloads for QueryTaskForWorker {
    fn visit_payloads(&mut self, visit: &mut PayloadVisitor<'_>) -> Result<(), CodecError> {
        self.args.visit_payloads(visit)?;
        self.header.visit_payloads(visit)?;
        self.history.visit_payloads(visit)
    }
}

impl VisitPayloads for CompleteWorkflowTaskRequest {
    fn visit_payloads(&mut self, visit: &mut PayloadVisitor<'_>) -> Result<(), CodecError> {
        self.commands.visit_payloads(visit)?;
        self.messages.visit_payloads(visit)
    }
}

impl VisitPayloads for FailWorkflowTaskRequest {
    fn visit_payloads(&mut self, visit: &mut PayloadVisitor<'_>) -> Result<(), CodecError> {
        self.failure.visit_payloads(visit)
    }
}

impl VisitPayloads for RespondQueryTaskRequest {
    fn visit_payloads(&mut self, visit: &mut PayloadVisitor<'_>) -> Result<(), CodecError> {
        self.answer.visit_payloads(visit)
    }
}

impl VisitPayloads for ActivityTaskForWorker {
    fn visit_payloads(&mut self, visit: &mut PayloadVisitor<'_>) -> Result<(), CodecError> {
        self.task.visit_payloads(visit)
    }
}

impl VisitPayloads for ActivityTask {
    fn visit_payloads(&mut self, visit: &mut PayloadVisitor<'_>) -> Result<(), CodecError> {
        self.scheduled.header.visit_payloads(visit)?;
        self.scheduled.input.visit_payloads(visit)?;
        self.heartbeat_details.visit_payloads(visit)
    }
}

impl VisitPayloads for CompleteWorkflowTaskResponse {
    fn visit_payloads(&mut self, visit: &mut PayloadVisitor<'_>) -> Result<(), CodecError> {
        match self {
            Self::AcceptedWithActivityTasks { activity_tasks } => {
                activity_tasks.visit_payloads(visit)
            }
            Self::Accepted
            | Self::Duplicate
            | Self::CommandsRefused { .. }
            | Self::Discarded { .. } => Ok(()),
        }
    }
}

impl VisitPayloads for RecordActivityHeartbeatRequest {
    fn visit_payloads(&mut self, visit: &mut PayloadVisitor<'_>) -> Result<(), CodecError> {
        self.details.visit_payloads(visit)
    }
}

impl VisitPayloads for CompleteActivityTaskRequest {
    fn visit_payloads(&mut self, visit: &mut PayloadVisitor<'_>) -> Result<(), CodecError> {
        self.result.visit_payloads(visit)
    }
}

impl VisitPayloads for FailActivityTaskRequest {
    fn visit_payloads(&mut self, visit: &mut PayloadVisitor<'_>) -> Result<(), CodecError> {
        self.failure.visit_payloads(visit)
    }
}

impl VisitPayloads for CancelActivityTaskRequest {
    fn visit_payloads(&mut self, visit: &mut PayloadVisitor<'_>) -> Result<(), CodecError> {
        self.details.visit_payloads(visit)
    }
}

crate::payload_codec::no_payloads!(
    PollWorkflowTaskRequest,
    ResetStickyTaskQueueRequest,
    PollActivityTaskRequest,
    HeartbeatResponse,
);
