//! A schedule as clients create, describe and change it (Go's `ScheduleOptions`,
//! `ScheduleDescription`, `SchedulePolicies`, `ScheduleState`…).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::spec::ScheduleSpec;
use crate::enums::WorkflowExecutionStatus;
use crate::ids::{RunId, WorkflowId, WorkflowType};
use crate::options::StartWorkflowOptions;
use crate::payload::{Header, Payloads};
use crate::time::Timestamp;

/// What a schedule does when it fires.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ScheduleAction {
    /// Start a workflow (Go's `ScheduleWorkflowAction`).
    StartWorkflow(Box<ScheduleWorkflowAction>),
}

/// A workflow start a schedule takes: every start option, the id being the base each
/// start appends its scheduled time to (`<id>-2026-12-02T19:00:00Z`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScheduleWorkflowAction {
    /// The workflow type.
    pub workflow_type: WorkflowType,
    /// The arguments.
    pub input: Payloads,
    /// Context headers.
    pub header: Header,
    /// Id (the base), queue, timeouts, retry policy, memo, search attributes.
    pub options: StartWorkflowOptions,
}

/// What a schedule does when a start comes due while its last workflow still runs
/// (Temporal's `ScheduleOverlapPolicy`).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub enum ScheduleOverlapPolicy {
    /// The schedule's own policy (on a trigger or a backfill), else [`Skip`](Self::Skip).
    #[default]
    Unspecified,
    /// Do not start it.
    Skip,
    /// Start it when the running one closes; keep only one such start waiting.
    BufferOne,
    /// Start each in turn as the one before closes.
    BufferAll,
    /// Cancel the running one, then start.
    CancelOther,
    /// Terminate the running one, then start.
    TerminateOther,
    /// Start it regardless; any number run at once.
    AllowAll,
}

impl ScheduleOverlapPolicy {
    /// Every named policy, as the CLI spells them.
    pub const NAMES: [(&'static str, Self); 6] = [
        ("Skip", Self::Skip),
        ("BufferOne", Self::BufferOne),
        ("BufferAll", Self::BufferAll),
        ("CancelOther", Self::CancelOther),
        ("TerminateOther", Self::TerminateOther),
        ("AllowAll", Self::AllowAll),
    ];

    /// The policy named `name` (Temporal CLI's spelling, case-insensitive).
    pub fn from_name(name: &str) -> Option<Self> {
        let wanted = name.replace(['_', '-'], "").to_ascii_lowercase();
        Self::NAMES
            .iter()
            .find(|(known, _)| known.to_ascii_lowercase() == wanted)
            .map(|(_, policy)| *policy)
    }
}

/// How a schedule behaves (Go's `SchedulePolicies` and the options around them).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SchedulePolicies {
    /// What to do when a start overlaps a running workflow (default skip).
    pub overlap: ScheduleOverlapPolicy,
    /// How late a start may still be taken after the engine was down (default one year,
    /// at least ten seconds).
    #[serde(with = "crate::duration_text::readable")]
    pub catchup_window: Duration,
    /// Pause the schedule when a workflow it started fails or times out.
    pub pause_on_failure: bool,
}

/// The default catch-up window: one year.
pub const CATCHUP_WINDOW_DEFAULT: Duration = Duration::from_secs(365 * 24 * 3_600);
/// The shortest catch-up window (Temporal's bound).
pub const CATCHUP_WINDOW_MIN: Duration = Duration::from_secs(10);

impl Default for SchedulePolicies {
    fn default() -> Self {
        Self {
            overlap: ScheduleOverlapPolicy::Skip,
            catchup_window: CATCHUP_WINDOW_DEFAULT,
            pause_on_failure: false,
        }
    }
}

/// Whether a schedule runs, and how many more times (Go's `ScheduleState`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ScheduleRunState {
    /// Why it was last paused or unpaused.
    pub notes: String,
    /// Paused: no scheduled time is taken (triggers and backfills still are).
    pub paused: bool,
    /// Whether `remaining_actions` limits it.
    pub limited_actions: bool,
    /// Scheduled actions left when limited; at 0 it stops taking them.
    pub remaining_actions: u64,
}

/// A schedule: when, what and how.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Schedule {
    /// When it fires.
    pub spec: ScheduleSpec,
    /// What it does.
    pub action: ScheduleAction,
    /// How it handles overlaps, outages and failures.
    pub policies: SchedulePolicies,
    /// Paused or not, and the actions left.
    pub state: ScheduleRunState,
}

/// One action a schedule took (Go's `ScheduleActionResult`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduleActionResult {
    /// The time the action was scheduled for (its nominal time plus jitter).
    pub schedule_time: Timestamp,
    /// When it was taken.
    pub actual_time: Timestamp,
    /// The workflow it started.
    pub workflow_id: WorkflowId,
    /// That workflow's first run.
    pub run_id: RunId,
    /// That workflow's status when last seen.
    pub status: WorkflowExecutionStatus,
}

/// A workflow a schedule started that was running when last seen.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunningWorkflow {
    /// The workflow id.
    pub workflow_id: WorkflowId,
    /// Its first run.
    pub run_id: RunId,
}

