//! Closing a run, and the next run of its chain.
//!
//! A run closes by a command (complete, fail, cancel, continue-as-new), by terminate, or by
//! its run or execution timeout. A failed or timed-out run is retried when it has a retry
//! policy that allows it; otherwise, and after a completion, a cron schedule starts the next
//! run. The next run is created in the same transition ([`super::NextRun`]), and the closing
//! event names it in `new_execution_run_id`.

use std::time::Duration;

use super::ExecutionMachine;
use super::io::{Continuation, Effects, NextRun, StartRequest};
use crate::command::ContinueAsNewWorkflowExecutionCommandAttributes;
use crate::enums::{
    ContinueAsNewInitiator, RetryState, TimeoutType, WorkflowExecutionStatus,
    WorkflowTaskFailedCause,
};
use crate::failure::{Failure, FailureInfo};
use crate::history::*;
use crate::ids::{EventId, RunId};
use crate::payload::Payloads;
use crate::time::Timestamp;

/// Identity written on events the engine itself causes.
const ENGINE_IDENTITY: &str = "endure-engine";

/// What starts the next run of the chain.
struct Successor {
    initiator: ContinueAsNewInitiator,
    backoff: Duration,
    attempt: u32,
}

impl ExecutionMachine {
    pub(super) fn close_completed(
        &mut self,
        fx: &mut Effects,
        now: Timestamp,
        completed: EventId,
        result: Option<Payloads>,
        next_run_id: RunId,
    ) {
        let successor = self.cron_successor(now);
        let new_execution_run_id = successor.as_ref().map(|_| next_run_id);
        self.write(
            fx,
            now,
            EventAttributes::WorkflowExecutionCompleted(
                WorkflowExecutionCompletedEventAttributes {
                    result: result.clone(),
                    workflow_task_completed_event_id: completed,
                    new_execution_run_id,
                },
            ),
        );
        self.mark_closed(fx, WorkflowExecutionStatus::Completed, new_execution_run_id);
        if let Some(successor) = successor {
            self.start_successor(
                fx,
                now,
                next_run_id,
                successor,
                self.input.clone(),
                None,
                result,
            );
        }
    }

    pub(super) fn close_failed(
        &mut self,
        fx: &mut Effects,
        now: Timestamp,
        completed: EventId,
        failure: Failure,
        next_run_id: RunId,
    ) {
        let (retry_state, successor) = self.retry_or_cron_successor(now, &failure);
        let new_execution_run_id = successor.as_ref().map(|_| next_run_id);
        self.write(
            fx,
            now,
            EventAttributes::WorkflowExecutionFailed(WorkflowExecutionFailedEventAttributes {
                failure: failure.clone(),
                retry_state,
                workflow_task_completed_event_id: completed,
                new_execution_run_id,
            }),
        );
        self.mark_closed(fx, WorkflowExecutionStatus::Failed, new_execution_run_id);
        if let Some(successor) = successor {
            let last_result = self.last_completion_result.clone();
            self.start_successor(
                fx,
                now,
                next_run_id,
                successor,
                self.input.clone(),
                Some(failure),
                last_result,
            );
        }
    }

    pub(super) fn close_canceled(
        &mut self,
        fx: &mut Effects,
        now: Timestamp,
        completed: EventId,
        details: Option<Payloads>,
    ) {
        self.write(
            fx,
            now,
            EventAttributes::WorkflowExecutionCanceled(WorkflowExecutionCanceledEventAttributes {
                workflow_task_completed_event_id: completed,
                details,
            }),
        );
        self.mark_closed(fx, WorkflowExecutionStatus::Canceled, None);
    }

