//! Rebuilding a run's state from a prefix of its history (Temporal's state rebuilder),
//! for a reset.
//!
//! The prefix ends with a workflow task's WorkflowTaskStarted: it is what a run looked like
//! while that task was in flight. Every event of the prefix is folded into the state the
//! live machine would hold after writing it: pending activities, timers, requests to other
//! workflows, accepted updates, memo and search attributes, signal counts. What history does
//! not record (sticky queues, buffered events, in-memory updates) starts empty.

use std::collections::{BTreeMap, BTreeSet};

use super::activity::ActivityInfo;
use super::workflow_task::{StartedWorkflowTask, WorkflowTask, WorkflowTaskKind};
use super::{ExecutionMachine, TimerInfo, UpdateRecord, encoded_size};
use crate::enums::WorkflowExecutionStatus;
use crate::history::{EventAttributes, HistoryEvent};
use crate::ids::{EventId, RunId, TimerId};
use crate::task_queue::TaskQueue;

/// Why a history prefix cannot be rebuilt into a run.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RebuildError {
    /// The history is not one a run could have written.
    #[error("history cannot be rebuilt at event {event_id}: {reason}")]
    Inconsistent {
        /// The event that does not fit.
        event_id: u64,
        /// What is wrong with it.
        reason: String,
    },
    /// A child workflow is pending at the point (Temporal refuses such resets too).
    #[error(
        "the run has a pending child workflow at that point (initiated by event {0}); reset to a point before it was initiated or after it closed"
    )]
    PendingChildWorkflow(EventId),
}

impl ExecutionMachine {
    /// The state of a run whose history is `prefix` (ending with a started workflow task),
    /// under run id `run_id`. What history does not hold — the namespace, the workflow id
    /// and the run's expiration — comes from `base`, the run the prefix was taken from.
    pub(super) fn rebuild(
        base: &Self,
        prefix: &[HistoryEvent],
        run_id: RunId,
    ) -> Result<Self, RebuildError> {
        let inconsistent = |event: &HistoryEvent, reason: &str| RebuildError::Inconsistent {
            event_id: event.event_id.get(),
            reason: reason.to_owned(),
        };
        let Some((first, rest)) = prefix.split_first() else {
            return Err(RebuildError::Inconsistent {
                event_id: 1,
                reason: "the history is empty".into(),
            });
        };
        let EventAttributes::WorkflowExecutionStarted(started) = &first.attributes else {
            return Err(inconsistent(
                first,
                "the first event is not WorkflowExecutionStarted",
            ));
        };
        let mut machine = Self {
            namespace: base.namespace.clone(),
            workflow_id: base.workflow_id.clone(),
            run_id,
            first_execution_run_id: started.first_execution_run_id,
            workflow_type: started.workflow_type.clone(),
            task_queue: started.task_queue.clone(),
            input: started.input.clone(),
            header: started.header.clone(),
            parent: started.parent.clone(),
            task_timeout: started.workflow_task_timeout,
            run_timeout: started.workflow_run_timeout,
            execution_timeout: started.workflow_execution_timeout,
            execution_expiration_time: started.workflow_execution_expiration_time,
            run_expiration_time: base.run_expiration_time,
            retry_policy: started.retry_policy.clone(),
            cron_schedule: started.cron_schedule.clone(),
            attempt: started.attempt.max(1),
            memo: started.memo.clone(),
            search_attributes: started.search_attributes.clone(),
            last_completion_result: started.last_completion_result.clone(),
            start_time: first.event_time,
            status: WorkflowExecutionStatus::Running,
            next_event_id: EventId::FIRST.next(),
            history_size_bytes: encoded_size(first),
            first_workflow_task_backoff_until: None,
            workflow_task: None,
            workflow_task_attempt: 1,
            last_completed_workflow_task_started_event_id: None,
            sticky: None,
            buffered_events: Vec::new(),
            close_attempted: false,
            timers: BTreeMap::new(),
            activities: BTreeMap::new(),
            activity_ids: BTreeMap::new(),
            retired_pending_child_workflows: BTreeSet::new(),
            pending_external_signals: BTreeSet::new(),
            pending_external_cancels: BTreeSet::new(),
            signal_request_ids: BTreeSet::new(),
            signal_count: 0,
            cancel_requested: false,
            new_execution_run_id: None,
            admitted_updates: Vec::new(),
            updates: BTreeMap::new(),
            reapplied_updates: Vec::new(),
            children: BTreeMap::new(),
            versioning: crate::versioning::RunVersioning::default(),
        };
        if first.event_id != EventId::FIRST {
            return Err(inconsistent(first, "the history does not start at event 1"));
        }
        for event in rest {
            if event.event_id != machine.next_event_id {
                return Err(inconsistent(event, "event ids are not dense"));
            }
            machine
                .fold(event)
                .map_err(|reason| inconsistent(event, reason))?;
            machine.next_event_id = event.event_id.next();
            machine.history_size_bytes += encoded_size(event);
        }
        if let Some(initiated) = machine.children.keys().next() {
            return Err(RebuildError::PendingChildWorkflow(*initiated));
        }
        Ok(machine)
    }

