//! Workflow tasks: schedule, start, complete, fail, time out — at most one per run.
//!
//! A *normal* task writes WorkflowTaskScheduled when scheduled and WorkflowTaskStarted when
//! started. A *transient* task (attempt > 1, after a failure or timeout) reserves those ids
//! but writes them only when it completes, so a task that keeps failing does not grow the
//! history. A *speculative* task (update-only, see the updates issue) is written the same
//! way, and discarded if its completion only rejects updates. If an event must be written
//! while a transient task is scheduled but not started, the task becomes normal first.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::io::{
    Effects, Rejected, Reply, Task, WorkflowTaskCompletion, WorkflowTaskStartedReply,
    WorkflowTaskToken,
};
use super::{BufferedEvent, ExecutionMachine};
use crate::command::{Command, CommandType};
use crate::enums::{TimeoutType, WorkflowTaskFailedCause};
use crate::failure::Failure;
use crate::history::{
    EventAttributes, HistoryEvent, WorkflowTaskCompletedEventAttributes,
    WorkflowTaskFailedEventAttributes, WorkflowTaskScheduledEventAttributes,
    WorkflowTaskStartedEventAttributes, WorkflowTaskTimedOutEventAttributes,
};
use crate::ids::EventId;
use crate::limits::{
    HISTORY_BYTES_SUGGEST_CONTINUE_AS_NEW, HISTORY_EVENTS_SUGGEST_CONTINUE_AS_NEW,
    MESSAGE_BYTES_MAX, UPDATES_PER_EXECUTION_MAX,
};
use crate::task_queue::TaskQueue;
use crate::time::Timestamp;
use crate::update::{UpdateMessage, UpdateMessageBody};

/// How long a speculative task on a normal queue waits for a poller (Temporal's 5 s).
const SPECULATIVE_SCHEDULE_TO_START_TIMEOUT: Duration = Duration::from_secs(5);

/// How a workflow task's own events reach history.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum WorkflowTaskKind {
    /// Scheduled and Started are written as they happen.
    Normal,
    /// A retry: Scheduled and Started are written only when the task completes.
    Transient,
    /// Update-only: written only if its completion has something to record.
    Speculative,
}

/// A started workflow task.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StartedWorkflowTask {
    /// The WorkflowTaskStarted event (reserved for transient tasks).
    pub started_event_id: EventId,
    /// When it started.
    pub started_time: Timestamp,
    /// The poll request that took it.
    pub request_id: String,
    /// The worker.
    pub identity: String,
}

/// The run's pending workflow task.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkflowTask {
    /// How its events are written.
    pub kind: WorkflowTaskKind,
    /// The WorkflowTaskScheduled event (reserved for transient tasks).
    pub scheduled_event_id: EventId,
    /// When it was scheduled.
    pub scheduled_time: Timestamp,
    /// The attempt, from 1.
    pub attempt: u32,
    /// The queue it waits on.
    pub task_queue: TaskQueue,
    /// Limit once started.
    #[serde(with = "crate::duration_text::readable")]
    pub start_to_close_timeout: Duration,
    /// For a sticky task: when it falls back to the normal queue if not started.
    pub schedule_to_start_deadline: Option<Timestamp>,
    /// Set once a worker took it.
    pub started: Option<StartedWorkflowTask>,
}

impl WorkflowTask {
    fn token(&self) -> Option<WorkflowTaskToken> {
        self.started.as_ref().map(|started| WorkflowTaskToken {
            scheduled_event_id: self.scheduled_event_id,
            started_event_id: started.started_event_id,
            attempt: self.attempt,
        })
    }

    /// When the task times out, if it is waiting on a deadline.
    pub(super) fn deadline(&self) -> Option<Timestamp> {
        match &self.started {
            Some(started) => Some(
                started
                    .started_time
                    .saturating_add(self.start_to_close_timeout),
            ),
            None => self.schedule_to_start_deadline,
        }
    }

    fn scheduled_attributes(&self) -> EventAttributes {
        EventAttributes::WorkflowTaskScheduled(WorkflowTaskScheduledEventAttributes {
            task_queue: self.task_queue.clone(),
            start_to_close_timeout: self.start_to_close_timeout,
            attempt: self.attempt,
        })
    }
}

