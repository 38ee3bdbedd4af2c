//! A schedule kept in a workflow run's history — Temporal's design: the engine runs one
//! workflow per schedule (`temporal-sys-scheduler:<id>`) whose "workflow code" is this
//! module, executed by the engine itself. [`fold`] reads the state back from the history
//! (the start's input or the last state marker, then the signals after it); [`commands`]
//! writes a wake-up's outcome as the completion's commands (a state marker, the wake-up
//! timer, a memo for listings, or continue-as-new once the history grows long).
//!
//! A wake-up never takes a start it decided itself: it records the starts it decides in
//! its marker (beside the state, under [`TAKING_DETAIL`]) and asks for a new workflow task
//! at once, and that next wake-up takes them. A wake-up's task may fail after its side
//! effects and be retried later, with more time due and more inputs arrived, so it may
//! decide differently; but what it takes was decided once and recorded, so no retry can
//! leave a workflow started that the state does not count.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::model::ScheduleDescription;
use super::scheduler::{PlannedStart, SchedulerInput, SchedulerState};
use crate::command::*;
use crate::history::{EventAttributes, HistoryEvent, WorkflowExecutionSignaledEventAttributes};
use crate::ids::{MarkerName, SignalName, TaskQueueName, TimerId, WorkflowId, WorkflowType};
use crate::payload::{Header, Memo, Payload, Payloads};
use crate::time::Timestamp;

/// The prefix of a schedule's workflow id (Temporal's).
pub const SCHEDULER_ID_PREFIX: &str = "temporal-sys-scheduler:";
/// The schedule workflows' type.
pub const SCHEDULER_WORKFLOW_TYPE: &str = "temporal-sys-scheduler-workflow";
/// The queue the engine's own scheduler polls in each namespace.
pub const SCHEDULER_TASK_QUEUE: &str = "temporal-sys-per-ns-tq";
/// The marker holding the state after a wake-up.
pub const STATE_MARKER: &str = "schedule-state";
/// The state marker's detail holding the starts the next wake-up takes (absent: none).
pub const TAKING_DETAIL: &str = "taking";
/// The signal carrying a [`SchedulerInput`].
pub const INPUT_SIGNAL: &str = "schedule-input";
/// The signal that only wakes the schedule (a workflow it started closed).
pub const REFRESH_SIGNAL: &str = "schedule-refresh";
/// The memo field listings read.
pub const LIST_INFO_MEMO: &str = "schedule-list-info";
/// The history length past which a schedule continues as new.
pub const EVENTS_BEFORE_CONTINUE_AS_NEW: usize = 250;

/// The workflow id of schedule `schedule_id`.
pub fn workflow_id_of(schedule_id: &WorkflowId) -> Result<WorkflowId, crate::ValidationError> {
    WorkflowId::new(format!("{SCHEDULER_ID_PREFIX}{schedule_id}"))
}

/// The schedule id of a schedule workflow's id.
pub fn schedule_id_of(workflow_id: &WorkflowId) -> Option<WorkflowId> {
    workflow_id
        .as_str()
        .strip_prefix(SCHEDULER_ID_PREFIX)
        .and_then(|id| WorkflowId::new(id).ok())
}

/// Why a schedule's history does not read back.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("schedule history: {0}")]
pub struct FoldError(pub String);

/// A value as one binary payload (postcard), the form states and inputs travel in.
pub fn encode<T: Serialize>(value: &T) -> Payloads {
    // Serialising the scheduler's own types cannot fail (no maps with non-string keys
    // that postcard refuses, no unbounded sequences).
    let bytes = postcard::to_allocvec(value).unwrap_or_default();
    Payloads::one(Payload::binary(bytes))
}

/// Reads a value written by [`encode`].
pub fn decode<T: for<'de> Deserialize<'de>>(payloads: &Payloads) -> Result<T, FoldError> {
    let payload = payloads
        .0
        .first()
        .ok_or_else(|| FoldError("an empty payload list".into()))?;
    postcard::from_bytes(&payload.data).map_err(|error| FoldError(error.to_string()))
}

/// The timer a schedule has running.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenTimer {
    /// Its id.
    pub timer_id: TimerId,
    /// When it fires.
    pub fires_at: Timestamp,
}

