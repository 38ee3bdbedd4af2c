//! Reset (spec §5.12.5, Temporal's workflow resetter): a new run forked from an earlier
//! run's history at the end of one of its workflow tasks.
//!
//! The new run's history is the base run's events up to that task's WorkflowTaskStarted
//! (copied with their ids and times), then WorkflowTaskFailed(RESET_WORKFLOW, base and new
//! run ids) in place of the task's end — replay reseeds randomness from the new run id
//! there — then, as the request asks, the signals the base run and its successors received
//! after the point (WorkflowExecutionSignaled again) and their updates
//! (WorkflowExecutionUpdateAdmitted, origin REAPPLY, delivered to the workflow like a
//! client's), and a new workflow task. Pending activities are dispatched afresh (their
//! timeouts counted from the reset), pending timers keep their expiry, pending requests to
//! other workflows are sent again. The runtime terminates the current run, if open, in the
//! same write.

use serde::{Deserialize, Serialize};

use super::ExecutionMachine;
use super::io::{Effects, Task};
use super::rebuild::RebuildError;
use super::update::AdmittedUpdate;
use crate::enums::{UpdateAdmittedEventOrigin, WorkflowTaskFailedCause};
use crate::failure::{Failure, FailureInfo};
use crate::history::{
    EventAttributes, EventType, HistoryEvent, WorkflowExecutionUpdateAdmittedEventAttributes,
    WorkflowTaskFailedEventAttributes,
};
use crate::ids::{EventId, RequestId, RunId};
use crate::limits::{SIGNALS_PER_EXECUTION_MAX, UPDATES_PER_EXECUTION_MAX};
use crate::time::Timestamp;
use crate::update::UpdateRequest;
use crate::validation::ValidationError;

/// Where a reset forks the base run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ResetPoint {
    /// The end of the first workflow task that completed: the workflow runs again from its
    /// start, with its original input.
    FirstWorkflowTask,
    /// The end of the last workflow task that completed.
    LastWorkflowTask,
    /// The WorkflowTaskCompleted (or WorkflowTaskFailed / WorkflowTaskTimedOut) event of a
    /// started workflow task.
    Event(EventId),
}

/// Which of the base run's later events the new run receives again.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum ResetReapply {
    /// Signals and updates (Temporal's default).
    #[default]
    SignalsAndUpdates,
    /// Signals only.
    Signals,
    /// Nothing.
    None,
    /// Updates only (signals excluded).
    Updates,
}

impl ResetReapply {
    /// What is left of `self` once signals (`signals`) or updates (`updates`) are
    /// excluded — Temporal's `reset_reapply_type` with its `reset_reapply_exclude_types`,
    /// and its CLI's `--reapply-type` with `--reapply-exclude`.
    pub fn excluding(self, signals: bool, updates: bool) -> Self {
        let keeps_signals = self.reapplies_signals() && !signals;
        let keeps_updates = self.reapplies_updates() && !updates;
        match (keeps_signals, keeps_updates) {
            (true, true) => Self::SignalsAndUpdates,
            (true, false) => Self::Signals,
            (false, true) => Self::Updates,
            (false, false) => Self::None,
        }
    }

    /// Whether later signals are written again.
    pub fn reapplies_signals(self) -> bool {
        matches!(self, Self::SignalsAndUpdates | Self::Signals)
    }

    /// Whether later updates are admitted again.
    pub fn reapplies_updates(self) -> bool {
        matches!(self, Self::SignalsAndUpdates | Self::Updates)
    }
}

/// A request to reset a run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResetRequest {
    /// Where to fork.
    pub point: ResetPoint,
    /// Why (written into WorkflowTaskFailed and the current run's termination).
    pub reason: String,
    /// What to reapply.
    pub reapply: ResetReapply,
    /// Who asks.
    pub identity: String,
    /// Deduplicates a retried reset: the same id yields the run the first one created.
    pub request_id: Option<RequestId>,
}

/// Most bytes of a reset reason.
pub const RESET_REASON_BYTES_MAX: usize = 1_000;

impl ResetRequest {
    /// Checks what can be checked without the run.
    pub fn validate(&self) -> Result<(), ValidationError> {
        if self.reason.len() > RESET_REASON_BYTES_MAX {
            return Err(ValidationError::TooLong {
                field: "reset reason",
                len: self.reason.len(),
                limit: RESET_REASON_BYTES_MAX,
            });
        }
        Ok(())
    }
}