/// A workflow task completion the machine refuses, with the cause it fails the task with.
pub(super) struct Refusal {
    pub(super) cause: WorkflowTaskFailedCause,
    pub(super) message: String,
}

impl Refusal {
    pub(super) fn new(cause: WorkflowTaskFailedCause, message: impl Into<String>) -> Self {
        Self {
            cause,
            message: message.into(),
        }
    }
}

impl ExecutionMachine {
    /// Whether a workflow task is started and not yet finished (events are buffered then).
    pub(super) fn workflow_task_in_flight(&self) -> bool {
        self.workflow_task
            .as_ref()
            .is_some_and(|task| task.started.is_some())
    }

    /// Schedules a workflow task unless one is pending, the run is closed or the first
    /// task's backoff has not passed.
    pub(super) fn schedule_workflow_task_if_needed(&mut self, fx: &mut Effects, now: Timestamp) {
        if self.status.is_closed()
            || self.workflow_task.is_some()
            || self.first_workflow_task_backoff_until.is_some()
        {
            return;
        }
        let attempt = self.workflow_task_attempt;
        let (task_queue, schedule_to_start_deadline) = match &self.sticky {
            Some(sticky) => (
                TaskQueue::sticky(sticky.task_queue.clone(), self.task_queue.clone()),
                Some(now.saturating_add(sticky.schedule_to_start_timeout)),
            ),
            None => (TaskQueue::normal(self.task_queue.clone()), None),
        };
        let kind = if attempt > 1 {
            WorkflowTaskKind::Transient
        } else {
            WorkflowTaskKind::Normal
        };
        let mut task = WorkflowTask {
            kind,
            scheduled_event_id: self.next_event_id,
            scheduled_time: now,
            attempt,
            task_queue,
            start_to_close_timeout: self.task_timeout,
            schedule_to_start_deadline,
            started: None,
        };
        if kind == WorkflowTaskKind::Normal {
            task.scheduled_event_id = self.write(fx, now, task.scheduled_attributes());
        }
        fx.tasks.push(Task::WorkflowTask {
            scheduled_event_id: task.scheduled_event_id,
            attempt,
            task_queue: task.task_queue.clone(),
            speculative: false,
        });
        self.workflow_task = Some(task);
    }

    /// Schedules an update-only task that is not persisted: it is written only if its
    /// completion records something, and discarded otherwise. Returns whether a task was
    /// scheduled (not when one is pending or the run waits).
    pub(crate) fn schedule_speculative_workflow_task(
        &mut self,
        fx: &mut Effects,
        now: Timestamp,
    ) -> bool {
        if self.status.is_closed()
            || self.workflow_task.is_some()
            || self.first_workflow_task_backoff_until.is_some()
        {
            return false;
        }
        let (task_queue, timeout) = match &self.sticky {
            Some(sticky) => (
                TaskQueue::sticky(sticky.task_queue.clone(), self.task_queue.clone()),
                sticky.schedule_to_start_timeout,
            ),
            None => (
                TaskQueue::normal(self.task_queue.clone()),
                SPECULATIVE_SCHEDULE_TO_START_TIMEOUT,
            ),
        };
        let task = WorkflowTask {
            kind: WorkflowTaskKind::Speculative,
            scheduled_event_id: self.next_event_id,
            scheduled_time: now,
            attempt: self.workflow_task_attempt,
            task_queue,
            start_to_close_timeout: self.task_timeout,
            schedule_to_start_deadline: Some(now.saturating_add(timeout)),
            started: None,
        };
        fx.tasks.push(Task::WorkflowTask {
            scheduled_event_id: task.scheduled_event_id,
            attempt: task.attempt,
            task_queue: task.task_queue.clone(),
            speculative: true,
        });
        self.workflow_task = Some(task);
        true
    }

    /// Offers a pending, unstarted speculative task again: its row lives only in the
    /// runtime's memory, and a restart loses it (a second offer of a task still offered is
    /// harmless: the first start wins, the other is refused as already started).
    pub(super) fn reoffer_speculative_workflow_task(&self, fx: &mut Effects) {
        if let Some(task) = &self.workflow_task
            && task.kind == WorkflowTaskKind::Speculative
            && task.started.is_none()
        {
            fx.tasks.push(Task::WorkflowTask {
                scheduled_event_id: task.scheduled_event_id,
                attempt: task.attempt,
                task_queue: task.task_queue.clone(),
                speculative: true,
            });
        }
    }