    /// Folds one event into the state, as writing it did.
    fn fold(&mut self, event: &HistoryEvent) -> Result<(), &'static str> {
        let id = event.event_id;
        match &event.attributes {
            EventAttributes::WorkflowTaskScheduled(attributes) => {
                if self.workflow_task.is_some() {
                    return Err("a workflow task is scheduled while another is pending");
                }
                self.workflow_task_attempt = attributes.attempt.max(1);
                self.workflow_task = Some(WorkflowTask {
                    kind: WorkflowTaskKind::Normal,
                    scheduled_event_id: id,
                    scheduled_time: event.event_time,
                    attempt: attributes.attempt.max(1),
                    task_queue: TaskQueue::normal(self.task_queue.clone()),
                    start_to_close_timeout: attributes.start_to_close_timeout,
                    schedule_to_start_deadline: None,
                    started: None,
                });
            }
            EventAttributes::WorkflowTaskStarted(attributes) => {
                let task = self
                    .workflow_task
                    .as_mut()
                    .filter(|task| task.started.is_none())
                    .ok_or("a workflow task starts that is not scheduled")?;
                task.started = Some(StartedWorkflowTask {
                    started_event_id: id,
                    started_time: event.event_time,
                    request_id: attributes.request_id.clone(),
                    identity: attributes.identity.clone(),
                });
            }
            EventAttributes::WorkflowTaskCompleted(attributes) => {
                self.end_workflow_task()?;
                self.workflow_task_attempt = 1;
                self.last_completed_workflow_task_started_event_id =
                    Some(attributes.started_event_id);
                self.versioning.behavior = attributes.versioning_behavior;
                self.versioning.version = attributes.worker_deployment_version.clone();
            }
            EventAttributes::WorkflowTaskFailed(_) => self.end_workflow_task()?,
            EventAttributes::WorkflowTaskTimedOut(_) => {
                // A sticky task not started in time times out too (schedule-to-start).
                self.workflow_task
                    .take()
                    .ok_or("a workflow task times out that is not pending")?;
            }
            EventAttributes::ActivityTaskScheduled(scheduled) => {
                self.activity_ids.insert(scheduled.activity_id.clone(), id);
                self.activities.insert(
                    id,
                    ActivityInfo::new((**scheduled).clone(), id, event.event_time),
                );
            }
            EventAttributes::ActivityTaskStarted(_) => {}
            EventAttributes::ActivityTaskCancelRequested(attributes) => {
                self.activities
                    .get_mut(&attributes.scheduled_event_id)
                    .ok_or("cancel requested of an activity not pending")?
                    .cancel_requested_event_id = Some(id);
            }
            EventAttributes::ActivityTaskCompleted(attributes) => {
                self.close_rebuilt_activity(attributes.scheduled_event_id)?;
            }
            EventAttributes::ActivityTaskFailed(attributes) => {
                self.close_rebuilt_activity(attributes.scheduled_event_id)?;
            }
            EventAttributes::ActivityTaskTimedOut(attributes) => {
                self.close_rebuilt_activity(attributes.scheduled_event_id)?;
            }
            EventAttributes::ActivityTaskCanceled(attributes) => {
                self.close_rebuilt_activity(attributes.scheduled_event_id)?;
            }
            EventAttributes::TimerStarted(attributes) => {
                self.timers.insert(
                    attributes.timer_id.clone(),
                    TimerInfo {
                        started_event_id: id,
                        expiry_time: event
                            .event_time
                            .saturating_add(attributes.start_to_fire_timeout),
                    },
                );
            }
            EventAttributes::TimerFired(attributes) => {
                self.close_rebuilt_timer(&attributes.timer_id, attributes.started_event_id)
                    .ok_or("a timer fires that is not pending")?;
            }
            EventAttributes::TimerCanceled(attributes) => {
                self.close_rebuilt_timer(&attributes.timer_id, attributes.started_event_id)
                    .ok_or("a timer is canceled that is not pending")?;
            }
            EventAttributes::WorkflowExecutionSignaled(attributes) => {
                self.signal_count += 1;
                if let Some(request_id) = &attributes.request_id {
                    self.signal_request_ids.insert(request_id.clone());
                }
            }
            EventAttributes::WorkflowExecutionCancelRequested(_) => self.cancel_requested = true,
            EventAttributes::MarkerRecorded(_) => {}
            EventAttributes::UpsertWorkflowSearchAttributes(attributes) => {
                self.search_attributes.merge(&attributes.search_attributes);
            }
            EventAttributes::WorkflowPropertiesModified(attributes) => {
                self.memo.0.extend(attributes.upserted_memo.0.clone());
            }
            EventAttributes::SignalExternalWorkflowExecutionInitiated(_) => {
                self.pending_external_signals.insert(id);
            }
            EventAttributes::ExternalWorkflowExecutionSignaled(attributes) => {
                self.pending_external_signals
                    .remove(&attributes.initiated_event_id);
            }
            EventAttributes::SignalExternalWorkflowExecutionFailed(attributes) => {
                self.pending_external_signals
                    .remove(&attributes.initiated_event_id);
            }
            EventAttributes::RequestCancelExternalWorkflowExecutionInitiated(_) => {
                self.pending_external_cancels.insert(id);
            }
            EventAttributes::ExternalWorkflowExecutionCancelRequested(attributes) => {
                self.pending_external_cancels
                    .remove(&attributes.initiated_event_id);
            }
            EventAttributes::RequestCancelExternalWorkflowExecutionFailed(attributes) => {
                self.pending_external_cancels
                    .remove(&attributes.initiated_event_id);
            }
            EventAttributes::StartChildWorkflowExecutionInitiated(attributes) => {
                self.note_child_initiated(id, attributes);
            }
            EventAttributes::ChildWorkflowExecutionStarted(attributes) => {
                let child = self
                    .children
                    .get_mut(&attributes.initiated_event_id)
                    .ok_or("a child starts that was not initiated")?;
                child.run_id = attributes.workflow_execution.run_id;
                child.started_event_id = Some(id);
            }
            EventAttributes::StartChildWorkflowExecutionFailed(attributes) => {
                self.close_rebuilt_child(attributes.initiated_event_id)?;
            }
            EventAttributes::ChildWorkflowExecutionCompleted(attributes) => {
                self.close_rebuilt_child(attributes.child.initiated_event_id)?;
            }
            EventAttributes::ChildWorkflowExecutionFailed(attributes) => {
                self.close_rebuilt_child(attributes.child.initiated_event_id)?;
            }
            EventAttributes::ChildWorkflowExecutionCanceled(attributes) => {
                self.close_rebuilt_child(attributes.child.initiated_event_id)?;
            }
            EventAttributes::ChildWorkflowExecutionTimedOut(attributes) => {
                self.close_rebuilt_child(attributes.child.initiated_event_id)?;
            }
            EventAttributes::ChildWorkflowExecutionTerminated(attributes) => {
                self.close_rebuilt_child(attributes.child.initiated_event_id)?;
            }
            EventAttributes::WorkflowExecutionUpdateAdmitted(attributes) => {
                self.reapplied_updates.push(attributes.request.clone());
            }
            EventAttributes::WorkflowExecutionOptionsUpdated(attributes) => {
                if attributes.unset_versioning_override {
                    self.versioning.override_ = None;
                }
                if let Some(override_) = &attributes.versioning_override {
                    self.versioning.override_ = Some(override_.clone());
                }
            }
            EventAttributes::WorkflowExecutionUpdateAccepted(attributes) => {
                let update_id = attributes.accepted_request.update_id.clone();
                self.reapplied_updates
                    .retain(|request| request.update_id != update_id);
                self.updates.insert(
                    update_id,
                    UpdateRecord {
                        accepted_event_id: id,
                        completed_event_id: None,
                    },
                );
            }
            EventAttributes::WorkflowExecutionUpdateCompleted(attributes) => {
                self.updates
                    .get_mut(&attributes.update_id)
                    .ok_or("an update completes that was not accepted")?
                    .completed_event_id = Some(id);
            }
            EventAttributes::WorkflowExecutionStarted(_) => {
                return Err("WorkflowExecutionStarted is not the first event");
            }
            EventAttributes::WorkflowExecutionCompleted(_)
            | EventAttributes::WorkflowExecutionFailed(_)
            | EventAttributes::WorkflowExecutionTimedOut(_)
            | EventAttributes::WorkflowExecutionCanceled(_)
            | EventAttributes::WorkflowExecutionTerminated(_)
            | EventAttributes::WorkflowExecutionContinuedAsNew(_) => {
                return Err("the run closed before the point");
            }
        }
        Ok(())
    }

    fn end_workflow_task(&mut self) -> Result<(), &'static str> {
        self.workflow_task
            .take()
            .filter(|task| task.started.is_some())
            .map(drop)
            .ok_or("a workflow task ends that is not started")
    }

    fn close_rebuilt_child(&mut self, initiated_event_id: EventId) -> Result<(), &'static str> {
        self.children
            .remove(&initiated_event_id)
            .map(drop)
            .ok_or("a child closes that is not pending")
    }

    /// Closes the timer started at `started_event_id`. Its id may already name a newer timer:
    /// a firing buffered behind a workflow task is written after the task's commands, which
    /// may have started a timer under the same id; that one stays pending.
    fn close_rebuilt_timer(&mut self, timer_id: &TimerId, started_event_id: EventId) -> Option<()> {
        match self.timers.get(timer_id) {
            Some(timer) if timer.started_event_id == started_event_id => {
                self.timers.remove(timer_id).map(drop)
            }
            // The id was reused after this timer closed in the live machine.
            Some(timer) if timer.started_event_id > started_event_id => Some(()),
            _ => None,
        }
    }

    fn close_rebuilt_activity(&mut self, scheduled_event_id: EventId) -> Result<(), &'static str> {
        let info = self
            .activities
            .remove(&scheduled_event_id)
            .ok_or("an activity closes that is not pending")?;
        self.forget_activity_id(&info.scheduled.activity_id, scheduled_event_id);
        Ok(())
    }
}
