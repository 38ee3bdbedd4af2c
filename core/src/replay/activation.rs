//! What the replay machine hands workflow code ([`Activation`], [`Job`]) and what workflow
//! code hands back ([`WorkflowCommand`]).
//!
//! Commands are keyed by per-kind sequence numbers assigned by the workflow code in the
//! order it issues them (timer 1, timer 2, activity 1, …) — never random — so the same code
//! over the same history issues the same keys.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::command::*;
use crate::failure::Failure;
use crate::history::{MarkerRecordedEventAttributes, WorkflowExecutionStartedEventAttributes};
use crate::ids::{EventId, RunId, SignalName, UpdateId, UpdateName};
use crate::payload::{Header, Payloads};
use crate::time::Timestamp;
use crate::update::UpdateOutcome;

/// One logical workflow task's worth of work for the workflow code.
#[derive(Clone, Debug, PartialEq)]
pub struct Activation {
    /// The workflow's "now": the time of this task's WorkflowTaskStarted event.
    pub timestamp: Timestamp,
    /// Whether the task is being replayed from history (its commands are already recorded).
    pub is_replaying: bool,
    /// The last event id this activation covers.
    pub history_length: EventId,
    /// Jobs in the order the code must see them: initialise, random seed, signals, then the
    /// rest in history order.
    pub jobs: Vec<Job>,
    /// Markers this task recorded (look-ahead): how `get_version` and `side_effect` know
    /// their recorded answers before the code runs. Empty for a live task.
    pub markers: Vec<MarkerRecordedEventAttributes>,
    /// History is long enough that continuing as new is advised.
    pub continue_as_new_suggested: bool,
}

/// One thing that happened, for the workflow code to react to.
#[derive(Clone, Debug, PartialEq)]
pub enum Job {
    /// Start the workflow function.
    InitializeWorkflow {
        /// The Started event's attributes (type, input, attempt, memo, …).
        start: Box<WorkflowExecutionStartedEventAttributes>,
        /// The seed of the workflow's deterministic randomness.
        randomness_seed: u64,
    },
    /// The run was reset: randomness is reseeded from the new run id.
    UpdateRandomSeed {
        /// The new seed.
        randomness_seed: u64,
    },
    /// A signal arrived.
    Signal {
        /// Its name.
        signal_name: SignalName,
        /// Its arguments.
        input: Payloads,
        /// Who sent it.
        identity: String,
        /// Context headers.
        header: Header,
    },
    /// Cancellation of the workflow was requested.
    CancelWorkflow {
        /// The reason given.
        reason: String,
    },
    /// Timer `seq` fired.
    FireTimer {
        /// The timer's sequence number.
        seq: u32,
    },
    /// Activity `seq` finished.
    ResolveActivity {
        /// The activity's sequence number.
        seq: u32,
        /// How.
        resolution: ActivityResolution,
    },
    /// The signal sent by command `seq` was delivered, or failed.
    ResolveSignalExternalWorkflow {
        /// The command's sequence number.
        seq: u32,
        /// Why it failed, if it did.
        failure: Option<Failure>,
    },
    /// The cancel request sent by command `seq` was delivered, or failed.
    ResolveRequestCancelExternalWorkflow {
        /// The command's sequence number.
        seq: u32,
        /// Why it failed, if it did.
        failure: Option<Failure>,
    },
    /// The child workflow started by command `seq` started, or could not.
    ResolveChildWorkflowStart {
        /// The command's sequence number.
        seq: u32,
        /// The child's first run, or why it did not start.
        outcome: Result<RunId, Failure>,
    },
    /// The child workflow started by command `seq` ended its chain.
    ResolveChildWorkflow {
        /// The command's sequence number.
        seq: u32,
        /// How.
        resolution: ChildResolution,
    },
    /// An update to run: validate it (live only) and answer with
    /// [`WorkflowCommand::UpdateResponse`]s — accepted or rejected now, completed when the
    /// handler returns.
    DoUpdate {
        /// The update id.
        update_id: UpdateId,
        /// The handler's name.
        name: UpdateName,
        /// The handler's arguments.
        args: Payloads,
        /// Context headers.
        header: Header,
        /// The client that sent it.
        identity: String,
        /// Whether to run the validator: only when the update is new, never on replay
        /// (history already says it was accepted).
        run_validator: bool,
    },
}