    /// After an event was written while a transient task is scheduled (not started), its
    /// reserved ids are taken: the task becomes normal, its Scheduled event written now.
    pub(super) fn materialize_pending_workflow_task(&mut self, fx: &mut Effects, now: Timestamp) {
        let Some(task) = &self.workflow_task else {
            return;
        };
        if task.kind == WorkflowTaskKind::Normal || task.started.is_some() {
            return;
        }
        let attributes = task.scheduled_attributes();
        let scheduled_event_id = self.write(fx, now, attributes);
        let Some(task) = &mut self.workflow_task else {
            return;
        };
        task.kind = WorkflowTaskKind::Normal;
        task.scheduled_event_id = scheduled_event_id;
        fx.tasks.push(Task::WorkflowTask {
            scheduled_event_id,
            attempt: task.attempt,
            task_queue: task.task_queue.clone(),
            speculative: false,
        });
    }

    pub(super) fn start_workflow_task(
        &mut self,
        fx: &mut Effects,
        now: Timestamp,
        scheduled_event_id: EventId,
        request_id: String,
        identity: String,
    ) -> Result<(), Rejected> {
        self.require_open()?;
        let not_found = || Rejected::NotFound(format!("workflow task {scheduled_event_id}"));
        let task = self.workflow_task.as_ref().ok_or_else(not_found)?;
        if task.scheduled_event_id != scheduled_event_id {
            return Err(not_found());
        }
        if let Some(started) = &task.started {
            // Matching may retry the start; the same request gets the same answer.
            if started.request_id != request_id {
                return Err(Rejected::NotFound(format!(
                    "workflow task {scheduled_event_id} (already started)"
                )));
            }
            fx.reply = Reply::WorkflowTaskStarted(Box::new(self.workflow_task_started_reply()));
            return Ok(());
        }
        let kind = task.kind;
        let started_event_id = if kind == WorkflowTaskKind::Normal {
            let attributes =
                EventAttributes::WorkflowTaskStarted(WorkflowTaskStartedEventAttributes {
                    scheduled_event_id,
                    identity: identity.clone(),
                    request_id: request_id.clone(),
                    suggest_continue_as_new: self.suggest_continue_as_new(),
                    history_size_bytes: self.history_size_bytes,
                });
            self.write(fx, now, attributes)
        } else {
            debug_assert_eq!(
                scheduled_event_id, self.next_event_id,
                "transient ids are the next ones"
            );
            scheduled_event_id.next()
        };
        if let Some(task) = &mut self.workflow_task {
            task.started = Some(StartedWorkflowTask {
                started_event_id,
                started_time: now,
                request_id,
                identity,
            });
        }
        self.deliver_updates(started_event_id);
        fx.reply = Reply::WorkflowTaskStarted(Box::new(self.workflow_task_started_reply()));
        Ok(())
    }

    /// Past 4,096 events, 4 MiB, or 90 % of the updates a run may take (Temporal's rule).
    fn suggest_continue_as_new(&self) -> bool {
        self.next_event_id.get() > HISTORY_EVENTS_SUGGEST_CONTINUE_AS_NEW
            || self.history_size_bytes >= HISTORY_BYTES_SUGGEST_CONTINUE_AS_NEW
            || self.updates.len() >= UPDATES_PER_EXECUTION_MAX / 10 * 9
    }

    /// The reply to a start of the pending, started task.
    fn workflow_task_started_reply(&self) -> WorkflowTaskStartedReply {
        let task = self
            .workflow_task
            .as_ref()
            .expect("called for a started task");
        let started = task.started.as_ref().expect("called for a started task");
        let transient_events = if task.kind == WorkflowTaskKind::Normal {
            Vec::new()
        } else {
            self.transient_events(task, started)
        };
        WorkflowTaskStartedReply {
            token: task.token().expect("started"),
            previous_started_event_id: self.last_completed_workflow_task_started_event_id,
            workflow_type: self.workflow_type.clone(),
            sticky: task.task_queue.kind == crate::TaskQueueKind::Sticky,
            transient_events,
            updates: self.delivered_updates(),
        }
    }

