//! The replay machine: the SDK side of determinism, one incremental object per run, for live
//! execution and replay alike.
//!
//! Call order:
//! 1. [`ReplayMachine::feed`] appends history events (a poll's history, or a whole history).
//! 2. [`ReplayMachine::next_activation`] cuts the next *logical* workflow task out of what was
//!    fed — a failed or timed-out task merges into the next — and returns its [`Activation`],
//!    or `None` until a task's WorkflowTaskStarted has arrived.
//! 3. The workflow code runs the activation and [`ReplayMachine::complete`] takes its
//!    [`WorkflowCommand`]s. For a task history already completed (replay) they must match the
//!    task's command events in order, kind and key, else [`Nondeterminism`]; nothing is
//!    returned. For the live task (the last one fed) they are returned as server
//!    [`Command`]s; their events are checked the same way when the next history arrives.
//!
//! Matching binds each command's sequence number to its event id, so later events (a timer
//! fired, an activity completed) resolve the right sequence number. A history may end in the
//! middle of a task; the machine waits for more events.

mod activation;
mod jobs;

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet, VecDeque};

pub use activation::{
    Activation, ActivityResolution, ChildResolution, Job, UpdateResponse, WorkflowCommand,
    randomness_seed,
};

use crate::command::*;
use crate::enums::WorkflowTaskFailedCause;
use crate::failure::{Failure, FailureInfo};
use crate::history::{EventAttributes, EventType, HistoryEvent, MarkerRecordedEventAttributes};
use crate::ids::{ActivityId, EventId, TimerId};
use crate::update::{UpdateDelivery, UpdateMessage, UpdateMessageBody};

/// Replay diverged from history: the workflow code is not the code that wrote it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("nondeterminism at event {event_id}: history has {expected}, the workflow issued {actual}")]
pub struct Nondeterminism {
    /// The event where replay diverged.
    pub event_id: EventId,
    /// What history recorded there.
    pub expected: String,
    /// What the workflow code did instead.
    pub actual: String,
}

