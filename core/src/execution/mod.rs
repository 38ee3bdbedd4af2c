//! The execution machine: the server-side state of one workflow run ("mutable state").
//!
//! One [`ExecutionMachine`] per run. Its API has three kinds of methods (quinn's shape):
//! - [`ExecutionMachine::start`] creates a run from a [`StartRequest`];
//! - [`ExecutionMachine::apply`] takes one [`Input`] at `now` and returns the [`Effects`]
//!   (new events, tasks to dispatch, a reply, maybe the next run of the chain), or
//!   [`Rejected`] — all or nothing: on `Err` the machine is unchanged;
//! - getters, [`ExecutionMachine::next_deadline`] above all: the runtime keeps one durable
//!   deadline per run and applies [`Input::Deadline`] when it passes. A deadline input with
//!   nothing due is a harmless no-op; nothing ever fires before it is due.
//!
//! Time is monotonic by contract: each input's `now` is at least the previous one's.
//! Run ids of successor runs are inputs ([`WorkflowTaskCompletion::next_run_id`],
//! [`Input::Deadline`]), never drawn here. The semantics follow Temporal's history service
//! event for event (`../shared/reference/temporal.md` §2–§3).

mod accessors;
mod activity;
mod child;
mod close;
mod commands;
mod deadline;
mod eager;
mod external;
mod history_limits;
mod io;
mod pending;
mod persisted;
mod rebuild;
mod reset;
mod start_policy;
mod task_started;
mod update;
mod workflow_task;

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde::{Deserialize, Serialize};

#[cfg(feature = "testing")]
pub(crate) use activity::ActivityOutcome;
pub use activity::{ActivityInfo, ActivityStarted};
pub use child::{ChildInfo, ChildOutcome};
pub use eager::EAGER_REQUEST_ID_PREFIX;
pub use history_limits::{HISTORY_LIMIT_TERMINATE_REASON, HistoryWarning};
pub use io::*;
pub use pending::{PendingActivity, PendingActivityState, PendingChild};
pub use rebuild::RebuildError;
pub use reset::{
    RESET_REASON_BYTES_MAX, ResetError, ResetFork, ResetPoint, ResetReapply, ResetRequest,
};
pub use start_policy::{StartDecision, StartFacts, StartKind, decide_start};
pub use update::UpdateRecord;
pub use workflow_task::{StartedWorkflowTask, WorkflowTask, WorkflowTaskKind};

use crate::cron::CronSchedule;
use crate::enums::WorkflowExecutionStatus;
use crate::history::{
    EventAttributes, HistoryEvent, ParentExecutionInfo, WorkflowExecutionSignaledEventAttributes,
    WorkflowExecutionStartedEventAttributes,
};
use crate::ids::{
    ActivityId, EventId, Namespace, RequestId, RunId, TaskQueueName, TimerId, UpdateId,
    WorkflowExecution, WorkflowId, WorkflowType,
};
use crate::limits::SIGNALS_PER_EXECUTION_MAX;
use crate::payload::{Header, Memo, Payloads};
use crate::retry::RetryPolicy;
use crate::search_attributes::SearchAttributes;
use crate::time::Timestamp;

/// A user timer that has started and not yet fired or been cancelled.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimerInfo {
    /// The TimerStarted event.
    pub started_event_id: EventId,
    /// When it fires.
    pub expiry_time: Timestamp,
}

/// An event that arrived while a workflow task was in flight, waiting to be written after
/// the task's completion.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) enum BufferedEvent {
    /// Any bufferable event.
    Event {
        time: Timestamp,
        attributes: EventAttributes,
    },
    /// An activity's close: ActivityTaskStarted (if it started) and the closing event, whose
    /// `started_event_id` is only known when they are written.
    ActivityClosed {
        time: Timestamp,
        close: activity::ActivityClose,
    },
    /// A child's close, whose Started event may itself be waiting in the buffer.
    ChildClosed {
        time: Timestamp,
        initiated_event_id: EventId,
        outcome: ChildOutcome,
    },
}