    /// The Scheduled and Started events of a transient task, as they will be written.
    fn transient_events(
        &self,
        task: &WorkflowTask,
        started: &StartedWorkflowTask,
    ) -> Vec<HistoryEvent> {
        vec![
            HistoryEvent {
                event_id: task.scheduled_event_id,
                event_time: task.scheduled_time,
                attributes: task.scheduled_attributes(),
            },
            HistoryEvent {
                event_id: started.started_event_id,
                event_time: started.started_time,
                attributes: EventAttributes::WorkflowTaskStarted(
                    WorkflowTaskStartedEventAttributes {
                        scheduled_event_id: task.scheduled_event_id,
                        identity: started.identity.clone(),
                        request_id: started.request_id.clone(),
                        suggest_continue_as_new: self.suggest_continue_as_new(),
                        history_size_bytes: self.history_size_bytes,
                    },
                ),
            },
        ]
    }

    /// The started task matching `token`, or NotFound.
    fn check_token(&self, token: WorkflowTaskToken) -> Result<(), Rejected> {
        self.require_open()?;
        match self.workflow_task.as_ref().and_then(WorkflowTask::token) {
            Some(current) if current == token => Ok(()),
            _ => Err(Rejected::NotFound(format!(
                "workflow task {} attempt {}",
                token.scheduled_event_id, token.attempt
            ))),
        }
    }

    /// Writes the Scheduled and Started events of a transient task that completes.
    fn write_transient_events(&mut self, fx: &mut Effects) {
        let Some(task) = self.workflow_task.clone() else {
            return;
        };
        let Some(started) = task.started.clone() else {
            return;
        };
        if task.kind == WorkflowTaskKind::Normal {
            return;
        }
        for event in self.transient_events(&task, &started) {
            let event_id = self.write(fx, event.event_time, event.attributes);
            debug_assert_eq!(
                event_id, event.event_id,
                "transient events take their reserved ids"
            );
        }
        if let Some(task) = &mut self.workflow_task {
            task.kind = WorkflowTaskKind::Normal;
        }
    }

    pub(super) fn complete_workflow_task(
        &mut self,
        fx: &mut Effects,
        now: Timestamp,
        completion: WorkflowTaskCompletion,
    ) -> Result<(), Rejected> {
        self.check_token(completion.token)?;
        if self.discard_speculative_workflow_task(fx, now, &completion) {
            return Ok(());
        }
        let mut trial = self.clone();
        let mut trial_fx = fx.clone();
        match trial.apply_completion(&mut trial_fx, now, &completion) {
            Ok(()) => {
                *self = trial;
                *fx = trial_fx;
            }
            Err(refusal) => {
                if refusal.cause == WorkflowTaskFailedCause::UnhandledCommand {
                    self.close_attempted = true;
                }
                let failure =
                    Failure::application(refusal.message.clone(), format!("{:?}", refusal.cause))
                        .non_retryable();
                if refusal.cause == WorkflowTaskFailedCause::PayloadsTooLarge {
                    // Retrying cannot help: like Temporal, the engine terminates the run.
                    self.end_started_workflow_task_with_failure(
                        fx,
                        now,
                        refusal.cause,
                        Some(failure),
                        completion.identity,
                    );
                    let details = crate::payload::Payload::json(&format!("{:?}", refusal.cause))
                        .ok()
                        .map(crate::payload::Payloads::one);
                    let terminated = self.terminate(
                        fx,
                        now,
                        refusal.message.clone(),
                        details,
                        super::ENGINE_IDENTITY.to_owned(),
                    );
                    debug_assert!(terminated.is_ok(), "the run was open");
                } else {
                    self.fail_started_workflow_task(
                        fx,
                        now,
                        refusal.cause,
                        Some(failure),
                        completion.identity,
                    );
                }
                fx.reply = Reply::WorkflowTaskCommandsRefused {
                    cause: refusal.cause,
                    message: refusal.message,
                };
            }
        }
        Ok(())
    }

