//! What a run has pending, as a description shows it (Temporal's `PendingActivityInfo` and
//! `PendingChildExecutionInfo`): each activity with its state, attempt and last failure,
//! each child with its run once started.

use serde::{Deserialize, Serialize};

use super::ExecutionMachine;
use crate::enums::ParentClosePolicy;
use crate::failure::Failure;
use crate::ids::{ActivityId, ActivityType, EventId, RunId, WorkflowId, WorkflowType};
use crate::payload::Payloads;
use crate::time::Timestamp;

/// Where a pending activity stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PendingActivityState {
    /// Waiting for a worker (its first attempt, or a retry once its backoff passed).
    Scheduled,
    /// A worker runs it.
    Started,
    /// Its cancellation was asked for; the worker has not answered yet.
    CancelRequested,
}

/// A pending activity of a run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PendingActivity {
    /// Its id.
    pub activity_id: ActivityId,
    /// Its ActivityTaskScheduled event: with [`attempt`](Self::attempt), the token of the
    /// current attempt ([`crate::execution::ActivityTaskToken`]), which completes it by id.
    pub scheduled_event_id: EventId,
    /// Its type.
    pub activity_type: ActivityType,
    /// Where it stands.
    pub state: PendingActivityState,
    /// The current attempt, from 1.
    pub attempt: u32,
    /// When it was scheduled.
    pub scheduled_time: Timestamp,
    /// When the current attempt started, if it has.
    pub last_started_time: Option<Timestamp>,
    /// The worker running the current attempt, or that ran the last one.
    pub last_worker_identity: Option<String>,
    /// When it last heartbeated, and what it said.
    pub last_heartbeat_time: Option<Timestamp>,
    /// The details of its last heartbeat.
    pub heartbeat_details: Option<Payloads>,
    /// Why the last attempt failed, for a retried activity.
    pub last_failure: Option<Failure>,
    /// When the next attempt is scheduled, while it waits out a retry backoff.
    pub next_attempt_schedule_time: Option<Timestamp>,
}

/// A pending child workflow of a run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PendingChild {
    /// Its workflow id.
    pub workflow_id: WorkflowId,
    /// Its first run, once started.
    pub run_id: Option<RunId>,
    /// Its type.
    pub workflow_type: WorkflowType,
    /// The parent's StartChildWorkflowExecutionInitiated event.
    pub initiated_event_id: EventId,
    /// What happens to it when the parent closes.
    pub parent_close_policy: ParentClosePolicy,
}

impl ExecutionMachine {
    /// The run's pending activities, in the order they were scheduled.
    pub fn pending_activities(&self) -> Vec<PendingActivity> {
        self.activities()
            .iter()
            .map(|(scheduled_event_id, info)| PendingActivity {
                activity_id: info.scheduled.activity_id.clone(),
                scheduled_event_id: *scheduled_event_id,
                activity_type: info.scheduled.activity_type.clone(),
                state: if info.cancel_requested_event_id.is_some() {
                    PendingActivityState::CancelRequested
                } else if info.started.is_some() {
                    PendingActivityState::Started
                } else {
                    PendingActivityState::Scheduled
                },
                attempt: info.attempt,
                scheduled_time: info.scheduled_time,
                last_started_time: info.started.as_ref().map(|started| started.time),
                last_worker_identity: info
                    .started
                    .as_ref()
                    .map(|started| started.identity.clone()),
                last_heartbeat_time: info.last_heartbeat_time,
                heartbeat_details: info.heartbeat_details.clone(),
                last_failure: info.last_failure.clone(),
                next_attempt_schedule_time: info.retry_time,
            })
            .collect()
    }

    /// The run's pending children, in the order they were initiated.
    pub fn pending_children(&self) -> Vec<PendingChild> {
        self.children()
            .iter()
            .map(|(initiated_event_id, child)| PendingChild {
                workflow_id: child.workflow_id.clone(),
                run_id: child.run_id,
                workflow_type: child.workflow_type.clone(),
                initiated_event_id: *initiated_event_id,
                parent_close_policy: child.parent_close_policy,
            })
            .collect()
    }
}