    pub(super) fn close_continued_as_new(
        &mut self,
        fx: &mut Effects,
        now: Timestamp,
        completed: EventId,
        command: ContinueAsNewWorkflowExecutionCommandAttributes,
        next_run_id: RunId,
    ) {
        if let Some(workflow_type) = command.workflow_type {
            self.workflow_type = workflow_type;
        }
        if let Some(task_queue) = command.task_queue {
            self.task_queue = task_queue;
        }
        if command.workflow_run_timeout.is_some() {
            self.run_timeout = command.workflow_run_timeout;
        }
        if let Some(task_timeout) = command.workflow_task_timeout {
            self.task_timeout = task_timeout.min(crate::limits::WORKFLOW_TASK_TIMEOUT_MAX);
        }
        if command.retry_policy.is_some() {
            self.retry_policy = command.retry_policy;
        }
        if command.cron_schedule.is_some() {
            self.cron_schedule = command.cron_schedule;
        }
        if let Some(memo) = command.memo {
            self.memo = memo;
        }
        if let Some(search_attributes) = command.search_attributes {
            self.search_attributes = search_attributes.without_removals();
        }
        self.header = command.header;
        let backoff = command.backoff_start_interval.unwrap_or_default();
        self.write(
            fx,
            now,
            EventAttributes::WorkflowExecutionContinuedAsNew(Box::new(
                WorkflowExecutionContinuedAsNewEventAttributes {
                    new_execution_run_id: next_run_id,
                    workflow_type: self.workflow_type.clone(),
                    task_queue: self.task_queue.clone(),
                    input: command.input.clone(),
                    workflow_run_timeout: self.run_timeout,
                    workflow_task_timeout: self.task_timeout,
                    workflow_task_completed_event_id: completed,
                    backoff_start_interval: command.backoff_start_interval,
                    initiator: ContinueAsNewInitiator::Workflow,
                    failure: None,
                    last_completion_result: None,
                    header: self.header.clone(),
                    memo: self.memo.clone(),
                    search_attributes: self.search_attributes.clone(),
                },
            )),
        );
        self.mark_closed(
            fx,
            WorkflowExecutionStatus::ContinuedAsNew,
            Some(next_run_id),
        );
        let successor = Successor {
            initiator: ContinueAsNewInitiator::Workflow,
            backoff,
            attempt: 1,
        };
        self.start_successor(fx, now, next_run_id, successor, command.input, None, None);
    }

    pub(super) fn terminate(
        &mut self,
        fx: &mut Effects,
        now: Timestamp,
        reason: String,
        details: Option<Payloads>,
        identity: String,
    ) -> Result<(), super::Rejected> {
        self.require_open()?;
        self.force_close_workflow_task(fx, now);
        self.write(
            fx,
            now,
            EventAttributes::WorkflowExecutionTerminated(
                WorkflowExecutionTerminatedEventAttributes {
                    reason,
                    details,
                    identity,
                },
            ),
        );
        self.mark_closed(fx, WorkflowExecutionStatus::Terminated, None);
        Ok(())
    }

    /// The run timeout fired: time out, then retry or cron if allowed.
    pub(super) fn time_out_run(&mut self, fx: &mut Effects, now: Timestamp, next_run_id: RunId) {
        let failure = Failure::new(
            "workflow run timed out",
            FailureInfo::Timeout {
                timeout_type: TimeoutType::StartToClose,
                last_heartbeat_details: None,
            },
        );
        let (retry_state, successor) = self.retry_or_cron_successor(now, &failure);
        self.time_out(
            fx,
            now,
            retry_state,
            successor.map(|successor| (successor, next_run_id, failure)),
        );
    }

    /// The execution timeout fired: the whole chain is over.
    pub(super) fn time_out_execution(&mut self, fx: &mut Effects, now: Timestamp) {
        self.time_out(fx, now, RetryState::Timeout, None);
    }

    fn time_out(
        &mut self,
        fx: &mut Effects,
        now: Timestamp,
        retry_state: RetryState,
        successor: Option<(Successor, RunId, Failure)>,
    ) {
        self.force_close_workflow_task(fx, now);
        let new_execution_run_id = successor.as_ref().map(|(_, run_id, _)| *run_id);
        self.write(
            fx,
            now,
            EventAttributes::WorkflowExecutionTimedOut(WorkflowExecutionTimedOutEventAttributes {
                retry_state,
                new_execution_run_id,
            }),
        );
        self.mark_closed(fx, WorkflowExecutionStatus::TimedOut, new_execution_run_id);
        if let Some((successor, run_id, failure)) = successor {
            let last_result = self.last_completion_result.clone();
            self.start_successor(
                fx,
                now,
                run_id,
                successor,
                self.input.clone(),
                Some(failure),
                last_result,
            );
        }
    }

    /// A started workflow task is failed with FORCE_CLOSE_COMMAND (no event if transient)
    /// and buffered events are flushed, so they precede the close (Temporal's
    /// TerminateWorkflow and TimeoutWorkflow).
    fn force_close_workflow_task(&mut self, fx: &mut Effects, now: Timestamp) {
        self.end_started_workflow_task_with_failure(
            fx,
            now,
            WorkflowTaskFailedCause::ForceCloseCommand,
            None,
            ENGINE_IDENTITY.to_owned(),
        );
    }