    /// Writes the completion and its commands' events, flushes what arrived meanwhile and
    /// schedules the next task when something is new. Any refused command refuses all.
    fn apply_completion(
        &mut self,
        fx: &mut Effects,
        now: Timestamp,
        completion: &WorkflowTaskCompletion,
    ) -> Result<(), Refusal> {
        let size = crate::codec::encoded_size(&completion.commands)
            + crate::codec::encoded_size(&completion.messages);
        if size > MESSAGE_BYTES_MAX {
            return Err(Refusal::new(
                WorkflowTaskFailedCause::PayloadsTooLarge,
                format!(
                    "the workflow task completion is {size} bytes; one may carry at most {MESSAGE_BYTES_MAX} — pass large data by reference"
                ),
            ));
        }
        let had_buffered_events = !self.buffered_events.is_empty();
        self.write_transient_events(fx);
        let task = self.workflow_task.take().expect("token checked");
        let started = task.started.expect("token checked");
        let completed_event_id = self.write(
            fx,
            now,
            EventAttributes::WorkflowTaskCompleted(WorkflowTaskCompletedEventAttributes {
                scheduled_event_id: task.scheduled_event_id,
                started_event_id: started.started_event_id,
                identity: completion.identity.clone(),
                sdk_metadata: completion.sdk_metadata.clone(),
                worker_deployment_version: completion.deployment_version.clone(),
                versioning_behavior: completion.versioning_behavior,
            }),
        );
        self.versioning.behavior = completion.versioning_behavior;
        self.versioning.version = completion.deployment_version.clone();
        self.sticky = completion.sticky.clone();
        self.workflow_task_attempt = 1;
        self.close_attempted = false;
        self.last_completed_workflow_task_started_event_id = Some(started.started_event_id);
        let mut needs_new_task = completion.force_create_workflow_task;
        // Rejections write nothing: taken first, so a close in this completion cannot
        // abort an update the workflow answered.
        let mut unreferenced: Vec<&UpdateMessage> = Vec::new();
        for message in &completion.messages {
            let referenced = completion.commands.iter().any(|command| {
                matches!(command, Command::ProtocolMessage(attributes) if attributes.message_id == message.id)
            });
            if matches!(message.body, UpdateMessageBody::Rejection(_)) {
                self.handle_update_message(fx, now, message)?;
            } else if !referenced {
                unreferenced.push(message);
            }
        }
        for (index, command) in completion.commands.iter().enumerate() {
            let command_type = command.command_type();
            if self.status.is_closed() {
                return Err(Refusal::new(
                    closing_command_cause(command_type),
                    format!(
                        "command {index} ({command_type}) follows the command that closed the workflow"
                    ),
                ));
            }
            if command_type.is_closing() && had_buffered_events {
                return Err(Refusal::new(
                    WorkflowTaskFailedCause::UnhandledCommand,
                    format!(
                        "{command_type} refused: new events arrived while the task ran; handle them first"
                    ),
                ));
            }
            command
                .validate()
                .map_err(|error| Refusal::new(error.cause, format!("command {index}: {error}")))?;
            if let Command::ProtocolMessage(attributes) = command {
                let message = completion
                    .messages
                    .iter()
                    .find(|message| message.id == attributes.message_id)
                    .ok_or_else(|| {
                        Refusal::new(
                            WorkflowTaskFailedCause::BadUpdateWorkflowExecutionMessage,
                            format!(
                                "command {index} names message {:?}, which the completion does not carry",
                                attributes.message_id
                            ),
                        )
                    })?;
                if !matches!(message.body, UpdateMessageBody::Rejection(_)) {
                    self.handle_update_message(fx, now, message)?;
                }
                continue;
            }
            needs_new_task |= self.handle_command(
                fx,
                now,
                completed_event_id,
                command.clone(),
                completion.next_run_id,
            )?;
        }
        for message in unreferenced {
            if self.status.is_closed() {
                return Err(Refusal::new(
                    WorkflowTaskFailedCause::BadUpdateWorkflowExecutionMessage,
                    format!(
                        "update message {} follows the close of the workflow",
                        message.id
                    ),
                ));
            }
            self.handle_update_message(fx, now, message)?;
        }
        if self.status.is_closed() {
            debug_assert!(
                self.buffered_events.is_empty(),
                "a close with buffered events is refused"
            );
            return Ok(());
        }
        // Whatever is still buffered (a cancelled timer's fire is gone) is new to the workflow.
        needs_new_task |= !self.buffered_events.is_empty();
        self.flush_buffered_events(fx);
        let updates_wait = self.redeliver_unanswered_updates();
        if needs_new_task {
            self.schedule_workflow_task_if_needed(fx, now);
        } else if updates_wait {
            self.schedule_speculative_workflow_task(fx, now);
        }
        self.start_eager_activities(fx, now, &completion.commands, &completion.identity);
        Ok(())
    }

