//! The scheduler: a schedule's durable state and every decision it makes, pure.
//!
//! The engine keeps a [`SchedulerState`] in the history of a workflow run of its own
//! (ARCHITECTURE.md, "Schedules"). At each wake-up it applies what arrived
//! ([`SchedulerInput`]: patches, updates, closes of started workflows), takes the starts
//! the previous wake-up decided and recorded (each with the request id drawn then, so a
//! retried wake-up finds the run it started) and reports each outcome with
//! [`record_start`], asks [`plan`] for what is due at `now` — which moves
//! `last_processed` to `now`, so a time is decided once — records those starts for the
//! next wake-up, and sleeps until [`next_wakeup`] (or wakes again at once when it decided
//! starts).
//!
//! [`plan`]: SchedulerState::plan
//! [`record_start`]: SchedulerState::record_start
//! [`next_wakeup`]: SchedulerState::next_wakeup

use serde::{Deserialize, Serialize};

use super::SpecError;
use super::buffer::decide;
use super::compiled::CompiledSpec;
use super::model::*;
use crate::enums::WorkflowExecutionStatus;
use crate::hashing::{FNV_BASIS, fnv1a};
use crate::ids::{Namespace, RunId, WorkflowId};
use crate::time::Timestamp;

/// What a schedule is told between wake-ups.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum SchedulerInput {
    /// Trigger, backfill, pause or unpause.
    Patch(SchedulePatch),
    /// Replace the schedule (spec, action, policies, state), if the conflict token (when
    /// given) is still the schedule's.
    Update {
        /// The new schedule.
        schedule: Box<Schedule>,
        /// The token describe returned; `None` to update unconditionally.
        conflict_token: Option<u64>,
    },
    /// A workflow it started was seen closed.
    Closed {
        /// The workflow id.
        workflow_id: WorkflowId,
        /// How it closed.
        status: WorkflowExecutionStatus,
        /// Its failure's message, if it failed.
        failure: Option<String>,
    },
}

/// A start decided by a wake-up. It is recorded in the schedule's history before it is
/// taken, and taken by the next wake-up (see [`history::fold`](super::history::fold)): a
/// wake-up retried at a later time may decide otherwise, but never about starts already
/// taken.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedStart {
    /// The start as buffered.
    pub start: BufferedStart,
    /// The workflow id: the action's id and the nominal time, `<id>-<RFC 3339>`.
    pub workflow_id: WorkflowId,
    /// Makes the start idempotent across retried wake-ups.
    pub request_id: String,
    /// Whether it counts against the running workflows (not under allow-all).
    pub tracked: bool,
}

/// How a start went.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StartOutcome {
    /// Started (or found started by this very request).
    Started {
        /// The run.
        run_id: RunId,
        /// When.
        at: Timestamp,
    },
    /// Refused for good (the id is taken, the options were refused…): counted, dropped.
    Refused,
}

/// What a wake-up must do now.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// Starts to take, in order.
    pub starts: Vec<PlannedStart>,
    /// Running workflows to cancel.
    pub cancel: Vec<RunningWorkflow>,
    /// Running workflows to terminate.
    pub terminate: Vec<RunningWorkflow>,
}

/// A schedule's durable state.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SchedulerState {
    /// Its namespace.
    pub namespace: Namespace,
    /// Its id.
    pub schedule_id: WorkflowId,
    /// The schedule.
    pub schedule: Schedule,
    /// What it has done.
    pub info: ScheduleInfo,
    /// Every scheduled time up to here has been considered.
    pub last_processed: Timestamp,
    /// Starts waiting for the running workflow.
    pub buffer: Vec<BufferedStart>,
    /// Backfills in progress.
    pub backfills: Vec<Backfill>,
    /// Changes with every change of the schedule; an update naming an older one is
    /// refused.
    pub conflict_token: u64,
}

/// How many times one wake-up takes from a backfill (the rest waits for the next).
const BACKFILL_TIMES_PER_WAKEUP: usize = 100;

impl SchedulerState {
    /// A new schedule, created at `now` (its spec checked).
    pub fn new(
        namespace: Namespace,
        schedule_id: WorkflowId,
        schedule: Schedule,
        now: Timestamp,
    ) -> Result<Self, SpecError> {
        CompiledSpec::new(&schedule.spec)?;
        Ok(Self {
            namespace,
            schedule_id,
            schedule,
            info: ScheduleInfo {
                created_at: Some(now),
                ..ScheduleInfo::default()
            },
            last_processed: now,
            buffer: Vec::new(),
            backfills: Vec::new(),
            conflict_token: 1,
        })
    }

