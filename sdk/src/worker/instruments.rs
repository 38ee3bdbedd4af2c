//! What the worker records of its tasks, under Temporal's names (see [`crate::metrics`]).

use std::sync::Arc;

use endure_core::history::{EventAttributes, HistoryEvent};
use endure_core::protocol::ActivityTask;
use endure_core::{Command, CommandType, WorkflowTaskFailedCause};
use metrics::{Label, SharedString};

use super::Shared;
use crate::metrics::{self as names, since};

/// The labels every metric of a worker carries: its namespace and task queue (shared
/// strings, so each use clones two pointers rather than two strings).
pub(super) fn base_labels(namespace: &str, task_queue: &str) -> Vec<Label> {
    let shared = |value: &str| SharedString::from_shared(Arc::<str>::from(value));
    vec![
        Label::new("namespace", shared(namespace)),
        Label::new("task_queue", shared(task_queue)),
    ]
}

/// A long poll's outcome.
pub(super) enum PollOutcome {
    Task,
    Empty,
    Failed,
}

impl Shared {
    /// The worker's labels and `key=value`.
    fn labels_with(&self, key: &'static str, value: &str) -> Vec<Label> {
        let mut labels = self.metric_labels.clone();
        labels.push(Label::new(key, value.to_owned()));
        labels
    }

    /// Counts a workflow-task (`workflow`) or activity poll's outcome.
    pub(super) fn record_poll(&self, workflow: bool, outcome: PollOutcome) {
        let name = match (workflow, outcome) {
            (true, PollOutcome::Task) => names::WORKFLOW_TASK_QUEUE_POLL_SUCCEED,
            (true, PollOutcome::Empty) => names::WORKFLOW_TASK_QUEUE_POLL_EMPTY,
            (false, PollOutcome::Empty) => names::ACTIVITY_POLL_NO_TASK,
            (false, PollOutcome::Task) => return,
            (workflow, PollOutcome::Failed) => {
                let operation = if workflow {
                    "PollWorkflowTaskQueue"
                } else {
                    "PollActivityTaskQueue"
                };
                metrics::counter!(
                    names::LONG_REQUEST_FAILURE,
                    self.labels_with("operation", operation)
                )
                .increment(1);
                return;
            }
        };
        metrics::counter!(name, self.metric_labels.clone()).increment(1);
    }

    /// Records a workflow task's wait in its queue: from its WorkflowTaskScheduled to its
    /// WorkflowTaskStarted (the last Started among `events`).
    pub(super) fn record_workflow_task_wait(&self, workflow_type: &str, events: &[HistoryEvent]) {
        let Some((started, scheduled_id)) =
            events
                .iter()
                .rev()
                .find_map(|event| match &event.attributes {
                    EventAttributes::WorkflowTaskStarted(a) => Some((event, a.scheduled_event_id)),
                    _ => None,
                })
        else {
            return;
        };
        let Some(scheduled) = events.iter().find(|event| event.event_id == scheduled_id) else {
            return;
        };
        let wait = started
            .event_time
            .saturating_duration_since(scheduled.event_time);
        metrics::histogram!(
            names::WORKFLOW_TASK_SCHEDULE_TO_START_LATENCY,
            self.labels_with("workflow_type", workflow_type)
        )
        .record(wait.as_secs_f64());
    }

    /// Counts a workflow task served from the cache (`hit`) or by replaying its run.
    pub(super) fn record_cache_lookup(&self, hit: bool) {
        let name = if hit {
            names::STICKY_CACHE_HIT
        } else {
            names::STICKY_CACHE_MISS
        };
        metrics::counter!(name, self.metric_labels.clone()).increment(1);
    }

    /// Records the cache's size after a change, and an eviction of a full cache's oldest run.
    pub(super) fn record_cache_size(&self, size: usize, forced_eviction: bool) {
        if forced_eviction {
            metrics::counter!(
                names::STICKY_CACHE_TOTAL_FORCED_EVICTION,
                self.metric_labels.clone()
            )
            .increment(1);
        }
        metrics::gauge!(names::STICKY_CACHE_SIZE, self.metric_labels.clone()).set(size as f64);
    }

    /// Records a workflow task's time on the worker since `started`, and its failure, if it
    /// failed.
    pub(super) fn record_workflow_task_done(
        &self,
        workflow_type: &str,
        started: tokio::time::Instant,
        failure: Option<WorkflowTaskFailedCause>,
    ) {
        let labels = self.labels_with("workflow_type", workflow_type);
        metrics::histogram!(names::WORKFLOW_TASK_EXECUTION_LATENCY, labels.clone())
            .record(since(started));
        if let Some(cause) = failure {
            let reason = match cause {
                WorkflowTaskFailedCause::NonDeterministicError => names::NONDETERMINISM,
                _ => names::WORKFLOW_ERROR,
            };
            let mut labels = labels;
            labels.push(Label::new("failure_reason", reason));
            metrics::counter!(names::WORKFLOW_TASK_EXECUTION_FAILED, labels.clone()).increment(1);
        }
    }

    /// Counts the run closed by `commands`, once the engine took them.
    pub(super) fn record_workflow_closed(&self, workflow_type: &str, commands: &[Command]) {
        let name = commands
            .iter()
            .find_map(|command| match command.command_type() {
                CommandType::CompleteWorkflowExecution => Some(names::WORKFLOW_COMPLETED),
                CommandType::FailWorkflowExecution => Some(names::WORKFLOW_FAILED),
                CommandType::CancelWorkflowExecution => Some(names::WORKFLOW_CANCELED),
                CommandType::ContinueAsNewWorkflowExecution => {
                    Some(names::WORKFLOW_CONTINUE_AS_NEW)
                }
                _ => None,
            });
        if let Some(name) = name {
            metrics::counter!(name, self.labels_with("workflow_type", workflow_type)).increment(1);
        }
    }

    /// Records an activity attempt's wait in its queue.
    pub(super) fn record_activity_wait(&self, task: &ActivityTask) {
        let wait = task
            .started_time
            .saturating_duration_since(task.current_attempt_scheduled_time);
        metrics::histogram!(
            names::ACTIVITY_SCHEDULE_TO_START_LATENCY,
            self.labels_with("activity_type", task.scheduled.activity_type.as_str())
        )
        .record(wait.as_secs_f64());
    }

    /// Records an activity attempt's run time since `started`, and whether it failed.
    pub(super) fn record_activity_done(
        &self,
        activity_type: &str,
        started: tokio::time::Instant,
        failed: bool,
    ) {
        let labels = self.labels_with("activity_type", activity_type);
        metrics::histogram!(names::ACTIVITY_EXECUTION_LATENCY, labels.clone())
            .record(since(started));
        if failed {
            metrics::counter!(names::ACTIVITY_EXECUTION_FAILED, labels.clone()).increment(1);
        }
    }
}