    /// A speculative task whose completion records nothing (no commands, only rejections,
    /// nothing arrived meanwhile, no new task asked for) leaves no trace in history.
    fn discard_speculative_workflow_task(
        &mut self,
        fx: &mut Effects,
        now: Timestamp,
        completion: &WorkflowTaskCompletion,
    ) -> bool {
        let speculative = self
            .workflow_task
            .as_ref()
            .is_some_and(|task| task.kind == WorkflowTaskKind::Speculative);
        let only_rejections = completion
            .messages
            .iter()
            .all(|message| matches!(message.body, UpdateMessageBody::Rejection(_)));
        if !speculative
            || !completion.commands.is_empty()
            || !only_rejections
            || !self.buffered_events.is_empty()
            || completion.force_create_workflow_task
        {
            return false;
        }
        let mut trial = self.clone();
        let mut trial_fx = fx.clone();
        for message in &completion.messages {
            if trial
                .handle_update_message(&mut trial_fx, now, message)
                .is_err()
            {
                // A rejection of an update the task did not deliver: refused as usual.
                return false;
            }
        }
        *self = trial;
        *fx = trial_fx;
        self.workflow_task = None;
        self.sticky = completion.sticky.clone();
        if self.redeliver_unanswered_updates() {
            self.schedule_speculative_workflow_task(fx, now);
        }
        fx.reply = Reply::WorkflowTaskDiscarded {
            reset_history_event_id: self.last_completed_workflow_task_started_event_id,
        };
        true
    }

    pub(super) fn fail_workflow_task_by_worker(
        &mut self,
        fx: &mut Effects,
        now: Timestamp,
        token: WorkflowTaskToken,
        cause: WorkflowTaskFailedCause,
        failure: Option<Failure>,
        identity: String,
    ) -> Result<(), Rejected> {
        self.check_token(token)?;
        self.fail_started_workflow_task(fx, now, cause, failure, identity);
        Ok(())
    }

    /// Fails the started task: WorkflowTaskFailed (not for transient tasks), buffered events
    /// flushed, and a retry scheduled — with the attempt raised, except after
    /// UNHANDLED_COMMAND, which is a race with new events, not a broken workflow.
    pub(super) fn fail_started_workflow_task(
        &mut self,
        fx: &mut Effects,
        now: Timestamp,
        cause: WorkflowTaskFailedCause,
        failure: Option<Failure>,
        identity: String,
    ) {
        self.end_started_workflow_task_with_failure(fx, now, cause, failure, identity);
        self.workflow_task_attempt = if cause == WorkflowTaskFailedCause::UnhandledCommand {
            1
        } else {
            self.workflow_task_attempt.saturating_add(1)
        };
        self.schedule_workflow_task_if_needed(fx, now);
    }

    /// Writes WorkflowTaskFailed for the started task (unless transient), drops the task and
    /// flushes buffered events. Used by failures and by force-closes (terminate, timeout).
    pub(super) fn end_started_workflow_task_with_failure(
        &mut self,
        fx: &mut Effects,
        now: Timestamp,
        cause: WorkflowTaskFailedCause,
        failure: Option<Failure>,
        identity: String,
    ) {
        let Some(mut task) = self.workflow_task.take() else {
            return;
        };
        let Some(started) = task.started.clone() else {
            self.workflow_task = Some(task);
            return;
        };
        if task.kind == WorkflowTaskKind::Speculative {
            // As Temporal does, a failed speculative task becomes a normal one: its
            // Scheduled and Started events are written, then its failure; the updates it
            // carried stay admitted and go with the next task.
            self.workflow_task = Some(task);
            self.write_transient_events(fx);
            let Some(written) = self.workflow_task.take() else {
                return;
            };
            task = written;
            self.redeliver_unanswered_updates();
        } else {
            self.abort_delivered_updates(fx);
        }
        if task.kind == WorkflowTaskKind::Normal {
            self.write(
                fx,
                now,
                EventAttributes::WorkflowTaskFailed(WorkflowTaskFailedEventAttributes {
                    scheduled_event_id: task.scheduled_event_id,
                    started_event_id: started.started_event_id,
                    cause,
                    failure,
                    identity,
                    base_run_id: None,
                    new_run_id: None,
                }),
            );
        }
        self.sticky = None;
        self.flush_buffered_events(fx);
    }

