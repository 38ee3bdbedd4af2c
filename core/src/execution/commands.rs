//! Each command of a workflow task completion turned into its event and state change.
//!
//! Stateless checks (timeouts, sizes) were done by [`crate::Command::validate`]; here are
//! the checks that need the run's state: duplicate ids, unknown timers and activities,
//! pending limits. A refusal refuses the whole completion.

use super::workflow_task::Refusal;
use super::{Effects, ExecutionMachine, Task, TimerInfo};
use crate::command::{Command, RequestCancelActivityTaskCommandAttributes};
use crate::enums::WorkflowTaskFailedCause as Cause;
use crate::history::*;
use crate::ids::{EventId, RunId};
use crate::limits::{
    PENDING_ACTIVITIES_MAX, PENDING_CHILD_WORKFLOWS_MAX, PENDING_REQUEST_CANCELS_MAX,
    PENDING_SIGNALS_MAX,
};
use crate::time::Timestamp;

impl ExecutionMachine {
    /// Applies one command; returns whether it requires a new workflow task (an activity
    /// cancelled before it started resolves at once).
    pub(super) fn handle_command(
        &mut self,
        fx: &mut Effects,
        now: Timestamp,
        completed: EventId,
        command: Command,
        next_run_id: RunId,
    ) -> Result<bool, Refusal> {
        match command {
            Command::ScheduleActivityTask(attributes) => {
                if self.activities.len() >= PENDING_ACTIVITIES_MAX {
                    return Err(Refusal::new(
                        Cause::PendingActivitiesLimitExceeded,
                        format!(
                            "the run has {PENDING_ACTIVITIES_MAX} pending activities, the maximum"
                        ),
                    ));
                }
                self.schedule_activity(fx, now, completed, *attributes)?;
            }
            Command::RequestCancelActivityTask(RequestCancelActivityTaskCommandAttributes {
                scheduled_event_id,
            }) => {
                return self.request_cancel_activity(fx, now, completed, scheduled_event_id);
            }
            Command::StartTimer(attributes) => {
                if self.timers.contains_key(&attributes.timer_id) {
                    return Err(Refusal::new(
                        Cause::StartTimerDuplicateId,
                        format!("timer {} is already started", attributes.timer_id),
                    ));
                }
                let expiry_time = now.saturating_add(attributes.start_to_fire_timeout);
                let started_event_id = self.write(
                    fx,
                    now,
                    EventAttributes::TimerStarted(TimerStartedEventAttributes {
                        timer_id: attributes.timer_id.clone(),
                        start_to_fire_timeout: attributes.start_to_fire_timeout,
                        workflow_task_completed_event_id: completed,
                    }),
                );
                self.timers.insert(
                    attributes.timer_id,
                    TimerInfo {
                        started_event_id,
                        expiry_time,
                    },
                );
            }
            Command::CancelTimer(attributes) => {
                let started_event_id = match self.timers.remove(&attributes.timer_id) {
                    Some(timer) => timer.started_event_id,
                    None => self
                        .fired_timer_started_event_id(&attributes.timer_id)
                        .ok_or_else(|| {
                            Refusal::new(
                                Cause::BadCancelTimerAttributes,
                                format!("timer {} is not pending", attributes.timer_id),
                            )
                        })?,
                };
                // A fire that arrived while this task ran is dropped: the workflow cancelled
                // the timer before it could see the fire.
                self.take_buffered_timer_fired(started_event_id);
                self.write(
                    fx,
                    now,
                    EventAttributes::TimerCanceled(TimerCanceledEventAttributes {
                        timer_id: attributes.timer_id,
                        started_event_id,
                        workflow_task_completed_event_id: completed,
                        identity: String::new(),
                    }),
                );
            }
            Command::RecordMarker(attributes) => {
                self.write(
                    fx,
                    now,
                    EventAttributes::MarkerRecorded(MarkerRecordedEventAttributes {
                        marker_name: attributes.marker_name,
                        details: attributes.details,
                        workflow_task_completed_event_id: completed,
                        header: attributes.header,
                        failure: attributes.failure,
                    }),
                );
            }
            Command::CompleteWorkflowExecution(attributes) => {
                self.close_completed(fx, now, completed, attributes.result, next_run_id);
            }
            Command::FailWorkflowExecution(attributes) => {
                self.close_failed(fx, now, completed, attributes.failure, next_run_id);
            }
            Command::CancelWorkflowExecution(attributes) => {
                self.close_canceled(fx, now, completed, attributes.details);
            }
            Command::ContinueAsNewWorkflowExecution(attributes) => {
                self.close_continued_as_new(fx, now, completed, *attributes, next_run_id);
            }
            Command::StartChildWorkflowExecution(attributes) => {
                if self.children.len() >= PENDING_CHILD_WORKFLOWS_MAX {
                    return Err(Refusal::new(
                        Cause::PendingChildWorkflowsLimitExceeded,
                        format!(
                            "the run has {PENDING_CHILD_WORKFLOWS_MAX} pending child workflows, the maximum"
                        ),
                    ));
                }
                let attributes = *attributes;
                let initiated = StartChildWorkflowExecutionInitiatedEventAttributes {
                    namespace: attributes
                        .namespace
                        .unwrap_or_else(|| self.namespace.clone()),
                    workflow_id: attributes.workflow_id,
                    workflow_type: attributes.workflow_type,
                    task_queue: attributes
                        .task_queue
                        .unwrap_or_else(|| self.task_queue.clone()),
                    input: attributes.input,
                    workflow_execution_timeout: attributes.workflow_execution_timeout,
                    workflow_run_timeout: attributes.workflow_run_timeout,
                    workflow_task_timeout: attributes.workflow_task_timeout,
                    parent_close_policy: attributes.parent_close_policy,
                    workflow_task_completed_event_id: completed,
                    workflow_id_reuse_policy: attributes.workflow_id_reuse_policy,
                    retry_policy: attributes.retry_policy,
                    cron_schedule: attributes.cron_schedule,
                    header: attributes.header,
                    memo: attributes.memo,
                    search_attributes: attributes.search_attributes,
                };
                let initiated_event_id = self.write(
                    fx,
                    now,
                    EventAttributes::StartChildWorkflowExecutionInitiated(Box::new(
                        initiated.clone(),
                    )),
                );
                self.note_child_initiated(initiated_event_id, &initiated);
                fx.tasks
                    .push(Task::StartChildWorkflow { initiated_event_id });
            }
            Command::SignalExternalWorkflowExecution(attributes) => {
                if self.pending_external_signals.len() >= PENDING_SIGNALS_MAX {
                    return Err(Refusal::new(
                        Cause::PendingSignalsLimitExceeded,
                        format!(
                            "the run has {PENDING_SIGNALS_MAX} pending signals to other workflows, the maximum"
                        ),
                    ));
                }
                let initiated_event_id = self.write(
                    fx,
                    now,
                    EventAttributes::SignalExternalWorkflowExecutionInitiated(
                        SignalExternalWorkflowExecutionInitiatedEventAttributes {
                            workflow_task_completed_event_id: completed,
                            namespace: attributes
                                .namespace
                                .unwrap_or_else(|| self.namespace.clone()),
                            workflow_execution: attributes.workflow_execution,
                            signal_name: attributes.signal_name,
                            input: attributes.input,
                            child_workflow_only: attributes.child_workflow_only,
                            header: attributes.header,
                        },
                    ),
                );
                self.pending_external_signals.insert(initiated_event_id);
                fx.tasks
                    .push(Task::SignalExternalWorkflow { initiated_event_id });
            }
            Command::RequestCancelExternalWorkflowExecution(attributes) => {
                if self.pending_external_cancels.len() >= PENDING_REQUEST_CANCELS_MAX {
                    return Err(Refusal::new(
                        Cause::PendingRequestCancelLimitExceeded,
                        format!(
                            "the run has {PENDING_REQUEST_CANCELS_MAX} pending cancel requests, the maximum"
                        ),
                    ));
                }
                let initiated_event_id = self.write(
                    fx,
                    now,
                    EventAttributes::RequestCancelExternalWorkflowExecutionInitiated(
                        RequestCancelExternalWorkflowExecutionInitiatedEventAttributes {
                            workflow_task_completed_event_id: completed,
                            namespace: attributes
                                .namespace
                                .unwrap_or_else(|| self.namespace.clone()),
                            workflow_execution: attributes.workflow_execution,
                            child_workflow_only: attributes.child_workflow_only,
                            reason: attributes.reason,
                        },
                    ),
                );
                self.pending_external_cancels.insert(initiated_event_id);
                fx.tasks
                    .push(Task::RequestCancelExternalWorkflow { initiated_event_id });
            }
            Command::UpsertWorkflowSearchAttributes(attributes) => {
                let mut merged = self.search_attributes.clone();
                merged.merge(&attributes.search_attributes);
                merged
                    .validate()
                    .map_err(|error| Refusal::new(Cause::BadSearchAttributes, error.to_string()))?;
                self.search_attributes = merged;
                self.write(
                    fx,
                    now,
                    EventAttributes::UpsertWorkflowSearchAttributes(
                        UpsertWorkflowSearchAttributesEventAttributes {
                            workflow_task_completed_event_id: completed,
                            search_attributes: attributes.search_attributes,
                        },
                    ),
                );
            }
            Command::ModifyWorkflowProperties(attributes) => {
                self.memo.0.extend(attributes.upserted_memo.0.clone());
                self.write(
                    fx,
                    now,
                    EventAttributes::WorkflowPropertiesModified(
                        WorkflowPropertiesModifiedEventAttributes {
                            workflow_task_completed_event_id: completed,
                            upserted_memo: attributes.upserted_memo,
                        },
                    ),
                );
            }
            Command::ProtocolMessage(attributes) => {
                return Err(Refusal::new(
                    Cause::BadUpdateWorkflowExecutionMessage,
                    format!(
                        "protocol message {:?} refers to no update; updates are not supported yet",
                        attributes.message_id
                    ),
                ));
            }
        }
        Ok(false)
    }

    /// The TimerStarted id of a timer whose fire is buffered (fired while this task ran).
    fn fired_timer_started_event_id(&self, timer_id: &crate::ids::TimerId) -> Option<EventId> {
        self.buffered_events
            .iter()
            .find_map(|buffered| match buffered {
                super::BufferedEvent::Event {
                    attributes: EventAttributes::TimerFired(fired),
                    ..
                } if &fired.timer_id == timer_id => Some(fired.started_event_id),
                _ => None,
            })
    }
}