    /// The seed of this schedule's jitter.
    fn seed(&self) -> String {
        format!("{}/{}", self.namespace, self.schedule_id)
    }

    fn compiled(&self) -> Option<CompiledSpec> {
        // Checked when created or updated; a spec that no longer compiles (a time zone
        // gone from the database) fires never rather than failing the schedule.
        CompiledSpec::new(&self.schedule.spec).ok()
    }

    fn catchup_window(&self) -> std::time::Duration {
        self.schedule
            .policies
            .catchup_window
            .max(CATCHUP_WINDOW_MIN)
    }

    fn resolve(&self, policy: ScheduleOverlapPolicy) -> ScheduleOverlapPolicy {
        match (policy, self.schedule.policies.overlap) {
            (ScheduleOverlapPolicy::Unspecified, ScheduleOverlapPolicy::Unspecified) => {
                ScheduleOverlapPolicy::Skip
            }
            (ScheduleOverlapPolicy::Unspecified, own) => own,
            (given, _) => given,
        }
    }

    /// Whether a scheduled (not manual) time may be taken: not paused, actions left.
    fn takes_scheduled(&self) -> bool {
        let state = &self.schedule.state;
        !state.paused && (!state.limited_actions || state.remaining_actions > 0)
    }

    /// Applies what arrived. An update whose conflict token is stale is ignored (its
    /// sender was told at once when it could be; see the engine) and `false` returned.
    pub fn apply(&mut self, input: SchedulerInput, now: Timestamp) -> bool {
        match input {
            SchedulerInput::Patch(patch) => {
                if let Some(overlap) = patch.trigger {
                    self.add_start(now, now, overlap, true);
                }
                for backfill in patch.backfills {
                    if self.backfills.len() >= BACKFILLS_MAX {
                        self.info.buffer_dropped += 1;
                        continue;
                    }
                    self.backfills.push(backfill);
                }
                if let Some(note) = patch.pause {
                    self.schedule.state.paused = true;
                    self.schedule.state.notes = note;
                    self.conflict_token += 1;
                }
                if let Some(note) = patch.unpause {
                    self.schedule.state.paused = false;
                    self.schedule.state.notes = note;
                    self.conflict_token += 1;
                }
                true
            }
            SchedulerInput::Update {
                schedule,
                conflict_token,
            } => {
                if conflict_token.is_some_and(|token| token != self.conflict_token) {
                    return false;
                }
                self.schedule = *schedule;
                self.info.updated_at = Some(now);
                self.conflict_token += 1;
                true
            }
            SchedulerInput::Closed {
                workflow_id,
                status,
                failure,
            } => {
                if status == WorkflowExecutionStatus::Running {
                    return true;
                }
                self.info
                    .running
                    .retain(|running| running.workflow_id != workflow_id);
                for action in &mut self.info.recent_actions {
                    if action.workflow_id == workflow_id {
                        action.status = status;
                    }
                }
                let failed = matches!(
                    status,
                    WorkflowExecutionStatus::Failed | WorkflowExecutionStatus::TimedOut
                );
                if failed && self.schedule.policies.pause_on_failure && !self.schedule.state.paused
                {
                    self.schedule.state.paused = true;
                    self.schedule.state.notes = match (status, failure) {
                        (WorkflowExecutionStatus::Failed, Some(message)) => {
                            format!("paused due to workflow failure: {workflow_id}: {message}")
                        }
                        (WorkflowExecutionStatus::Failed, None) => {
                            format!("paused due to workflow failure: {workflow_id}")
                        }
                        _ => format!("paused due to workflow timeout: {workflow_id}"),
                    };
                    self.conflict_token += 1;
                }
                true
            }
        }
    }

    fn add_start(
        &mut self,
        nominal: Timestamp,
        actual: Timestamp,
        overlap: ScheduleOverlapPolicy,
        manual: bool,
    ) {
        if self.buffer.len() >= BUFFERED_STARTS_MAX {
            self.info.buffer_dropped += 1;
            return;
        }
        self.buffer.push(BufferedStart {
            nominal,
            actual,
            overlap,
            manual,
        });
    }

