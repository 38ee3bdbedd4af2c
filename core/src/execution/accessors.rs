//! What a run's machine tells its readers: ids, status, what is pending, its queue,
//! memo and search attributes — read-only views, no transition.

use std::collections::{BTreeMap, BTreeSet};

use super::*;

impl ExecutionMachine {
    /// The run's id.
    pub fn run_id(&self) -> RunId {
        self.run_id
    }

    /// The first run of this run's chain (the run a start created; later runs came from
    /// continue-as-new, retry or cron).
    pub fn first_execution_run_id(&self) -> RunId {
        self.first_execution_run_id
    }

    /// The workflow id.
    pub fn workflow_id(&self) -> &WorkflowId {
        &self.workflow_id
    }

    /// The run's versioning: behavior, version, override (spec §5.13.1).
    pub fn versioning(&self) -> &crate::versioning::RunVersioning {
        &self.versioning
    }

    /// The run's status.
    pub fn status(&self) -> WorkflowExecutionStatus {
        self.status
    }

    /// The id the next event gets.
    pub fn next_event_id(&self) -> EventId {
        self.next_event_id
    }

    /// Encoded size of the history written so far.
    pub fn history_size_bytes(&self) -> u64 {
        self.history_size_bytes
    }

    /// The pending workflow task, if any.
    pub fn workflow_task(&self) -> Option<&WorkflowTask> {
        self.workflow_task.as_ref()
    }

    /// The pending activities, by ActivityTaskScheduled event.
    pub fn activities(&self) -> &BTreeMap<EventId, ActivityInfo> {
        &self.activities
    }

    /// The pending timers.
    pub fn timers(&self) -> &BTreeMap<TimerId, TimerInfo> {
        &self.timers
    }

    /// Number of events waiting for the in-flight workflow task to finish.
    pub fn buffered_event_count(&self) -> usize {
        self.buffered_events.len()
    }

    /// The signals received while a workflow task was in flight, in arrival order with
    /// their arrival times: acknowledged to their senders, yet not in the history until the
    /// task completes.
    pub fn buffered_signals(
        &self,
    ) -> impl Iterator<Item = (Timestamp, &WorkflowExecutionSignaledEventAttributes)> {
        self.buffered_events
            .iter()
            .filter_map(|buffered| match buffered {
                BufferedEvent::Event {
                    time,
                    attributes: EventAttributes::WorkflowExecutionSignaled(signal),
                } => Some((*time, signal)),
                _ => None,
            })
    }

    /// The run that continues this one, once it closed with a successor.
    pub fn new_execution_run_id(&self) -> Option<RunId> {
        self.new_execution_run_id
    }

    /// The workflow type.
    pub fn workflow_type(&self) -> &WorkflowType {
        &self.workflow_type
    }

    /// The sticky queue of the worker the run is cached on, if any.
    pub fn sticky_task_queue(&self) -> Option<&TaskQueueName> {
        self.sticky.as_ref().map(|sticky| &sticky.task_queue)
    }

    /// The WorkflowTaskStarted of the last workflow task a worker completed: the point
    /// queries see the workflow at.
    pub fn last_completed_workflow_task_started_event_id(&self) -> Option<EventId> {
        self.last_completed_workflow_task_started_event_id
    }

    /// The run's task queue.
    pub fn task_queue(&self) -> &TaskQueueName {
        &self.task_queue
    }

    /// When the run started.
    pub fn start_time(&self) -> Timestamp {
        self.start_time
    }

    /// The memo, with every upsert applied.
    pub fn memo(&self) -> &Memo {
        &self.memo
    }

    /// The search attributes, with every upsert applied.
    pub fn search_attributes(&self) -> &SearchAttributes {
        &self.search_attributes
    }

    /// Whether cancellation of the workflow was requested.
    pub fn cancel_requested(&self) -> bool {
        self.cancel_requested
    }

    /// The run's namespace.
    pub fn namespace(&self) -> &Namespace {
        &self.namespace
    }

    /// The parent, for a child workflow.
    pub fn parent(&self) -> Option<&ParentExecutionInfo> {
        self.parent.as_ref()
    }

    /// Signals to other workflows not yet delivered, by Initiated event.
    pub fn pending_external_signals(&self) -> &BTreeSet<EventId> {
        &self.pending_external_signals
    }

    /// Cancel requests to other workflows not yet delivered, by Initiated event.
    pub fn pending_external_cancels(&self) -> &BTreeSet<EventId> {
        &self.pending_external_cancels
    }
}