    /// Drops everything pending; a closed run waits for nothing.
    fn mark_closed(
        &mut self,
        fx: &mut Effects,
        status: WorkflowExecutionStatus,
        new_execution_run_id: Option<RunId>,
    ) {
        debug_assert!(
            self.buffered_events.is_empty(),
            "buffered events are flushed before a close"
        );
        self.abort_updates_on_close(fx, new_execution_run_id.is_some());
        self.close_tasks(fx, new_execution_run_id.is_none());
        self.status = status;
        self.new_execution_run_id = new_execution_run_id;
        self.workflow_task = None;
        self.first_workflow_task_backoff_until = None;
        self.timers.clear();
        self.activities.clear();
        self.activity_ids.clear();
        self.sticky = None;
    }

    /// After a failure or timeout: the retry policy first, then cron.
    fn retry_or_cron_successor(
        &self,
        now: Timestamp,
        failure: &Failure,
    ) -> (RetryState, Option<Successor>) {
        match self.retry_delay(now, failure) {
            Ok(backoff) => (
                RetryState::InProgress,
                Some(Successor {
                    initiator: ContinueAsNewInitiator::Retry,
                    backoff,
                    attempt: self.attempt.saturating_add(1),
                }),
            ),
            Err(retry_state) => (retry_state, self.cron_successor(now)),
        }
    }

    /// The delay before the retry of this run, or why there is none. Workflows retry only
    /// with a retry policy, and never past the execution timeout.
    fn retry_delay(&self, now: Timestamp, failure: &Failure) -> Result<Duration, RetryState> {
        let Some(policy) = &self.retry_policy else {
            return Err(RetryState::RetryPolicyNotSet);
        };
        let retryable = match &failure.info {
            FailureInfo::Application {
                error_type,
                non_retryable,
                ..
            } => !non_retryable && !policy.is_non_retryable_type(error_type),
            FailureInfo::Canceled { .. } | FailureInfo::Terminated => false,
            FailureInfo::Server { non_retryable } => !non_retryable,
            _ => true,
        };
        if !retryable {
            return Err(RetryState::NonRetryableFailure);
        }
        if policy.attempts_exhausted(self.attempt) {
            return Err(RetryState::MaximumAttemptsReached);
        }
        let delay = match &failure.info {
            FailureInfo::Application {
                next_retry_delay: Some(delay),
                ..
            } => *delay,
            _ => policy.backoff(self.attempt),
        };
        if self
            .execution_expiration_time
            .is_some_and(|expiration| now.saturating_add(delay) >= expiration)
        {
            return Err(RetryState::Timeout);
        }
        Ok(delay)
    }

    /// The next cron run, if the run has a schedule that fires again (before the
    /// execution timeout).
    fn cron_successor(&self, now: Timestamp) -> Option<Successor> {
        let next_fire = self.cron_schedule.as_ref()?.next_after(now)?;
        if self
            .execution_expiration_time
            .is_some_and(|expiration| next_fire >= expiration)
        {
            return None;
        }
        Some(Successor {
            initiator: ContinueAsNewInitiator::CronSchedule,
            backoff: next_fire.saturating_duration_since(now),
            attempt: 1,
        })
    }

    /// Creates the next run and puts it in the effects.
    #[allow(clippy::too_many_arguments)]
    fn start_successor(
        &self,
        fx: &mut Effects,
        now: Timestamp,
        run_id: RunId,
        successor: Successor,
        input: Payloads,
        failure: Option<Failure>,
        last_completion_result: Option<Payloads>,
    ) {
        let request = StartRequest {
            namespace: self.namespace.clone(),
            workflow_id: self.workflow_id.clone(),
            run_id,
            workflow_type: self.workflow_type.clone(),
            task_queue: self.task_queue.clone(),
            input,
            execution_expiration_time: self.execution_expiration_time,
            execution_timeout: self.execution_timeout,
            run_timeout: self.run_timeout,
            task_timeout: self.task_timeout,
            retry_policy: self.retry_policy.clone(),
            cron_schedule: self.cron_schedule.clone(),
            first_workflow_task_backoff: Some(successor.backoff),
            memo: self.memo.clone(),
            search_attributes: self.search_attributes.clone(),
            header: self.header.clone(),
            identity: ENGINE_IDENTITY.to_owned(),
            request_id: None,
            parent: self.parent.clone(),
            continued: Some(Continuation {
                previous_run_id: self.run_id,
                initiator: successor.initiator,
                failure,
                last_completion_result,
            }),
            first_execution_run_id: self.first_execution_run_id,
            attempt: successor.attempt,
            signal: None,
        };
        let (machine, effects) = Self::start(request, now);
        fx.next_run = Some(Box::new(NextRun { machine, effects }));
    }
}