/// The state of one workflow run. Persisted as a tagged body (docs/format.md): a field
/// appended with `#[serde(default)]` (or an `Option`) decodes from older states with no
/// version bump. Fields are numbered by position: append, never reorder.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExecutionMachine {
    namespace: Namespace,
    workflow_id: WorkflowId,
    run_id: RunId,
    first_execution_run_id: RunId,
    workflow_type: WorkflowType,
    task_queue: TaskQueueName,
    input: Payloads,
    header: Header,
    parent: Option<ParentExecutionInfo>,
    task_timeout: Duration,
    run_timeout: Option<Duration>,
    execution_timeout: Option<Duration>,
    execution_expiration_time: Option<Timestamp>,
    run_expiration_time: Option<Timestamp>,
    retry_policy: Option<RetryPolicy>,
    cron_schedule: Option<CronSchedule>,
    attempt: u32,
    memo: Memo,
    search_attributes: SearchAttributes,
    /// The last successful result in a cron chain, carried to the next run.
    last_completion_result: Option<Payloads>,
    start_time: Timestamp,

    status: WorkflowExecutionStatus,
    next_event_id: EventId,
    history_size_bytes: u64,
    /// The first workflow task waits until then (start delay, retry or cron backoff).
    first_workflow_task_backoff_until: Option<Timestamp>,
    workflow_task: Option<WorkflowTask>,
    /// The attempt the next scheduled workflow task gets.
    workflow_task_attempt: u32,
    last_completed_workflow_task_started_event_id: Option<EventId>,
    sticky: Option<StickyAttributes>,
    buffered_events: Vec<BufferedEvent>,
    /// A closing command was refused because of buffered events; signals arriving while the
    /// retry task runs are refused so the workflow can close.
    close_attempted: bool,
    timers: BTreeMap<TimerId, TimerInfo>,
    activities: BTreeMap<EventId, ActivityInfo>,
    activity_ids: BTreeMap<ActivityId, EventId>,
    /// Retired (format versions 1 and 2 kept initiated children here, before children
    /// could start); always empty, superseded by `children`.
    #[serde(rename = "pending_child_workflows")]
    retired_pending_child_workflows: BTreeSet<EventId>,
    /// Pending signals to other workflows, by Initiated event.
    pending_external_signals: BTreeSet<EventId>,
    /// Pending cancel requests to other workflows, by Initiated event.
    pending_external_cancels: BTreeSet<EventId>,
    signal_request_ids: BTreeSet<RequestId>,
    signal_count: u64,
    cancel_requested: bool,
    /// The run that continues this one, once closed with a successor.
    new_execution_run_id: Option<RunId>,
    /// Updates admitted and not yet answered by the workflow, in arrival order. Only in
    /// memory, like Temporal's update registry: a lost one is sent again by its client.
    #[serde(skip)]
    admitted_updates: Vec<update::AdmittedUpdate>,
    /// Updates this run accepted, by id (format version 2; last, so a version-1 state
    /// decodes with none).
    updates: BTreeMap<UpdateId, UpdateRecord>,
    /// Updates a reset reapplied (WorkflowExecutionUpdateAdmitted) that the workflow has
    /// not answered: admitted, but durable, since history holds them (format version 3;
    /// last, so earlier versions decode with none).
    reapplied_updates: Vec<crate::update::UpdateRequest>,
    /// Child workflows initiated and not closed, by Initiated event (format version 3).
    /// Kept after the run closes: the parent close policy is applied from it.
    children: BTreeMap<EventId, ChildInfo>,
    /// The run's versioning (spec §5.13.1): set by each completed workflow task and by an
    /// operator's override; decides where its tasks go (appended: older states have none).
    #[serde(default)]
    versioning: crate::versioning::RunVersioning,
}

