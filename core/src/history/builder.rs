//! A builder of hand-made histories for tests: ids are assigned densely, times advance by a
//! fixed step, and the workflow-task cycle is one call.

use std::time::Duration;

use super::History;
use super::attributes::*;
use super::event::{EventAttributes, HistoryEvent};
use crate::enums::TaskQueueKind;
use crate::ids::{EventId, RunId, TaskQueueName, WorkflowType};
use crate::payload::{Header, Memo, Payloads};
use crate::search_attributes::SearchAttributes;
use crate::task_queue::TaskQueue;
use crate::time::Timestamp;

/// Appends events with dense ids and increasing times.
#[derive(Clone, Debug)]
pub struct HistoryBuilder {
    history: History,
    now: Timestamp,
    step: Duration,
}

impl HistoryBuilder {
    /// An empty history whose first event happens at `start`; each later event is
    /// `step` after the one before.
    pub fn new(start: Timestamp, step: Duration) -> Self {
        Self {
            history: History::default(),
            now: start,
            step,
        }
    }

    /// Appends an event and returns its id.
    pub fn add(&mut self, attributes: EventAttributes) -> EventId {
        let event_id = self.history.next_event_id();
        if event_id != EventId::FIRST {
            self.now = self.now.saturating_add(self.step);
        }
        self.history.events.push(HistoryEvent {
            event_id,
            event_time: self.now,
            attributes,
        });
        event_id
    }

    /// Moves the clock forward by `duration` before the next event (a timer's wait, say).
    pub fn wait(&mut self, duration: Duration) -> &mut Self {
        self.now = self.now.saturating_add(duration);
        self
    }

    /// Appends WorkflowExecutionStarted for a first run with no options set.
    pub fn add_workflow_execution_started(
        &mut self,
        workflow_type: WorkflowType,
        task_queue: TaskQueueName,
        input: Payloads,
        run_id: RunId,
    ) -> EventId {
        self.add(EventAttributes::WorkflowExecutionStarted(Box::new(
            WorkflowExecutionStartedEventAttributes {
                workflow_type,
                parent: None,
                task_queue,
                input,
                workflow_execution_timeout: None,
                workflow_run_timeout: None,
                workflow_task_timeout: crate::limits::WORKFLOW_TASK_TIMEOUT_DEFAULT,
                continued_execution_run_id: None,
                initiator: None,
                continued_failure: None,
                last_completion_result: None,
                original_execution_run_id: run_id,
                identity: String::new(),
                first_execution_run_id: run_id,
                retry_policy: None,
                attempt: 1,
                workflow_execution_expiration_time: None,
                cron_schedule: None,
                first_workflow_task_backoff: None,
                memo: Memo::default(),
                search_attributes: SearchAttributes::default(),
                header: Header::default(),
            },
        )))
    }

    /// Appends WorkflowTaskScheduled on the normal queue `task_queue`, attempt 1.
    pub fn add_workflow_task_scheduled(&mut self, task_queue: TaskQueueName) -> EventId {
        self.add(EventAttributes::WorkflowTaskScheduled(
            WorkflowTaskScheduledEventAttributes {
                task_queue: TaskQueue {
                    name: task_queue,
                    kind: TaskQueueKind::Normal,
                    normal_name: None,
                },
                start_to_close_timeout: crate::limits::WORKFLOW_TASK_TIMEOUT_DEFAULT,
                attempt: 1,
            },
        ))
    }

    /// Appends WorkflowTaskStarted for `scheduled_event_id`.
    pub fn add_workflow_task_started(&mut self, scheduled_event_id: EventId) -> EventId {
        self.add(EventAttributes::WorkflowTaskStarted(
            WorkflowTaskStartedEventAttributes {
                scheduled_event_id,
                identity: "worker".into(),
                request_id: format!("poll-{scheduled_event_id}"),
                suggest_continue_as_new: false,
                history_size_bytes: 0,
            },
        ))
    }

    /// Appends WorkflowTaskCompleted for a scheduled and started task.
    pub fn add_workflow_task_completed(
        &mut self,
        scheduled_event_id: EventId,
        started_event_id: EventId,
    ) -> EventId {
        self.add(EventAttributes::WorkflowTaskCompleted(
            WorkflowTaskCompletedEventAttributes {
                scheduled_event_id,
                started_event_id,
                identity: "worker".into(),
                sdk_metadata: SdkMetadata::default(),
                worker_deployment_version: None,
                versioning_behavior: crate::enums::VersioningBehavior::Unspecified,
            },
        ))
    }

    /// Appends a whole workflow task (Scheduled, Started, Completed) and returns the id of
    /// WorkflowTaskCompleted, which the command events that follow refer to.
    pub fn add_workflow_task(&mut self, task_queue: TaskQueueName) -> EventId {
        let scheduled = self.add_workflow_task_scheduled(task_queue);
        let started = self.add_workflow_task_started(scheduled);
        self.add_workflow_task_completed(scheduled, started)
    }

    /// The history so far.
    pub fn history(&self) -> &History {
        &self.history
    }

    /// The finished history.
    pub fn build(self) -> History {
        self.history
    }
}
