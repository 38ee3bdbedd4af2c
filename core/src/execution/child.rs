//! Child workflows (spec §5.20), the parent's side: the command writes
//! StartChildWorkflowExecutionInitiated and a task (`commands.rs`); the runtime starts the
//! child and reports [`Input::ChildWorkflowStarted`] or [`Input::StartChildWorkflowFailed`];
//! when the child's whole chain ends (not a run of it that continues as new or retries),
//! the child's close emits [`Task::RecordChildCompletion`] and the runtime reports
//! [`Input::ChildWorkflowClosed`] here. Each outcome is an event like any other arriving
//! from outside (buffered while a workflow task is in flight) and wakes the workflow.
//!
//! When the parent closes — completes, fails, times out, is terminated or continues as
//! new — each started child whose parent close policy is not ABANDON gets a
//! [`Task::ApplyParentClosePolicy`]: the runtime terminates it or asks it to cancel.
//!
//! [`Input::ChildWorkflowStarted`]: super::Input::ChildWorkflowStarted
//! [`Input::StartChildWorkflowFailed`]: super::Input::StartChildWorkflowFailed
//! [`Input::ChildWorkflowClosed`]: super::Input::ChildWorkflowClosed

use serde::{Deserialize, Serialize};

use super::io::{Effects, Rejected, Task};
use super::{BufferedEvent, ExecutionMachine};
use crate::enums::{ParentClosePolicy, RetryState, StartChildWorkflowExecutionFailedCause};
use crate::failure::Failure;
use crate::history::{
    ChildWorkflowExecutionCanceledEventAttributes, ChildWorkflowExecutionCompletedEventAttributes,
    ChildWorkflowExecutionFailedEventAttributes, ChildWorkflowExecutionRef,
    ChildWorkflowExecutionStartedEventAttributes, ChildWorkflowExecutionTerminatedEventAttributes,
    ChildWorkflowExecutionTimedOutEventAttributes, EventAttributes,
    StartChildWorkflowExecutionFailedEventAttributes,
    StartChildWorkflowExecutionInitiatedEventAttributes,
};
use crate::ids::{EventId, Namespace, RunId, WorkflowExecution, WorkflowId, WorkflowType};
use crate::payload::{Header, Payloads};
use crate::time::Timestamp;

/// A child workflow this run initiated and that has not closed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChildInfo {
    /// The child's namespace.
    pub namespace: Namespace,
    /// The child's workflow id.
    pub workflow_id: WorkflowId,
    /// The child's workflow type.
    pub workflow_type: WorkflowType,
    /// What happens to the child when this run closes.
    pub parent_close_policy: ParentClosePolicy,
    /// The WorkflowTaskCompleted event of the command.
    pub workflow_task_completed_event_id: EventId,
    /// The child's first run, once started.
    pub run_id: Option<RunId>,
    /// The ChildWorkflowExecutionStarted event, once written (it may wait in the buffer).
    pub started_event_id: Option<EventId>,
}

impl ChildInfo {
    /// The child as its Initiated event describes it.
    pub(super) fn initiated(
        attributes: &StartChildWorkflowExecutionInitiatedEventAttributes,
    ) -> Self {
        Self {
            namespace: attributes.namespace.clone(),
            workflow_id: attributes.workflow_id.clone(),
            workflow_type: attributes.workflow_type.clone(),
            parent_close_policy: attributes.parent_close_policy,
            workflow_task_completed_event_id: attributes.workflow_task_completed_event_id,
            run_id: None,
            started_event_id: None,
        }
    }
}

/// How a child's chain ended, as its last run's closing event says.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ChildOutcome {
    /// Completed with this result.
    Completed(Option<Payloads>),
    /// Failed.
    Failed {
        /// Why.
        failure: Box<Failure>,
        /// Why it was not retried.
        retry_state: RetryState,
    },
    /// Canceled.
    Canceled(Option<Payloads>),
    /// Timed out.
    TimedOut(RetryState),
    /// Terminated.
    Terminated,
}

impl ChildOutcome {
    /// The outcome a run's closing event gives, or `None` for an event that does not end
    /// a chain (continued as new, or closed with a successor).
    pub fn from_closing_event(attributes: &EventAttributes) -> Option<Self> {
        Some(match attributes {
            EventAttributes::WorkflowExecutionCompleted(a) if a.new_execution_run_id.is_none() => {
                Self::Completed(a.result.clone())
            }
            EventAttributes::WorkflowExecutionFailed(a) if a.new_execution_run_id.is_none() => {
                Self::Failed {
                    failure: Box::new(a.failure.clone()),
                    retry_state: a.retry_state,
                }
            }
            EventAttributes::WorkflowExecutionTimedOut(a) if a.new_execution_run_id.is_none() => {
                Self::TimedOut(a.retry_state)
            }
            EventAttributes::WorkflowExecutionCanceled(a) => Self::Canceled(a.details.clone()),
            EventAttributes::WorkflowExecutionTerminated(_) => Self::Terminated,
            _ => return None,
        })
    }
}