/// Why the replay machine refused a call.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReplayError {
    /// The code did not do what history recorded.
    #[error(transparent)]
    Nondeterminism(#[from] Nondeterminism),
    /// The history itself makes no sense (a resolution for nothing, events out of place).
    #[error("malformed history at event {event_id}: {reason}")]
    MalformedHistory {
        /// Where.
        event_id: EventId,
        /// What is wrong.
        reason: String,
    },
    /// `complete` without an activation, or `next_activation` before completing the last.
    #[error("replay machine misused: {0}")]
    Misuse(&'static str),
}

/// The activation handed out and not yet completed.
#[derive(Clone, Debug)]
struct CurrentTask {
    /// Index of the task's WorkflowTaskStarted event.
    started_index: usize,
    /// For a replayed task: the range of its command block (after WorkflowTaskCompleted).
    block: Option<(usize, usize)>,
}

/// The replay machine of one run.
#[derive(Clone, Debug, Default)]
pub struct ReplayMachine {
    history: Vec<HistoryEvent>,
    /// Index of the first event not yet turned into jobs or matched.
    position: usize,
    current: Option<CurrentTask>,
    /// Commands issued (live) whose events have not been seen yet, in order.
    unmatched: VecDeque<WorkflowCommand>,
    /// Jobs from events inside the last replayed task's command block (they happened after it).
    carried_jobs: Vec<Job>,
    timers: BTreeMap<EventId, u32>,
    /// Timers whose firing the workflow has been (or is being) given: a cancel of one of
    /// them is a no-op, never sent (the engine would refuse it as not pending).
    fired_timers: BTreeSet<u32>,
    activities: BTreeMap<EventId, u32>,
    /// Activities whose result the workflow has been (or is being) given: a cancel
    /// request for one of them is never sent.
    resolved_activities: BTreeSet<u32>,
    activity_scheduled: BTreeMap<u32, EventId>,
    external_signals: BTreeMap<EventId, u32>,
    /// Child workflows by StartChildWorkflowExecutionInitiated event.
    children: BTreeMap<EventId, u32>,
    external_cancels: BTreeMap<EventId, u32>,
    /// Updates delivered with the live task, for its activation.
    deliveries: Vec<UpdateDelivery>,
    /// The update messages of the last live completion, until taken.
    messages: Vec<UpdateMessage>,
    /// The last activation completed was live (its task may still be extended).
    live_completed: bool,
}

impl ReplayMachine {
    /// A machine with no history yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends events; they must continue the history fed so far (dense ids).
    pub fn feed(
        &mut self,
        events: impl IntoIterator<Item = HistoryEvent>,
    ) -> Result<(), ReplayError> {
        let events = events.into_iter();
        self.history.reserve(events.size_hint().0);
        for event in events {
            let expected = self
                .history
                .last()
                .map_or(EventId::FIRST, |last| last.event_id.next());
            if event.event_id != expected {
                return Err(ReplayError::MalformedHistory {
                    event_id: event.event_id,
                    reason: format!("expected event {expected} next"),
                });
            }
            self.history.push(event);
        }
        Ok(())
    }

    /// Updates delivered with the task being fed (a poll's `updates`): the live
    /// activation runs them, validators included.
    pub fn deliver_updates(&mut self, deliveries: Vec<UpdateDelivery>) {
        self.deliveries.extend(deliveries);
    }

    /// The update messages (acceptances, rejections, responses) of the last live
    /// [`complete`](Self::complete), to send with its commands.
    pub fn take_update_messages(&mut self) -> Vec<UpdateMessage> {
        std::mem::take(&mut self.messages)
    }

    /// The id of the last event fed.
    pub fn last_event_id(&self) -> Option<EventId> {
        self.history.last().map(|event| event.event_id)
    }

    /// The next logical workflow task's activation, or `None` until one is complete in what
    /// was fed (its WorkflowTaskStarted has arrived).
    pub fn next_activation(&mut self) -> Result<Option<Activation>, ReplayError> {
        if self.current.is_some() {
            return Err(ReplayError::Misuse(
                "next_activation before the last activation was completed",
            ));
        }
        let mut jobs = std::mem::take(&mut self.carried_jobs);
        let mut index = self.position;
        while index < self.history.len() {
            let event = &self.history[index];
            match event.event_type() {
                EventType::WorkflowTaskStarted => {
                    let next_type = self.history.get(index + 1).map(HistoryEvent::event_type);
                    match next_type {
                        Some(EventType::WorkflowTaskFailed | EventType::WorkflowTaskTimedOut) => {
                            // A failed or timed-out task merges into the next one; a reset
                            // reseeds randomness.
                            if let Some(job) = self.reset_job(index + 1) {
                                jobs.push(job);
                            }
                            index += 2;
                            continue;
                        }
                        Some(EventType::WorkflowTaskCompleted) => {
                            let block = self.command_block(index + 2);
                            return Ok(Some(self.activation(index, Some(block), jobs)));
                        }
                        None => return Ok(Some(self.activation(index, None, jobs))),
                        Some(_) => {
                            return Err(ReplayError::MalformedHistory {
                                event_id: self.history[index + 1].event_id,
                                reason: "a workflow task's Started event must be followed by its Completed, Failed or TimedOut event".into(),
                            });
                        }
                    }
                }
                EventType::WorkflowTaskCompleted => {
                    // A live task's completion: check its command events against what was sent.
                    let (start, end) = self.command_block(index + 1);
                    self.apply_block(start, end, &mut jobs)?;
                    self.position = end;
                    index = end;
                    continue;
                }
                EventType::WorkflowTaskScheduled
                | EventType::WorkflowTaskFailed
                | EventType::WorkflowTaskTimedOut => {}
                event_type if event_type.is_command_event() => {
                    return Err(ReplayError::MalformedHistory {
                        event_id: event.event_id,
                        reason: format!("{event_type} outside a workflow task completion"),
                    });
                }
                _ => {
                    if let Some(job) = self.job_for(event)? {
                        self.note_resolved(&job);
                        jobs.push(job);
                    }
                }
            }
            index += 1;
        }
        // The fed history ends before a task starts: keep the jobs for when it does.
        self.carried_jobs = jobs;
        self.position = self.history.len();
        Ok(None)
    }

    /// The workflow code's answer to the current activation: during replay, checked against
    /// history (returns nothing); live, returned as the commands to send.
    pub fn complete(
        &mut self,
        commands: Vec<WorkflowCommand>,
    ) -> Result<Vec<Command>, ReplayError> {
        let current = self
            .current
            .take()
            .ok_or(ReplayError::Misuse("complete without an activation"))?;
        self.live_completed = false;
        let commands = self.drop_moot_cancels(drop_cancelled_before_sent(commands));
        match current.block {
            Some((start, end)) => {
                self.unmatched.extend(
                    commands
                        .into_iter()
                        .filter(|command| !is_rejection(command)),
                );
                let mut jobs = Vec::new();
                self.apply_block(start, end, &mut jobs)?;
                if let Some(extra) = self.unmatched.front() {
                    let completed = self.history[start - 1].event_id;
                    return Err(Nondeterminism {
                        event_id: completed,
                        expected: "no further command in this workflow task".into(),
                        actual: describe_command(extra),
                    }
                    .into());
                }
                self.carried_jobs = jobs;
                self.position = end;
                Ok(Vec::new())
            }
            None => {
                self.position = current.started_index + 1;
                self.live_completed = true;
                Ok(self.accept_live(commands))
            }
        }
    }

    /// More commands of the live task just completed, issued after it was answered (what
    /// local activities resolved while the task was still open), in order; returns them as
    /// the commands to send after the earlier ones. Refused unless the last activation
    /// completed was live and no other has begun.
    pub fn extend_live(
        &mut self,
        commands: Vec<WorkflowCommand>,
    ) -> Result<Vec<Command>, ReplayError> {
        if !self.live_completed || self.current.is_some() {
            return Err(ReplayError::Misuse(
                "extend_live without a live task just completed",
            ));
        }
        let commands = self.drop_moot_cancels(drop_cancelled_before_sent(commands));
        Ok(self.accept_live(commands))
    }

    /// Remembers a timer fired or an activity resolved by `job`.
    fn note_resolved(&mut self, job: &Job) {
        match job {
            Job::FireTimer { seq } => {
                self.fired_timers.insert(*seq);
            }
            Job::ResolveActivity { seq, .. } => {
                self.resolved_activities.insert(*seq);
            }
            _ => {}
        }
    }

    /// Drops cancels of timers that fired and activities that resolved: the workflow
    /// code may ask for them when a cancellation reaches it in the same activation as the
    /// firing (the code sees the cancellation first), but there is nothing left to cancel
    /// — and the engine refuses a cancel of a timer that is not pending. Replay drops the
    /// same commands, so it stays deterministic.
    fn drop_moot_cancels(&self, commands: Vec<WorkflowCommand>) -> Vec<WorkflowCommand> {
        commands
            .into_iter()
            .filter(|command| match command {
                WorkflowCommand::CancelTimer { seq } => !self.fired_timers.contains(seq),
                WorkflowCommand::RequestCancelActivity { seq } => {
                    !self.resolved_activities.contains(seq)
                }
                _ => true,
            })
            .collect()
    }

    /// Turns a live task's commands into the commands to send, keeping them to match
    /// against the events they will write, and collects update messages.
    fn accept_live(&mut self, commands: Vec<WorkflowCommand>) -> Vec<Command> {
        let mut server_commands = Vec::with_capacity(commands.len());
        for command in &commands {
            if let WorkflowCommand::UpdateResponse {
                update_id,
                response,
            } = command
            {
                let body = match response {
                    UpdateResponse::Accepted => UpdateMessageBody::Acceptance,
                    UpdateResponse::Rejected(failure) => {
                        UpdateMessageBody::Rejection(failure.clone())
                    }
                    UpdateResponse::Completed(outcome) => {
                        UpdateMessageBody::Response(outcome.clone())
                    }
                };
                self.messages.push(UpdateMessage {
                    id: update_message_id(update_id, response),
                    update_id: update_id.clone(),
                    body,
                });
                if is_rejection(command) {
                    // A rejection is a message only: it writes nothing to place.
                    continue;
                }
            }
            server_commands.push(self.to_server_command(command));
        }
        self.unmatched.extend(
            commands
                .into_iter()
                .filter(|command| !is_rejection(command)),
        );
        server_commands
    }

    /// Builds the activation of the task whose Started event is at `started_index`.
    fn activation(
        &mut self,
        started_index: usize,
        block: Option<(usize, usize)>,
        jobs: Vec<Job>,
    ) -> Activation {
        let started = &self.history[started_index];
        let continue_as_new_suggested = matches!(
            &started.attributes,
            EventAttributes::WorkflowTaskStarted(attributes) if attributes.suggest_continue_as_new
        );
        let markers = block.map_or_else(Vec::new, |(start, end)| {
            self.history[start..end]
                .iter()
                .filter_map(|event| match &event.attributes {
                    EventAttributes::MarkerRecorded(marker) => Some(marker.clone()),
                    _ => None,
                })
                .collect::<Vec<MarkerRecordedEventAttributes>>()
        });
        let mut jobs = jobs;
        match block {
            // Replay: the updates this task accepted, from its command block (look-ahead).
            Some((start, end)) => {
                jobs.extend(self.history[start..end].iter().filter_map(|event| {
                    match &event.attributes {
                        EventAttributes::WorkflowExecutionUpdateAccepted(a) => {
                            Some(do_update(&a.accepted_request, false))
                        }
                        _ => None,
                    }
                }));
            }
            None => jobs.extend(
                std::mem::take(&mut self.deliveries)
                    .iter()
                    .map(|delivery| do_update(&delivery.request, true)),
            ),
        }
        let activation = Activation {
            timestamp: started.event_time,
            is_replaying: block.is_some(),
            history_length: started.event_id,
            jobs: order_jobs(jobs),
            markers,
            continue_as_new_suggested,
        };
        self.current = Some(CurrentTask {
            started_index,
            block,
        });
        self.position = started_index + 1;
        activation
    }

    /// The range of command events (and events written with them) after a completion:
    /// from `start` to the next WorkflowTaskScheduled or the end of what was fed.
    fn command_block(&self, start: usize) -> (usize, usize) {
        let end = self.history[start.min(self.history.len())..]
            .iter()
            .position(|event| event.event_type() == EventType::WorkflowTaskScheduled)
            .map_or(self.history.len(), |offset| start + offset);
        (start.min(end), end)
    }

    /// Matches the command events of `start..end` against the unmatched commands in order;
    /// other events there become jobs.
    fn apply_block(
        &mut self,
        start: usize,
        end: usize,
        jobs: &mut Vec<Job>,
    ) -> Result<(), ReplayError> {
        for index in start..end {
            let event = &self.history[index];
            if !event.event_type().is_command_event() {
                if let Some(job) = self.job_for(event)? {
                    self.note_resolved(&job);
                    jobs.push(job);
                }
                continue;
            }
            let Some(command) = self.unmatched.pop_front() else {
                let event = &self.history[index];
                return Err(Nondeterminism {
                    event_id: event.event_id,
                    expected: describe_event(event),
                    actual: "no command".into(),
                }
                .into());
            };
            // `bind` records ids in the machine's maps and never reads the history: the
            // history is lent out for the call rather than its event cloned.
            let history = std::mem::take(&mut self.history);
            let bound = self.bind(&command, &history[index]);
            self.history = history;
            bound?;
        }
        Ok(())
    }

    /// Checks that `command` produced `event`, and records the event id of its sequence number.
    fn bind(
        &mut self,
        command: &WorkflowCommand,
        event: &HistoryEvent,
    ) -> Result<(), Nondeterminism> {
        let matched = match (command, &event.attributes) {
            (WorkflowCommand::StartTimer { seq, .. }, EventAttributes::TimerStarted(a))
                if a.timer_id.as_str() == seq.to_string() =>
            {
                self.timers.insert(event.event_id, *seq);
                true
            }
            (WorkflowCommand::CancelTimer { seq }, EventAttributes::TimerCanceled(a)) => {
                a.timer_id.as_str() == seq.to_string()
            }
            (
                WorkflowCommand::ScheduleActivity { seq, attributes },
                EventAttributes::ActivityTaskScheduled(a),
            ) if a.activity_id == attributes.activity_id
                && a.activity_type == attributes.activity_type =>
            {
                self.activities.insert(event.event_id, *seq);
                self.activity_scheduled.insert(*seq, event.event_id);
                true
            }
            (
                WorkflowCommand::RequestCancelActivity { seq },
                EventAttributes::ActivityTaskCancelRequested(a),
            ) => self.activity_scheduled.get(seq) == Some(&a.scheduled_event_id),
            (WorkflowCommand::RecordMarker(command), EventAttributes::MarkerRecorded(a)) => {
                a.marker_name == command.marker_name
            }
            (
                WorkflowCommand::SignalExternal { seq, attributes },
                EventAttributes::SignalExternalWorkflowExecutionInitiated(a),
            ) if a.signal_name == attributes.signal_name
                && a.workflow_execution.workflow_id
                    == attributes.workflow_execution.workflow_id =>
            {
                self.external_signals.insert(event.event_id, *seq);
                true
            }
            (
                WorkflowCommand::StartChild { seq, attributes },
                EventAttributes::StartChildWorkflowExecutionInitiated(a),
            ) if a.workflow_id == attributes.workflow_id
                && a.workflow_type == attributes.workflow_type =>
            {
                self.children.insert(event.event_id, *seq);
                true
            }
            (
                WorkflowCommand::RequestCancelExternal { seq, attributes },
                EventAttributes::RequestCancelExternalWorkflowExecutionInitiated(a),
            ) if a.workflow_execution.workflow_id == attributes.workflow_execution.workflow_id => {
                self.external_cancels.insert(event.event_id, *seq);
                true
            }
            (
                WorkflowCommand::UpsertSearchAttributes(_),
                EventAttributes::UpsertWorkflowSearchAttributes(_),
            )
            | (
                WorkflowCommand::ModifyProperties(_),
                EventAttributes::WorkflowPropertiesModified(_),
            )
            | (WorkflowCommand::Complete(_), EventAttributes::WorkflowExecutionCompleted(_))
            | (WorkflowCommand::Fail(_), EventAttributes::WorkflowExecutionFailed(_))
            | (WorkflowCommand::Cancel(_), EventAttributes::WorkflowExecutionCanceled(_))
            | (
                WorkflowCommand::ContinueAsNew(_),
                EventAttributes::WorkflowExecutionContinuedAsNew(_),
            ) => true,
            (
                WorkflowCommand::UpdateResponse {
                    update_id,
                    response: UpdateResponse::Accepted,
                },
                EventAttributes::WorkflowExecutionUpdateAccepted(a),
            ) => a.protocol_instance_id == update_id.as_str(),
            (
                WorkflowCommand::UpdateResponse {
                    update_id,
                    response: UpdateResponse::Completed(_),
                },
                EventAttributes::WorkflowExecutionUpdateCompleted(a),
            ) => a.update_id == *update_id,
            _ => false,
        };
        if matched {
            Ok(())
        } else {
            Err(Nondeterminism {
                event_id: event.event_id,
                expected: describe_event(event),
                actual: describe_command(command),
            })
        }
    }

    /// The server command of a workflow command.
    fn to_server_command(&self, command: &WorkflowCommand) -> Command {
        let timer_id =
            |seq: &u32| TimerId::new(seq.to_string()).unwrap_or_else(|_| unreachable_id());
        match command.clone() {
            WorkflowCommand::StartTimer { seq, duration } => {
                Command::StartTimer(StartTimerCommandAttributes {
                    timer_id: timer_id(&seq),
                    start_to_fire_timeout: duration,
                })
            }
            WorkflowCommand::CancelTimer { seq } => {
                Command::CancelTimer(CancelTimerCommandAttributes {
                    timer_id: timer_id(&seq),
                })
            }
            WorkflowCommand::ScheduleActivity { attributes, .. } => {
                Command::ScheduleActivityTask(attributes)
            }
            WorkflowCommand::RequestCancelActivity { seq } => {
                Command::RequestCancelActivityTask(RequestCancelActivityTaskCommandAttributes {
                    scheduled_event_id: self
                        .activity_scheduled
                        .get(&seq)
                        .copied()
                        .unwrap_or(EventId::FIRST),
                })
            }
            WorkflowCommand::RecordMarker(attributes) => Command::RecordMarker(attributes),
            WorkflowCommand::SignalExternal { attributes, .. } => {
                Command::SignalExternalWorkflowExecution(attributes)
            }
            WorkflowCommand::RequestCancelExternal { attributes, .. } => {
                Command::RequestCancelExternalWorkflowExecution(attributes)
            }
            WorkflowCommand::StartChild { attributes, .. } => {
                Command::StartChildWorkflowExecution(attributes)
            }
            WorkflowCommand::UpsertSearchAttributes(attributes) => {
                Command::UpsertWorkflowSearchAttributes(attributes)
            }
            WorkflowCommand::ModifyProperties(attributes) => {
                Command::ModifyWorkflowProperties(attributes)
            }
            WorkflowCommand::Complete(attributes) => Command::CompleteWorkflowExecution(attributes),
            WorkflowCommand::Fail(attributes) => Command::FailWorkflowExecution(attributes),
            WorkflowCommand::Cancel(attributes) => Command::CancelWorkflowExecution(attributes),
            WorkflowCommand::ContinueAsNew(attributes) => {
                Command::ContinueAsNewWorkflowExecution(attributes)
            }
            WorkflowCommand::UpdateResponse {
                update_id,
                response,
            } => Command::ProtocolMessage(ProtocolMessageCommandAttributes {
                message_id: update_message_id(&update_id, &response),
            }),
        }
    }
}

/// A timer id is a decimal number, always valid; this is never reached.
fn unreachable_id() -> TimerId {
    debug_assert!(false, "decimal timer ids are valid");
    match TimerId::new("0") {
        Ok(id) => id,
        Err(_) => unreachable!("\"0\" is a valid id"),
    }
}

fn fallback_activity_id() -> ActivityId {
    match ActivityId::new("unknown") {
        Ok(id) => id,
        Err(_) => unreachable!("a valid literal id"),
    }
}

fn fallback_activity_type() -> crate::ids::ActivityType {
    match crate::ids::ActivityType::new("unknown") {
        Ok(id) => id,
        Err(_) => unreachable!("a valid literal type"),
    }
}

/// A timer or activity started and cancelled within one activation was never sent: both
/// commands are dropped (the workflow code resolves it as cancelled itself).
fn drop_cancelled_before_sent(commands: Vec<WorkflowCommand>) -> Vec<WorkflowCommand> {
    let cancelled_timers: Vec<u32> = commands
        .iter()
        .filter_map(|command| match command {
            WorkflowCommand::CancelTimer { seq } => Some(*seq),
            _ => None,
        })
        .filter(|seq| {
            commands
                .iter()
                .any(|c| matches!(c, WorkflowCommand::StartTimer { seq: s, .. } if s == seq))
        })
        .collect();
    let cancelled_activities: Vec<u32> = commands
        .iter()
        .filter_map(|command| match command {
            WorkflowCommand::RequestCancelActivity { seq } => Some(*seq),
            _ => None,
        })
        .filter(|seq| {
            commands
                .iter()
                .any(|c| matches!(c, WorkflowCommand::ScheduleActivity { seq: s, .. } if s == seq))
        })
        .collect();
    commands
        .into_iter()
        .filter(|command| match command {
            WorkflowCommand::StartTimer { seq, .. } | WorkflowCommand::CancelTimer { seq } => {
                !cancelled_timers.contains(seq)
            }
            WorkflowCommand::ScheduleActivity { seq, .. }
            | WorkflowCommand::RequestCancelActivity { seq } => !cancelled_activities.contains(seq),
            _ => true,
        })
        .collect()
}

/// The id of the message carrying a response to update `update_id`.
fn update_message_id(update_id: &crate::ids::UpdateId, response: &UpdateResponse) -> String {
    let suffix = match response {
        UpdateResponse::Accepted => "accept",
        UpdateResponse::Rejected(_) => "reject",
        UpdateResponse::Completed(_) => "complete",
    };
    format!("{update_id}/{suffix}")
}

/// Whether a command is an update rejection, which leaves no history to match.
fn is_rejection(command: &WorkflowCommand) -> bool {
    matches!(
        command,
        WorkflowCommand::UpdateResponse {
            response: UpdateResponse::Rejected(_),
            ..
        }
    )
}

/// The job that runs an update request.
fn do_update(request: &crate::update::UpdateRequest, run_validator: bool) -> Job {
    Job::DoUpdate {
        update_id: request.update_id.clone(),
        name: request.name.clone(),
        args: request.args.clone(),
        header: request.header.clone(),
        identity: request.identity.clone(),
        run_validator,
    }
}

/// Job order: initialise, reseed, signals then updates, then everything else in history
/// order.
fn order_jobs(jobs: Vec<Job>) -> Vec<Job> {
    let rank = |job: &Job| match job {
        Job::InitializeWorkflow { .. } => 0,
        Job::UpdateRandomSeed { .. } => 1,
        Job::Signal { .. } | Job::DoUpdate { .. } => 2,
        _ => 3,
    };
    let mut ranked: Vec<(usize, usize, Job)> = jobs
        .into_iter()
        .enumerate()
        .map(|(index, job)| (rank(&job), index, job))
        .collect();
    ranked.sort_by_key(|(rank, index, _)| (*rank, *index));
    ranked.into_iter().map(|(_, _, job)| job).collect()
}

/// A short description of an event for nondeterminism reports.
fn describe_event(event: &HistoryEvent) -> String {
    let detail = match &event.attributes {
        EventAttributes::TimerStarted(a) => format!(" (timer {})", a.timer_id),
        EventAttributes::TimerCanceled(a) => format!(" (timer {})", a.timer_id),
        EventAttributes::ActivityTaskScheduled(a) => {
            format!(" (activity {} of type {})", a.activity_id, a.activity_type)
        }
        EventAttributes::MarkerRecorded(a) => format!(" (marker {})", a.marker_name),
        EventAttributes::StartChildWorkflowExecutionInitiated(a) => {
            format!(" ({} of type {})", a.workflow_id, a.workflow_type)
        }
        EventAttributes::SignalExternalWorkflowExecutionInitiated(a) => {
            format!(
                " (signal {} to {})",
                a.signal_name, a.workflow_execution.workflow_id
            )
        }
        _ => String::new(),
    };
    format!("{}{detail}", event.event_type())
}

/// A short description of a command for nondeterminism reports.
fn describe_command(command: &WorkflowCommand) -> String {
    match command {
        WorkflowCommand::StartTimer { seq, .. } => format!("StartTimer (timer {seq})"),
        WorkflowCommand::CancelTimer { seq } => format!("CancelTimer (timer {seq})"),
        WorkflowCommand::ScheduleActivity { attributes, .. } => format!(
            "ScheduleActivityTask (activity {} of type {})",
            attributes.activity_id, attributes.activity_type
        ),
        WorkflowCommand::RequestCancelActivity { seq } => {
            format!("RequestCancelActivityTask (activity {seq})")
        }
        WorkflowCommand::RecordMarker(a) => format!("RecordMarker (marker {})", a.marker_name),
        WorkflowCommand::SignalExternal { attributes, .. } => format!(
            "SignalExternalWorkflowExecution (signal {} to {})",
            attributes.signal_name, attributes.workflow_execution.workflow_id
        ),
        WorkflowCommand::RequestCancelExternal { attributes, .. } => {
            format!(
                "RequestCancelExternalWorkflowExecution (to {})",
                attributes.workflow_execution.workflow_id
            )
        }
        WorkflowCommand::StartChild { attributes, .. } => format!(
            "StartChildWorkflowExecution ({} of type {})",
            attributes.workflow_id, attributes.workflow_type
        ),
        WorkflowCommand::UpsertSearchAttributes(_) => "UpsertWorkflowSearchAttributes".into(),
        WorkflowCommand::ModifyProperties(_) => "ModifyWorkflowProperties".into(),
        WorkflowCommand::Complete(_) => "CompleteWorkflowExecution".into(),
        WorkflowCommand::Fail(_) => "FailWorkflowExecution".into(),
        WorkflowCommand::Cancel(_) => "CancelWorkflowExecution".into(),
        WorkflowCommand::ContinueAsNew(_) => "ContinueAsNewWorkflowExecution".into(),
        WorkflowCommand::UpdateResponse {
            update_id,
            response,
        } => match response {
            UpdateResponse::Accepted => format!("UpdateAccepted (update {update_id})"),
            UpdateResponse::Rejected(_) => format!("UpdateRejected (update {update_id})"),
            UpdateResponse::Completed(_) => format!("UpdateCompleted (update {update_id})"),
        },
    }
}