/// The workflow's answer to an update.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum UpdateResponse {
    /// The validator accepted it; the handler runs (UpdateAccepted).
    Accepted,
    /// The validator refused it (no history).
    Rejected(Failure),
    /// The handler finished (UpdateCompleted).
    Completed(UpdateOutcome),
}

/// How an activity finished.
#[derive(Clone, Debug, PartialEq)]
pub enum ActivityResolution {
    /// It returned a result.
    Completed(Option<Payloads>),
    /// It failed for good (the failure's cause is the activity's error).
    Failed(Failure),
    /// It was canceled.
    Canceled(Failure),
}

/// How a child workflow's chain ended, as its parent sees it.
#[derive(Clone, Debug, PartialEq)]
pub enum ChildResolution {
    /// It completed with this result.
    Completed(Option<Payloads>),
    /// It failed, was canceled, timed out or was terminated: a child workflow failure
    /// whose cause says which.
    Failed(Failure),
}

/// A command from workflow code, keyed by its per-kind sequence number.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum WorkflowCommand {
    /// Start timer `seq`.
    StartTimer {
        /// The timer's sequence number (its timer id on the wire).
        seq: u32,
        /// How long until it fires.
        duration: Duration,
    },
    /// Cancel timer `seq`.
    CancelTimer {
        /// The timer's sequence number.
        seq: u32,
    },
    /// Schedule activity `seq`.
    ScheduleActivity {
        /// The activity's sequence number.
        seq: u32,
        /// The command (its `activity_id` is the sequence number unless the options set one).
        attributes: Box<ScheduleActivityTaskCommandAttributes>,
    },
    /// Ask activity `seq` to cancel.
    RequestCancelActivity {
        /// The activity's sequence number.
        seq: u32,
    },
    /// Record a marker (side effect, version, …).
    RecordMarker(RecordMarkerCommandAttributes),
    /// Signal another workflow; resolved by its own sequence number.
    SignalExternal {
        /// The command's sequence number.
        seq: u32,
        /// The command.
        attributes: SignalExternalWorkflowExecutionCommandAttributes,
    },
    /// Ask another workflow to cancel; resolved by its own sequence number.
    RequestCancelExternal {
        /// The command's sequence number.
        seq: u32,
        /// The command.
        attributes: RequestCancelExternalWorkflowExecutionCommandAttributes,
    },
    /// Start a child workflow; resolved by its own sequence number.
    StartChild {
        /// The command's sequence number.
        seq: u32,
        /// The command.
        attributes: Box<StartChildWorkflowExecutionCommandAttributes>,
    },
    /// Set search attributes.
    UpsertSearchAttributes(UpsertWorkflowSearchAttributesCommandAttributes),
    /// Upsert memo fields.
    ModifyProperties(ModifyWorkflowPropertiesCommandAttributes),
    /// Complete the workflow.
    Complete(CompleteWorkflowExecutionCommandAttributes),
    /// Fail the workflow.
    Fail(FailWorkflowExecutionCommandAttributes),
    /// Close as canceled.
    Cancel(CancelWorkflowExecutionCommandAttributes),
    /// Continue as new.
    ContinueAsNew(Box<ContinueAsNewWorkflowExecutionCommandAttributes>),
    /// Answer update `update_id`.
    UpdateResponse {
        /// The update.
        update_id: UpdateId,
        /// The answer.
        response: UpdateResponse,
    },
}

/// The seed of a run's deterministic randomness: a hash of a run id that never changes
/// (FNV-1a 64 over the 16 bytes; fixed forever, since histories depend on it).
pub fn randomness_seed(run_id: RunId) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in run_id.as_u128().to_be_bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}