    /// Fires the pending task's timeout if due: start-to-close for a started task (a failed
    /// attempt), schedule-to-start for a sticky one (back to the normal queue, same attempt).
    pub(super) fn fire_workflow_task_timeout(&mut self, fx: &mut Effects, now: Timestamp) {
        let Some(task) = &self.workflow_task else {
            return;
        };
        if task.deadline().is_none_or(|deadline| deadline > now) {
            return;
        }
        let task = self.workflow_task.take().expect("checked above");
        let (started_event_id, timeout_type) = match &task.started {
            Some(started) => (Some(started.started_event_id), TimeoutType::StartToClose),
            None => (None, TimeoutType::ScheduleToStart),
        };
        if task.kind == WorkflowTaskKind::Normal {
            self.write(
                fx,
                now,
                EventAttributes::WorkflowTaskTimedOut(WorkflowTaskTimedOutEventAttributes {
                    scheduled_event_id: task.scheduled_event_id,
                    started_event_id,
                    timeout_type,
                }),
            );
        }
        self.sticky = None;
        if timeout_type == TimeoutType::StartToClose {
            self.workflow_task_attempt = self.workflow_task_attempt.saturating_add(1);
            self.abort_delivered_updates(fx);
        }
        self.flush_buffered_events(fx);
        self.schedule_workflow_task_if_needed(fx, now);
    }

    /// Whether the buffered events hold a TimerFired for `started_event_id`; if so it is
    /// removed (the timer is being cancelled before the workflow saw it fire).
    pub(super) fn take_buffered_timer_fired(&mut self, started_event_id: EventId) -> bool {
        let position = self.buffered_events.iter().position(|buffered| {
            matches!(buffered, BufferedEvent::Event { attributes: EventAttributes::TimerFired(fired), .. }
                if fired.started_event_id == started_event_id)
        });
        position
            .map(|index| self.buffered_events.remove(index))
            .is_some()
    }
}

/// The BAD_* cause for a command after the closing one.
fn closing_command_cause(command_type: CommandType) -> WorkflowTaskFailedCause {
    use WorkflowTaskFailedCause as Cause;
    match command_type {
        CommandType::ScheduleActivityTask => Cause::BadScheduleActivityAttributes,
        CommandType::StartTimer => Cause::BadStartTimerAttributes,
        CommandType::CancelTimer => Cause::BadCancelTimerAttributes,
        CommandType::RecordMarker => Cause::BadRecordMarkerAttributes,
        CommandType::RequestCancelActivityTask => Cause::BadRequestCancelActivityAttributes,
        CommandType::FailWorkflowExecution => Cause::BadFailWorkflowExecutionAttributes,
        CommandType::CancelWorkflowExecution => Cause::BadCancelWorkflowExecutionAttributes,
        CommandType::ContinueAsNewWorkflowExecution => Cause::BadContinueAsNewAttributes,
        CommandType::StartChildWorkflowExecution => Cause::BadStartChildExecutionAttributes,
        CommandType::SignalExternalWorkflowExecution => Cause::BadSignalWorkflowExecutionAttributes,
        CommandType::RequestCancelExternalWorkflowExecution => {
            Cause::BadRequestCancelExternalWorkflowExecutionAttributes
        }
        CommandType::UpsertWorkflowSearchAttributes => Cause::BadSearchAttributes,
        CommandType::ModifyWorkflowProperties => Cause::BadModifyWorkflowPropertiesAttributes,
        CommandType::ProtocolMessage => Cause::BadUpdateWorkflowExecutionMessage,
        CommandType::CompleteWorkflowExecution => Cause::BadCompleteWorkflowExecutionAttributes,
    }
}