/// What a schedule has done (Go's `ScheduleInfo`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ScheduleInfo {
    /// Actions taken.
    pub action_count: u64,
    /// Scheduled times passed over because they were later than the catch-up window.
    pub missed_catchup_window: u64,
    /// Starts dropped by the overlap policy.
    pub overlap_skipped: u64,
    /// Starts dropped because the buffer was full.
    pub buffer_dropped: u64,
    /// Starts that failed (the workflow id was taken, the options were refused…).
    pub start_failures: u64,
    /// Workflows it started that are running (those started under allow-all are not
    /// tracked, as in Temporal).
    pub running: Vec<RunningWorkflow>,
    /// The last actions, oldest first (at most [`RECENT_ACTIONS_MAX`]).
    pub recent_actions: Vec<ScheduleActionResult>,
    /// When it was created.
    pub created_at: Option<Timestamp>,
    /// When it was last updated.
    pub updated_at: Option<Timestamp>,
}

/// How many recent actions a schedule remembers.
pub const RECENT_ACTIONS_MAX: usize = 10;
/// Most starts a schedule holds waiting for a running workflow (Temporal's buffer size).
pub const BUFFERED_STARTS_MAX: usize = 1_000;
/// The longest listing of schedules.
pub const SCHEDULES_LIST_MAX: usize = 1_000;
/// Most backfills in progress at once.
pub const BACKFILLS_MAX: usize = 1_000;

/// A range of past (or future) times to take actions for now, as if they had come due.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Backfill {
    /// The first time (inclusive).
    pub start: Timestamp,
    /// The last time (inclusive).
    pub end: Timestamp,
    /// The overlap policy for these starts.
    pub overlap: ScheduleOverlapPolicy,
}

/// A change to a schedule that is not a full update (Go's `ScheduleHandle.Trigger`,
/// `Backfill`, `Pause`, `Unpause`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SchedulePatch {
    /// Take the action now, with this overlap policy.
    pub trigger: Option<ScheduleOverlapPolicy>,
    /// Take the actions of these ranges.
    pub backfills: Vec<Backfill>,
    /// Pause, with this note.
    pub pause: Option<String>,
    /// Unpause, with this note.
    pub unpause: Option<String>,
}

/// A start waiting to be taken.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BufferedStart {
    /// The time the spec named.
    pub nominal: Timestamp,
    /// When it came due (nominal plus jitter).
    pub actual: Timestamp,
    /// Its overlap policy (unspecified: the schedule's, resolved when it is taken).
    pub overlap: ScheduleOverlapPolicy,
    /// A trigger or a backfill (taken even when paused; no catch-up window).
    pub manual: bool,
}

/// What a listing shows of a schedule (kept in its workflow's memo, so a listing reads no
/// history).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduleListInfo {
    /// The workflow type it starts.
    pub workflow_type: WorkflowType,
    /// Paused or not.
    pub paused: bool,
    /// Why it was last paused or unpaused.
    pub notes: String,
    /// Its last actions, oldest first (at most three).
    pub recent_actions: Vec<ScheduleActionResult>,
    /// Its next times (at most five).
    pub future_action_times: Vec<Timestamp>,
    /// When it fires (none in a listing memo written before the spec was kept there; the
    /// schedule's next task writes it).
    pub spec: Option<ScheduleSpec>,
}

impl ScheduleListInfo {
    /// Reads the list info a schedule's memo holds: this version's layout, or the earlier
    /// one without the spec.
    pub fn from_memo_bytes(bytes: &[u8]) -> Option<Self> {
        /// The layout before the spec was kept.
        #[derive(Deserialize)]
        struct WithoutSpec {
            workflow_type: WorkflowType,
            paused: bool,
            notes: String,
            recent_actions: Vec<ScheduleActionResult>,
            future_action_times: Vec<Timestamp>,
        }
        if let Ok(info) = postcard::from_bytes(bytes) {
            return Some(info);
        }
        let old: WithoutSpec = postcard::from_bytes(bytes).ok()?;
        Some(Self {
            workflow_type: old.workflow_type,
            paused: old.paused,
            notes: old.notes,
            recent_actions: old.recent_actions,
            future_action_times: old.future_action_times,
            spec: None,
        })
    }
}

/// One schedule of a listing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduleListEntry {
    /// The schedule id.
    pub schedule_id: WorkflowId,
    /// What it shows.
    pub info: ScheduleListInfo,
}

/// Everything describe tells of a schedule (Go's `ScheduleDescription`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScheduleDescription {
    /// The schedule id.
    pub schedule_id: WorkflowId,
    /// The schedule as it is now.
    pub schedule: Schedule,
    /// What it has done.
    pub info: ScheduleInfo,
    /// Its next ten times.
    pub future_action_times: Vec<Timestamp>,
    /// Starts waiting for a running workflow, or decided and not yet taken.
    pub buffered_starts: usize,
    /// Pass this to an update to make it conditional on no change since.
    pub conflict_token: u64,
    /// The schedule's own memo, as its creator gave it.
    pub memo: crate::payload::Memo,
    /// The schedule's own search attributes, as its creator gave them.
    pub search_attributes: crate::SearchAttributes,
}