    /// Buffers every scheduled time due by `now` after `last_processed` (those later than
    /// the catch-up window counted as missed), and moves `last_processed` up to the last
    /// nominal time taken — not to `now`, so a time whose jitter puts it after `now` is
    /// taken on a later wake-up.
    fn process_time(&mut self, now: Timestamp) {
        let start = self.last_processed;
        if now <= start {
            return;
        }
        let Some(spec) = self.compiled() else {
            self.last_processed = now;
            return;
        };
        if !self.takes_scheduled() {
            // Paused or out of actions: the time passes untaken (and is not "missed").
            self.last_processed = now;
            return;
        }
        let seed = self.seed();
        let window = self.catchup_window();
        let mut after = start;
        loop {
            let Some(time) = spec.next_time(&seed, after) else {
                after = now;
                break;
            };
            if time.actual > now {
                break;
            }
            after = time.nominal;
            if self
                .info
                .updated_at
                .is_some_and(|updated| time.actual < updated)
            {
                // Times before an update belong to the spec it replaced.
                continue;
            }
            if now.saturating_duration_since(time.actual) > window {
                self.info.missed_catchup_window += 1;
                continue;
            }
            self.add_start(
                time.nominal,
                time.actual,
                ScheduleOverlapPolicy::Unspecified,
                false,
            );
        }
        self.last_processed = after.max(start);
    }

    fn process_backfills(&mut self) {
        let Some(spec) = self.compiled() else {
            self.backfills.clear();
            return;
        };
        let seed = self.seed();
        let mut budget = BACKFILL_TIMES_PER_WAKEUP;
        while budget > 0
            && !self.backfills.is_empty()
            && self.buffer.len() < BUFFERED_STARTS_MAX / 2
        {
            let backfill = self.backfills[0].clone();
            // The start is inclusive.
            let mut after = backfill
                .start
                .saturating_sub(std::time::Duration::from_nanos(1));
            let mut done = true;
            while let Some(time) = spec.next_time(&seed, after) {
                if time.nominal > backfill.end {
                    break;
                }
                if budget == 0 {
                    done = false;
                    break;
                }
                budget -= 1;
                after = time.nominal;
                self.add_start(time.nominal, time.nominal, backfill.overlap, true);
            }
            if done {
                self.backfills.remove(0);
            } else {
                self.backfills[0].start = after.saturating_add(std::time::Duration::from_nanos(1));
            }
        }
    }

    /// What to do at `now`: the scheduled times up to `now` and the backfills buffered,
    /// then the buffer decided against the running workflows.
    pub fn plan(&mut self, now: Timestamp) -> Plan {
        self.process_time(now);
        self.process_backfills();
        let mut plan = Plan::default();
        if self.buffer.is_empty() {
            return plan;
        }
        let running = !self.info.running.is_empty();
        let buffer = std::mem::take(&mut self.buffer);
        let decision = decide(buffer, running, |policy| self.resolve(policy));
        self.buffer = decision.buffer;
        self.info.overlap_skipped += decision.skipped;
        if decision.terminate_running {
            plan.terminate = self.info.running.clone();
        } else if decision.cancel_running {
            plan.cancel = self.info.running.clone();
        }
        let next = decision.next.map(|start| (start, true));
        let overlapping = decision.overlapping.into_iter().map(|start| (start, false));
        for (start, tracked) in overlapping.chain(next) {
            if !start.manual {
                let state = &mut self.schedule.state;
                if state.paused || (state.limited_actions && state.remaining_actions == 0) {
                    continue;
                }
                if state.limited_actions {
                    state.remaining_actions -= 1;
                    self.conflict_token += 1;
                }
            }
            let workflow_id = self.workflow_id_for(start.nominal);
            let Some(workflow_id) = workflow_id else {
                self.info.start_failures += 1;
                continue;
            };
            let request_id = self.request_id(&start, plan.starts.len());
            plan.starts.push(PlannedStart {
                start,
                workflow_id,
                request_id,
                tracked,
            });
        }
        plan
    }

    /// `<action id>-<nominal time, RFC 3339 to the second>`, as Temporal names them.
    fn workflow_id_for(&self, nominal: Timestamp) -> Option<WorkflowId> {
        let ScheduleAction::StartWorkflow(action) = &self.schedule.action;
        let seconds = Timestamp::from_unix_seconds(nominal.unix_nanos() / 1_000_000_000);
        WorkflowId::new(format!("{}-{}", action.options.id, seconds)).ok()
    }