impl ExecutionMachine {
    /// Creates a run: WorkflowExecutionStarted, the signal of a signal-with-start, and the
    /// first workflow task — or, with a start delay or backoff, a deadline for it.
    pub fn start(request: StartRequest, now: Timestamp) -> (Self, Effects) {
        let backoff = request.first_workflow_task_backoff.filter(|d| !d.is_zero());
        let first_task_at = backoff.map(|backoff| now.saturating_add(backoff));
        let run_expiration_time = request
            .run_timeout
            .map(|timeout| first_task_at.unwrap_or(now).saturating_add(timeout));
        let mut machine = Self {
            namespace: request.namespace,
            workflow_id: request.workflow_id,
            run_id: request.run_id,
            first_execution_run_id: request.first_execution_run_id,
            workflow_type: request.workflow_type,
            task_queue: request.task_queue,
            input: request.input,
            header: request.header,
            parent: request.parent,
            task_timeout: request.task_timeout,
            run_timeout: request.run_timeout,
            execution_timeout: request.execution_timeout,
            execution_expiration_time: request.execution_expiration_time,
            run_expiration_time,
            retry_policy: request.retry_policy,
            cron_schedule: request.cron_schedule,
            attempt: request.attempt.max(1),
            memo: request.memo,
            search_attributes: request.search_attributes.without_removals(),
            last_completion_result: request
                .continued
                .as_ref()
                .and_then(|c| c.last_completion_result.clone()),
            start_time: now,
            status: WorkflowExecutionStatus::Running,
            next_event_id: EventId::FIRST,
            history_size_bytes: 0,
            first_workflow_task_backoff_until: first_task_at,
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
        let mut fx = Effects::default();
        let continued = request.continued;
        let started = WorkflowExecutionStartedEventAttributes {
            workflow_type: machine.workflow_type.clone(),
            parent: machine.parent.clone(),
            task_queue: machine.task_queue.clone(),
            input: machine.input.clone(),
            workflow_execution_timeout: machine.execution_timeout,
            workflow_run_timeout: machine.run_timeout,
            workflow_task_timeout: machine.task_timeout,
            continued_execution_run_id: continued.as_ref().map(|c| c.previous_run_id),
            initiator: continued.as_ref().map(|c| c.initiator),
            continued_failure: continued.as_ref().and_then(|c| c.failure.clone()),
            last_completion_result: continued.and_then(|c| c.last_completion_result),
            original_execution_run_id: machine.run_id,
            identity: request.identity,
            first_execution_run_id: machine.first_execution_run_id,
            retry_policy: machine.retry_policy.clone(),
            attempt: machine.attempt,
            workflow_execution_expiration_time: machine.execution_expiration_time,
            cron_schedule: machine.cron_schedule.clone(),
            first_workflow_task_backoff: backoff,
            memo: machine.memo.clone(),
            search_attributes: machine.search_attributes.clone(),
            header: machine.header.clone(),
        };
        machine.write(
            &mut fx,
            now,
            EventAttributes::WorkflowExecutionStarted(Box::new(started)),
        );
        if let Some(signal) = request.signal {
            machine.note_signal(&signal);
            machine.write(&mut fx, now, signal_event(signal, None));
        }
        machine.schedule_workflow_task_if_needed(&mut fx, now);
        (machine, fx)
    }

    /// Applies one input at `now`. All or nothing: on `Err` the machine is unchanged.
    ///
    /// Every handler checks its input before it changes anything, so refusing needs no
    /// undo; a workflow task completion, whose commands can only be checked by applying
    /// them in order, is tried on a copy. Debug builds verify the guarantee on every input.
    pub fn apply(&mut self, input: Input, now: Timestamp) -> Result<Effects, Rejected> {
        self.restore_reapplied_updates();
        #[cfg(debug_assertions)]
        let before = self.clone();
        let mut fx = Effects::default();
        let history_before = (self.history_length(), self.history_size_bytes);
        let result = self.apply_input(&mut fx, input, now);
        if result.is_ok() {
            self.retain_unanswered_reapplied_updates();
            self.enforce_history_limits(&mut fx, now, history_before);
        }
        #[cfg(debug_assertions)]
        if result.is_err() {
            debug_assert!(*self == before, "a refused input changed the machine");
        }
        debug_assert!(
            fx.events
                .windows(2)
                .all(|pair| pair[1].event_id == pair[0].event_id.next()),
            "events of one transition have dense ids"
        );
        result.map(|()| fx)
    }

    fn apply_input(
        &mut self,
        fx: &mut Effects,
        input: Input,
        now: Timestamp,
    ) -> Result<(), Rejected> {
        match input {
            Input::WorkflowTaskStarted {
                scheduled_event_id,
                request_id,
                identity,
            } => self.start_workflow_task(fx, now, scheduled_event_id, request_id, identity),
            Input::WorkflowTaskCompleted(completion) => {
                self.complete_workflow_task(fx, now, *completion)
            }
            Input::WorkflowTaskFailed {
                token,
                cause,
                failure,
                identity,
            } => self.fail_workflow_task_by_worker(fx, now, token, cause, failure, identity),
            Input::ActivityTaskStarted {
                token,
                request_id,
                identity,
            } => self.start_activity_task(fx, now, token, request_id, identity),
            Input::ResetStickyTaskQueue => {
                self.sticky = None;
                Ok(())
            }
            Input::ActivityTaskHeartbeat { token, details } => {
                self.heartbeat_activity_task(fx, now, token, details)
            }
            Input::ActivityTaskCompleted {
                token,
                result,
                identity,
            } => self.complete_activity_task(fx, now, token, result, identity),
            Input::ActivityTaskFailed {
                token,
                failure,
                identity,
            } => self.fail_activity_task(fx, now, token, failure, identity),
            Input::ActivityTaskCanceled {
                token,
                details,
                identity,
            } => self.cancel_activity_task(fx, now, token, details, identity),
            Input::Signal(signal) => self.signal(fx, now, signal, None, false),
            Input::SignalWithStart(signal) => self.signal(fx, now, signal, None, true),
            Input::SignalFromWorkflow { signal, sender } => {
                self.signal(fx, now, signal, Some(sender), false)
            }
            Input::RequestCancel {
                reason,
                identity,
                request_id: _,
            } => self.request_cancel(fx, now, reason, identity, None),
            Input::RequestCancelFromWorkflow {
                reason,
                sender,
                initiated_event_id,
            } => self.request_cancel(
                fx,
                now,
                reason,
                ENGINE_IDENTITY.to_owned(),
                Some((sender, initiated_event_id)),
            ),
            Input::ExternalSignalResolved { request, failure } => {
                self.resolve_external_signal(fx, now, request, failure)
            }
            Input::ExternalCancelResolved { request, failure } => {
                self.resolve_external_cancel(fx, now, request, failure)
            }
            Input::Terminate {
                reason,
                details,
                identity,
            } => self.terminate(fx, now, reason, details, identity),
            Input::Update {
                request,
                ends_start_delay,
            } => self.admit_update(fx, now, request, ends_start_delay),
            Input::ChildWorkflowStarted {
                initiated_event_id,
                run_id,
                header,
            } => self.child_started(fx, now, initiated_event_id, run_id, header),
            Input::StartChildWorkflowFailed {
                initiated_event_id,
                cause,
            } => self.start_child_failed(fx, now, initiated_event_id, cause),
            Input::ChildWorkflowClosed {
                initiated_event_id,
                run_id,
                outcome,
            } => self.child_closed(fx, now, initiated_event_id, run_id, outcome),
            Input::Deadline { next_run_id } => {
                self.fire_deadlines(fx, now, next_run_id);
                Ok(())
            }
            Input::UpdateOptions {
                versioning_override,
                unset_versioning_override,
                identity,
            } => self.update_options(
                fx,
                now,
                versioning_override,
                unset_versioning_override,
                identity,
            ),
        }
    }

    /// Sets or removes the run's versioning override, recorded as
    /// WorkflowExecutionOptionsUpdated; a request that changes nothing records nothing.
    fn update_options(
        &mut self,
        fx: &mut Effects,
        now: Timestamp,
        versioning_override: Option<crate::versioning::VersioningOverride>,
        unset: bool,
        identity: String,
    ) -> Result<(), Rejected> {
        self.require_open()?;
        if let Some(crate::versioning::VersioningOverride::Pinned(version)) = &versioning_override {
            version.validate()?;
        }
        let after = if unset {
            None
        } else {
            versioning_override.clone()
        };
        if versioning_override.is_none() && !unset || after == self.versioning.override_ {
            fx.reply = Reply::Duplicate;
            return Ok(());
        }
        let directive_before = self.versioning.directive();
        self.versioning.override_ = after;
        if self.versioning.directive() != directive_before {
            // The worker that holds the run in its cache may be of the version the run
            // leaves: its next task goes to the normal queue, where routing picks the
            // version (as Temporal's server clears stickiness on such a change).
            self.sticky = None;
        }
        self.add_event(
            fx,
            now,
            EventAttributes::WorkflowExecutionOptionsUpdated(
                crate::history::WorkflowExecutionOptionsUpdatedEventAttributes {
                    versioning_override,
                    unset_versioning_override: unset,
                    identity,
                },
            ),
        );
        Ok(())
    }

    /// Appends an event to history now, with the next id.
    fn write(&mut self, fx: &mut Effects, now: Timestamp, attributes: EventAttributes) -> EventId {
        let event_id = self.next_event_id;
        self.next_event_id = event_id.next();
        let event = HistoryEvent {
            event_id,
            event_time: now,
            attributes,
        };
        self.history_size_bytes += encoded_size(&event);
        fx.events.push(event);
        event_id
    }

    /// Adds an event that arrived from outside the workflow task protocol: buffered while
    /// a workflow task is in flight, written otherwise.
    fn add_event(&mut self, fx: &mut Effects, now: Timestamp, attributes: EventAttributes) {
        if self.workflow_task_in_flight() {
            self.buffered_events.push(BufferedEvent::Event {
                time: now,
                attributes,
            });
            return;
        }
        self.write(fx, now, attributes);
        self.materialize_pending_workflow_task(fx, now);
    }

    /// Writes the buffered events, in arrival order, with their arrival times.
    fn flush_buffered_events(&mut self, fx: &mut Effects) {
        debug_assert!(
            !self.workflow_task_in_flight(),
            "flush only when no task is in flight"
        );
        for buffered in std::mem::take(&mut self.buffered_events) {
            match buffered {
                BufferedEvent::Event { time, attributes } => {
                    self.write_child_event(fx, time, attributes);
                }
                BufferedEvent::ActivityClosed { time, close } => {
                    self.write_activity_close(fx, time, close)
                }
                BufferedEvent::ChildClosed {
                    time,
                    initiated_event_id,
                    outcome,
                } => self.write_child_close(fx, time, initiated_event_id, outcome),
            }
        }
    }

    fn note_signal(&mut self, signal: &SignalRequest) {
        self.signal_count += 1;
        if let Some(request_id) = &signal.request_id {
            self.signal_request_ids.insert(request_id.clone());
        }
    }

    fn signal(
        &mut self,
        fx: &mut Effects,
        now: Timestamp,
        signal: SignalRequest,
        sender: Option<WorkflowExecution>,
        ends_start_delay: bool,
    ) -> Result<(), Rejected> {
        self.require_open()?;
        if signal
            .request_id
            .as_ref()
            .is_some_and(|id| self.signal_request_ids.contains(id))
        {
            fx.reply = Reply::Duplicate;
            return Ok(());
        }
        if self.close_attempted && self.workflow_task_in_flight() {
            return Err(Rejected::WorkflowClosing);
        }
        if self.signal_count >= SIGNALS_PER_EXECUTION_MAX {
            return Err(Rejected::SignalLimitExceeded(self.signal_count));
        }
        signal.input.check_size("signal input")?;
        signal.header.check_size("signal header")?;
        self.note_signal(&signal);
        self.add_event(fx, now, signal_event(signal, sender));
        if ends_start_delay {
            self.first_workflow_task_backoff_until = None;
        }
        self.schedule_workflow_task_if_needed(fx, now);
        Ok(())
    }

    fn request_cancel(
        &mut self,
        fx: &mut Effects,
        now: Timestamp,
        reason: String,
        identity: String,
        sender: Option<(WorkflowExecution, EventId)>,
    ) -> Result<(), Rejected> {
        self.require_open()?;
        if self.cancel_requested {
            fx.reply = Reply::Duplicate;
            return Ok(());
        }
        self.cancel_requested = true;
        self.add_event(
            fx,
            now,
            EventAttributes::WorkflowExecutionCancelRequested(
                crate::history::WorkflowExecutionCancelRequestedEventAttributes {
                    cause: reason,
                    external_initiated_event_id: sender.as_ref().map(|(_, id)| *id),
                    external_workflow_execution: sender.map(|(execution, _)| execution),
                    identity,
                },
            ),
        );
        self.schedule_workflow_task_if_needed(fx, now);
        Ok(())
    }

    fn require_open(&self) -> Result<(), Rejected> {
        if self.status.is_closed() {
            return Err(Rejected::WorkflowClosed);
        }
        Ok(())
    }
}

/// The identity the engine gives requests it makes itself (signals and cancel requests
/// between workflows), like Temporal's history service.
pub const ENGINE_IDENTITY: &str = "endure-engine";

fn signal_event(signal: SignalRequest, sender: Option<WorkflowExecution>) -> EventAttributes {
    EventAttributes::WorkflowExecutionSignaled(WorkflowExecutionSignaledEventAttributes {
        signal_name: signal.signal_name,
        input: signal.input,
        identity: signal.identity,
        header: signal.header,
        request_id: signal.request_id,
        external_workflow_execution: sender,
    })
}

/// The encoded size of an event, the figure history size limits apply to.
fn encoded_size(event: &HistoryEvent) -> u64 {
    crate::codec::encoded_size(event) as u64
}