/// A schedule read back from its run's history.
#[derive(Clone, Debug, PartialEq)]
pub struct Folded {
    /// The state, with every input after the last marker applied.
    pub state: SchedulerState,
    /// The encoded state the last marker (or the start) holds.
    pub recorded: Payloads,
    /// The starts the last marker recorded for this wake-up to take, in order.
    pub taking: Vec<PlannedStart>,
    /// The time of the last event: the workflow task's start, during a wake-up.
    pub now: Timestamp,
    /// The wake-up timer, if one is open.
    pub timer: Option<OpenTimer>,
    /// Timers this run started (the next one's id).
    pub timers_started: u64,
    /// The memo field listings read, as last written.
    pub list_info: Option<Payloads>,
    /// The schedule's own memo (its creator's, the listing field apart), carried to the
    /// next run when the schedule continues as new.
    pub memo: Memo,
    /// Events in the history.
    pub events: usize,
    /// Updates refused because their conflict token was stale.
    pub stale_updates: u64,
}

/// Reads a schedule's state from its run's history: the state of the last marker (or of
/// the start) — decoded once — with the inputs signalled after it applied.
pub fn fold(history: &[HistoryEvent]) -> Result<Folded, FoldError> {
    let first = history
        .first()
        .ok_or_else(|| FoldError("an empty history".into()))?;
    let EventAttributes::WorkflowExecutionStarted(started) = &first.attributes else {
        return Err(FoldError(
            "the history does not begin with WorkflowExecutionStarted".into(),
        ));
    };
    let state_marker = |event: &HistoryEvent| match &event.attributes {
        EventAttributes::MarkerRecorded(marker) if marker.marker_name.as_str() == STATE_MARKER => {
            let state = marker.details.get("state")?.clone();
            Some((state, marker.details.get(TAKING_DETAIL).cloned()))
        }
        _ => None,
    };
    let (base, recorded, taking) = history
        .iter()
        .enumerate()
        .rev()
        .find_map(|(index, event)| {
            state_marker(event).map(|(state, taking)| (index, state, taking))
        })
        .unwrap_or_else(|| (0, started.input.clone(), None));
    let taking = match taking {
        Some(taking) => decode(&taking)?,
        // Markers written before starts were recorded first have none.
        None => Vec::new(),
    };
    let mut folded = Folded {
        state: decode(&recorded)?,
        recorded,
        taking,
        now: first.event_time,
        timer: None,
        timers_started: 0,
        list_info: started
            .memo
            .get(LIST_INFO_MEMO)
            .map(|payload| Payloads::one(payload.clone())),
        memo: own_memo(&started.memo),
        events: history.len(),
        stale_updates: 0,
    };
    for (index, event) in history.iter().enumerate() {
        let now = event.event_time;
        folded.now = now;
        match &event.attributes {
            EventAttributes::WorkflowExecutionSignaled(signal) if index > base => {
                folded.apply_signal(signal, now);
            }
            EventAttributes::TimerStarted(started) => {
                folded.timers_started += 1;
                folded.timer = Some(OpenTimer {
                    timer_id: started.timer_id.clone(),
                    fires_at: now.saturating_add(started.start_to_fire_timeout),
                });
            }
            EventAttributes::TimerFired(closed) => close_timer(&mut folded, &closed.timer_id),
            EventAttributes::TimerCanceled(closed) => close_timer(&mut folded, &closed.timer_id),
            EventAttributes::WorkflowPropertiesModified(modified) => {
                if let Some(payload) = modified.upserted_memo.get(LIST_INFO_MEMO) {
                    folded.list_info = Some(Payloads::one(payload.clone()));
                }
            }
            _ => {}
        }
    }
    Ok(folded)
}

impl Folded {
    /// Whether this wake-up ends the run and continues as new: the history is long. Such
    /// a wake-up takes what was recorded and decides nothing new, so the new run starts
    /// with no start decided and not taken; its first task decides.
    pub fn continues_as_new(&self) -> bool {
        self.events >= EVENTS_BEFORE_CONTINUE_AS_NEW
    }

    /// Applies the signals a run received while its workflow task was in flight
    /// ([`ExecutionMachine::buffered_signals`](crate::execution::ExecutionMachine::buffered_signals)),
    /// after the history they will follow: what a describe or an update's conflict check
    /// must see, since their senders were told they were taken.
    pub fn apply_buffered<'a>(
        &mut self,
        signals: impl IntoIterator<Item = (Timestamp, &'a WorkflowExecutionSignaledEventAttributes)>,
    ) {
        for (time, signal) in signals {
            self.apply_signal(signal, time);
        }
    }

    /// What describe shows: the state's description, with the starts decided and not yet
    /// taken counted among the buffered ones (they wait, as those do, for a wake-up).
    pub fn describe(
        &self,
        memo: Memo,
        search_attributes: crate::SearchAttributes,
    ) -> ScheduleDescription {
        let mut description = self.state.describe(memo, search_attributes);
        description.buffered_starts += self.taking.len();
        description
    }