    /// A request id unique to this start of this schedule: the schedule, how many actions
    /// it had taken, the start's place in this plan and its times.
    fn request_id(&self, start: &BufferedStart, index: usize) -> String {
        let text = format!(
            "{}\u{0}{}\u{0}{}\u{0}{}\u{0}{}\u{0}{}",
            self.namespace,
            self.schedule_id,
            self.info.action_count + self.info.start_failures,
            index,
            start.nominal.unix_nanos(),
            start.manual
        );
        let (first, second) = (
            fnv1a(text.as_bytes(), FNV_BASIS),
            fnv1a(text.as_bytes(), 0x84222325_cbf29ce4),
        );
        format!("schedule-{first:016x}{second:016x}")
    }

    /// Records how a planned start went.
    pub fn record_start(&mut self, planned: &PlannedStart, outcome: StartOutcome) {
        match outcome {
            StartOutcome::Started { run_id, at } => {
                self.info.action_count += 1;
                self.info.recent_actions.push(ScheduleActionResult {
                    schedule_time: planned.start.actual,
                    actual_time: at,
                    workflow_id: planned.workflow_id.clone(),
                    run_id,
                    status: WorkflowExecutionStatus::Running,
                });
                let excess = self
                    .info
                    .recent_actions
                    .len()
                    .saturating_sub(RECENT_ACTIONS_MAX);
                self.info.recent_actions.drain(..excess);
                if planned.tracked {
                    self.info.running.push(RunningWorkflow {
                        workflow_id: planned.workflow_id.clone(),
                        run_id,
                    });
                }
            }
            StartOutcome::Refused => self.info.start_failures += 1,
        }
    }

    /// When to wake up next: the next scheduled time, the next backfill batch (now), or
    /// never (paused with nothing buffered, or no time left).
    pub fn next_wakeup(&self, now: Timestamp) -> Option<Timestamp> {
        if !self.backfills.is_empty() {
            return Some(now);
        }
        if !self.takes_scheduled() {
            return None;
        }
        let spec = self.compiled()?;
        spec.next_time(&self.seed(), self.last_processed)
            .map(|time| time.actual.max(now))
    }

    /// The next `n` times it will take (none while paused), from the last one it took: a
    /// time already due but not yet taken (its wake-up in flight, or the engine down) is
    /// among them, as in Temporal's describe, so an empty list means nothing is left to
    /// take.
    pub fn future_action_times(&self, n: usize) -> Vec<Timestamp> {
        if !self.takes_scheduled() {
            return Vec::new();
        }
        let Some(spec) = self.compiled() else {
            return Vec::new();
        };
        let mut left = if self.schedule.state.limited_actions {
            n.min(self.schedule.state.remaining_actions as usize)
        } else {
            n
        };
        let mut times = Vec::new();
        let mut after = self.last_processed;
        while left > 0 {
            let Some(time) = spec.next_time(&self.seed(), after) else {
                break;
            };
            after = time.nominal;
            times.push(time.actual);
            left -= 1;
        }
        times
    }

    /// What a listing shows of it.
    pub fn list_info(&self) -> ScheduleListInfo {
        let ScheduleAction::StartWorkflow(action) = &self.schedule.action;
        let recent = &self.info.recent_actions;
        ScheduleListInfo {
            workflow_type: action.workflow_type.clone(),
            paused: self.schedule.state.paused,
            notes: self.schedule.state.notes.clone(),
            recent_actions: recent[recent.len().saturating_sub(3)..].to_vec(),
            future_action_times: self.future_action_times(5),
            spec: Some(self.schedule.spec.clone()),
        }
    }

    /// Everything describe shows of it, with the memo and search attributes its creator
    /// gave it (kept on its run, not in its state).
    pub fn describe(
        &self,
        memo: crate::payload::Memo,
        search_attributes: crate::SearchAttributes,
    ) -> ScheduleDescription {
        ScheduleDescription {
            schedule_id: self.schedule_id.clone(),
            schedule: self.schedule.clone(),
            info: self.info.clone(),
            future_action_times: self.future_action_times(10),
            buffered_starts: self.buffer.len(),
            conflict_token: self.conflict_token,
            memo,
            search_attributes,
        }
    }

    /// Whether it is waiting on a running workflow to close (so someone must watch it).
    pub fn waits_on_running(&self) -> bool {
        !self.buffer.is_empty() && !self.info.running.is_empty()
    }
}