/// Why a reset was refused; nothing changed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ResetError {
    /// The run has no workflow task that completed.
    #[error("the run has no completed workflow task to reset to")]
    NoCompletedWorkflowTask,
    /// The event named is not the end of a started workflow task.
    #[error(
        "event {0} is not the end of a started workflow task; reset to a WorkflowTaskCompleted, WorkflowTaskFailed or WorkflowTaskTimedOut event that follows a WorkflowTaskStarted"
    )]
    NotAWorkflowTaskEnd(EventId),
    /// The history up to the point cannot be a run's state.
    #[error(transparent)]
    Rebuild(#[from] RebuildError),
    /// The request itself is invalid.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
}

impl ResetPoint {
    /// The event id of the workflow task end this point names in `history`.
    pub fn resolve(&self, history: &[HistoryEvent]) -> Result<EventId, ResetError> {
        let is_end = |event: &HistoryEvent| {
            matches!(
                event.event_type(),
                EventType::WorkflowTaskCompleted
                    | EventType::WorkflowTaskFailed
                    | EventType::WorkflowTaskTimedOut
            )
        };
        let follows_started = |event: &HistoryEvent| {
            let position = event.event_id.get().saturating_sub(2) as usize;
            history.get(position).is_some_and(|previous| {
                previous.event_type() == EventType::WorkflowTaskStarted
                    && previous.event_id.next() == event.event_id
            })
        };
        let completed = |event: &&HistoryEvent| {
            event.event_type() == EventType::WorkflowTaskCompleted && follows_started(event)
        };
        match self {
            Self::FirstWorkflowTask => history
                .iter()
                .find(completed)
                .map(|event| event.event_id)
                .ok_or(ResetError::NoCompletedWorkflowTask),
            Self::LastWorkflowTask => history
                .iter()
                .rev()
                .find(completed)
                .map(|event| event.event_id)
                .ok_or(ResetError::NoCompletedWorkflowTask),
            Self::Event(event_id) => history
                .get(event_id.get().saturating_sub(1) as usize)
                .filter(|event| event.event_id == *event_id && is_end(event))
                .filter(|event| follows_started(event))
                .map(|event| event.event_id)
                .ok_or(ResetError::NotAWorkflowTaskEnd(*event_id)),
        }
    }
}

/// What a reset forks from.
#[derive(Clone, Copy, Debug)]
pub struct ResetFork<'a> {
    /// The run being reset.
    pub base: &'a ExecutionMachine,
    /// Its whole history.
    pub history: &'a [HistoryEvent],
    /// The histories of the runs that continued it (continue-as-new, retry, cron), in
    /// chain order: their signals and updates are reapplied too.
    pub successors: &'a [HistoryEvent],
    /// The request.
    pub request: &'a ResetRequest,
    /// The new run's id.
    pub new_run_id: RunId,
}

impl ExecutionMachine {
    /// The new run of a reset and its effects: the whole new history (prefix included) and
    /// the tasks to dispatch. `now` is no earlier than the base run's last event.
    pub fn reset(fork: ResetFork<'_>, now: Timestamp) -> Result<(Self, Effects), ResetError> {
        let request = fork.request;
        request.validate()?;
        let failure = Failure::new(
            request.reason.clone(),
            FailureInfo::ResetWorkflow {
                last_heartbeat_details: None,
            },
        );
        failure.validate()?;
        let point = request.point.resolve(fork.history)?;
        let split = (point.get() - 1) as usize;
        let (prefix, after) = fork.history.split_at(split.min(fork.history.len()));
        let mut machine = Self::rebuild(fork.base, prefix, fork.new_run_id)?;
        let mut fx = Effects {
            events: prefix.to_vec(),
            ..Effects::default()
        };
        let (task, started) = machine
            .workflow_task
            .take()
            .and_then(|task| task.started.clone().map(|started| (task, started)))
            .ok_or(ResetError::NotAWorkflowTaskEnd(point))?;
        machine.write(
            &mut fx,
            now,
            EventAttributes::WorkflowTaskFailed(WorkflowTaskFailedEventAttributes {
                scheduled_event_id: task.scheduled_event_id,
                started_event_id: started.started_event_id,
                cause: WorkflowTaskFailedCause::ResetWorkflow,
                failure: Some(failure),
                identity: request.identity.clone(),
                base_run_id: Some(fork.base.run_id),
                new_run_id: Some(fork.new_run_id),
            }),
        );
        machine.restart_pending_work(&mut fx, now);
        for event in after.iter().chain(fork.successors) {
            machine.reapply(&mut fx, now, event, request.reapply);
        }
        machine.restore_reapplied_updates();
        machine.workflow_task_attempt = 1;
        machine.schedule_workflow_task_if_needed(&mut fx, now);
        debug_assert!(machine.workflow_task.is_some(), "a reset run has a task");
        Ok((machine, fx))
    }