impl ExecutionMachine {
    /// The child workflows initiated and not closed, by Initiated event.
    pub fn children(&self) -> &std::collections::BTreeMap<EventId, ChildInfo> {
        &self.children
    }

    /// Records a command's child: pending until the runtime starts it.
    pub(super) fn note_child_initiated(
        &mut self,
        initiated_event_id: EventId,
        attributes: &StartChildWorkflowExecutionInitiatedEventAttributes,
    ) {
        self.children
            .insert(initiated_event_id, ChildInfo::initiated(attributes));
    }

    fn pending_child(&self, initiated_event_id: EventId) -> Result<&ChildInfo, Rejected> {
        self.require_open()?;
        self.children.get(&initiated_event_id).ok_or_else(|| {
            Rejected::NotFound(format!(
                "child workflow initiated by event {initiated_event_id}"
            ))
        })
    }

    /// The child started as run `run_id`: ChildWorkflowExecutionStarted. A repeated report
    /// of the same start changes nothing.
    pub(super) fn child_started(
        &mut self,
        fx: &mut Effects,
        now: Timestamp,
        initiated_event_id: EventId,
        run_id: RunId,
        header: Header,
    ) -> Result<(), Rejected> {
        let child = self.pending_child(initiated_event_id)?;
        match child.run_id {
            Some(started) if started == run_id => return Ok(()),
            Some(started) => {
                return Err(Rejected::NotFound(format!(
                    "child workflow initiated by event {initiated_event_id} started as run {started}, not {run_id}"
                )));
            }
            None => {}
        }
        let attributes = EventAttributes::ChildWorkflowExecutionStarted(
            ChildWorkflowExecutionStartedEventAttributes {
                namespace: child.namespace.clone(),
                initiated_event_id,
                workflow_execution: WorkflowExecution {
                    workflow_id: child.workflow_id.clone(),
                    run_id: Some(run_id),
                },
                workflow_type: child.workflow_type.clone(),
                header,
            },
        );
        if let Some(child) = self.children.get_mut(&initiated_event_id) {
            child.run_id = Some(run_id);
        }
        self.add_child_event(fx, now, attributes);
        Ok(())
    }

    /// The child could not start: StartChildWorkflowExecutionFailed.
    pub(super) fn start_child_failed(
        &mut self,
        fx: &mut Effects,
        now: Timestamp,
        initiated_event_id: EventId,
        cause: StartChildWorkflowExecutionFailedCause,
    ) -> Result<(), Rejected> {
        let child = self.pending_child(initiated_event_id)?;
        if child.run_id.is_some() {
            return Err(Rejected::NotFound(format!(
                "child workflow initiated by event {initiated_event_id} has started"
            )));
        }
        let attributes = EventAttributes::StartChildWorkflowExecutionFailed(
            StartChildWorkflowExecutionFailedEventAttributes {
                namespace: child.namespace.clone(),
                workflow_id: child.workflow_id.clone(),
                workflow_type: child.workflow_type.clone(),
                cause,
                initiated_event_id,
                workflow_task_completed_event_id: child.workflow_task_completed_event_id,
            },
        );
        self.children.remove(&initiated_event_id);
        self.add_child_event(fx, now, attributes);
        Ok(())
    }

    /// The chain of the child that started as `run_id` ended:
    /// ChildWorkflowExecution{Completed, Failed, …} — preceded by its Started event if the
    /// report of its start has not arrived yet (it then finds the child gone).
    pub(super) fn child_closed(
        &mut self,
        fx: &mut Effects,
        now: Timestamp,
        initiated_event_id: EventId,
        run_id: RunId,
        outcome: ChildOutcome,
    ) -> Result<(), Rejected> {
        let child = self.pending_child(initiated_event_id)?;
        let close_buffered = self.buffered_events.iter().any(|buffered| {
            matches!(buffered, BufferedEvent::ChildClosed { initiated_event_id: id, .. } if *id == initiated_event_id)
        });
        if close_buffered {
            // A repeated report (the runtime redelivers after a crash): the close waits in
            // the buffer already.
            return Err(Rejected::NotFound(format!(
                "child workflow initiated by event {initiated_event_id} has closed"
            )));
        }
        match child.run_id {
            // The close came first: Started is written without the header, which only the
            // start's report carries (Temporal reads it from the child's first event).
            None => self.child_started(fx, now, initiated_event_id, run_id, Header::new())?,
            Some(started) if started != run_id => {
                return Err(Rejected::NotFound(format!(
                    "child workflow initiated by event {initiated_event_id} started as run {started}, not {run_id}"
                )));
            }
            Some(_) => {}
        }
        if self.workflow_task_in_flight() {
            self.buffered_events.push(BufferedEvent::ChildClosed {
                time: now,
                initiated_event_id,
                outcome,
            });
        } else {
            self.write_child_close(fx, now, initiated_event_id, outcome);
            self.materialize_pending_workflow_task(fx, now);
            self.schedule_workflow_task_if_needed(fx, now);
        }
        Ok(())
    }