    /// Applies one signal of the schedule's run: its input if it carries one.
    fn apply_signal(&mut self, signal: &WorkflowExecutionSignaledEventAttributes, now: Timestamp) {
        if signal.signal_name.as_str() != INPUT_SIGNAL {
            return;
        }
        // A malformed input is dropped, not fatal: it came from outside.
        if let Ok(input) = decode::<SchedulerInput>(&signal.input)
            && !self.state.apply(input, now)
        {
            self.stale_updates += 1;
        }
    }
}

fn close_timer(folded: &mut Folded, timer_id: &TimerId) {
    if folded
        .timer
        .as_ref()
        .is_some_and(|timer| &timer.timer_id == timer_id)
    {
        folded.timer = None;
    }
}

/// A schedule run's memo without the listing field: what its creator gave it.
pub fn own_memo(memo: &Memo) -> Memo {
    let mut own = memo.clone();
    own.0.remove(LIST_INFO_MEMO);
    own
}

/// The commands that make a wake-up's outcome durable: the state and the starts it
/// decided, `taking` (if either changed), the list info (if it changed) and the timer for
/// `wakeup` (replacing one for another time), or — once the history is long and nothing
/// is left to take — continue-as-new carrying the state. A completion with starts to take
/// must ask for a new workflow task at once (`force_create_workflow_task`).
pub fn commands(
    folded: &Folded,
    state: &SchedulerState,
    taking: &[PlannedStart],
    list_info: &Payloads,
    wakeup: Option<Timestamp>,
    now: Timestamp,
) -> Vec<Command> {
    let encoded = encode(state);
    if folded.continues_as_new() && taking.is_empty() {
        let mut memo = folded.memo.clone();
        if let Some(payload) = list_info.0.first() {
            memo.0.insert(LIST_INFO_MEMO.into(), payload.clone());
        }
        return vec![Command::ContinueAsNewWorkflowExecution(Box::new(
            ContinueAsNewWorkflowExecutionCommandAttributes {
                workflow_type: WorkflowType::new(SCHEDULER_WORKFLOW_TYPE).ok(),
                task_queue: TaskQueueName::new(SCHEDULER_TASK_QUEUE).ok(),
                input: encoded,
                workflow_run_timeout: None,
                workflow_task_timeout: None,
                backoff_start_interval: None,
                retry_policy: None,
                cron_schedule: None,
                header: Header::default(),
                memo: Some(memo),
                search_attributes: None,
            },
        ))];
    }
    let mut commands = Vec::new();
    if encoded != folded.recorded || taking != folded.taking {
        let mut details = BTreeMap::new();
        details.insert("state".to_owned(), encoded);
        if !taking.is_empty() {
            details.insert(TAKING_DETAIL.to_owned(), encode(&taking));
        }
        commands.push(Command::RecordMarker(RecordMarkerCommandAttributes {
            marker_name: MarkerName::new(STATE_MARKER).expect("a valid marker name"),
            details,
            header: Header::default(),
            failure: None,
        }));
    }
    if folded.list_info.as_ref() != Some(list_info)
        && let Some(payload) = list_info.0.first()
    {
        let mut memo = Memo::default();
        memo.0.insert(LIST_INFO_MEMO.into(), payload.clone());
        commands.push(Command::ModifyWorkflowProperties(
            ModifyWorkflowPropertiesCommandAttributes {
                upserted_memo: memo,
            },
        ));
    }
    let current = folded.timer.as_ref().map(|timer| timer.fires_at);
    let wanted = wakeup.map(|at| at.max(now));
    if current != wanted || (wanted.is_some() && folded.timer.is_none()) {
        if let Some(timer) = &folded.timer {
            commands.push(Command::CancelTimer(CancelTimerCommandAttributes {
                timer_id: timer.timer_id.clone(),
            }));
        }
        if let Some(at) = wanted {
            // Never early: the timer counts from the completion, which is after `now`.
            let delay = at
                .saturating_duration_since(now)
                .max(Duration::from_millis(1));
            commands.push(Command::StartTimer(StartTimerCommandAttributes {
                timer_id: TimerId::new(format!("wakeup-{}", folded.timers_started + 1))
                    .expect("a valid timer id"),
                start_to_fire_timeout: delay,
            }));
        }
    }
    commands
}

/// A refresh signal's name.
pub fn refresh_signal() -> SignalName {
    SignalName::new(REFRESH_SIGNAL).expect("a valid signal name")
}

/// An input signal's name.
pub fn input_signal() -> SignalName {
    SignalName::new(INPUT_SIGNAL).expect("a valid signal name")
}