    /// Activities are dispatched afresh (their timeouts counted from now); requests to
    /// other workflows are sent again. Timers keep their expiry.
    fn restart_pending_work(&mut self, fx: &mut Effects, now: Timestamp) {
        for info in self.activities.values_mut() {
            info.scheduled_time = now;
            info.attempt_scheduled_time = now;
            fx.tasks.push(Task::ActivityTask {
                scheduled_event_id: info.scheduled_event_id,
                attempt: info.attempt,
                task_queue: info.scheduled.task_queue.clone(),
            });
        }
        for initiated_event_id in &self.pending_external_signals {
            fx.tasks.push(Task::SignalExternalWorkflow {
                initiated_event_id: *initiated_event_id,
            });
        }
        for initiated_event_id in &self.pending_external_cancels {
            fx.tasks.push(Task::RequestCancelExternalWorkflow {
                initiated_event_id: *initiated_event_id,
            });
        }
    }

    /// Writes one later event of the base chain again, if the request reapplies its kind.
    fn reapply(
        &mut self,
        fx: &mut Effects,
        now: Timestamp,
        event: &HistoryEvent,
        reapply: ResetReapply,
    ) {
        match &event.attributes {
            EventAttributes::WorkflowExecutionSignaled(signal) if reapply.reapplies_signals() => {
                let duplicate = signal
                    .request_id
                    .as_ref()
                    .is_some_and(|id| self.signal_request_ids.contains(id));
                if duplicate || self.signal_count >= SIGNALS_PER_EXECUTION_MAX {
                    return;
                }
                self.signal_count += 1;
                if let Some(request_id) = &signal.request_id {
                    self.signal_request_ids.insert(request_id.clone());
                }
                self.write(
                    fx,
                    now,
                    EventAttributes::WorkflowExecutionSignaled(signal.clone()),
                );
            }
            EventAttributes::WorkflowExecutionUpdateAccepted(accepted)
                if reapply.reapplies_updates() =>
            {
                self.reapply_update(fx, now, &accepted.accepted_request);
            }
            EventAttributes::WorkflowExecutionUpdateAdmitted(admitted)
                if reapply.reapplies_updates() =>
            {
                self.reapply_update(fx, now, &admitted.request);
            }
            _ => {}
        }
    }

    fn reapply_update(&mut self, fx: &mut Effects, now: Timestamp, request: &UpdateRequest) {
        let known = self.updates.contains_key(&request.update_id)
            || self
                .reapplied_updates
                .iter()
                .any(|reapplied| reapplied.update_id == request.update_id);
        if known || self.updates.len() + self.reapplied_updates.len() >= UPDATES_PER_EXECUTION_MAX {
            return;
        }
        self.write(
            fx,
            now,
            EventAttributes::WorkflowExecutionUpdateAdmitted(
                WorkflowExecutionUpdateAdmittedEventAttributes {
                    request: request.clone(),
                    origin: UpdateAdmittedEventOrigin::Reapply,
                },
            ),
        );
        self.reapplied_updates.push(request.clone());
    }

    /// Puts the reapplied updates back among the admitted ones, where a decoded machine
    /// (which holds only the durable list) lacks them, in their order and ahead of later
    /// admissions.
    pub(super) fn restore_reapplied_updates(&mut self) {
        for (position, request) in self.reapplied_updates.iter().enumerate() {
            let admitted = self
                .admitted_updates
                .iter()
                .any(|admitted| admitted.request.update_id == request.update_id);
            if !admitted {
                let position = position.min(self.admitted_updates.len());
                self.admitted_updates.insert(
                    position,
                    AdmittedUpdate {
                        request: request.clone(),
                        delivered_after: None,
                    },
                );
            }
        }
    }

    /// Drops from the durable list the reapplied updates the workflow answered (accepted
    /// ones are in history now, rejected ones are gone) or that the run's close aborted.
    pub(super) fn retain_unanswered_reapplied_updates(&mut self) {
        let admitted = &self.admitted_updates;
        self.reapplied_updates.retain(|request| {
            admitted
                .iter()
                .any(|admitted| admitted.request.update_id == request.update_id)
        });
    }

    /// Whether `update_id` was reapplied by a reset and not yet answered.
    pub(super) fn is_reapplied_update(&self, update_id: &crate::ids::UpdateId) -> bool {
        self.reapplied_updates
            .iter()
            .any(|request| &request.update_id == update_id)
    }
}