    /// Adds a child's Started or StartFailed event (buffered while a task is in flight)
    /// and wakes the workflow.
    fn add_child_event(&mut self, fx: &mut Effects, now: Timestamp, attributes: EventAttributes) {
        if self.workflow_task_in_flight() {
            self.buffered_events.push(BufferedEvent::Event {
                time: now,
                attributes,
            });
            return;
        }
        self.write_child_event(fx, now, attributes);
        self.materialize_pending_workflow_task(fx, now);
        self.schedule_workflow_task_if_needed(fx, now);
    }

    /// Writes a child event, noting where the Started event landed.
    pub(super) fn write_child_event(
        &mut self,
        fx: &mut Effects,
        now: Timestamp,
        attributes: EventAttributes,
    ) {
        let started = match &attributes {
            EventAttributes::ChildWorkflowExecutionStarted(a) => Some(a.initiated_event_id),
            _ => None,
        };
        let event_id = self.write(fx, now, attributes);
        if let Some(child) = started.and_then(|initiated| self.children.get_mut(&initiated)) {
            child.started_event_id = Some(event_id);
        }
    }

    /// Writes a child's closing event (its Started event is written by now) and forgets it.
    pub(super) fn write_child_close(
        &mut self,
        fx: &mut Effects,
        now: Timestamp,
        initiated_event_id: EventId,
        outcome: ChildOutcome,
    ) {
        let Some(child) = self.children.remove(&initiated_event_id) else {
            debug_assert!(false, "a closing child is known");
            return;
        };
        debug_assert!(
            child.started_event_id.is_some(),
            "a child's Started event precedes its close"
        );
        let child = ChildWorkflowExecutionRef {
            namespace: child.namespace,
            workflow_execution: WorkflowExecution {
                workflow_id: child.workflow_id,
                run_id: child.run_id,
            },
            workflow_type: child.workflow_type,
            initiated_event_id,
            started_event_id: child.started_event_id.unwrap_or(initiated_event_id),
        };
        let attributes = match outcome {
            ChildOutcome::Completed(result) => EventAttributes::ChildWorkflowExecutionCompleted(
                ChildWorkflowExecutionCompletedEventAttributes { child, result },
            ),
            ChildOutcome::Failed {
                failure,
                retry_state,
            } => EventAttributes::ChildWorkflowExecutionFailed(
                ChildWorkflowExecutionFailedEventAttributes {
                    child,
                    failure: *failure,
                    retry_state,
                },
            ),
            ChildOutcome::Canceled(details) => EventAttributes::ChildWorkflowExecutionCanceled(
                ChildWorkflowExecutionCanceledEventAttributes { child, details },
            ),
            ChildOutcome::TimedOut(retry_state) => EventAttributes::ChildWorkflowExecutionTimedOut(
                ChildWorkflowExecutionTimedOutEventAttributes { child, retry_state },
            ),
            ChildOutcome::Terminated => EventAttributes::ChildWorkflowExecutionTerminated(
                ChildWorkflowExecutionTerminatedEventAttributes { child },
            ),
        };
        self.write(fx, now, attributes);
    }

    /// At close: the tasks that apply the parent close policy to each child not yet closed
    /// (none for ABANDON; a child whose start is still on its way is included, since it
    /// may start before the runtime learns the parent closed), and, for a child whose chain
    /// ends here, the report to its parent.
    pub(super) fn close_tasks(&self, fx: &mut Effects, ends_chain: bool) {
        for (initiated_event_id, child) in &self.children {
            if child.parent_close_policy != ParentClosePolicy::Abandon {
                fx.tasks.push(Task::ApplyParentClosePolicy {
                    initiated_event_id: *initiated_event_id,
                });
            }
        }
        if ends_chain && self.parent.is_some() {
            fx.tasks.push(Task::RecordChildCompletion);
        }
    }
}
